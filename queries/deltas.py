"""Keep the rollups exact by signed increments computed from the write itself.

A write collects the rollup *state* of every message it changes: as it was
before the write (sign -1, read from the tables or known from the batch) and as
it is afterwards (sign +1). `apply` registers these states and appends, per
rollup table, the signed sums of each key (a new message adds one state, a
first reply moves a message from pending to replied and adds it to its reply
day, a re-import that moves a message to another domain or day takes it out of
the old key and puts it in the new one). The sums over any period then equal
the raw computation exactly, whatever the order of the writes.

A key may thus hold several rows (one per write that touched it): every reader
sums the rollups. `compact` merges a table's rows of some days into one row per
key (dropping keys whose sums are all zero); `apply` compacts a (table, day)
after COMPACT_AFTER appends, so that a day's rows stay about as many as its keys.

roll_delays holds one row per answered message (medians need the values): the
net change of each exact row is inserted, or removed by deleting every stored
copy of it and putting back the ones that stay. Every reply day whose delays
change gets a new revision (roll_delay_revisions: above every earlier one), the
contract of the median cache in queries/metrics.py.

A bulk import defers all this (`Appends.deferred`, Store.deferred_rollups): its writes only mark the days they
touch stale, and queries/rollups.py rebuilds those days from the rows once, when the import ends.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections import Counter, OrderedDict

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from queries import catalog, rollup_sql
from queries.sql import text

STATE_COLUMNS = [
    "created_at",
    "province",
    "city",
    "category",
    "msg_type",
    "is_urgent",
    "source_status",
    "first_reply_at",
    "first_reply_unit",
    "rated_at",
    "verdict",
]
_STATE_SCHEMA = pa.schema(
    [
        ("sign", pa.int8()),
        ("created_at", pa.timestamp("us")),
        ("province", pa.int32()),
        ("city", pa.string()),
        ("category", pa.string()),
        ("msg_type", pa.string()),
        ("is_urgent", pa.bool_()),
        ("source_status", pa.string()),
        ("first_reply_at", pa.timestamp("us")),
        ("first_reply_unit", pa.string()),
        ("rated_at", pa.timestamp("us")),
        ("verdict", pa.bool_()),
    ]
)

TABLES = catalog.TABLES  # rollup tables: key columns and counts (identifiers of an allow-list)
# Which tables a kind of change can touch: a change of evaluations only, of first replies only, or any.
PARTS = {
    "messages": ("created", "answered", "rated", *catalog.COARSE, *catalog.WIDE),
    "replies": ("created", "answered", *catalog.COARSE, *catalog.WIDE),
    "evaluations": ("rated", *catalog.COARSE, *catalog.WIDE),
}
COMPACT_AFTER = 32  # appends to one (table, day) before its rows are merged into one row per key


class Appends:
    """Appends per (rollup table, day) since its last compaction, for one Store (`Store.appends`), and the days of
    creation of the messages the current write changes (`touch`, `commit`). What a write changes is kept apart
    until its transaction commits, and dropped when it rolls back (the compactions it made are rolled back with
    it)."""

    def __init__(self):
        self._done: dict[str, Counter] = {}
        self._pending: dict[str, dict] | None = None  # this transaction's counts per table and day
        self._touched: set | None = None  # this transaction's days of creation; None: none declared
        self._joins: bool | None = None  # whether it changes the units or leaders that joined; None: not declared
        self._ids: set | None = None  # the ids of the only messages it changes; None: not declared
        self._lock = threading.Lock()
        # A bulk import's writes mark the days they change stale instead of appending (Store.deferred_rollups).
        self.deferred = False

    def begin(self) -> None:
        with self._lock:
            self._pending = {}
            self._touched = self._joins = self._ids = None

    def touch(self, days, joins: bool | None = None) -> None:
        """The current write changes (or adds, or removes) messages created on `days` and no other message; a
        write that touches no message declares so with no days. `joins`: whether it also changes units or leaders
        (None: not declared here; a write that never declares may have changed them)."""
        with self._lock:
            self._touched = set(days) if self._touched is None else self._touched | set(days)
            if joins is not None:
                self._joins = joins or bool(self._joins)

    def changes_joins(self) -> bool:
        """Whether the current write may change the units or leaders that joined (asked before `commit`)."""
        with self._lock:
            return self._joins is not False

    def due(self, name: str, days) -> list:
        """Count one append to each of `days` of table `name`; the days that reached COMPACT_AFTER (their count
        starts again)."""
        with self._lock:
            done = self._done.setdefault(name, Counter())
            counts = self._pending.setdefault(name, {}) if self._pending is not None else done
            out = []
            for day in days:
                n = counts.get(day, done.get(day, 0)) + 1
                if n >= COMPACT_AFTER:
                    out.append(day)
                    n = 0
                counts[day] = n
            return out

    def commit(self) -> frozenset | None:
        """Keep the transaction's counts; the days of creation it touched (None: not declared, any day)."""
        with self._lock:
            for name, counts in (self._pending or {}).items():
                done = self._done.setdefault(name, Counter())
                for day, n in counts.items():
                    if n:
                        done[day] = n
                    else:
                        done.pop(day, None)
            touched = None if self._touched is None else frozenset(self._touched)
            self._pending = self._touched = self._joins = self._ids = None
            return touched

    def rollback(self) -> None:
        with self._lock:
            self._pending = self._touched = self._joins = self._ids = None

    def declare_ids(self, ids) -> None:
        """The current write changes (adds, or removes) the messages `ids` and no other (a write that never declares
        may have changed any)."""
        with self._lock:
            self._ids = set(ids) if self._ids is None else self._ids | set(ids)

    def changed_ids(self) -> frozenset | None:
        """The messages the current write declared it changes (asked before `commit`); None: not declared."""
        with self._lock:
            return None if self._ids is None else frozenset(self._ids)

    def count(self, name: str, day) -> int:
        with self._lock:
            return self._done.get(name, Counter()).get(day, 0)


class Touched:
    """The days of creation of the messages each committed write changed, per data version, for one Store
    (`Store.touched`): a reader that keeps results of a period asks which days changed since the version it holds
    (`since`) and reads again only these. A write that declared none (a raw SQL write) counts as touching every
    day, as does one of more than MAX_DAYS days; the last KEPT versions are kept. Likewise the ids of the messages
    changed, when every write declared them (`ids_since`; at most MAX_IDS a write)."""

    KEPT = 1000
    MAX_DAYS = 400
    MAX_IDS = 10_000

    def __init__(self, version: int):
        self._log: OrderedDict[int, tuple[frozenset | None, frozenset | None]] = OrderedDict()
        self._first = version  # versions up to this one are unknown (before the store was opened)
        self._lock = threading.Lock()

    def record(self, version: int, days: frozenset | None, ids: frozenset | None = None) -> None:
        """Version `version` (the next one) changed the messages created on `days` (None: any), the messages `ids`
        (None: not known)."""
        with self._lock:
            self._log[version] = (
                days if days is not None and len(days) <= self.MAX_DAYS else None,
                ids if ids is not None and len(ids) <= self.MAX_IDS else None,
            )
            while len(self._log) > self.KEPT:
                self._first = self._log.popitem(last=False)[0]

    def since(self, version: int) -> frozenset | None:
        """The days of creation of the messages changed by the versions after `version` (recorded so far); None
        when unknown (a version of before the store was opened or no longer kept, or a write of any day)."""
        return self._since(version, 0)

    def ids_since(self, version: int) -> frozenset | None:
        """The ids of the messages changed by the versions after `version`; None when unknown (as `since`, or a write
        that did not declare them)."""
        return self._since(version, 1)

    def _since(self, version: int, part: int) -> frozenset | None:
        with self._lock:
            if version < self._first:
                return None
            out: set = set()
            for v, touched in reversed(self._log.items()):
                if v <= version:
                    break
                if touched[part] is None:
                    return None
                out |= touched[part]
            return frozenset(out)


def states(frame: pd.DataFrame, sign: int) -> pd.DataFrame:
    """The state columns of `frame` (missing ones: none) with `sign`."""
    n = len(frame)
    out = {"sign": pd.Series(np.full(n, sign, dtype=np.int8))}
    for column in STATE_COLUMNS:
        out[column] = (
            frame[column].reset_index(drop=True)
            if column in frame.columns
            else pd.Series(np.full(n, None, dtype=object))
        )
    return pd.DataFrame(out)


def state_table(table: pa.Table, sign: int, **columns) -> pa.Table:
    """The states of the rows of Arrow `table` (state columns taken from it or from `columns`; missing ones:
    none) with `sign`, in the schema `apply` takes."""
    n = table.num_rows
    arrays = [pa.array(np.full(n, sign, dtype=np.int8))]
    for field in _STATE_SCHEMA:
        if field.name == "sign":
            continue
        if field.name in columns:
            values = columns[field.name]
        elif field.name in table.column_names:
            values = table.column(field.name)
        else:
            values = pa.nulls(n, field.type)
        if values.type != field.type:
            values = values.cast(field.type, safe=False)
        arrays.append(values)
    return pa.Table.from_arrays(arrays, schema=_STATE_SCHEMA)


def _table(parts: list) -> pa.Table:
    """One Arrow table of the state parts (Arrow tables from `state_table`, or frames from `states`)."""
    tables = [p for p in parts if isinstance(p, pa.Table)]
    frames = [p for p in parts if not isinstance(p, pa.Table)]
    if frames:
        tables.append(_frame_table(frames))
    return tables[0] if len(tables) == 1 else pa.concat_tables(tables)


def _frame_table(parts: list[pd.DataFrame]) -> pa.Table:
    arrays = []
    for field in _STATE_SCHEMA:
        chunks = []
        for part in parts:
            values = part[field.name]
            if field.name in ("created_at", "first_reply_at", "rated_at") and values.dtype == object:
                values = pd.to_datetime(values).astype("datetime64[us]")
            elif field.name == "verdict" and values.dtype == object:
                values = values.astype("boolean")
            if pa.types.is_timestamp(field.type):  # nanoseconds are truncated as DuckDB stores them
                chunks.append(pa.array(values, from_pandas=True).cast(field.type, safe=False))
            else:
                chunks.append(pa.array(values, type=field.type, from_pandas=True))
        arrays.append(pa.chunked_array(chunks, type=field.type))
    return pa.Table.from_arrays(arrays, schema=_STATE_SCHEMA)


def apply(cur, appends: Appends, parts: list, kind: str = "messages") -> None:
    """Append the rollup changes of `parts` (states from `states` or `state_table`) in the write's transaction; while
    the store defers them (`Appends.deferred`: a bulk import), mark the days they touch stale instead."""
    parts = [p for p in parts if (p.num_rows if isinstance(p, pa.Table) else len(p))]
    if not parts:
        return
    table = _table(parts)
    created, answered, rated = (_days(table.column(c)) for c in ("created_at", "first_reply_at", "rated_at"))
    appends.touch(created)
    if appends.deferred:
        _mark_stale(cur, kind, {"created": created, "answered": answered, "rated": rated})
        return
    sums = _sums(cur, table, PARTS[kind])
    has_reply = table.column("first_reply_at").null_count < table.num_rows
    # the appends in one script (one call instead of one per table; the last statement's rows come back)
    script: list[str] = []
    params = None
    if sums is not None:
        cur.register("delta_rows", sums)  # one registration for every table
        present = set(pc.unique(sums.column("tbl")).to_pylist())
        script += [rollup_sql.append(name) for name in PARTS[kind] if name in present]
    delays = kind != "evaluations" and has_reply
    additions = False
    if delays:
        cur.register("states", table)
        # no answered state leaves: every delay row of the states is an addition, and a new revision of
        # their days closes the script
        additions = not pc.any(
            pc.and_(pc.less(table.column("sign"), 0), table.column("first_reply_at").is_valid())
        ).as_py()
        if additions:
            script += [text("deltas", "add_state_delays"), text("deltas", "bump_revisions")]
            params = {"days": sorted(answered)}
    try:
        if script:
            rows = cur.execute(";\n".join(statement.rstrip().rstrip(";") for statement in script), params).fetchall()
            if additions:
                _revise(cur, params["days"], {row[0] for row in rows})
        if delays and not additions:
            _delays(cur)
    finally:
        if sums is not None:
            cur.unregister("delta_rows")
        if delays:
            cur.unregister("states")
    days = {
        "created": created,
        "answered": answered,
        "rated": rated,
        **{table: created | answered | rated for table in (*catalog.COARSE, *catalog.WIDE)},
    }
    for name in PARTS[kind]:
        due = appends.due(name, days[name])
        if due:
            compact(cur, name, sorted(due))


def _sums(cur, table: pa.Table, names) -> pa.Table | None:
    """The signed sums per key of the rollup tables `names` (rollup_sql.increments; `tbl` names the table), or
    None when every sum is zero."""
    cur.register("states", table)
    try:
        rows = cur.sql(rollup_sql.increments()).to_arrow_table()
    finally:
        cur.unregister("states")
    rows = rows.filter(pc.is_in(rows.column("tbl"), pa.array(list(names))))
    return rows if rows.num_rows else None


def _mark_stale(cur, kind: str, days: dict[str, set]) -> None:
    """Mark the days of each component that a deferred write changes (queries/rollups.py `refresh_stale` rebuilds
    them, the coarse tables with them)."""
    for rollup in catalog.COMPONENTS:
        if rollup in PARTS[kind] and days[rollup]:
            cur.execute(text("rollups", "mark_stale"), {"rollup": rollup, "days": sorted(days[rollup])}).fetchall()


def _days(column: pa.ChunkedArray) -> set:
    """The distinct calendar days of a timestamp column (nulls left out)."""
    return set(pc.unique(pc.cast(column.drop_null(), pa.date32())).to_pylist())


_MISSING = "\x00"
_NULLABLE = ("city", "unit")


def _delays(cur) -> None:
    changes = cur.sql(text("deltas", "delay_changes")).to_arrow_table()
    if not changes.num_rows:
        return
    frame = changes.to_pandas()
    removed = frame[frame["n"] < 0]
    if not removed.empty:
        # every stored copy of a removed row goes; the copies that stay come back with the additions
        cur.register("delay_rows", removed)
        try:
            first, last = removed["day"].min(), removed["day"].max()
            gone = cur.execute(text("deltas", "delete_delays"), {"first": first, "last": last}).fetchall()
        finally:
            cur.unregister("delay_rows")
        keys = ["day", "province", "city", "category", "msg_type", "is_urgent", "unit", "hours"]
        gone = pd.DataFrame(gone, columns=keys)
        # city and unit may be missing: a sentinel so that missing equals missing in the join
        removed = removed.copy()
        for frame_ in (gone, removed):
            for column in _NULLABLE:
                frame_[column] = frame_[column].astype(object).where(frame_[column].notna(), _MISSING)
        stored = gone.groupby(keys).size().rename("stored").reset_index()
        back = removed.merge(stored, on=keys, how="left")
        for column in _NULLABLE:
            back[column] = back[column].where(back[column] != _MISSING, None)
        back["n"] = back["stored"].fillna(0).astype("int64") + back["n"]
        if (back["n"] < 0).any():
            raise RuntimeError("roll_delays lacks a delay row that the write removes (rollups out of step)")
        frame = pd.concat([frame[frame["n"] > 0], back[keys + ["n"]]], ignore_index=True)
    cur.register("delay_rows", frame)
    try:
        cur.execute(text("deltas", "add_delays")).fetchall()
    finally:
        cur.unregister("delay_rows")
    days = sorted(set(changes.column("day").to_pylist()))
    _revise(cur, days)


def _revise(cur, days: list[dt.date], updated: set | None = None) -> None:
    """A new revision for each of `days` (roll_delays rows changed); `updated`: the days bump_revisions
    updated already."""
    if updated is None:
        updated = {row[0] for row in cur.execute(text("deltas", "bump_revisions"), {"days": days}).fetchall()}
    missing = [d for d in days if d not in updated]
    if missing:
        cur.execute(text("deltas", "add_revisions"), {"days": missing, "bump": 0 if updated else 1}).fetchall()


def compact(cur, name: str, days: list[dt.date]) -> None:
    """Merge the rows of `days` in roll_<name> into one row per key (keys summing to zero go)."""
    if not days:
        return
    table = f"roll_{name}"  # from the TABLES allow-list
    old = cur.execute(
        f"DELETE FROM {table} WHERE day >= $first AND day <= $last AND list_contains($days, day) RETURNING *",
        {"first": days[0], "last": days[-1], "days": days},
    ).fetchall()
    if not old:
        return
    old = pd.DataFrame(old, columns=[c[0] for c in cur.description])
    cur.register("old_rows", old)
    try:
        cur.execute(rollup_sql.compact(name)).fetchall()
    finally:
        cur.unregister("old_rows")
