"""The delay index (queries/median_index.py) against medians computed independently with numpy from the
delays the test itself wrote: any period, provinces, domains and grouping; after later writes that change
indexed days (read from the table) and past MAX_STALE_DAYS of them (the index is built again)."""

from __future__ import annotations

import datetime as dt
import threading

import numpy as np
import pandas as pd
import pytest

from queries import median_index, medians
from queries.periods import Filters
from queries.writes import upsert
from tests.conftest import BEIJING, HENAN, SICHUAN, frame, message, reply

PROVINCES = [HENAN, SICHUAN, BEIJING]
CATEGORIES = ["城建", "交通", "教育"]
FIRST = pd.Timestamp("2024-01-01 08:00")


def _write(store, rng, start: int, n: int, first: pd.Timestamp, spread_days: int, quick: bool = False) -> list[tuple]:
    """n answered messages (`quick`: answered within 6 hours); returns their (reply day, province, domain, hours)."""
    rows, replies, delays = [], [], []
    for i in range(start, start + n):
        created = first + pd.Timedelta(seconds=int(rng.integers(0, spread_days * 86_400)))
        seconds = int(rng.integers(60, 6 * 3600)) if quick else int(rng.lognormal(10.5, 1.5))
        if i % 7 == 0:  # equal delays: ties inside a bin
            seconds = 7200
        province, category = PROVINCES[i % 3], CATEGORIES[int(rng.integers(0, 3))]
        rows.append(message(f"m{i}", str(created), province=province, category=category))
        replied = created + pd.Timedelta(seconds=seconds)
        replies.append(reply(f"r{i}", f"m{i}", str(replied)))
        delays.append((replied.date(), province, category, seconds / 3600))
    upsert(store, "messages", frame(rows))
    upsert(store, "replies", frame(replies))
    return delays


def _expected(delays: list[tuple], f: Filters, dimension: str | None):
    chosen = [
        d
        for d in delays
        if f.start <= d[0] <= f.end
        and (not f.provinces or d[1] in f.provinces)
        and (not f.categories or d[2] in f.categories)
    ]
    if dimension is None:
        return float(np.median([d[3] for d in chosen])) if chosen else None
    at = 1 if dimension == "province" else 2
    return {k: float(np.median([d[3] for d in chosen if d[at] == k])) for k in {d[at] for d in chosen}}


def _questions(rng, n: int, last_day: int) -> list[Filters]:
    out = [Filters(FIRST.date(), FIRST.date() + dt.timedelta(days=last_day))]
    for _ in range(n):
        start = FIRST.date() + dt.timedelta(days=int(rng.integers(0, last_day)))
        end = start + dt.timedelta(days=int(rng.integers(0, 60)))
        provinces = tuple(int(p) for p in rng.choice(PROVINCES, int(rng.integers(0, 3)), replace=False))
        categories = tuple(str(c) for c in rng.choice(CATEGORIES, int(rng.integers(0, 3)), replace=False))
        out.append(Filters(start, end, provinces=provinces, categories=categories))
    return out


def _check(store, delays, questions) -> int:
    asked = 0
    for f in questions:
        for dimension in (None, "province", "category"):
            want = _expected(delays, f, dimension)
            got = median_index.medians(store, f, dimension)
            if dimension is None:
                assert (got is None) == (want is None), f
                if want is not None:
                    assert got == pytest.approx(want, rel=1e-12), f
                    asked += 1
            else:
                assert set(got) == set(want), (f, dimension)
                for k, v in want.items():
                    assert got[k] == pytest.approx(v, rel=1e-12), (f, dimension, k)
                asked += len(want)
    return asked


@pytest.mark.parametrize("bins", [8, 2], ids=["8-bins", "2-bins"])
def test_index_medians_equal_numpy_through_later_writes(store, monkeypatch, bins):
    monkeypatch.setattr(median_index, "BINS", bins)
    monkeypatch.setattr(median_index, "MAX_STALE_DAYS", 5)
    store.medians.clear()
    rng = np.random.default_rng(11)
    delays = _write(store, rng, 0, 900, FIRST, 90)
    assert _check(store, delays, _questions(rng, 25, 90)) > 60  # medians that are not empty
    index = store.medians.index.value
    assert index is not None and len(index.edges) == bins - 1

    # a few more replies on two days the index holds and on a later one: those days are read from the table
    delays += _write(store, rng, 900, 40, FIRST + pd.Timedelta(days=30), 1, quick=True)
    delays += _write(store, rng, 940, 20, FIRST + pd.Timedelta(days=130), 1, quick=True)
    _, stale = median_index.current(store)
    assert 2 <= len(stale) <= 5
    _check(store, delays, _questions(rng, 25, 140))
    assert store.medians.index.value is index, "a few changed days do not rebuild the index"

    # the same questions after more replies on a day already read from the table: the bins sorted for them are
    # kept and merged with the newest values (the wall's next data version)
    questions = _questions(rng, 25, 140)
    _check(store, delays, questions)
    kept = dict(store.medians.index._sorted)
    delays += _write(store, rng, 5000, 30, FIRST + pd.Timedelta(days=130), 1, quick=True)
    assert _check(store, delays, questions) > 60
    reused = [k for k, v in kept.items() if store.medians.index._sorted.get(k, (None, None))[1] is v[1]]
    assert len(reused) >= len(kept) // 2

    # changes on many days: built again, and still equal
    delays += _write(store, rng, 960, 200, FIRST, 100)
    _check(store, delays, _questions(rng, 25, 140))
    assert store.medians.index.value is not index


def test_metrics_use_the_index_for_what_it_carries(store, monkeypatch):
    """summary and by_province read their medians from the index; a type filter goes to the windows."""
    rng = np.random.default_rng(3)
    delays = _write(store, rng, 0, 300, FIRST, 40)
    store.medians.clear()
    from queries import metrics

    f = Filters(FIRST.date(), FIRST.date() + dt.timedelta(days=50), categories=("交通",))
    assert metrics.summary(store, f)["median_reply_hours"] == pytest.approx(_expected(delays, f, None), rel=1e-12)
    assert store.medians.index.value is not None
    store.medians.clear()
    typed = Filters(FIRST.date(), FIRST.date() + dt.timedelta(days=50), types=("投诉/求助",))
    # (every message of the test has that type: the median of all)
    assert medians.exact(store, typed, None) == pytest.approx(_expected(delays, Filters(f.start, f.end), None))
    assert store.medians.index.value is None


def test_a_group_written_while_the_index_is_read_does_not_shift_the_groups(store, monkeypatch):
    """A write that adds a (province, domain) group sorting first lands between the index's statements: the index
    reads one snapshot (its group numbers agree) and the new delays come from the table as a changed day."""
    delays = _answered(store, "hn", HENAN, "城建", FIRST, [1, 5, 9])
    delays += _answered(store, "sc", SICHUAN, "教育", FIRST, [3])
    store.medians.clear()
    real = median_index.template
    written = []

    def template(name, query, **kw):
        if query == "indexed_delays" and not written:  # Beijing (110000) sorts before every group read so far
            day = FIRST + pd.Timedelta(days=3)
            writer = threading.Thread(
                target=lambda: written.extend(_answered(store, "bj", BEIJING, "交通", day, [2, 4]))
            )
            writer.start()
            writer.join(30)
        return real(name, query, **kw)

    monkeypatch.setattr(median_index, "template", template)
    f = Filters(FIRST.date(), FIRST.date() + dt.timedelta(days=30))
    got = median_index.medians(store, f, "province")
    want = _expected(delays + written, f, "province")
    assert written and got.keys() == want.keys() == {HENAN, SICHUAN, BEIJING}
    assert all(got[k] == pytest.approx(v, rel=1e-12) for k, v in want.items())


def _answered(store, prefix: str, province: int, category: str, day: pd.Timestamp, hours: list[int]) -> list[tuple]:
    """Messages of `day` answered after `hours`; their (reply day, province, domain, hours)."""
    rows = [message(f"{prefix}{i}", str(day), province=province, category=category) for i in range(len(hours))]
    replied = [day + pd.Timedelta(hours=h) for h in hours]
    replies = [reply(f"r{prefix}{i}", f"{prefix}{i}", str(at)) for i, at in enumerate(replied)]
    upsert(store, "messages", frame(rows))
    upsert(store, "replies", frame(replies))
    return [(at.date(), province, category, float(h)) for at, h in zip(replied, hours, strict=True)]
