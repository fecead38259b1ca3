"""Metric SQL against a small fixture whose answers are worked out by hand in the comments."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from queries import masking, medians, metrics, rollup_sql
from queries.periods import Filters
from queries.writes import upsert
from tests.conftest import BEIJING, HENAN, SICHUAN, frame, message, reply

POP_2020_TOTAL = 1_409_778_724
POP_2010_TOTAL = 1_332_774_867
H1 = Filters(dt.date(2021, 1, 1), dt.date(2021, 6, 30))


@pytest.fixture(autouse=True, params=["coarse-rollups", "fine-rollups"])
def coarse_path(request, monkeypatch):
    """Every check runs twice: from the coarse rollups where the question allows, and from the fine ones always."""
    if request.param == "fine-rollups":
        choose = rollup_sql.source_for
        monkeypatch.setattr(rollup_sql, "source_for", lambda dimension, *a: "city" if dimension == "city" else "fine")
        assert choose(None, False, False, False, False) == "province"
    return request.param


def test_summary_counts_boundaries_first_replies_and_yoy(fixture_store):
    s = metrics.summary(fixture_store, H1)
    assert s["messages"] == 4  # a1, a2, a5, a8
    assert s["replies"] == 3  # first replies of a1, a4, a5
    assert s["reply_ratio"] == pytest.approx(3 / 4)
    assert s["reply_rate"] == pytest.approx(3 / 4)  # a1, a2, a5 answered (a2 later), a8 not
    assert s["median_reply_hours"] == pytest.approx(10.0)  # median of 10, 48, 2
    assert s["messages_prev"] == 2 and s["replies_prev"] == 1  # a6, a7; a6
    assert s["messages_yoy"] == pytest.approx(1.0)
    assert s["replies_yoy"] == pytest.approx(2.0)
    assert s["census_year"] == 2020
    assert s["messages_per_10k"] == pytest.approx(4 * 10_000 / POP_2020_TOTAL)
    assert s["replies_per_10k"] == pytest.approx(3 * 10_000 / POP_2020_TOTAL)


def test_satisfaction_uses_flag_then_mean_score(fixture_store):
    assert metrics.summary(fixture_store, H1)["satisfaction_rate"] == pytest.approx(2 / 3)
    beijing = Filters(H1.start, H1.end, provinces=(BEIJING,))
    assert metrics.summary(fixture_store, beijing)["satisfaction_rate"] == 0


def _unit(unit_id: str, joined_at: str) -> pd.DataFrame:
    return frame(
        [dict(unit_id=unit_id, name="郑州市住建局", province=HENAN, level="市级", joined_at=pd.Timestamp(joined_at))]
    )


def test_new_units_follow_every_write_that_may_change_them(store):
    """The joins are kept across message writes (their version stays) and read again after any other write."""
    upsert(store, "units", _unit("u1", "2021-02-01"))
    assert metrics.summary(store, H1)["new_units"] == 1
    joins = store.joins_version
    upsert(store, "messages", frame([message("m1", "2021-03-01 10:00:00")]))
    assert store.joins_version == joins
    assert (metrics.summary(store, H1)["messages"], metrics.summary(store, H1)["new_units"]) == (1, 1)
    upsert(store, "units", _unit("u2", "2021-03-02"))
    assert store.joins_version != joins
    assert metrics.summary(store, H1)["new_units"] == 2
    with store.write() as cur:  # a write that declares nothing may have changed anything
        cur.execute("DELETE FROM units WHERE unit_id = 'u1'")
    assert metrics.summary(store, H1)["new_units"] == 1


def test_new_units_and_leaders(fixture_store):
    s = metrics.summary(fixture_store, H1)
    assert (s["new_units"], s["new_units_prev"], s["new_units_yoy"]) == (2, 1, pytest.approx(1.0))
    assert s["new_units_provinces"] == 2
    assert (s["new_leaders"], s["new_leaders_yoy"]) == (1, None)
    henan = metrics.summary(fixture_store, Filters(H1.start, H1.end, provinces=(HENAN,)))
    assert (henan["new_units"], henan["new_units_yoy"]) == (1, 0)
    assert henan["new_leaders"] == 0


def test_filters_combine(fixture_store):
    henan = metrics.summary(fixture_store, Filters(H1.start, H1.end, provinces=(HENAN,)))
    assert (henan["messages"], henan["replies"], henan["messages_prev"]) == (2, 2, 1)
    assert henan["replies_yoy"] is None
    assert henan["median_reply_hours"] == pytest.approx(29.0)  # (10 + 48) / 2
    henan_city = metrics.summary(fixture_store, Filters(H1.start, H1.end, provinces=(HENAN,), categories=("城建",)))
    assert (henan_city["messages"], henan_city["replies"]) == (1, 2)  # a1; a1 and a4
    consult = metrics.summary(fixture_store, Filters(H1.start, H1.end, provinces=(HENAN, BEIJING), types=("咨询",)))
    assert (consult["messages"], consult["replies"]) == (2, 1)  # a2, a5; a5
    urgent = metrics.summary(fixture_store, Filters(H1.start, H1.end, urgent_only=True))
    assert (urgent["messages"], urgent["replies"]) == (1, 1)
    # filtered per-10k uses the selected provinces' population
    assert henan["messages_per_10k"] == pytest.approx(2 * 10_000 / 99_365_519)


def test_by_province_per_10k_and_ranks(fixture_store):
    frame_ = metrics.by_province(fixture_store, H1).set_index("adcode")
    assert len(frame_) == 31
    assert frame_.loc[HENAN, "messages"] == 2 and frame_.loc[HENAN, "replies"] == 2
    assert frame_.loc[HENAN, "messages_per_10k"] == pytest.approx(2 * 10_000 / 99_365_519)
    assert frame_.loc[BEIJING, "replies_per_10k"] == pytest.approx(1 * 10_000 / 21_893_095)
    # 北京 1/21.9M > 河南 2/99.4M > 四川 1/83.7M; then zeros ordered by adcode (天津 120000 first)
    assert frame_.loc[BEIJING, "rank_messages_per_10k"] == 1
    assert frame_.loc[HENAN, "rank_messages_per_10k"] == 2
    assert frame_.loc[SICHUAN, "rank_messages_per_10k"] == 3
    assert frame_.loc[120000, "rank_messages_per_10k"] == 4
    assert frame_.loc[650000, "rank_messages_per_10k"] == 31
    assert frame_.loc[HENAN, "reply_rate"] == pytest.approx(1.0)
    assert frame_.loc[HENAN, "new_units"] == 1


def test_census_switches_with_period_end_year(fixture_store):
    before = metrics.summary(fixture_store, Filters(dt.date(2019, 1, 1), dt.date(2019, 12, 31)))
    after = metrics.summary(fixture_store, Filters(dt.date(2019, 6, 1), dt.date(2020, 1, 1)))
    assert (before["census_year"], before["population"]) == (2010, POP_2010_TOTAL)
    assert (after["census_year"], after["population"]) == (2020, POP_2020_TOTAL)
    provinces_2019 = metrics.by_province(fixture_store, Filters(dt.date(2019, 1, 1), dt.date(2019, 12, 31)))
    assert provinces_2019.set_index("adcode").loc[HENAN, "population"] == 94_023_567


def test_29_february_maps_to_28_february(store):
    upsert(
        store,
        "messages",
        frame(
            [
                message("b1", "2024-02-29 09:00"),
                message("b2", "2023-02-28 09:00"),
                message("b3", "2023-03-01 09:00"),
                message("b4", "2020-02-29 09:00"),
                message("b5", "2021-02-28 09:00"),
            ]
        ),
    )
    leap_day = metrics.summary(store, Filters(dt.date(2024, 2, 29), dt.date(2024, 2, 29)))
    assert (leap_day["messages"], leap_day["messages_prev"], leap_day["messages_yoy"]) == (1, 1, 0)
    assert leap_day["previous_start"] == leap_day["previous_end"] == "2023-02-28"
    # 2021-02-28 compares with 2020-02-28 only: the leap day b4 is not in it
    feb28 = metrics.summary(store, Filters(dt.date(2021, 2, 28), dt.date(2021, 2, 28)))
    assert (feb28["messages"], feb28["messages_prev"], feb28["messages_yoy"]) == (1, 0, None)
    spring = metrics.summary(store, Filters(dt.date(2021, 2, 1), dt.date(2021, 3, 31)))
    assert (spring["messages"], spring["messages_prev"]) == (1, 1)  # b5; b4 (2020-02-01..2020-03-31)
    trend = metrics.trend(store, Filters(dt.date(2024, 2, 28), dt.date(2024, 3, 1)), "day").set_index("bucket")
    assert trend["messages"].to_dict() == {"2024-02-28": 0, "2024-02-29": 1, "2024-03-01": 0}
    assert trend["messages_prev"].to_dict() == {"2024-02-28": 1, "2024-02-29": 0, "2024-03-01": 1}


def test_trend_buckets_add_up(fixture_store):
    monthly = metrics.trend(fixture_store, H1, "month").set_index("bucket")
    assert list(monthly.index) == [f"2021-0{m}-01" for m in range(1, 7)]
    assert monthly["messages"].tolist() == [1, 0, 1, 0, 1, 1]  # a1, a5, a8, a2
    assert monthly["replies"].tolist() == [2, 0, 1, 0, 0, 0]  # a1 + a4 in Jan, a5 in Mar
    assert monthly["messages_prev"].tolist() == [0, 0, 1, 0, 0, 1]  # a6, a7
    assert monthly["replies_prev"].tolist() == [0, 0, 1, 0, 0, 0]  # a6
    weekly = metrics.trend(fixture_store, H1, "week")
    assert weekly["bucket"].iloc[0] == "2020-12-28"  # the ISO week holding 1 January 2021
    assert weekly["messages"].sum() == 4 and weekly["replies"].sum() == 3
    daily = metrics.trend(fixture_store, H1, "day")
    assert len(daily) == 181 and daily["messages"].sum() == 4


def test_held_reply_is_linked_when_message_arrives(store):
    result = upsert(
        store, "replies", frame([reply("h1", "late", "2021-02-03 08:00"), reply("h2", "late", "2021-02-02 08:00")])
    )
    assert (result.written, result.held) == (0, 2)
    period = Filters(dt.date(2021, 2, 1), dt.date(2021, 2, 28))
    assert metrics.summary(store, period)["replies"] == 0
    result = upsert(store, "messages", frame([message("late", "2021-02-01 08:00")]))
    assert result.linked == 2
    s = metrics.summary(store, period)
    assert (s["messages"], s["replies"], s["median_reply_hours"]) == (1, 1, pytest.approx(24.0))
    assert store.scalar("SELECT count(*) FROM held_replies") == 0


def test_reply_before_its_message_is_rejected(store):
    upsert(store, "messages", frame([message("m", "2021-02-01 08:00")]))
    result = upsert(
        store, "replies", frame([reply("ok", "m", "2021-02-01 08:00"), reply("early", "m", "2021-02-01 07:59:59")])
    )
    assert result.written == 1
    assert [(r.row, r.field) for r in result.rejected] == [(3, "replied_at")]
    assert store.scalar("SELECT count(*) FROM replies") == 1


def test_reply_moved_to_another_message_updates_both(store):
    upsert(store, "messages", frame([message("x", "2021-02-01 08:00"), message("y", "2021-02-01 09:00")]))
    upsert(store, "replies", frame([reply("r", "x", "2021-02-02 08:00")]))
    upsert(store, "replies", frame([reply("r", "y", "2021-02-03 09:00")]))
    rows = dict(store.rows("SELECT message_id, reply_count FROM messages"))
    assert rows == {"x": 0, "y": 1}
    assert store.scalar("SELECT first_reply_at FROM messages WHERE message_id = 'x'") is None


def test_masking_hides_phone_numbers_and_mail():
    assert "13812345678" not in masking.mask_text("请回电13812345678谢谢")
    assert "@" not in masking.mask_text("邮箱 someone@example.com")
    assert masking.mask_text("一" * 50, limit=10) == "一" * 9 + "…"


@pytest.mark.parametrize("width", [65_536, 3], ids=["wide-window", "narrow-window"])
def test_median_window_follows_the_period_over_midnight(store, monkeypatch, width):
    """A long period's median after its end moves a day on (the wall after midnight) extends the cached
    sorted window by the new day instead of sorting every delay again; a window that drifted off the
    median is sorted again. Either way the medians equal the plain computation over the raw delays."""
    import numpy as np

    monkeypatch.setattr(medians, "MEDIAN_WINDOW", width)
    # the windows serve what the delay index does not carry (types, urgent): here they serve everything
    monkeypatch.setattr(medians, "USE_INDEX", False)
    store.medians.clear()
    rng = np.random.default_rng(7)
    rows, replies, delays = [], [], []  # delays: (reply day, province, hours)
    for i in range(400):
        created = pd.Timestamp("2024-03-01 08:00") + pd.Timedelta(seconds=int(rng.integers(0, 20 * 86_400)))
        seconds = int(rng.lognormal(10.5, 1.2))
        province = [HENAN, SICHUAN, BEIJING][i % 3]
        rows.append(message(f"w{i}", str(created), province=province))
        replies.append(reply(f"wr{i}", f"w{i}", str(created + pd.Timedelta(seconds=seconds))))
        delays.append(((created + pd.Timedelta(seconds=seconds)).date(), province, seconds / 3600))
    upsert(store, "messages", frame(rows))
    upsert(store, "replies", frame(replies))
    built = []
    sort_all = medians._median_windows
    monkeypatch.setattr(medians, "_median_windows", lambda *a: built.append(a) or sort_all(*a))

    def expected(end: dt.date):
        chosen = [(p, h) for day, p, h in delays if dt.date(2024, 3, 1) <= day <= end]
        by_province = {p: float(np.median([h for q, h in chosen if q == p])) for p in {p for p, _ in chosen}}
        return float(np.median([h for _, h in chosen])), by_province

    for end in (
        dt.date(2024, 3, 18),
        dt.date(2024, 3, 18),
        dt.date(2024, 3, 19),
        dt.date(2024, 3, 20),
        dt.date(2024, 3, 23),
    ):
        f = Filters(dt.date(2024, 3, 1), end)
        total, by_province = expected(end)
        assert metrics.summary(store, f)["median_reply_hours"] == pytest.approx(total, rel=1e-12), end
        got = metrics.by_province(store, f).set_index("adcode")["median_reply_hours"]
        for province, hours in by_province.items():
            assert got[province] == pytest.approx(hours, rel=1e-12), (end, province)
    if width > 100:
        # sorted once per grouping (2nd ask of 18 March); 19, 20 and 23 March extended the cached windows
        assert len(built) == 2
    else:
        assert len(built) > 2, "a narrow window drifts off the median and is sorted again"


def test_answered_within_24_hours(fixture_store):
    s = metrics.summary(fixture_store, H1)
    # created in H1: a1 (first reply after 10 h), a2 (2 s, on the next day), a5 (2 h) within 24 h; a8 unanswered
    assert s["replied_24h"] == 3
    assert s["reply_24h_rate"] == pytest.approx(3 / 4)
    # 2020 H1: a6 after exactly 24 h (counts), a7 after 1 s
    assert s["replied_24h_prev"] == 2
    assert s["replied_24h_yoy"] == pytest.approx(0.5)
    henan = metrics.by_province(fixture_store, H1).set_index("adcode")
    assert henan.loc[HENAN, "replied_24h"] == 2 and henan.loc[HENAN, "reply_24h_rate"] == pytest.approx(1.0)
    assert henan.loc[SICHUAN, "replied_24h"] == 0 and henan.loc[SICHUAN, "reply_24h_rate"] == 0
    types = metrics.by_type(fixture_store, H1).set_index("msg_type")
    assert types.loc["咨询", "replied_24h"] == 2  # a2, a5
    trend = metrics.trend(fixture_store, H1, "month").set_index("bucket")
    assert trend.loc["2021-06-01", "replied_24h"] == 1  # a2, by its creation day
    assert trend["replied_24h_prev"].sum() == 2


def test_period_over_period(fixture_store):
    # H1 (181 days, not a whole month, quarter or year): the 181 days before, 2020-07-04 .. 2020-12-31
    s = metrics.summary(fixture_store, H1)
    assert (s["before_start"], s["before_end"]) == ("2020-07-04", "2020-12-31")
    assert s["messages_before"] == 1  # a4; a7 (2020-06-30) lies before
    assert s["messages_pop"] == pytest.approx(3.0)  # (4 - 1) / 1
    assert s["replies_before"] == 0 and s["replies_pop"] is None  # a7's reply on 2020-07-01
    # a whole quarter: the previous quarter
    q1_filters = Filters(dt.date(2021, 1, 1), dt.date(2021, 3, 31))
    q1 = metrics.summary(fixture_store, q1_filters)
    assert (q1["before_start"], q1["before_end"]) == ("2020-10-01", "2020-12-31")
    assert (q1["messages"], q1["messages_before"], q1["messages_pop"]) == (2, 1, pytest.approx(1.0))  # a1, a5; a4
    assert (q1["replies"], q1["replies_before"], q1["replies_pop"]) == (3, 0, None)  # a1, a4, a5
    # a whole year: the previous year (a4, a6, a7 in 2020; a1, a2, a3, a5, a8 in 2021)
    year = metrics.summary(fixture_store, Filters(dt.date(2021, 1, 1), dt.date(2021, 12, 31)))
    assert (year["before_start"], year["before_end"]) == ("2020-01-01", "2020-12-31")
    assert year["messages_pop"] == pytest.approx(2 / 3)
    # a whole month: the previous month (February has 28 days in 2021)
    march = metrics.summary(fixture_store, Filters(dt.date(2021, 3, 1), dt.date(2021, 3, 31)))
    assert (march["before_start"], march["before_end"]) == ("2021-02-01", "2021-02-28")
    assert (march["messages"], march["messages_before"], march["messages_pop"]) == (1, 0, None)
    # per province beside YoY
    provinces = metrics.by_province(fixture_store, q1_filters).set_index("adcode")
    assert provinces.loc[HENAN, "messages_pop"] == pytest.approx(0.0)  # a1 against a4


def test_last_write_time_is_kept_with_each_commit(store):
    assert store.last_write_at is None
    upsert(store, "messages", frame([message("m1", "2021-03-01 10:00:00")]))
    stored = store.meta("last_write_at")
    assert stored is not None and store.last_write_at == stored
    with pytest.raises(RuntimeError), store.write() as cur:  # a failed write changes nothing
        cur.execute("UPDATE meta SET value = 'x' WHERE key = 'demo'")
        raise RuntimeError
    assert store.last_write_at == stored == store.meta("last_write_at")
