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
    assert "longer than 10000" in rejected[0].reason and "longer than 100 " in rejected[2].reason
    assert accepted["message_id"].tolist() == ["a", "c", "e"]
    assert accepted["likes"].tolist() == [7, 0, 0]
    assert accepted["location"].isna().tolist() == [True, False, False]

    replies, bad = validate(
        "replies",
        pd.DataFrame(
            {
                "reply_id": ["r1", "r2"],
                "message_id": ["a", "a"],
                "replied_at": ["2024-05-02"] * 2,
                "content": ["已转交属地处理。", "答" * 10_001],
            }
        ),
    )
    assert replies["reply_id"].tolist() == ["r1"] and [(r.row, r.field) for r in bad] == [(2, "content")]
    rated, bad = validate(
        "evaluations",
        pd.DataFrame(
            {"message_id": ["a", "b"], "rated_at": ["2024-05-03"] * 2, "comment": ["评" * 2_000, "评" * 2_001]}
        ),
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
        json.dumps(
            {"message_id": "m1", "created_at": "2024-05-01 08:00", "province": "河南", "content": BODY, "likes": 3},
            ensure_ascii=False,
        )
        + "\n",
        encoding="utf-8",
    )
    old = tmp_path / "old.csv"
    old.write_text(
        "message_id,created_at,province,title\nm1,2024-05-01 08:00,河南,新标题\nm2,2024-05-02,北京,t\n",
        encoding="utf-8",
    )
    assert import_files(store, "messages", [new]).ok
    report = import_files(store, "messages", [old])
    assert report.ok and report.written == 2
    assert texts(store) == {"m1": (BODY, None, 3)}
    assert store.scalar("SELECT title FROM messages WHERE message_id = 'm1'") == "新标题"
    changed = tmp_path / "changed.jsonl"
    changed.write_text(
        json.dumps(
            {
                "message_id": "m1",
                "created_at": "2024-05-01 08:00",
                "province": "河南",
                "content": "改写后的正文",
                "likes": 5,
            },
            ensure_ascii=False,
        )
        + "\n",
        encoding="utf-8",
    )
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
    pd.DataFrame(
        {"message_id": ["m1"], "rated_at": ["2024-05-03"], "satisfied": [True], "comment": ["修好了，谢谢"]}
    ).to_parquet(evaluations, index=False)
    assert import_files(store, "evaluations", [evaluations]).ok
    assert store.rows("SELECT message_id, comment FROM evaluation_comments") == [("m1", "修好了，谢谢")]


def test_write_api_accepts_text_and_names_bad_fields(store, serve):
    server = serve(store, ingest_token=TOKEN)
    body = [
        {
            "message_id": "w1",
            "created_at": "2025-03-01 09:00",
            "province": "河南",
            "content": BODY,
            "likes": 4,
            "location": "幸福里小区",
        },
        {"message_id": "w2", "created_at": "2025-03-01 09:00", "province": "河南", "likes": "很多"},
        {"message_id": "w3", "created_at": "2025-03-01 09:00", "province": "河南", "location": "地" * 101},
    ]
    status, answer = server.post("/api/v1/ingest/messages", json.dumps(body, ensure_ascii=False), token=TOKEN)
    assert status == 200
    assert [(r["index"], r["field"]) for r in answer["rejected"]] == [(2, "likes"), (3, "location")]
    assert answer["written"] == 1
    assert texts(store) == {"w1": (BODY, "幸福里小区", 4)}


# -- GET /api/v1/messages and /api/v1/messages/<id> ---------------------------------------------------------------
READ_MESSAGES = [
    {
        "message_id": "a1",
        "created_at": "2025-03-01 09:00",
        "province": "河南",
        "city": "郑州市",
        "district": "金水区",
        "category": "城建",
        "msg_type": "投诉/求助",
        "title": "幸福里小区停水三天",
        "content": "幸福里小区从周一起停水，联系电话13812345678，请尽快恢复供水。",
        "likes": 9,
        "location": "幸福里小区",
    },
    {
        "message_id": "a2",
        "created_at": "2025-03-02 09:00",
        "province": "河南",
        "city": "郑州市",
        "category": "交通",
        "msg_type": "咨询",
        "title": "公交线路调整",
        "content": "Bus 12路 停运了吗？",
    },
    {
        "message_id": "a3",
        "created_at": "2025-03-03 09:00",
        "province": "北京",
        "category": "城建",
        "msg_type": "投诉/求助",
        "title": "小区停水",
        "content": "楼里又停水了，物业说不清楚原因。",
    },
    {
        "message_id": "a4",
        "created_at": "2025-02-01 09:00",
        "province": "河南",
        "category": "城建",
        "msg_type": "投诉/求助",
        "title": "停水",
        "content": "二月的停水。",
    },
]
READ_REPLIES = [
    {
        "reply_id": "b2",
        "message_id": "a1",
        "replied_at": "2025-03-04 10:00",
        "unit": "金水区水务局",
        "content": "经核实，已恢复供水。如有疑问请联系13900001111。",
    },
    {
        "reply_id": "b1",
        "message_id": "a1",
        "replied_at": "2025-03-02 10:00",
        "unit": "金水区政府",
        "content": "您好，已转办。",
    },
]


@pytest.fixture
def reader(store, serve):
    server = serve(store, ingest_token=TOKEN)
    for kind, rows in (("messages", READ_MESSAGES), ("replies", READ_REPLIES)):
        status, answer = server.post(f"/api/v1/ingest/{kind}", json.dumps(rows, ensure_ascii=False), token=TOKEN)
        assert status == 200 and not answer["rejected"]
    rating = [
        {
            "message_id": "a1",
            "rated_at": "2025-03-05 08:00",
            "satisfied": "不满意",
            "comment": "水是来了，但王先生说水质发黄",
        }
    ]
    assert server.post("/api/v1/ingest/evaluations", json.dumps(rating, ensure_ascii=False), token=TOKEN)[0] == 200
    return server


def ids(answer) -> list[str]:
    return [m["message_id"] for m in answer["messages"]]


def test_list_newest_first_filters_and_pages(reader):
    period = {"start": "2025-03-01", "end": "2025-03-31"}
    status, answer = reader.get("/api/v1/messages", period)
    assert status == 200 and ids(answer) == ["a3", "a2", "a1"] and answer["total"] == 3
    first = answer["messages"][2]
    assert (first["province"], first["city"], first["district"], first["likes"]) == (410000, "郑州市", "金水区", 9)
    assert first["status"] == "已办理" and first["first_reply_at"] == "2025-03-02 10:00:00"
    assert answer["messages"][0]["first_reply_at"] is None and answer["messages"][0]["status"] == "待回复"
    assert ids(reader.get("/api/v1/messages", dict(period, province="河南"))[1]) == ["a2", "a1"]
    assert ids(reader.get("/api/v1/messages", dict(period, category="城建", msg_type="投诉/求助"))[1]) == ["a3", "a1"]
    page = reader.get("/api/v1/messages", dict(period, limit=1, offset=1))[1]
    assert ids(page) == ["a2"] and page["total"] == 3
    past = reader.get("/api/v1/messages", dict(period, limit=5, offset=10))[1]
    assert ids(past) == [] and past["total"] == 3


def test_search_every_word_in_title_or_body(reader):
    period = {"start": "2025-01-01", "end": "2025-03-31"}
    assert ids(reader.get("/api/v1/messages", dict(period, q="停水"))[1]) == ["a3", "a1", "a4"]
    assert ids(reader.get("/api/v1/messages", dict(period, q="停水 物业"))[1]) == ["a3"]  # 物业 only in a3's body
    assert ids(reader.get("/api/v1/messages", dict(period, q="  幸福里   供水 "))[1]) == ["a1"]
    assert ids(reader.get("/api/v1/messages", dict(period, q="bus"))[1]) == ["a2"]  # case-insensitive
    answer = reader.get("/api/v1/messages", dict(period, q="停水 二月"))[1]
    assert ids(answer) == ["a4"] and answer["total"] == 1
    assert reader.get("/api/v1/messages", dict(period, q="100%_"))[1] == {
        "messages": [],
        "total": 0,
        "limit": 20,
        "offset": 0,
    }


def test_list_masks_personal_data(reader):
    answer = reader.get("/api/v1/messages", {"start": "2025-03-01", "end": "2025-03-01"})[1]
    content = answer["messages"][0]["content"]
    assert "13812345678" not in content and content.startswith("幸福里小区从周一起停水")


def test_message_detail_with_replies_and_evaluation(reader):
    status, answer = reader.get("/api/v1/messages/a1")
    assert status == 200 and answer["title"] == "幸福里小区停水三天" and answer["likes"] == 9
    assert [(r["unit"], r["replied_at"]) for r in answer["replies"]] == [
        ("金水区政府", "2025-03-02 10:00:00"),
        ("金水区水务局", "2025-03-04 10:00:00"),
    ]
    assert answer["replies"][0]["content"] == "您好，已转办。"
    assert "13900001111" not in answer["replies"][1]["content"]
    evaluation = answer["evaluation"]
    assert evaluation["satisfied"] is False and evaluation["rated_at"] == "2025-03-05 08:00:00"
    assert evaluation["comment"].startswith("水是来了")
    assert reader.get("/api/v1/messages/a2")[1]["replies"] == []
    assert reader.get("/api/v1/messages/a2")[1]["evaluation"] is None
    status, answer = reader.get("/api/v1/messages/nope")
    assert status == 404 and "error" in answer


@pytest.mark.parametrize(
    "params, name",
    [
        ({"limit": 101}, "limit"),
        ({"limit": 0}, "limit"),
        ({"offset": -1}, "offset"),
        ({"offset": 10_001}, "offset"),
        ({"limit": "x"}, "limit"),
        ({"q": " ".join(f"w{i}" for i in range(11))}, "q"),
        ({"q": "字" * 201}, "q"),
        ({"sort": "x"}, "sort"),
    ],
)
def test_bad_parameters_are_named(reader, params, name):
    status, answer = reader.get("/api/v1/messages", params)
    assert status == 400 and answer["parameter"] == name


# -- the analyst drill-down's message list in Chromium, against the API -------------------------------------------
@pytest.fixture
def browser(tmp_path):
    from tests.test_analyst import CHROMEDRIVER, CHROMIUM, _driver

    if not CHROMIUM or not CHROMEDRIVER:
        pytest.skip("chromium and chromedriver are needed (installed by .ci/run)")
    driver = _driver()
    yield driver
    driver.quit()


LISTED = "return [...document.querySelectorAll('.msg-item .msg-title')].map(e => e.textContent)"


def test_drill_down_lists_searches_and_reads_messages(browser, reader):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    from dashboard.analyst import ids as A
    from tests.test_analyst import wait_for

    period = {"start": "2025-03-01", "end": "2025-03-31", "province": "河南"}
    api = reader.get("/api/v1/messages", period)[1]
    assert [m["title"] for m in api["messages"]] == ["公交线路调整", "幸福里小区停水三天"]
    browser.get(f"{reader.url}/analyst?start=2025-03-01&end=2025-03-31&drill=%E6%B2%B3%E5%8D%97")
    wait_for(lambda: browser.execute_script(LISTED) == [m["title"] for m in api["messages"]], message="the list")
    assert "2" in browser.find_element(By.ID, A.MSG_NOTE).text
    box = browser.find_element(By.ID, A.MSG_SEARCH)
    box.send_keys("供水")
    box.send_keys(Keys.ENTER)
    searched = reader.get("/api/v1/messages", dict(period, q="供水"))[1]
    wait_for(lambda: browser.execute_script(LISTED) == [m["title"] for m in searched["messages"]], message="search")
    browser.find_element(By.CSS_SELECTOR, ".msg-item").click()
    detail = reader.get("/api/v1/messages/a1")[1]
    wait_for(lambda: detail["title"] in browser.find_element(By.ID, A.MSG_DETAIL).text, message="the message")
    shown = browser.find_element(By.ID, A.MSG_DETAIL).text
    assert detail["content"] in shown and all(r["content"] in shown for r in detail["replies"])
    assert "13812345678" not in shown and "13900001111" not in shown
    assert detail["evaluation"]["comment"] in shown
