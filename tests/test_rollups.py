"""Rollup-backed metrics equal an independent pandas computation on randomised data,
after incremental writes, replies arriving before messages and re-imports that change a message."""

from __future__ import annotations

import contextlib
import datetime as dt
import threading
import time

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from queries import drill, medians, metrics
from queries.periods import Filters
from queries.write_groups import WriteGroups
from queries.writes import upsert

PROVINCES = [110000, 410000, 510000, 440000]
HENAN_CODE = 410000
CATEGORIES = ["城建", "交通", "教育", "其他"]
TYPES = ["投诉/求助", "咨询", "建言"]
BASE = pd.Timestamp("2020-01-01")
CITIES = np.array(["甲市", "乙市", None], dtype=object)  # by position: no draw of the generator's
# the unit of a reply follows from its time, so replies of one message at the same time agree on the first one's unit
UNITS = np.array(["单位甲", "单位乙", "单位丙", None], dtype=object)
LATE_DAYS = 15


def _messages(rng, ids) -> pd.DataFrame:
    n = len(ids)
    return pd.DataFrame(
        {
            "message_id": ids,
            "created_at": BASE + pd.to_timedelta(rng.integers(0, 800 * 86400, n), unit="s"),
            "province": rng.choice(PROVINCES, n),
            "city": CITIES[np.arange(n) % len(CITIES)],
            "district": None,
            "addressee": None,
            "category": rng.choice(CATEGORIES, n),
            "msg_type": rng.choice(TYPES, n),
            "title": "t",
            "is_urgent": rng.random(n) < 0.2,
            "source_status": rng.choice(np.array([None, "办理中"], dtype=object), n, p=[0.9, 0.1]),
        }
    )


def _replies(rng, messages: pd.DataFrame, ids, k: int) -> pd.DataFrame:
    targets = messages.sample(k, replace=True, random_state=int(rng.integers(1 << 30)))
    frame_ = pd.DataFrame(
        {
            "reply_id": ids,
            "message_id": targets["message_id"].to_numpy(),
            # about half within two days (either side of the 24 hours, and exactly at them), the rest up to 40 days
            "replied_at": targets["created_at"].to_numpy()
            + pd.to_timedelta(
                np.where(
                    rng.random(k) < 0.5,
                    np.where(rng.random(k) < 0.1, rng.choice([86400, 86401], k), rng.integers(0, 2 * 86400, k)),
                    rng.integers(0, 40 * 86400, k),
                ),
                unit="s",
            ),
        }
    )
    seconds = frame_["replied_at"].to_numpy().astype("datetime64[s]").astype(np.int64)
    return frame_.assign(unit=UNITS[seconds % len(UNITS)])


def _evaluations(rng, messages: pd.DataFrame, k: int) -> pd.DataFrame:
    targets = messages.sample(k, random_state=int(rng.integers(1 << 30)))
    sat = rng.choice(np.array([True, False, None], dtype=object), k)
    score = pd.array(rng.integers(1, 6, k), dtype="Int8")
    return pd.DataFrame(
        {
            "message_id": targets["message_id"].to_numpy(),
            "rated_at": targets["created_at"].to_numpy() + pd.to_timedelta(rng.integers(0, 60 * 86400, k), unit="s"),
            "satisfied": pd.array(sat, dtype="boolean"),
            "score_resolution": score,
            "score_attitude": score,
            "score_speed": score,
        }
    )


def _write(store, kind, frame_):
    frame_ = frame_.copy()
    frame_.insert(0, "_row", range(len(frame_)))
    result = upsert(store, kind, frame_)
    assert not result.rejected
    return result


def _expected(messages, replies, evaluations, f: Filters) -> dict:
    """The spec's metrics computed in pandas from the latest version of every record."""
    m = _matching(messages, replies, f)
    lo, hi = pd.Timestamp(f.start), pd.Timestamp(f.end) + pd.Timedelta(days=1)
    created = m[(m["created_at"] >= lo) & (m["created_at"] < hi)]
    answered = m[(m["first"] >= lo) & (m["first"] < hi)]
    e = evaluations.merge(m[["message_id"]], on="message_id")
    e = e[(e["rated_at"] >= lo) & (e["rated_at"] < hi)]
    verdict = e["satisfied"].astype("object")
    verdict = verdict.where(verdict.notna(), e["score_resolution"].astype("float") >= 4)
    delays = (answered["first"] - answered["created_at"]).dt.total_seconds() / 3600
    status = np.where(
        m["source_status"].eq("办理中"),
        "办理中",
        np.where(m["first"].notna(), "已办理", m["source_status"].fillna("待回复")),
    )
    pending = ((m["created_at"] >= lo) & (m["created_at"] < hi) & (status == "待回复")).sum()
    fast = created[(created["first"] - created["created_at"]) <= pd.Timedelta(hours=24)]
    return {
        "replied_24h": len(fast),
        "reply_24h_rate": len(fast) / len(created) if len(created) else None,
        "replied_24h_by_province": fast.groupby("province").size().to_dict(),
        "replied_24h_by_category": fast.groupby("category").size().to_dict(),
        "replied_24h_by_type": fast.groupby("msg_type").size().to_dict(),
        "messages": len(created),
        "replies": len(answered),
        "reply_rate": created["first"].notna().mean() if len(created) else None,
        "median_reply_hours": float(np.median(delays)) if len(delays) else None,
        "satisfaction_rate": verdict.astype(bool).mean() if len(verdict) else None,
        "pending": int(pending),
        "by_province": created.groupby("province").size().to_dict(),
        "replies_by_category": answered.groupby("category").size().to_dict(),
        "by_type": created.groupby("msg_type").size().to_dict(),
        "median_by_province": (answered.assign(h=delays).groupby("province")["h"].median().to_dict()),
    }


def _matching(messages, replies, f: Filters) -> pd.DataFrame:
    """The messages that the filters select, with their first reply's time (`first`) and unit (`first_unit`)."""
    m = messages.copy()
    # the earliest reply's row (groupby.first would skip a missing unit)
    first = replies.sort_values("replied_at", kind="stable").drop_duplicates("message_id").set_index("message_id")
    m["first"] = m["message_id"].map(first["replied_at"])
    m["first_unit"] = m["message_id"].map(first["unit"])
    keep = pd.Series(True, index=m.index)
    if f.provinces:
        keep &= m["province"].isin(f.provinces)
    if f.categories:
        keep &= m["category"].isin(f.categories)
    if f.types:
        keep &= m["msg_type"].isin(f.types)
    if f.urgent_only:
        keep &= m["is_urgent"]
    return m[keep]


def _expected_cities(messages, replies, evaluations, f: Filters) -> pd.DataFrame:
    """Per city (None: none given) of the filtered messages: messages, replies (first replies in the period),
    replied_24h, evaluations and satisfied of the period, in pandas."""
    m = _matching(messages, replies, f)
    lo, hi = pd.Timestamp(f.start), pd.Timestamp(f.end) + pd.Timedelta(days=1)
    created = m[(m["created_at"] >= lo) & (m["created_at"] < hi)]
    answered = m[(m["first"] >= lo) & (m["first"] < hi)]
    e = evaluations.merge(m[["message_id", "city"]], on="message_id")
    e = e[(e["rated_at"] >= lo) & (e["rated_at"] < hi)]
    verdict = e["satisfied"].astype("object")
    verdict = verdict.where(verdict.notna(), e["score_resolution"].astype("float") >= 4)
    fast = (created["first"] - created["created_at"]) <= pd.Timedelta(hours=24)
    columns = {
        "messages": created.groupby("city", dropna=False).size(),
        "replies": answered.groupby("city", dropna=False).size(),
        "replied_24h": created[fast].groupby("city", dropna=False).size(),
        "evaluations": e.groupby("city", dropna=False).size(),
        "satisfied": e[verdict.astype(bool)].groupby("city", dropna=False).size(),
    }
    out = pd.DataFrame(columns).fillna(0).astype("int64")
    out.index = ["（未填）" if pd.isna(c) else c for c in out.index]
    return out


def _expected_units(messages, replies, f: Filters) -> dict:
    """{unit: (answered, late, median, mean, p90 hours)} of the messages first answered in the period, in pandas."""
    m = _matching(messages, replies, f)
    lo, hi = pd.Timestamp(f.start), pd.Timestamp(f.end) + pd.Timedelta(days=1)
    answered = m[(m["first"] >= lo) & (m["first"] < hi)]
    hours = (answered["first"] - answered["created_at"]).dt.total_seconds() / 3600
    out = {}
    for unit, h in hours.groupby(answered["first_unit"], dropna=False):
        key = None if pd.isna(unit) else unit
        out[key] = (len(h), int((h > LATE_DAYS * 24).sum()), h.median(), h.mean(), h.quantile(0.9))
    return out


def _check_drill(store, messages, replies, evaluations, f: Filters) -> None:
    """The drill-down's city table (each period) and unit table against pandas."""
    got = metrics.by_city(store, f).set_index("city")
    current = _expected_cities(messages, replies, evaluations, f)
    # the table lists the cities with messages or replies in the period
    assert set(got.index) == set(current.index[(current["messages"] > 0) | (current["replies"] > 0)]), f
    for suffix, period in (("", f), ("_prev", f.previous), ("_before", f.before)):
        want = _expected_cities(messages, replies, evaluations, period)
        for column in want.columns:
            mine = {k: int(v) for k, v in got[f"{column}{suffix}"].items() if v}
            theirs = {k: int(v) for k, v in want[column].items() if v and k in got.index}
            assert mine == theirs, (f, column, suffix)
    units = drill.units(store, f, LATE_DAYS)
    want_units = _expected_units(messages, replies, f)
    assert sorted(units["unit"], key=str) == sorted(want_units, key=str), f
    for row in units.itertuples(index=False):
        answered, late, median, mean, p90 = want_units[row.unit]
        assert (row.answered, row.late) == (answered, late), (f, row.unit)
        got_hours = (row.median_reply_hours, row.mean_reply_hours, row.p90_reply_hours)
        assert got_hours == pytest.approx((median, mean, p90), rel=1e-9), (f, row.unit)


def _check(store, messages, replies, evaluations, rng):
    periods = [Filters(dt.date(2020, 1, 1), dt.date(2022, 12, 31))]
    for _ in range(6):
        start = dt.date(2020, 1, 1) + dt.timedelta(days=int(rng.integers(0, 700)))
        end = start + dt.timedelta(days=int(rng.integers(0, 200)))
        periods.append(
            Filters(
                start,
                end,
                provinces=tuple(rng.choice(PROVINCES, int(rng.integers(0, 3)), replace=False)),
                categories=tuple(rng.choice(CATEGORIES, int(rng.integers(0, 2)), replace=False)),
                urgent_only=bool(rng.random() < 0.2),
            )
        )
    for f in periods:
        want = _expected(messages, replies, evaluations, f)
        got = metrics.summary(store, f)
        for key in ("messages", "replies", "pending", "replied_24h"):
            assert got[key] == want[key], (f, key)
        # the 环比 period's counts and growth, computed over its own dates
        before = _expected(messages, replies, evaluations, f.before)
        for key in ("messages", "replies", "replied_24h"):
            assert got[f"{key}_before"] == before[key], (f, key)
            growth = (want[key] - before[key]) / before[key] if before[key] else None
            assert got[f"{key}_pop"] == pytest.approx(growth, rel=1e-12), (f, key)
        trend = metrics.trend(store, f, "month")
        assert int(trend["replied_24h"].sum()) == want["replied_24h"], f
        for key in ("reply_rate", "reply_24h_rate", "median_reply_hours", "satisfaction_rate"):
            assert (got[key] is None) == (want[key] is None), (f, key)
            if want[key] is not None:
                assert got[key] == pytest.approx(want[key], rel=1e-9), (f, key)
        provinces = metrics.by_province(store, f).set_index("adcode")["messages"]
        assert {k: v for k, v in provinces.items() if v} == want["by_province"], f
        categories = metrics.by_category(store, f).set_index("category")["replies"]
        assert {k: v for k, v in categories.items() if v} == want["replies_by_category"], f
        types = metrics.by_type(store, f).set_index("msg_type")["messages"]
        assert {k: v for k, v in types.items() if v} == want["by_type"], f
        for name, frame_, key in (
            ("province", metrics.by_province(store, f), "adcode"),
            ("category", metrics.by_category(store, f), "category"),
            ("type", metrics.by_type(store, f), "msg_type"),
        ):
            fast = frame_.set_index(key)["replied_24h"]
            assert {k: v for k, v in fast.items() if v} == want[f"replied_24h_by_{name}"], (f, name)
        medians = metrics.by_province(store, f).set_index("adcode")["median_reply_hours"].dropna()
        assert set(medians.index) == set(want["median_by_province"]), f
        for k, v in want["median_by_province"].items():
            assert medians[k] == pytest.approx(v, rel=1e-9), (f, k)
        _check_drill(store, messages, replies, evaluations, f)


# The coarse tables, derived from the fine rollups, against one group-by over the raw rows.
_RAW_BREAKDOWN = """
SELECT day, __DIM__, sum(m) AS messages, sum(r) AS replied, sum(a) AS replies, sum(e) AS evaluations,
       sum(s) AS satisfied, sum(f) AS replied_24h
FROM (
    SELECT created_at::DATE AS day, __DIM__, 1 AS m, (first_reply_at IS NOT NULL)::INT AS r, 0 AS a, 0 AS e, 0 AS s,
           coalesce(epoch(first_reply_at - created_at) <= 86400, false)::INT AS f
    FROM messages
    UNION ALL
    SELECT first_reply_at::DATE, __DIM__, 0, 0, 1, 0, 0, 0 FROM messages WHERE first_reply_at IS NOT NULL
    UNION ALL
    SELECT ev.rated_at::DATE, m.__DIM__, 0, 0, 0, (ev.verdict IS NOT NULL)::INT, coalesce(ev.verdict, false)::INT, 0
    FROM evaluations ev JOIN messages m USING (message_id)
)
GROUP BY ALL
"""


_RAW_FINE = {
    "roll_created": """
        SELECT created_at::DATE AS day, province, category, msg_type, is_urgent, count(*) AS messages,
               count(first_reply_at) AS replied,
               count(*) FILTER (WHERE epoch(first_reply_at - created_at) <= 86400) AS replied_24h,
               count(*) FILTER (WHERE message_status(source_status, first_reply_at) = '待回复') AS pending,
               count(*) FILTER (WHERE message_status(source_status, first_reply_at) = '办理中') AS in_progress
        FROM messages GROUP BY ALL""",
    "roll_answered": """
        SELECT first_reply_at::DATE AS day, province, category, msg_type, is_urgent, count(*) AS replies
        FROM messages WHERE first_reply_at IS NOT NULL GROUP BY ALL""",
    "roll_rated": """
        SELECT e.rated_at::DATE AS day, m.province, m.category, m.msg_type, m.is_urgent,
               count(e.verdict) AS evaluations, count(*) FILTER (WHERE e.verdict) AS satisfied
        FROM evaluations e JOIN messages m USING (message_id) GROUP BY ALL""",
}
_KEYS = {
    "roll_created": "day, province, category, msg_type, is_urgent",
    "roll_answered": "day, province, category, msg_type, is_urgent",
    "roll_rated": "day, province, category, msg_type, is_urgent",
    "roll_category": "day, category",
    "roll_type": "day, msg_type",
    "roll_province": "day, province",
    "roll_province_category": "day, province, category",
}
_VALUES = {
    "roll_created": ("messages", "replied", "replied_24h", "pending", "in_progress"),
    "roll_answered": ("replies",),
    "roll_rated": ("evaluations", "satisfied"),
}


def _summed(relation: str, keys: str, values) -> str:
    """Sums per key of a relation, keys whose sums are all zero left out: the rollups may hold several
    rows per key (one per write, until compacted) and keys that summed to zero."""
    sums = ", ".join(f"sum({v}) AS {v}" for v in values)
    nonzero = " OR ".join(f"{v} <> 0" for v in values)
    return f"SELECT * FROM (SELECT {keys}, {sums} FROM {relation} GROUP BY {keys}) WHERE {nonzero}"


_CITY_KEYS = ["day", "province", "city", "category", "msg_type", "is_urgent"]


def _keyed(frame_: pd.DataFrame, keys: list[str], values: list[str]) -> dict:
    """{key tuple: value tuple} of the sums per key (missing keys as None), keys whose sums are all zero left out."""
    frame_ = frame_.assign(day=pd.to_datetime(frame_["day"]).dt.date)
    frame_ = frame_.astype({k: object for k in keys})
    summed = frame_.groupby(keys, dropna=False)[values].sum()
    out = {}
    for key, row in zip(summed.index, summed.itertuples(index=False), strict=True):
        if any(row):
            out[tuple(None if pd.isna(k) else k for k in key)] = tuple(int(v) for v in row)
    return out


def _check_city_and_unit_rollups(store) -> None:
    """roll_city (every count per day, province, city, domain, type and urgency) and the units of roll_delays equal
    the stored rows, counted in pandas as the spec defines each count."""
    m = store.df(
        "SELECT message_id, created_at, province, city, category, msg_type, is_urgent, source_status, first_reply_at, "
        "first_reply_unit FROM messages"
    )
    e = store.df("SELECT message_id, rated_at, verdict FROM evaluations").merge(m, on="message_id")
    status, first = m["source_status"], m["first_reply_at"]
    created = m.assign(
        day=m["created_at"],
        messages=1,
        replied=first.notna(),
        replied_24h=(first - m["created_at"]) <= pd.Timedelta(hours=24),
        pending=first.isna() & status.fillna("待回复").eq("待回复"),
        in_progress=status.eq("办理中"),
        urgent_messages=m["is_urgent"],
    )
    answered = m[first.notna()].assign(day=first[first.notna()], replies=1)
    verdict = e["verdict"].astype("boolean")
    rated = e.assign(day=e["rated_at"], evaluations=verdict.notna(), satisfied=verdict.fillna(False))
    counts = [
        "messages",
        "replied",
        "replied_24h",
        "pending",
        "in_progress",
        "urgent_messages",
        "replies",
        "evaluations",
        "satisfied",
    ]
    parts = [part.astype({c: "int64" for c in counts if c in part.columns}) for part in (created, answered, rated)]
    rows = pd.concat(parts, ignore_index=True)
    rows[counts] = rows[counts].fillna(0).astype("int64")
    want = _keyed(rows, _CITY_KEYS, counts)
    assert want, "the fixture has rows"
    assert _keyed(store.df("SELECT * FROM roll_city"), _CITY_KEYS, counts) == want
    # the delays with their first reply's unit: one per answered message
    a = m[first.notna()]
    want_delays = _delays(
        a["first_reply_at"], a["first_reply_unit"], (a["first_reply_at"] - a["created_at"]).dt.total_seconds() / 3600
    )
    stored = store.df("SELECT day, unit, hours FROM roll_delays")
    assert _delays(stored["day"], stored["unit"], stored["hours"]) == want_delays


def _delays(day: pd.Series, unit: pd.Series, hours: pd.Series) -> list:
    """(day, unit or None, hours) of each row, in a fixed order."""
    days = pd.to_datetime(day).dt.date.tolist()
    units = [None if pd.isna(u) else u for u in unit]
    return sorted(zip(days, units, hours.round(9).tolist(), strict=True), key=str)


def _check_tables(store):
    _check_city_and_unit_rollups(store)
    cur = store.cursor()
    pairs = [(table, _RAW_FINE[table], _KEYS[table], _VALUES[table]) for table in _RAW_FINE]
    for table, dim in (
        ("roll_category", "category"),
        ("roll_type", "msg_type"),
        ("roll_province", "province"),
        ("roll_province_category", "province, category"),
    ):
        pairs.append(
            (
                table,
                _RAW_BREAKDOWN.replace("__DIM__", dim),
                _KEYS[table],
                ("messages", "replied", "replies", "evaluations", "satisfied", "replied_24h"),
            )
        )
    for table, raw, keys, values in pairs:
        got, want = _summed(table, keys, values), _summed(f"({raw})", keys, values)
        for a, b in ((got, want), (want, got)):
            extra = cur.execute(f"SELECT count(*) FROM ({a} EXCEPT ALL {b})").fetchall()[0][0]
            assert extra == 0, (table, a[:60])
    # roll_province's own columns: pending, in progress and urgent messages per day and province
    raw = _summed("(" + _RAW_FINE["roll_created"] + ")", "day, province", ("pending", "in_progress"))
    got = _summed("roll_province", "day, province", ("pending", "in_progress"))
    for a, b in ((got, raw), (raw, got)):
        assert cur.execute(f"SELECT count(*) FROM ({a} EXCEPT ALL {b})").fetchall()[0][0] == 0
    urgent = (
        "SELECT created_at::DATE AS day, province, count(*) AS urgent_messages FROM messages "
        "WHERE is_urgent GROUP BY ALL"
    )
    a, b = (
        _summed("roll_province", "day, province", ("urgent_messages",)),
        _summed(f"({urgent})", "day, province", ("urgent_messages",)),
    )
    for x, y in ((a, b), (b, a)):
        assert cur.execute(f"SELECT count(*) FROM ({x} EXCEPT ALL {y})").fetchall()[0][0] == 0
    # every reply day of roll_delays has one revision, and the delays equal the raw rows
    assert (
        cur.execute(
            "SELECT count(*) FROM (SELECT DISTINCT day FROM roll_delays) d ANTI JOIN roll_delay_revisions r USING (day)"
        ).fetchall()[0][0]
        == 0
    )
    assert (
        cur.execute("SELECT count(*), count(DISTINCT day) FROM roll_delay_revisions").fetchall()[0]
        == cur.execute("SELECT count(DISTINCT day), count(DISTINCT day) FROM roll_delay_revisions").fetchall()[0]
    )
    raw_delays = (
        cur.execute(
            "SELECT list_sort(list(epoch(first_reply_at - created_at) / 3600.0)) FROM messages "
            "WHERE first_reply_at IS NOT NULL"
        ).fetchall()[0][0]
        or []
    )
    assert (cur.execute("SELECT list_sort(list(hours)) FROM roll_delays").fetchall()[0][0] or []) == raw_delays


@pytest.fixture(params=[0, 65_536, 2], ids=["delay-index", "median-window", "tiny-median-window"])
def median_cache(request, monkeypatch, store):
    """Every period of the check goes through the delay index (0; its days changed by later writes read from the
    table, rebuilt past 3 such days) or through the median windows; a tiny window exercises their fallback.
    (With it, replies find their messages through the "recent messages" lookup: every message is recent.)"""
    from queries import median_index, writes

    monkeypatch.setattr(medians, "MEDIAN_CACHE_MIN_DAYS", 1)
    monkeypatch.setattr(medians, "USE_INDEX", request.param == 0)
    monkeypatch.setattr(median_index, "MAX_STALE_DAYS", 3)
    if 0 < request.param < 100:
        monkeypatch.setattr(writes, "REPLY_LOOKBACK_DAYS", (100_000, 200_000))
    monkeypatch.setattr(medians, "MEDIAN_WINDOW", max(request.param, 2))
    store.medians.clear()
    yield request.param
    store.medians.clear()


@pytest.mark.parametrize("compact_after", [32, 1], ids=["appended", "compacted"])
def test_rollups_equal_raw_computation_through_incremental_writes(store, median_cache, compact_after, monkeypatch):
    from queries import deltas

    # rollup rows are appended per write and merged per key after `compact_after` appends to a day
    monkeypatch.setattr(deltas, "COMPACT_AFTER", compact_after)
    rng = np.random.default_rng(7)
    messages = _messages(rng, [f"m{i}" for i in range(1500)])
    replies = _replies(rng, messages, [f"r{i}" for i in range(1400)], 1400)
    evaluations = _evaluations(rng, messages, 500)

    # replies and some evaluations first (held), then messages in batches, then the rest
    _write(store, "replies", replies.iloc[:300])
    _write(store, "evaluations", evaluations.iloc[:150])
    for lo in range(0, len(messages), 300):
        _write(store, "messages", messages.iloc[lo : lo + 300])
    assert store.scalar("SELECT count(*) FROM held_evaluations") == 0
    _write(store, "replies", replies.iloc[300:])
    _write(store, "evaluations", evaluations.iloc[150:])
    _check(store, messages, replies, evaluations, rng)
    _check_tables(store)

    # re-import a fifth of the messages with a new domain, type and creation time
    changed = messages.sample(300, random_state=1).copy()
    changed["category"] = rng.choice(CATEGORIES, len(changed))
    changed["msg_type"] = rng.choice(TYPES, len(changed))
    earliest_reply = replies.groupby("message_id")["replied_at"].min()
    limit = changed["message_id"].map(earliest_reply).fillna(pd.Timestamp("2030-01-01"))
    # move creation earlier, never after an existing reply (which would make it invalid)
    changed["created_at"] = np.minimum(changed["created_at"] - pd.Timedelta(days=3), limit)
    _write(store, "messages", changed)
    messages = messages.set_index("message_id")
    messages.update(changed.set_index("message_id"))
    messages = messages.reset_index()

    # re-send some replies pointing at other messages and later times, and new evaluations
    moved = _replies(rng, messages, replies["reply_id"].sample(100, random_state=2).tolist(), 100)
    _write(store, "replies", moved)
    replies = pd.concat([replies[~replies["reply_id"].isin(moved["reply_id"])], moved])
    more = _evaluations(rng, messages, 200)
    _write(store, "evaluations", more)
    evaluations = pd.concat([evaluations[~evaluations["message_id"].isin(more["message_id"])], more])
    _check(store, messages, replies, evaluations, rng)
    _check_tables(store)

    # new replies only (the incremental first-reply path), then the same periods again: cached
    # median windows are reused where no day changed and rebuilt where one did
    unanswered = messages[~messages["message_id"].isin(replies["message_id"])]
    fresh = _replies(rng, unanswered, [f"n{i}" for i in range(150)], 150)
    _write(store, "replies", fresh)
    replies = pd.concat([replies, fresh])
    again = np.random.default_rng(99)
    _check(store, messages, replies, evaluations, again)
    _check(store, messages, replies, evaluations, np.random.default_rng(99))
    if median_cache:
        assert store.medians.windows, "the second round of the same periods reads cached median windows"
    else:
        assert store.medians.index.value is not None
    _check_tables(store)


def test_migration_backfills_rollups_from_existing_rows(tmp_path):
    from queries.db import SCHEMA_VERSION, Store

    path = tmp_path / "old.duckdb"
    store = Store(path)
    rng = np.random.default_rng(3)
    messages = _messages(rng, [f"m{i}" for i in range(200)])
    _write(store, "messages", messages)
    # pretend the file predates the rollups: drop them and mark schema version 1
    cur = store.cursor()
    for table in ("roll_created", "roll_answered", "roll_rated", "roll_province", "roll_delays"):
        cur.execute(f"DROP TABLE {table}")
    cur.execute("UPDATE meta SET value = '1' WHERE key = 'schema_version'")
    store.close()
    reopened = Store(path)
    assert reopened.meta("schema_version") == str(SCHEMA_VERSION)
    f = Filters(dt.date(2020, 1, 1), dt.date(2022, 12, 31))
    assert metrics.summary(reopened, f)["messages"] == 200
    reopened.close()


def test_migration_16_fills_the_units_of_the_delays_and_the_city_table(tmp_path):
    """A file from before migration 16 (delays without their unit, no city table) gets both on opening, equal to
    its rows."""
    from queries.db import Store

    path = tmp_path / "v15.duckdb"
    store = Store(path)
    rng = np.random.default_rng(8)
    messages = _messages(rng, [f"m{i}" for i in range(300)])
    _write(store, "messages", messages)
    _write(store, "replies", _replies(rng, messages, [f"r{i}" for i in range(250)], 250))
    _write(store, "evaluations", _evaluations(rng, messages, 80))
    cur = store.cursor()
    cur.execute("ALTER TABLE roll_delays DROP COLUMN unit")
    cur.execute("DROP TABLE roll_city")
    cur.execute("UPDATE meta SET value = '15' WHERE key = 'schema_version'")
    store.close()
    reopened = Store(path)
    try:
        assert reopened.scalar("SELECT count(unit) FROM roll_delays") > 0
        _check_tables(reopened)
    finally:
        reopened.close()


def test_migration_6_finds_evaluations_waiting_for_their_message(tmp_path):
    """A file from before held_evaluations: its evaluations of unknown messages are found on opening,
    and count once their message arrives."""
    from queries.db import Store

    path = tmp_path / "v5.duckdb"
    store = Store(path)
    rng = np.random.default_rng(5)
    messages = _messages(rng, [f"m{i}" for i in range(20)])
    evaluations = _evaluations(rng, messages, 5)
    _write(store, "evaluations", evaluations)
    cur = store.cursor()
    cur.execute("DROP TABLE held_evaluations")
    cur.execute("UPDATE meta SET value = '5' WHERE key = 'schema_version'")
    store.close()
    store = Store(path)
    assert store.scalar("SELECT count(*) FROM held_evaluations") == 5
    _write(store, "messages", messages)
    assert store.scalar("SELECT count(*) FROM held_evaluations") == 0
    f = Filters(dt.date(2020, 1, 1), dt.date(2022, 12, 31))
    verdict = [
        bool(s) if s is not pd.NA else score >= 4
        for s, score in zip(evaluations["satisfied"], evaluations["score_resolution"], strict=True)
    ]
    assert metrics.summary(store, f)["satisfaction_rate"] == pytest.approx(np.mean(verdict))
    _check_tables(store)
    store.close()


def test_live_reply_path_mixed_batches(store):
    """The live reply path (every reply new, every message stored) against the raw rows, with the cases that
    leave it: a rejected early reply, a held reply re-sent once its message is known, a batch mixing new and
    re-sent replies (the general path after the new ones were inserted)."""
    rng = np.random.default_rng(5)
    messages = _messages(rng, [f"m{i}" for i in range(400)])
    _write(store, "messages", messages)
    late = messages.iloc[0]
    # a reply that precedes its (then unknown) message stays held with the reason
    early = pd.DataFrame(
        {"reply_id": ["h1"], "message_id": ["mx"], "replied_at": [pd.Timestamp("2020-01-05")], "unit": ["u"]}
    )
    _write(store, "replies", early)
    _write(store, "messages", messages.iloc[:1].assign(message_id="mx", created_at=pd.Timestamp("2020-02-01")))
    assert store.scalar("SELECT count(*) FROM held_replies WHERE problem IS NOT NULL") == 1

    first = _replies(rng, messages, [f"a{i}" for i in range(300)], 300)
    _write(store, "replies", first)
    # new replies, one of them earlier than its message (rejected), and the held one re-sent with a valid time
    second = _replies(rng, messages, [f"b{i}" for i in range(200)], 200)
    bad = pd.DataFrame(
        {
            "reply_id": ["bad"],
            "message_id": [late["message_id"]],
            "replied_at": [late["created_at"] - pd.Timedelta(hours=1)],
            "unit": ["u"],
        }
    )
    fixed = early.assign(replied_at=pd.Timestamp("2020-02-03"))
    batch = pd.concat([second, bad, fixed], ignore_index=True)
    batch.insert(0, "_row", range(1, len(batch) + 1))
    result = upsert(store, "replies", batch)
    assert [(r.row, r.field) for r in result.rejected] == [(201, "replied_at")]
    assert result.written == 201
    assert store.scalar("SELECT count(*) FROM held_replies") == 0
    # new replies mixed with re-sent ones that move to other messages
    third = _replies(rng, messages, [f"c{i}" for i in range(100)], 100)
    moved = _replies(rng, messages, first["reply_id"].iloc[:50].tolist(), 50)
    _write(store, "replies", pd.concat([third, moved], ignore_index=True))

    cur = store.cursor()
    assert cur.execute("SELECT count(*) FROM replies").fetchall()[0][0] == 300 + 200 + 1 + 100
    stale = cur.execute("""
        SELECT count(*) FROM messages m
        LEFT JOIN (SELECT message_id, min(replied_at) AS f, count(*) AS n FROM replies GROUP BY 1) r USING (message_id)
        WHERE m.first_reply_at IS DISTINCT FROM r.f OR m.reply_count <> coalesce(r.n, 0)""").fetchall()[0][0]
    assert stale == 0
    _check_tables(store)


@pytest.mark.parametrize("deferred", [False, True], ids=["increments", "deferred"])
def test_bulk_chunks_prepared_ahead(store, deferred):
    """Bulk chunks of messages made ready before the write (writes.prepare, as the import does while the previous
    chunk is written), with held replies and evaluations waiting for them and re-imported messages among them:
    the rollups equal the rows, kept by increments, or rebuilt once when a deferred block (the import) ends."""
    from queries import writes

    rng = np.random.default_rng(11)
    n = writes.BULK_ROWS + 500
    messages = _messages(rng, [f"m{i}" for i in range(3 * n)])
    first, second, third = messages.iloc[:n], messages.iloc[n : 2 * n], messages.iloc[2 * n :]
    early = _replies(rng, first, [f"r{i}" for i in range(50)], 50)  # held (none precedes its message), then linked
    _write(store, "replies", early)
    assert store.scalar("SELECT count(*) FROM held_replies") == 50
    _write(store, "evaluations", _evaluations(rng, first, 40))  # held, then counted

    def bulk(frame):
        frame = frame.copy()
        frame.insert(0, "_row", range(len(frame)))
        prepared = writes.prepare("messages", frame)
        assert prepared is not None
        return upsert(store, "messages", frame, prepared=prepared)

    with store.deferred_rollups() if deferred else contextlib.nullcontext():
        assert bulk(first).linked == 50
        assert store.scalar("SELECT count(*) FROM held_replies") == 0
        want = early.groupby("message_id")["replied_at"].min()
        got = dict(store.rows("SELECT message_id, first_reply_at FROM messages WHERE first_reply_at IS NOT NULL"))
        assert got == {k: v.to_pydatetime() for k, v in want.items()}
        bulk(second)
        # deferred: the rollups lag behind the rows until the block ends
        lag = store.scalar("SELECT count(*) FROM messages") - store.scalar(
            "SELECT coalesce(sum(messages), 0) FROM roll_created"
        )
        assert lag == (2 * n if deferred else 0)
        # new messages mixed with re-imported ones that moved to other days, domains and types
        changed = pd.concat(
            [
                third,
                second.iloc[:3000].assign(
                    created_at=second["created_at"].iloc[:3000] - pd.Timedelta(days=2),
                    category=rng.choice(CATEGORIES, 3000),
                    msg_type=rng.choice(TYPES, 3000),
                ),
            ]
        )
        bulk(changed)
    _check_tables(store)
    assert store.scalar("SELECT count(*) FROM stale_rollup_days") == 0


def test_days_a_deferred_block_left_stale_are_rebuilt_when_the_file_opens(tmp_path):
    """A process that dies inside a deferred block (a bulk import) leaves the days its committed writes changed
    marked stale: opening the file rebuilds them, so the rollups equal the rows for every kind of record."""
    from queries.db import Store

    path = tmp_path / "import.duckdb"
    store = Store(path)
    rng = np.random.default_rng(5)
    messages = _messages(rng, [f"m{i}" for i in range(1200)])
    replies = _replies(rng, messages, [f"r{i}" for i in range(1000)], 1000)
    _write(store, "messages", messages.iloc[:400])  # kept by increments
    store.appends.deferred = True  # the block starts and never ends: the process dies inside it
    _write(store, "replies", replies.iloc[:300])  # some answer stored messages, some are held
    _write(store, "evaluations", _evaluations(rng, messages, 300))
    _write(store, "messages", messages.iloc[400:])  # links the held replies
    _write(store, "replies", replies.iloc[300:])
    marked = store.scalar("SELECT count(DISTINCT rollup) FROM stale_rollup_days")
    assert marked == 3
    assert store.scalar("SELECT sum(messages) FROM roll_created") == 400  # the rollups lag behind the rows
    store.close()
    reopened = Store(path)
    try:
        _check_tables(reopened)
        assert reopened.scalar("SELECT count(*) FROM stale_rollup_days") == 0
    finally:
        reopened.close()


def test_append_counts_roll_back_with_a_failed_write(store, monkeypatch):
    """The appends counted towards a compaction belong to the write's transaction: a write that fails leaves
    the counts (and the rollup rows) as they were; the next committed appends compact on time."""
    from queries import deltas

    monkeypatch.setattr(deltas, "COMPACT_AFTER", 3)
    day = dt.date(2021, 3, 1)
    rows = [
        {"message_id": f"c{i}", "created_at": pd.Timestamp("2021-03-01 09:00") + pd.Timedelta(minutes=i)}
        for i in range(4)
    ]
    base = _messages(np.random.default_rng(1), [r["message_id"] for r in rows]).assign(
        created_at=[r["created_at"] for r in rows],
        province=HENAN_CODE,
        category="城建",
        msg_type="咨询",
        is_urgent=False,
    )
    _write(store, "messages", base.iloc[:1])
    _write(store, "messages", base.iloc[1:2])
    assert store.appends.count("created", day) == 2
    states = deltas.state_table(pa.Table.from_pandas(base.iloc[2:3], preserve_index=False), 1)
    with pytest.raises(RuntimeError), store.write() as cur:
        deltas.apply(cur, store.appends, [states], "messages")  # the third append: compacts inside
        raise RuntimeError("the write fails after its rollup appends")
    assert store.appends.count("created", day) == 2
    assert store.scalar("SELECT sum(messages) FROM roll_created WHERE day = $d", {"d": day}) == 2
    assert store.scalar("SELECT count(*) FROM roll_created WHERE day = $d", {"d": day}) == 2  # not compacted
    _write(store, "messages", base.iloc[2:3])  # the third append that commits: compacted into one row
    assert store.appends.count("created", day) == 0
    assert store.scalar("SELECT count(*) FROM roll_created WHERE day = $d", {"d": day}) == 1
    assert store.scalar("SELECT sum(messages) FROM roll_created WHERE day = $d", {"d": day}) == 3
    _check_tables(store)


def _numbered(frame_: pd.DataFrame) -> pd.DataFrame:
    return frame_.assign(_row=range(1, len(frame_) + 1))


def test_batches_written_together_answer_as_if_written_alone(store):
    """Group commit: replies and messages batches written in one transaction; each batch gets the result it would
    have had alone in that order (hand-counted), and the rollups equal the raw rows."""
    rng = np.random.default_rng(11)
    messages = _messages(rng, [f"m{i}" for i in range(50)])
    _write(store, "messages", messages)
    at = messages.set_index("message_id")["created_at"]

    def reply(reply_id, message_id, replied_at):
        return {"reply_id": reply_id, "message_id": message_id, "replied_at": replied_at, "unit": "单位"}

    late = pd.Timestamp("2020-03-01")
    first = pd.DataFrame(
        [
            reply("a0", "m1", at["m1"] + pd.Timedelta(hours=1)),
            reply("h1", "mx", late),  # its message is not stored yet: held
            reply("bad", "m2", at["m2"] - pd.Timedelta(hours=1)),  # before its message: rejected, row 3
        ]
    )
    second = pd.DataFrame([reply("a1", "m3", at["m3"] + pd.Timedelta(days=2)), reply("h2", "my", late)])
    third = pd.DataFrame([reply("a0", "m1", at["m1"] + pd.Timedelta(hours=1))])  # a0 again
    groups = WriteGroups(store)
    results = groups.write_together("replies", [_numbered(first), _numbered(second), _numbered(third)])
    assert [(r.written, r.held, r.linked) for r in results] == [(1, 1, 0), (1, 1, 0), (1, 0, 0)]
    assert [[(j.row, j.field) for j in r.rejected] for r in results] == [[(3, "replied_at")], [], []]
    # messages that the held replies wait for; mx in both batches: the first links its reply
    base = messages.iloc[:1].assign(created_at=pd.Timestamp("2020-02-01"))
    one = pd.concat([base.assign(message_id="mx"), base.assign(message_id="m900")], ignore_index=True)
    two = pd.concat([base.assign(message_id="my"), base.assign(message_id="mx", title="again")], ignore_index=True)
    results = groups.write_together("messages", [_numbered(one), _numbered(two)])
    assert [(r.written, r.held, r.linked, r.rejected) for r in results] == [(2, 0, 1, []), (2, 0, 1, [])]
    assert store.scalar("SELECT count(*) FROM held_replies") == 0
    assert store.scalar("SELECT count(*) FROM replies") == 4
    assert store.scalar("SELECT title FROM messages WHERE message_id = 'mx'") == "again"
    _check_tables(store)


def test_concurrent_write_requests_share_a_transaction(store):
    """Eight requests arriving while a write runs are written together after it, each answered for its own rows."""
    rng = np.random.default_rng(12)
    groups = WriteGroups(store)
    batches = [_numbered(_messages(rng, [f"t{k}-{i}" for i in range(20)])) for k in range(8)]
    answers: dict = {}
    version = store.data_version
    with store.write(bump=False):  # the write lock is held: the first request waits in its transaction
        threads = [
            threading.Thread(target=lambda k=k: answers.__setitem__(k, groups.upsert("messages", batches[k])))
            for k in range(8)
        ]
        for thread in threads:
            thread.start()
        deadline = time.monotonic() + 30
        while len(groups._waiting) < 7 and time.monotonic() < deadline:  # noqa: SLF001 - all queued behind one
            time.sleep(0.01)
    for thread in threads:
        thread.join(30)
    assert sorted(answers) == list(range(8))
    assert all(a.written == 20 and not a.rejected for a in answers.values())
    assert store.scalar("SELECT count(*) FROM messages") == 160
    bumps = int(store.data_version.split(":")[-1]) - int(version.split(":")[-1])
    assert bumps == 2  # the first request alone, then the seven that waited, together
    _check_tables(store)


def test_store_records_the_days_each_write_touched(store, monkeypatch):
    """Per committed data version, the days of creation of the messages a write changed: new ones, a reply, a
    re-import moving a message to another day (both days); a rolled-back write records nothing; a raw SQL write
    (undeclared) and a version from before the store was opened are unknown (None)."""
    from queries import texts

    def msg(mid, created, **more):
        row = {
            "message_id": mid,
            "created_at": pd.Timestamp(created),
            "province": HENAN_CODE,
            "city": None,
            "district": None,
            "addressee": None,
            "category": "城建",
            "msg_type": "咨询",
            "title": "t",
            "is_urgent": False,
            "source_status": None,
            **more,
        }
        out = pd.DataFrame([row])
        out.insert(0, "_row", [2])
        return out

    day = dt.date.fromisoformat
    opened = store.data_version
    assert store.changed_days(opened) == frozenset()
    upsert(store, "messages", pd.concat([msg("a", "2024-03-05 09:00"), msg("b", "2024-03-07 23:59")]))
    assert store.changed_days(opened) == {day("2024-03-05"), day("2024-03-07")}
    assert store.changed_ids(opened) == {"a", "b"}  # a messages batch declares its own messages
    v1 = store.data_version
    reply = pd.DataFrame(
        {
            "_row": [2],
            "reply_id": ["r1"],
            "message_id": ["a"],
            "replied_at": [pd.Timestamp("2024-03-09")],
            "unit": ["u"],
        }
    )
    upsert(store, "replies", reply)
    assert store.changed_days(v1) == {day("2024-03-05")}  # the message's day, not the reply's
    assert store.changed_ids(v1) is None and store.changed_ids(opened) is None  # replies declare no ids
    assert store.changed_days(opened) == {day("2024-03-05"), day("2024-03-07")}
    v2 = store.data_version

    def failing(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(texts, "write", failing)
    with pytest.raises(RuntimeError):  # the rollups were appended, then the transaction failed
        upsert(store, "messages", msg("c", "2024-03-20 10:00"))
    monkeypatch.undo()
    assert store.data_version == v2 and store.changed_days(v2) == frozenset() and store.changed_ids(v2) == frozenset()
    assert store.scalar("SELECT count(*) FROM messages WHERE message_id = 'c'") == 0
    upsert(store, "messages", msg("b", "2024-03-11 08:00", content="moved", location=None, likes=0))
    assert store.changed_days(v2) == {day("2024-03-07"), day("2024-03-11")}
    assert store.changed_ids(v2) == {"b"}
    v3 = store.data_version
    units = pd.DataFrame(
        {
            "_row": [2],
            "unit_id": ["u1"],
            "name": ["某局"],
            "province": [HENAN_CODE],
            "level": ["市"],
            "joined_at": [BASE],
        }
    )
    upsert(store, "units", units)
    assert store.changed_days(v3) == frozenset()  # no message changed
    with store.write() as cur:
        cur.execute("UPDATE messages SET title = 'x' WHERE message_id = 'a'")
    assert store.changed_days(v3) is None  # a raw write may have changed any day
    assert store.changed_ids(v3) is None
    assert store.changed_days("another-file:" + v3.rpartition(":")[2]) is None


def test_touched_days_log_is_bounded_and_knows_nothing_before_its_first_version(monkeypatch):
    from queries import deltas

    monkeypatch.setattr(deltas.Touched, "KEPT", 2)
    log = deltas.Touched(5)  # a store opened at version 5
    assert log.since(4) is None and log.since(5) == frozenset()
    d = [dt.date(2024, 1, k) for k in range(1, 5)]
    log.record(6, frozenset(d[:1]))
    log.record(7, frozenset(d[1:2]))
    assert log.since(5) == {d[0], d[1]} and log.since(6) == {d[1]} and log.since(7) == frozenset()
    log.record(8, frozenset(d[2:4]))  # version 6 is dropped
    assert log.since(5) is None and log.since(6) == {d[1], d[2], d[3]}
    log.record(9, None)  # a write of any day
    assert log.since(7) is None and log.since(9) == frozenset()
    # the ids of the messages changed, known while every write since declared them
    monkeypatch.setattr(deltas.Touched, "KEPT", 10)
    log = deltas.Touched(0)
    log.record(1, frozenset(d[:1]))  # declared its days only
    log.record(2, frozenset(d[:1]), frozenset({"m1"}))
    log.record(3, frozenset(d[1:2]), frozenset({"m2", "m3"}))
    assert log.ids_since(1) == {"m1", "m2", "m3"} and log.ids_since(2) == {"m2", "m3"}
    assert log.ids_since(0) is None and log.since(0) == {d[0], d[1]}
    monkeypatch.setattr(deltas.Touched, "MAX_IDS", 1)
    log.record(4, frozenset(d[:1]), frozenset({"m4", "m5"}))  # too many to keep
    assert log.ids_since(3) is None and log.since(3) == {d[0]}
