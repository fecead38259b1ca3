"""The write API over real HTTP: authentication, body checks, per-row rejections, ordering, idempotence."""

from __future__ import annotations

import json

import pytest

TOKEN = "s3cret-token-for-tests"
MESSAGES = [
    {
        "message_id": "w1",
        "created_at": "2025-03-01 09:00:00",
        "province": "河南",
        "category": "城建",
        "msg_type": "咨询",
        "title": "小区路灯不亮",
    },
    {"message_id": "w2", "created_at": "2025-03-01T01:00:00Z", "province": "Beijing", "title": "公交站太远"},
]


@pytest.fixture
def server(store, serve):
    return serve(store, ingest_token=TOKEN, max_body_bytes=20_000)


def test_token_required_and_compared(server):
    body = json.dumps(MESSAGES)
    status, answer = server.post("/api/v1/ingest/messages", body)
    assert status == 401 and TOKEN not in json.dumps(answer)
    status, answer = server.post("/api/v1/ingest/messages", body, token="wrong")
    assert status == 401 and TOKEN not in json.dumps(answer)
    assert server.get("/api/v1/summary", {"start": "2025-03-01", "end": "2025-03-01"})[1]["messages"] == 0
    status, answer = server.post("/api/v1/ingest/messages", body, token=TOKEN)
    assert status == 200 and answer["written"] == 2 and answer["rejected"] == []
    summary = server.get("/api/v1/summary", {"start": "2025-03-01", "end": "2025-03-01"})[1]
    assert summary["messages"] == 2  # w2 is 09:00 Beijing on 1 March


def test_write_api_off_without_token(store, serve):
    off = serve(store)
    status, answer = off.post("/api/v1/ingest/messages", json.dumps(MESSAGES), token="anything")
    assert status == 503 and "LIUYAN_INGEST_TOKEN" in answer["error"]


def test_bad_bodies(server):
    status, answer = server.post("/api/v1/ingest/messages", '[{"message_id": ', token=TOKEN)
    assert status == 400 and "parsed" in answer["error"]
    status, answer = server.post(
        "/api/v1/ingest/messages", "not json at all", token=TOKEN, content_type="application/x-ndjson"
    )
    assert status == 400
    status, _ = server.post("/api/v1/ingest/messages", json.dumps(MESSAGES), token=TOKEN, content_type="text/csv")
    assert status == 415
    big = json.dumps([MESSAGES[0] | {"message_id": f"b{i}"} for i in range(300)])
    assert len(big) > 20_000
    status, answer = server.post("/api/v1/ingest/messages", big, token=TOKEN)
    assert status == 413
    status, _ = server.post("/api/v1/ingest/gossip", json.dumps(MESSAGES), token=TOKEN)
    assert status == 404
    assert server.get("/api/v1/summary", {"start": "2025-03-01", "end": "2025-03-01"})[1]["messages"] == 0


def test_mixed_good_and_bad_rows_in_json_lines(server):
    lines = [
        json.dumps(MESSAGES[0]),
        json.dumps({"message_id": "x1", "created_at": "2025-02-30 10:00", "province": "河南"}),
        "{broken",
        json.dumps({"message_id": "x2", "created_at": "2025-03-01 10:00", "province": "Atlantis"}),
        json.dumps(MESSAGES[1]),
    ]
    status, answer = server.post(
        "/api/v1/ingest/messages", "\n".join(lines), token=TOKEN, content_type="application/x-ndjson"
    )
    assert status == 200
    assert (answer["received"], answer["accepted"], answer["written"]) == (5, 2, 2)
    assert [(r["index"], r["field"]) for r in answer["rejected"]] == [(2, "created_at"), (3, "(line)"), (4, "province")]


def test_reply_before_message_then_idempotent_resend(server):
    replies = [{"reply_id": "wr1", "message_id": "w1", "replied_at": "2025-03-02 09:00:00", "unit": "郑州市住建局"}]
    status, answer = server.post("/api/v1/ingest/replies", json.dumps(replies), token=TOKEN)
    assert (status, answer["held"], answer["written"]) == (200, 1, 0)
    period = {"start": "2025-03-01", "end": "2025-03-31"}
    assert server.get("/api/v1/summary", period)[1]["replies"] == 0
    status, answer = server.post("/api/v1/ingest/messages", json.dumps(MESSAGES), token=TOKEN)
    assert answer["linked"] == 1
    first = server.get("/api/v1/summary", period)[1]
    assert (first["messages"], first["replies"], first["median_reply_hours"]) == (2, 1, 24.0)
    # sending both batches again changes nothing
    server.post("/api/v1/ingest/replies", json.dumps(replies), token=TOKEN)
    server.post("/api/v1/ingest/messages", json.dumps(MESSAGES), token=TOKEN)
    again = server.get("/api/v1/summary", period)[1]
    assert (again["messages"], again["replies"], again["median_reply_hours"]) == (2, 1, 24.0)
    _, feed = server.get("/api/v1/feed", {"limit": 5})
    statuses = {m["message_id"]: m["status"] for m in feed["messages"]}
    assert statuses == {"w1": "已办理", "w2": "待回复"}


def test_source_status_in_progress_is_kept(server):
    message = dict(MESSAGES[0], status="办理中")
    server.post("/api/v1/ingest/messages", json.dumps([message]), token=TOKEN)
    reply = [{"reply_id": "p1", "message_id": "w1", "replied_at": "2025-03-01 12:00:00"}]
    server.post("/api/v1/ingest/replies", json.dumps(reply), token=TOKEN)
    _, feed = server.get("/api/v1/feed", {"limit": 5})
    assert feed["messages"][0]["status"] == "办理中"
