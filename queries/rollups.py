"""Rebuild the daily rollups from raw rows (migration backfill, bulk loads); live writes keep them by
increments (queries/deltas.py)."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

from queries import rollup_sql
from queries.catalog import COARSE, COMPONENTS, TABLES, WIDE
from queries.sql import text

ROLLUPS = tuple(COMPONENTS)
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
    _execute(cur, text("rollups", name), params)


def _execute(cur, sql: str, params: dict) -> None:
    # bind only the parameters the statement uses
    cur.execute(sql, {k: v for k, v in params.items() if f"${k}" in sql}).fetchall()


def refresh(cur, days: Days) -> None:
    """Recompute the given days of each rollup from raw rows."""
    for rollup in ROLLUPS:
        wanted = sorted(days.get(rollup, ()))
        if not wanted:
            continue
        params = _bounds(wanted)
        _execute(cur, rollup_sql.delete_days(rollup), params)
        _execute(cur, rollup_sql.rebuild_fine(rollup), params)
        if rollup == "answered":
            _refresh_delays(cur, params)
    # the coarse tables are derived from the three above, the wide ones from raw rows, for every touched day
    touched = sorted(set().union(*(days.get(rollup, set()) for rollup in ROLLUPS)))
    if touched:
        params = _bounds(touched)
        for table in COARSE:
            _execute(cur, rollup_sql.delete_days(table), params)
            _execute(cur, rollup_sql.rebuild_coarse(table), params)
        for table in WIDE:
            _execute(cur, rollup_sql.delete_days(table), params)
            _execute(cur, rollup_sql.rebuild_wide(table), params)


def _refresh_delays(cur, params: dict) -> None:
    for name in ("delete_delays", "insert_delays", "revise_delay_days", "drop_old_revisions"):
        _run(cur, name, params)


def rebuild_delays(cur) -> None:
    """Recompute roll_delays from scratch (a column added to it)."""
    days = sorted(day for rollup, day in cur.execute(text("rollups", "all_days")).fetchall() if rollup == "answered")
    _run(cur, "revise_all_days", {})
    cur.execute("DELETE FROM roll_delays").fetchall()
    if days:
        _refresh_delays(cur, _bounds(days))


def refresh_stale(cur) -> None:
    """Rebuild the days that deferred writes marked stale (a bulk import, `Store.deferred_rollups`) and unmark them."""
    days: Days = defaultdict(set)
    for rollup, day in cur.execute(text("rollups", "stale_days")).fetchall():
        days[rollup].add(day)
    if days:
        refresh(cur, days)
        _run(cur, "clear_stale", {})


def rebuild(cur) -> None:
    """Recompute every rollup from scratch (migration backfill, bulk loads)."""
    _run(cur, "revise_all_days", {})
    for table in (*TABLES, "delays"):
        cur.execute(f"DELETE FROM roll_{table}").fetchall()  # identifier from the catalog's allow-list
    days: Days = defaultdict(set)
    for rollup, day in cur.execute(text("rollups", "all_days")).fetchall():
        days[rollup].add(day)
    refresh(cur, days)


# Column types of the rollup keys (a coarse or wide table declared in the catalog is created with them).
KEY_TYPES = {
    "day": "DATE NOT NULL",
    "province": "INTEGER NOT NULL",
    "city": "VARCHAR",  # none given: a key of its own
    "category": "VARCHAR NOT NULL",
    "msg_type": "VARCHAR NOT NULL",
    "is_urgent": "BOOLEAN NOT NULL",
}


def align(cur) -> set[str]:
    """Give every rollup table the columns the catalog declares (new counts start at 0), creating a coarse table
    the catalog declares and the file lacks; returns the tables changed (the caller then fills them)."""
    present = {
        (table, column)
        for table, column in cur.execute(
            "SELECT table_name, column_name FROM duckdb_columns() WHERE table_name LIKE 'roll_%'"
        ).fetchall()
    }
    tables = {table for table, _ in present}
    changed = set()
    for table, (keys, counts) in TABLES.items():
        # identifiers from the catalog's allow-list
        if f"roll_{table}" not in tables:
            columns = ", ".join(f"{k} {KEY_TYPES[k]}" for k in keys)
            cur.execute(f"CREATE TABLE roll_{table} ({columns})").fetchall()
        for name in counts:
            if (f"roll_{table}", name) not in present:
                cur.execute(f"ALTER TABLE roll_{table} ADD COLUMN {name} BIGINT DEFAULT 0").fetchall()
                changed.add(table)
    return changed


def fill(cur, tables) -> None:
    """Recompute coarse tables over every day of the fine ones (a new coarse table or count), wide tables from the raw
    rows of those days (a new wide table)."""
    days = sorted(day for (day,) in cur.execute(text("rollups", "fine_days")).fetchall())
    if not days:
        return
    params = _bounds(days)
    for table in tables:
        _execute(cur, rollup_sql.delete_days(table), params)
        _execute(cur, (rollup_sql.rebuild_wide if table in WIDE else rollup_sql.rebuild_coarse)(table), params)
