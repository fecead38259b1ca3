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


def test_categories_types_and_trend(server):
    _, cats = server.get("/api/v1/categories", H1)
    got = {c["category"]: (c["messages"], c["replies"]) for c in cats["categories"]}
    assert got == {"城建": (2, 3), "交通": (1, 0), "教育": (1, 0)}
    _, types = server.get("/api/v1/types", H1)
    got = {t["msg_type"]: (t["messages"], t["replies"]) for t in types["types"]}
    assert got == {"投诉/求助": (1, 2), "咨询": (2, 1), "建言": (1, 0)}
    _, trend = server.get("/api/v1/trend", {**H1, "granularity": "month"})
    assert [p["messages"] for p in trend["points"]] == [1, 0, 1, 0, 1, 1]
    assert set(trend["points"][0]) >= {"bucket", "messages", "replies", "messages_prev", "replies_prev"}


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


def test_feed_has_no_personal_data(server):
    status, body = server.get("/api/v1/feed", {"limit": 3})
    assert status == 200
    assert [m["message_id"] for m in body["messages"]] == ["a3", "a2", "a8"]
    assert all(
        set(m)
        <= {"message_id", "created_at", "province", "province_name", "city", "category", "msg_type", "title", "status"}
        for m in body["messages"]
    )
