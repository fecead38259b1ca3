"""The analyst page's queries (queries/drill.py) against a small fixture worked out by hand in the comments."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from queries import drill, metrics
from queries.periods import Filters
from queries.service import Metrics
from queries.writes import upsert
from tests.conftest import BEIJING, HENAN, frame, message, reply

MARCH = Filters(dt.date(2021, 3, 1), dt.date(2021, 3, 31))
HENAN_MARCH = Filters(MARCH.start, MARCH.end, provinces=(HENAN,))
NOW = dt.datetime(2021, 4, 1, 0, 0, 0)  # overdue cutoff with 15 days: 2021-03-17 00:00


@pytest.fixture
def drill_store(store):
    rows = [
        message("d1", "2021-03-01 08:00:00"),  # answered after 10 h
        message("d2", "2021-03-02 00:00:00"),  # 24 h (a later reply ignored)
        message("d3", "2021-03-05 12:00:00", msg_type="建言"),  # 480 h = 20 days: late
        message("d4", "2021-02-20 00:00:00"),  # earlier message, 432 h: late
        message("d5", "2021-03-10 00:00:00"),  # first reply in April
        message("d6", "2021-03-03 09:00:00"),  # unanswered: overdue
        message("d7", "2021-03-20 09:00:00"),  # unanswered, after the cutoff
        message("d8", "2021-03-01 07:00:00", is_urgent=True, source_status="办理中"),  # unanswered: overdue
        message("d9", "2021-03-04 10:00:00", BEIJING, "教育", "建言"),  # another province
        message("d10", "2021-03-06 10:00:00", category="交通", msg_type="咨询"),  # answered without a unit
        message("d11", "2021-02-25 10:00:00"),  # unanswered, before the period
    ]
    rows[7]["title"] = "急！电话13912345678 联系人 zhang@example.com"
    rows[7]["city"], rows[7]["district"] = "郑州市", "金水区"
    upsert(store, "messages", frame(rows))
    upsert(
        store,
        "replies",
        frame(
            [
                reply("r1", "d1", "2021-03-01 18:00:00", "郑州市住建局"),
                reply("r2", "d2", "2021-03-03 00:00:00", "郑州市住建局"),
                reply("r2b", "d2", "2021-03-04 00:00:00", "河南省住建厅"),  # not the first reply: not credited
                reply("r3", "d3", "2021-03-25 12:00:00", "开封市教育局"),
                reply("r4", "d4", "2021-03-10 00:00:00", "郑州市住建局"),
                reply("r5", "d5", "2021-04-02 00:00:00", "郑州市住建局"),
                reply("r9", "d9", "2021-03-04 12:00:00", "北京市交通委"),
                reply("r10", "d10", "2021-03-06 15:00:00", None),
            ]
        ),
    )
    return store


def test_units_count_first_replies_in_the_period(drill_store):
    units = drill.units(drill_store, HENAN_MARCH, late_days=15)
    assert units["unit"].tolist() == ["郑州市住建局", "开封市教育局", None]  # most answered first, ties by name
    zz = units.iloc[0]
    assert zz["answered"] == 3  # d1, d2, d4 (d5's first reply is in April)
    assert zz["median_reply_hours"] == pytest.approx(24.0)  # median of 10, 24, 432
    assert zz["mean_reply_hours"] == pytest.approx((10 + 24 + 432) / 3)
    assert zz["p90_reply_hours"] == pytest.approx(24 + 0.8 * (432 - 24))  # interpolated at 1.8
    assert zz["late"] == 1 and zz["late_share"] == pytest.approx(1 / 3)  # d4 after 18 days
    assert zz["share"] == pytest.approx(3 / 5)
    kf = units.iloc[1]
    assert (kf["answered"], kf["median_reply_hours"], kf["late"]) == (1, pytest.approx(480.0), 1)
    none = units.iloc[2]
    assert (none["answered"], none["median_reply_hours"], none["late"]) == (1, pytest.approx(5.0), 0)
    # The units' answered messages add up to the spec's replies; the second reply of d2 is never credited.
    assert units["answered"].sum() == metrics.summary(drill_store, HENAN_MARCH)["replies"] == 5
    assert "河南省住房和城乡建设厅" not in set(units["unit"]) and "河南省住建厅" not in set(units["unit"])
    # All provinces: Beijing's unit joins; the threshold for "late" is a parameter.
    everywhere = drill.units(drill_store, MARCH, late_days=19)
    assert set(everywhere["unit"].dropna()) == {"郑州市住建局", "开封市教育局", "北京市交通委"}
    assert everywhere.set_index("unit").loc["郑州市住建局", "late"] == 0  # 18 days < 19
    assert everywhere.set_index("unit").loc["开封市教育局", "late"] == 1  # 20 days > 19


def test_units_follow_the_message_filters(drill_store):
    consult = drill.units(drill_store, Filters(MARCH.start, MARCH.end, types=("咨询",)))
    assert consult["unit"].tolist() == [None] and consult["answered"].tolist() == [1]
    empty = drill.units(drill_store, Filters(dt.date(2020, 1, 1), dt.date(2020, 1, 31)))
    assert empty.empty and list(empty.columns)[:3] == ["unit", "answered", "share"]


def test_top_and_slowest_units(drill_store):
    units = drill.units(drill_store, HENAN_MARCH)
    assert drill.top_units(units, 2)["unit"].tolist() == ["郑州市住建局", "开封市教育局"]
    slow = drill.slowest_units(units, n=5, min_answered=1)
    assert slow["unit"].tolist() == ["开封市教育局", "郑州市住建局", None]  # 480 h, 24 h, 5 h
    assert drill.slowest_units(units, n=5, min_answered=2)["unit"].tolist() == ["郑州市住建局"]


def test_overdue_messages(drill_store):
    assert drill.overdue_cutoff(NOW, 15) == dt.datetime(2021, 3, 17)
    assert drill.overdue_count(drill_store, HENAN_MARCH, NOW, 15) == 2  # d8, d6; not d7 (too recent), d11, d5
    rows = drill.overdue(drill_store, HENAN_MARCH, NOW, 15)
    assert rows["message_id"].tolist() == ["d8", "d6"]  # oldest first
    assert rows["status"].tolist() == ["办理中", "待回复"]
    assert rows["days_waiting"].tolist() == pytest.approx([30 + 17 / 24, 28 + 15 / 24])
    assert rows.loc[0, "title"] == "急！电话****** 联系人 ******"  # phone and e-mail masked
    assert (rows.loc[0, "city"], rows.loc[0, "district"], rows.loc[1, "city"]) == ("郑州市", "金水区", "")
    assert rows.loc[0, "province_name"] == "河南" and bool(rows.loc[0, "is_urgent"])
    # A shorter threshold reaches d7 (created 2021-03-20 09:00, 11.6 days before NOW).
    assert drill.overdue_count(drill_store, HENAN_MARCH, NOW, 11) == 3
    assert drill.overdue_count(drill_store, HENAN_MARCH, NOW, 12) == 2
    # Filters: urgent only, another domain, another province, and the row limit.
    assert drill.overdue_count(drill_store, Filters(MARCH.start, MARCH.end, urgent_only=True), NOW) == 1
    assert drill.overdue_count(drill_store, Filters(MARCH.start, MARCH.end, categories=("交通",)), NOW) == 0
    assert drill.overdue_count(drill_store, Filters(MARCH.start, MARCH.end, provinces=(BEIJING,)), NOW) == 0
    assert drill.overdue(drill_store, HENAN_MARCH, NOW, 15, limit=1)["message_id"].tolist() == ["d8"]
    february = Filters(dt.date(2021, 2, 1), dt.date(2021, 2, 28), provinces=(HENAN,))
    assert drill.overdue(drill_store, february, NOW)["message_id"].tolist() == ["d11"]  # d4 was answered


def test_cross_table_adds_up_to_domains_and_types(drill_store):
    cross = drill.cross(drill_store, HENAN_MARCH)
    got = {(r.category, r.msg_type): (r.messages, r.replies) for r in cross.itertuples()}
    # created in March: d1 d2 d5 d6 d7 d8 (城建 投诉/求助), d3 (城建 建言), d10 (交通 咨询);
    # first replies in March: d1 d2 d4, d3, d10
    assert got == {("城建", "投诉/求助"): (6, 3), ("城建", "建言"): (1, 1), ("交通", "咨询"): (1, 1)}
    by_category = metrics.by_category(drill_store, HENAN_MARCH).set_index("category")
    for category, part in cross.groupby("category"):
        assert part["messages"].sum() == by_category.loc[category, "messages"]
        assert part["replies"].sum() == by_category.loc[category, "replies"]
    table = drill.cross_table(cross)
    # types by their messages here, ties by name (code point order: 咨 before 建)
    assert table.columns.tolist() == ["category", "投诉/求助", "咨询", "建言", "total"]
    assert table.to_dict("records") == [
        {"category": "城建", "投诉/求助": 6, "建言": 1, "咨询": 0, "total": 7},
        {"category": "交通", "投诉/求助": 0, "建言": 0, "咨询": 1, "total": 1},
    ]
    assert drill.cross_table(drill.cross(drill_store, Filters(dt.date(2020, 1, 1), dt.date(2020, 1, 2)))).empty


def test_dimension_values(drill_store):
    # 城建 9 messages (d1-d8 but d3 is 城建 too, d11), 交通 1, 教育 1; 投诉/求助 8, 建言 2, 咨询 1
    assert drill.dimension_values(drill_store) == {
        "category": ["城建", "交通", "教育"],
        "msg_type": ["投诉/求助", "建言", "咨询"],
    }


def test_service_caches_per_data_version(drill_store):
    service = Metrics(drill_store)
    first = service.overdue_count(HENAN_MARCH, NOW, 15)
    assert first == 2 and service.overdue_count(HENAN_MARCH, NOW, 15) == 2
    assert service.units(HENAN_MARCH, 15).equals(drill.units(drill_store, HENAN_MARCH, 15))
    assert service.cross(HENAN_MARCH).equals(drill.cross(drill_store, HENAN_MARCH))
    upsert(drill_store, "replies", frame([reply("r6", "d6", "2021-03-31 23:00:00", "郑州市住建局")]))
    assert service.overdue_count(HENAN_MARCH, NOW, 15) == 1  # a new data version
    assert service.units(HENAN_MARCH, 15).iloc[0]["answered"] == 4
    assert isinstance(service.dimension_values(), dict)
    assert isinstance(service.overdue(HENAN_MARCH, NOW), pd.DataFrame)
