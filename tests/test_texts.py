"""Text fields of the data contract: message content/likes/location, reply content, evaluation comment.

Validation limits, all three file formats, old files without the fields, the write API, and the text
tables written with the records. Expected values are worked out by hand from the fixtures."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from ingest.importer import import_files
from ingest.validate import validate

TOKEN = "token-for-text-tests"
BODY = "小区东门外的路灯已经坏了两个月，晚上回家很不安全，联系物业未果，请尽快维修。"


def texts(store) -> dict:
    rows = store.rows("SELECT message_id, content, location, likes FROM message_texts ORDER BY message_id")
    return {r[0]: r[1:] for r in rows}


def test_validate_limits_and_likes():
    raw = pd.DataFrame(
        {
            "message_id": ["a", "b", "c", "d", "e"],
            "created_at": ["2024-05-01 08:00"] * 5,
            "province": ["河南"] * 5,
            "content": ["字" * 10_000, "字" * 10_001, None, " 正文 ", "x"],
            "likes": ["7", "-1", None, "2.5", 0],
            "location": [None, "路" * 101, "幸福里小区", "", "路" * 100],
        }
    )
    accepted, rejected = validate("messages", raw)
    assert [(r.row, r.field) for r in rejected] == [(2, "content"), (2, "likes"), (2, "location"), (4, "likes")]
    assert "10,000" in rejected[0].reason and "100 " in rejected[2].reason
    assert accepted["message_id"].tolist() == ["a", "c", "e"]
    assert accepted["likes"].tolist() == [7, 0, 0]
    assert accepted["location"].isna().tolist() == [True, False, False]

    replies, bad = validate(
        "replies",
        pd.DataFrame({"reply_id": ["r1", "r2"], "message_id": ["a", "a"], "replied_at": ["2024-05-02"] * 2,
                      "content": ["已转交属地处理。", "答" * 10_001]}),
    )
    assert replies["reply_id"].tolist() == ["r1"] and [(r.row, r.field) for r in bad] == [(2, "content")]
    rated, bad = validate(
        "evaluations",
        pd.DataFrame({"message_id": ["a", "b"], "rated_at": ["2024-05-03"] * 2, "comment": ["评" * 2_000, "评" * 2_001]}),
    )
    assert rated["message_id"].tolist() == ["a"] and [(r.row, r.field) for r in bad] == [(2, "comment")]


@pytest.mark.parametrize("fmt", ["csv", "jsonl", "parquet"])
def test_import_writes_text_tables_in_every_format(store, tmp_path, fmt):
    frame = pd.DataFrame(
        {
            "message_id": ["m1", "m2", "m3"],
            "created_at": ["2024-05-01 08:00:00", "2024-05-01 09:00:00", "2024-05-01 10:00:00"],
            "province": ["河南", "北京", "四川"],
            "title": ["路灯不亮", "公交站太远", "太长"],
            "content": [BODY, "", "长" * 10_001],
            "likes": [12, 0, 1],
            "location": ["幸福里小区", "", ""],
        }
    )
    path = tmp_path / f"m.{fmt}"
    if fmt == "csv":
        frame.to_csv(path, index=False)
    elif fmt == "jsonl":
        frame.to_json(path, orient="records", lines=True, force_ascii=False)
    else:
        frame.to_parquet(path, index=False)
    report = import_files(store, "messages", [path])
    assert (report.written, report.rejected_rows) == (2, 1)
    assert [(r.line, r.field) for r in report.rejections] == [(4 if fmt == "csv" else 3, "content")]
    # m2 carries no text at all: no text row
    assert texts(store) == {"m1": (BODY, "幸福里小区", 12)}
    assert store.scalar("SELECT count(*) FROM messages WHERE message_id = 'm3'") == 0


def test_old_files_import_and_keep_stored_text(store, tmp_path):
    new = tmp_path / "new.jsonl"
    new.write_text(
        json.dumps({"message_id": "m1", "created_at": "2024-05-01 08:00", "province": "河南", "content": BODY,
                    "likes": 3}, ensure_ascii=False) + "\n",
        encoding="utf-8",
    )
    old = tmp_path / "old.csv"
    old.write_text("message_id,created_at,province,title\nm1,2024-05-01 08:00,河南,新标题\nm2,2024-05-02,北京,t\n",
                   encoding="utf-8")
    assert import_files(store, "messages", [new]).ok
    report = import_files(store, "messages", [old])
    assert report.ok and report.written == 2
    assert texts(store) == {"m1": (BODY, None, 3)}
    assert store.scalar("SELECT title FROM messages WHERE message_id = 'm1'") == "新标题"
    changed = tmp_path / "changed.jsonl"
    changed.write_text(json.dumps({"message_id": "m1", "created_at": "2024-05-01 08:00", "province": "河南",
                                   "content": "改写后的正文", "likes": 5}, ensure_ascii=False) + "\n",
                       encoding="utf-8")
    assert import_files(store, "messages", [changed]).ok
    assert texts(store) == {"m1": ("改写后的正文", None, 5)}


def test_reply_and_evaluation_text_follow_their_record(store, tmp_path):
    messages = tmp_path / "m.csv"
    messages.write_text("message_id,created_at,province\nm1,2024-05-01 08:00,河南\n", encoding="utf-8")
    replies = tmp_path / "r.jsonl"
    rows = [
        {"reply_id": "r1", "message_id": "m1", "replied_at": "2024-05-02 10:00", "content": "您好，已安排维修。"},
        {"reply_id": "r2", "message_id": "m1", "replied_at": "2024-04-30 10:00", "content": "早于留言"},
        {"reply_id": "r3", "message_id": "m9", "replied_at": "2024-05-02 10:00", "content": "留言未到"},
    ]
    replies.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows), encoding="utf-8")
    assert import_files(store, "messages", [messages]).ok
    report = import_files(store, "replies", [replies])
    assert [(r.line, r.field) for r in report.rejections] == [(2, "replied_at")]
    # the rejected reply's text is not stored; the held one's is (it is accepted)
    assert store.rows("SELECT reply_id, content FROM reply_texts ORDER BY 1") == [
        ("r1", "您好，已安排维修。"),
        ("r3", "留言未到"),
    ]
    evaluations = tmp_path / "e.parquet"
    pd.DataFrame({"message_id": ["m1"], "rated_at": ["2024-05-03"], "satisfied": [True],
                  "comment": ["修好了，谢谢"]}).to_parquet(evaluations, index=False)
    assert import_files(store, "evaluations", [evaluations]).ok
    assert store.rows("SELECT message_id, comment FROM evaluation_comments") == [("m1", "修好了，谢谢")]


def test_write_api_accepts_text_and_names_bad_fields(store, serve):
    server = serve(store, ingest_token=TOKEN)
    body = [
        {"message_id": "w1", "created_at": "2025-03-01 09:00", "province": "河南", "content": BODY, "likes": 4,
         "location": "幸福里小区"},
        {"message_id": "w2", "created_at": "2025-03-01 09:00", "province": "河南", "likes": "很多"},
        {"message_id": "w3", "created_at": "2025-03-01 09:00", "province": "河南", "location": "地" * 101},
    ]
    status, answer = server.post("/api/v1/ingest/messages", json.dumps(body, ensure_ascii=False), token=TOKEN)
    assert status == 200
    assert [(r["index"], r["field"]) for r in answer["rejected"]] == [(2, "likes"), (3, "location")]
    assert answer["written"] == 1
    assert texts(store) == {"w1": (BODY, "幸福里小区", 4)}
