"""The JSON API over real HTTP, on the hand-computed fixture of tests/conftest.py."""

from __future__ import annotations

import pytest

from tests.conftest import BEIJING, HENAN

H1 = {"start": "2021-01-01", "end": "2021-06-30"}
SPEC_FIELDS = {
    "messages",
    "replies",
    "reply_ratio",
    "reply_rate",
    "median_reply_hours",
    "satisfaction_rate",
    "new_units",
    "new_leaders",
    "messages_yoy",
    "replies_yoy",
    "new_units_yoy",
    "new_leaders_yoy",
    "messages_per_10k",
    "replies_per_10k",
    "census_year",
    "replied_24h",
    "reply_24h_rate",
    "replied_24h_yoy",
    "messages_pop",
    "replies_pop",
    "replied_24h_pop",
    "new_units_pop",
    "new_leaders_pop",
}


@pytest.fixture
def server(fixture_store, serve):
    return serve(fixture_store)


def test_summary_fields_and_values(server):
    status, body = server.get("/api/v1/summary", H1)
    assert status == 200
    assert SPEC_FIELDS <= set(body)
    assert (body["messages"], body["replies"], body["census_year"]) == (4, 3, 2020)
    assert body["messages_yoy"] == pytest.approx(1.0)
    assert body["satisfaction_rate"] == pytest.approx(2 / 3)
    assert body["new_leaders_yoy"] is None
    # a1, a2 (2 s) and a5 answered within 24 h of 4; a year earlier a6 (exactly 24 h) and a7
    assert (body["replied_24h"], body["reply_24h_rate"], body["replied_24h_yoy"]) == (3, 0.75, 0.5)
    assert (body["messages_before"], body["messages_pop"]) == (1, 3.0)  # a4 in 2020-07-04 .. 2020-12-31
    # unrounded
    assert body["messages_per_10k"] == pytest.approx(4 * 10_000 / 1_409_778_724, rel=1e-12)


def test_province_accepts_any_spelling_and_repeats(server):
    for spelling in ("410000", "河南", "河南省", "Henan", "henan"):
        status, body = server.get("/api/v1/summary", {**H1, "province": spelling})
        assert (status, body["messages"], body["replies"]) == (200, 2, 2), spelling
    status, body = server.get("/api/v1/summary", {**H1, "province": ["河南", "Beijing"], "msg_type": "咨询"})
    assert (body["messages"], body["replies"]) == (2, 1)
    status, body = server.get("/api/v1/summary", {**H1, "province": "北京", "category": "城建", "urgent": "true"})
    assert (body["messages"], body["replies"]) == (1, 1)


def test_provinces_lists_all_31(server):
    status, body = server.get("/api/v1/provinces", H1)
    assert status == 200 and len(body["provinces"]) == 31
    by_code = {p["adcode"]: p for p in body["provinces"]}
    assert by_code[HENAN]["name"] == "河南"
    assert (by_code[HENAN]["messages"], by_code[HENAN]["replies"]) == (2, 2)
    assert by_code[BEIJING]["messages_per_10k"] == pytest.approx(10_000 / 21_893_095)
    assert by_code[BEIJING]["rank_messages_per_10k"] == 1
    assert (by_code[HENAN]["replied_24h"], by_code[HENAN]["reply_24h_rate"]) == (2, 1.0)
    assert by_code[HENAN]["replied_24h_pop"] is None  # nothing before (a4 was answered after 48 h)


def test_categories_types_and_trend(server):
    _, cats = server.get("/api/v1/categories", H1)
    got = {c["category"]: (c["messages"], c["replies"]) for c in cats["categories"]}
    assert got == {"城建": (2, 3), "交通": (1, 0), "教育": (1, 0)}
    _, types = server.get("/api/v1/types", H1)
    got = {t["msg_type"]: (t["messages"], t["replies"]) for t in types["types"]}
    assert got == {"投诉/求助": (1, 2), "咨询": (2, 1), "建言": (1, 0)}
    assert {t["msg_type"]: t["replied_24h"] for t in types["types"]} == {"投诉/求助": 1, "咨询": 2, "建言": 0}
    assert {c["category"]: c["reply_24h_rate"] for c in cats["categories"]} == {"城建": 1.0, "交通": 1.0, "教育": 0}
    _, trend = server.get("/api/v1/trend", {**H1, "granularity": "month"})
    assert [p["messages"] for p in trend["points"]] == [1, 0, 1, 0, 1, 1]
    assert set(trend["points"][0]) >= {"bucket", "messages", "replies", "messages_prev", "replies_prev"}
    assert [p["replied_24h"] for p in trend["points"]] == [1, 0, 1, 0, 0, 1]  # a1, a5, a2 by creation month


@pytest.mark.parametrize(
    "params, name",
    [
        ({"start": "2021-02-30"}, "start"),
        ({"start": "yesterday"}, "start"),
        ({"end": "2021-13-01"}, "end"),
        ({"start": "2021-07-01", "end": "2021-06-30"}, "start"),
        ({"province": "Atlantis"}, "province"),
        ({"province": "1 OR 1=1"}, "province"),
        ({"granularity": "hour"}, "granularity"),
        ({"urgent": "maybe"}, "urgent"),
        ({"category": "x" * 200}, "category"),
        ({"provinces": "河南"}, "provinces"),
    ],
)
def test_bad_parameters_get_400_naming_the_parameter(server, params, name):
    status, body = server.get("/api/v1/trend", params)
    assert status == 400
    assert body["parameter"] == name and body["error"]


def _masked_feed(store, serve) -> str:
    """The feed's titles and unit of messages carrying phone numbers, an ID number and names."""
    from queries.writes import upsert
    from tests.conftest import frame, message, reply

    titles = {
        "p1": "张先生反映：请回电13812345678",
        "p2": "李女士身份证号410105199001011234需要更正",
        "p3": "车牌豫A12345被误罚，联系 0371-12345678",
    }
    rows = [message(k, f"2026-01-0{i + 1} 10:00:00") | {"title": t} for i, (k, t) in enumerate(titles.items())]
    upsert(store, "messages", frame(rows))
    upsert(store, "replies", frame([reply("q1", "p1", "2026-01-05 10:00:00", unit="王先生办公室13912345678")]))
    server = serve(store)
    status, body = server.get("/api/v1/feed", {"limit": 5, "start": "2026-01-01", "end": "2026-01-31"})
    assert status == 200 and len(body["messages"]) == 3 and len(body["replies"]) == 1
    return " ".join(m["title"] for m in body["messages"] + body["replies"]) + body["replies"][0]["unit"]


def test_feed_masks_personal_data(store, serve):
    text = _masked_feed(store, serve)
    for secret in ("13812345678", "410105199001011234", "13912345678", "张先生", "李女士", "王先生", "豫A12345"):
        assert secret not in text, secret
    assert "反映" in text  # the rest of the title stays


def test_feed_has_no_personal_data(server):
    status, body = server.get("/api/v1/feed", {"limit": 3})
    assert status == 200
    assert [m["message_id"] for m in body["messages"]] == ["a3", "a2", "a8"]
    assert all(
        set(m)
        <= {"message_id", "created_at", "province", "province_name", "city", "category", "msg_type", "title", "status"}
        for m in body["messages"]
    )
