"""Issue 16, items 1 and 7: bodies and files that crashed the process or answered 500, replayed through the real
write API (HTTP) and the real `app.py import` command. Each must end in a 400 or a row-level rejection, and the
server must stay up."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from queries.db import Store
from tests.conftest import ROOT

TOKEN = "security-token"
PATH = "/api/v1/ingest/messages"
GOOD = {"message_id": "ok1", "created_at": "2025-03-01 09:00:00", "province": "河南", "title": "路灯不亮"}
NDJSON = "application/x-ndjson"


@pytest.fixture
def server(store, serve):
    return serve(store, ingest_token=TOKEN)


def alive(server) -> bool:
    status, body = server.get("/api/v1/meta")
    return status == 200 and isinstance(body, dict)


@pytest.mark.parametrize("content_type", ["application/json", NDJSON])
def test_null_body_is_a_400_not_a_segfault(server, content_type):
    status, answer = server.post(PATH, "null", token=TOKEN, content_type=content_type)
    assert status == 400 and "null" in answer["error"]
    status, answer = server.post(PATH, "null\n" + json.dumps(GOOD), token=TOKEN, content_type=NDJSON)
    assert status == 200 and answer["written"] == 1
    assert [(r["index"], r["field"]) for r in answer["rejected"]] == [(1, "(line)")]
    assert alive(server)


@pytest.mark.parametrize(
    "body",
    [
        '{"a":' * 100_000 + "1" + "}" * 100_000,  # Arrow's stack overflow
        "[" * 1_000 + "]" * 1_000,  # was a 500
        "[" * 100_000,  # deep and broken
        json.dumps(GOOD) + "\n" + '{"a":' * 50_000 + "1" + "}" * 50_000,  # a deep line after a good one
    ],
)
def test_deep_nesting_is_refused_before_parsing(server, body):
    status, answer = server.post(PATH, body, token=TOKEN, content_type=NDJSON)
    assert status in (200, 400)
    if status == 400:
        assert "nested" in answer["error"]
    else:  # the good first line is kept, the deep one rejected
        assert answer["written"] == 1
        assert answer["rejected"] == [{"index": 2, "field": "(line)", "reason": "nested deeper than 20 levels"}]
    assert alive(server)


def test_nested_values_in_a_row_are_rejected_naming_the_field(server):
    rows = [
        GOOD | {"message_id": {"a": 1}},
        GOOD | {"message_id": "n2", "title": ["x", "y"]},
        GOOD | {"message_id": "n3", "category": {"k": [1, 2]}},
        GOOD | {"message_id": "n4", "extra": {"ignored": True}},  # unknown columns are ignored
    ]
    status, answer = server.post(PATH, json.dumps(rows), token=TOKEN)
    assert status == 200
    assert [(r["index"], r["field"]) for r in answer["rejected"]] == [(1, "message_id"), (2, "title"), (3, "category")]
    assert "object" in answer["rejected"][0]["reason"] and "array" in answer["rejected"][1]["reason"]
    assert answer["written"] == 1
    feed = server.get("/api/v1/feed", {"limit": 10})[1]
    assert "{'a': 1}" not in json.dumps(feed, ensure_ascii=False)


def test_non_utf8_json_lines_name_the_line(server):
    body = json.dumps(GOOD).encode() + b"\n" + b'{"message_id": "bad", "title": "\xff\xfe"}\n'
    status, answer = server.post(PATH, body, token=TOKEN, content_type=NDJSON)
    assert status == 200 and answer["written"] == 1
    assert answer["rejected"] == [{"index": 2, "field": "(line)", "reason": "not valid JSON (not UTF-8 text)"}]
    status, answer = server.post(PATH, b'{"title": "\xc3"}', token=TOKEN, content_type=NDJSON)
    assert status == 400 and "line 1" in answer["error"]
    # an unpaired surrogate escape is valid JSON but not Unicode text
    status, answer = server.post(PATH, json.dumps([GOOD | {"title": "x"}])[:-3] + '\\ud800"}]', token=TOKEN)
    assert status == 400 and "Unicode" in answer["error"]
    # the same surrogate written raw (CESU-8 bytes), here in a field name (found by the fuzz test: a 500 before)
    status, answer = server.post(PATH, '[{"\ud800": null}]'.encode("utf-8", "surrogatepass"), token=TOKEN)
    assert status == 400 and "Unicode" in answer["error"]
    assert alive(server)


def test_epoch_far_in_the_future_is_a_row_rejection(server):
    rows = [GOOD | {"message_id": "e1", "created_at": 2.5e14}, GOOD | {"message_id": "e2", "created_at": 1e300}]
    status, answer = server.post(PATH, json.dumps(rows), token=TOKEN)
    assert status == 200 and answer["written"] == 0
    assert [(r["index"], r["field"]) for r in answer["rejected"]] == [(1, "created_at"), (2, "created_at")]
    assert alive(server)


def test_many_distinct_keys_are_bounded(server):
    # 20,000 distinct keys in 240 KB made Arrow build 20,000 columns: minutes and gigabytes
    lines = [json.dumps(GOOD)] + [json.dumps({f"k{i}": 1}) for i in range(20_000)]
    status, answer = server.post(PATH, "\n".join(lines), token=TOKEN, content_type=NDJSON)
    assert status == 200 and answer["written"] == 1
    reasons = {r["reason"] for r in answer["rejected"] if r["field"] == "(line)"}
    assert any("distinct field names" in r for r in reasons)
    wide = {f"f{i}": i for i in range(1_000)} | GOOD
    status, answer = server.post(PATH, json.dumps(wide), token=TOKEN, content_type=NDJSON)
    assert status == 400 and "fields" in answer["error"]
    assert alive(server)


def test_cli_import_of_a_file_starting_with_null_does_not_crash(tmp_path):
    path = tmp_path / "m.jsonl"
    path.write_text("null\n" + json.dumps(GOOD, ensure_ascii=False) + "\n" + "[" * 5000 + "\n", encoding="utf-8")
    db = tmp_path / "cli.duckdb"
    result = subprocess.run(
        [sys.executable, str(ROOT / "app.py"), "import", "messages", str(path), "--db", str(db)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "LIUYAN_SIMULATE": "0", "LIUYAN_INGEST_TOKEN": ""},
    )
    assert result.returncode == 1, result.stderr  # some rows rejected; not 139 (SIGSEGV)
    assert f"{path}:1: (line): expected a JSON object, got null" in result.stdout
    assert f"{path}:3: (line): nested deeper than 20 levels" in result.stdout
    store = Store(db)
    try:
        assert store.scalar("SELECT list(message_id) FROM messages") == ["ok1"]
    finally:
        store.close()


def test_parquet_structs_and_lists_are_rejected_naming_the_field(store, tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    from ingest.importer import import_files

    table = pa.table(
        {
            "message_id": ["p1", "p2", "p3"],
            "created_at": ["2025-03-01 09:00"] * 3,
            "province": ["河南"] * 3,
            "title": [None, None, "好标题"],
            "city": pa.array([{"a": 1}, None, None], type=pa.struct([("a", pa.int64())])),
            "district": pa.array([None, [1, 2], None], type=pa.list_(pa.int64())),
        }
    )
    path = tmp_path / "nested.parquet"
    pq.write_table(table, path)
    report = import_files(store, "messages", [path])
    assert [(r.line, r.field) for r in report.rejections] == [(1, "city"), (2, "district")]
    assert store.scalar("SELECT list(message_id) FROM messages") == ["p3"]
