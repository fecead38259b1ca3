"""Rebuild the daily rollups from raw rows (migration backfill, bulk loads); live writes keep them by
increments (queries/deltas.py)."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

from queries.sql import text

ROLLUPS = ("created", "answered", "rated")
# Tables rebuilt from raw rows for each rollup's touched days.
TABLES = {"created": ("created",), "answered": ("answered", "delays"), "rated": ("rated",)}
# Coarse tables derived from the three fine ones for every touched day.
DERIVED = ("province", "category", "type")
Days = dict[str, set[dt.date]]


def _bounds(days: list[dt.date]) -> dict:
    """The day list with date and timestamp bounds (the bounds let scans skip other row groups)."""
    return {
        "days": days,
        "first": days[0],
        "last": days[-1],
        "low": dt.datetime.combine(days[0], dt.time()),
        "high": dt.datetime.combine(days[-1] + dt.timedelta(days=1), dt.time()),
    }


def _run(cur, name: str, params: dict) -> None:
    sql = text("rollups", name)
    # bind only the parameters the statement uses
    cur.execute(sql, {k: v for k, v in params.items() if f"${k}" in sql}).fetchall()


def refresh(cur, days: Days) -> None:
    """Recompute the given days of each rollup from raw rows."""
    for rollup in ROLLUPS:
        wanted = sorted(days.get(rollup, ()))
        if not wanted:
            continue
        params = _bounds(wanted)
        for table in TABLES[rollup]:
            _run(cur, f"delete_{table}", params)
            _run(cur, f"insert_{table}", params)
        if rollup == "answered":
            _run(cur, "revise_delay_days", params)
            _run(cur, "drop_old_revisions", params)
    # the coarse tables are derived from the three above, for every touched day
    touched = sorted(set().union(*(days.get(rollup, set()) for rollup in ROLLUPS)))
    if touched:
        params = _bounds(touched)
        for table in DERIVED:
            _run(cur, f"delete_{table}", params)
            _run(cur, f"insert_{table}", params)


def rebuild(cur) -> None:
    """Recompute every rollup from scratch (migration backfill, bulk loads)."""
    _run(cur, "revise_all_days", {})
    for rollup in ("created", "answered", "rated", "delays", "province", "category", "type"):
        cur.execute(f"DELETE FROM roll_{rollup}").fetchall()  # identifier from a fixed tuple
    days: Days = defaultdict(set)
    for rollup, day in cur.execute(text("rollups", "all_days")).fetchall():
        days[rollup].add(day)
    refresh(cur, days)
