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
"""

from __future__ import annotations

import datetime as dt
import threading
from collections import Counter
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

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
        ("rated_at", pa.timestamp("us")),
        ("verdict", pa.bool_()),
    ]
)

# Rollup tables: key columns and summed columns (identifiers of a fixed allow-list).
_FINE_KEYS = ("day", "province", "category", "msg_type", "is_urgent")
TABLES = {
    "created": (_FINE_KEYS, ("messages", "replied", "pending", "in_progress")),
    "answered": (_FINE_KEYS, ("replies",)),
    "rated": (_FINE_KEYS, ("evaluations", "satisfied")),
    "province": (
        ("day", "province"),
        ("messages", "replied", "pending", "in_progress", "urgent_messages", "replies", "evaluations", "satisfied"),
    ),
    "category": (("day", "category"), ("messages", "replied", "replies", "evaluations", "satisfied")),
    "type": (("day", "msg_type"), ("messages", "replied", "replies", "evaluations", "satisfied")),
}
# Which tables a kind of change can touch: a change of evaluations only, of first replies only, or any.
PARTS = {
    "messages": ("created", "answered", "rated", "province", "category", "type"),
    "replies": ("created", "answered", "province", "category", "type"),
    "evaluations": ("rated", "province", "category", "type"),
}
COMPACT_AFTER = 32  # appends to one (table, day) before its rows are merged into one row per key

_appends: dict = {}  # (database path, table) -> Counter of days: appends since the last compaction
_appends_lock = threading.Lock()


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


@dataclass
class Increments:
    """The rollup changes of some states, computed before the write that appends them (`increments`)."""

    kind: str
    table: pa.Table  # the states
    sums: dict  # table name -> rows to append (`_sums`)
    created: set  # days touched per component
    answered: set
    rated: set


def increments(parts: list, kind: str = "messages") -> Increments | None:
    """The rollup changes of `parts` (states from `states` or `state_table`); None when there are none.
    Needs no database: a bulk import computes them while the previous chunk is written."""
    parts = [p for p in parts if (p.num_rows if isinstance(p, pa.Table) else len(p))]
    if not parts:
        return None
    table = _table(parts)
    created, answered, rated = (_days(table.column(c)) for c in ("created_at", "first_reply_at", "rated_at"))
    return Increments(kind, table, _sums(table, PARTS[kind]), created, answered, rated)


def apply(cur, path: str, parts: list, kind: str = "messages", computed: Increments | None = None) -> None:
    """Append the rollup changes of `parts` (or the `computed` ones) in the write's transaction."""
    changes = computed if computed is not None else increments(parts, kind)
    if changes is None:
        return
    table, sums = changes.table, changes.sums
    created, answered, rated = changes.created, changes.answered, changes.rated
    has_reply = table.column("first_reply_at").null_count < table.num_rows
    # the appends in one script (one call instead of one per table; the last statement's rows come back)
    script: list[str] = []
    params = None
    if sums:
        cur.register("delta_rows", _stacked(sums))  # one registration for every table
        for name in sums:  # name: TABLES allow-list
            keys, values = TABLES[name]
            script.append(
                f"INSERT INTO roll_{name} SELECT {', '.join(keys + values)} FROM delta_rows WHERE tbl = '{name}'"
            )
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
        if sums:
            cur.unregister("delta_rows")
        if delays:
            cur.unregister("states")
    days = {
        "created": created,
        "answered": answered,
        "rated": rated,
        "province": created | answered | rated,
        "category": created | answered | rated,
        "type": created | answered | rated,
    }
    _count(cur, path, {name: days[name] for name in PARTS[kind]})


def _stacked(sums: dict[str, pa.Table]) -> pa.Table:
    """The rows of every table of `sums` in one Arrow table: `tbl` names the table, columns it lacks are null."""
    names: dict[str, pa.DataType] = {}
    for rows in sums.values():
        for field in rows.schema:
            names.setdefault(field.name, field.type)
    stacked = []
    for name, rows in sums.items():
        n = rows.num_rows
        columns = {"tbl": pa.array([name] * n, pa.string())}
        for column, kind in names.items():
            columns[column] = rows.column(column) if column in rows.column_names else pa.nulls(n, kind)
        stacked.append(pa.table(columns))
    return pa.concat_tables(stacked)


def _day_numbers(column: pa.ChunkedArray) -> tuple[np.ndarray, np.ndarray]:
    """Days since 1970-01-01 of a timestamp column, and where it is present."""
    stamps = column.to_numpy()
    present = ~np.isnat(stamps)
    return stamps.astype("datetime64[D]").astype(np.int64), present


def _codes(column: pa.ChunkedArray) -> tuple[np.ndarray, pa.Array]:
    encoded = column.combine_chunks().dictionary_encode()
    return encoded.indices.to_numpy(zero_copy_only=False).astype(np.int64), encoded.dictionary


def _group(keys: list[np.ndarray], values: dict[str, np.ndarray]):
    """Sums of `values` per distinct key (keys sorted, day first); groups whose sums are all zero left out."""
    n = len(keys[0])
    # one mixed-radix number per row when the key ranges allow (one sort instead of a lexsort)
    combined = np.zeros(n, dtype=np.int64)
    span = 1
    ranges = []
    for k in keys:
        low = int(k.min()) if n else 0
        width = (int(k.max()) - low + 1) if n else 1
        ranges.append((low, width))
        span *= width
        if span >= 1 << 62:
            combined = None
            break
        combined = combined * width + (k - low)
    if n and combined is not None and span <= max(8 * n, 1 << 16):
        # few possible keys: sums by counting into every slot (no sort); slots ascend as the sorted keys do
        sums = {name: np.bincount(combined, weights=v, minlength=span) for name, v in values.items()}
        nonzero = np.zeros(span, dtype=bool)
        for column in sums.values():
            nonzero |= column != 0
        slots = np.flatnonzero(nonzero)
        decoded, rest = [], slots.copy()
        for low, width in reversed(ranges):
            decoded.append(rest % width + low)
            rest //= width
        # the weights are whole numbers far below 2**53: their float sums are exact
        return decoded[::-1], {name: column[slots].astype(np.int64) for name, column in sums.items()}
    if combined is None:
        order = np.lexsort(keys[::-1])
        sorted_keys = [k[order] for k in keys]
        change = np.zeros(n, dtype=bool)
        for k in sorted_keys:
            change[1:] |= k[1:] != k[:-1]
    else:
        order = np.argsort(combined, kind="stable")
        sorted_keys = [k[order] for k in keys]
        ordered = combined[order]
        change = np.empty(n, dtype=bool)
        change[1:] = ordered[1:] != ordered[:-1]
    change[:1] = True
    starts = np.flatnonzero(change)
    sums = {name: np.add.reduceat(v[order], starts) if n else v[:0] for name, v in values.items()}
    nonzero = np.zeros(len(starts), dtype=bool)
    for column in sums.values():
        nonzero |= column != 0
    first = starts[nonzero]
    return [k[first] for k in sorted_keys], {name: column[nonzero] for name, column in sums.items()}


def _sums(table: pa.Table, names) -> dict[str, pa.Table]:
    """The signed sums per key of each rollup of `names` (rows in the table's column order)."""
    sign = table.column("sign").to_numpy().astype(np.int64)
    created, _ = _day_numbers(table.column("created_at"))
    answered, replied = _day_numbers(table.column("first_reply_at"))
    rated, has_rating = _day_numbers(table.column("rated_at"))
    province, provinces = _codes(table.column("province"))
    category, categories = _codes(table.column("category"))
    msg_type, types = _codes(table.column("msg_type"))
    urgent = table.column("is_urgent").to_numpy().astype(np.int64)
    status = table.column("source_status")
    in_progress = pc.fill_null(pc.equal(status, "办理中"), False).to_numpy().astype(bool)
    waiting = pc.fill_null(pc.or_kleene(pc.is_null(status), pc.equal(status, "待回复")), False).to_numpy()
    pending = ~in_progress & ~replied & waiting.astype(bool)
    verdict = table.column("verdict")
    judged = verdict.is_valid().to_numpy().astype(np.int64)
    satisfied = pc.fill_null(verdict, False).to_numpy().astype(np.int64)
    ones = np.ones(len(sign), dtype=bool)
    # the three components of every state: creation day, first-reply day, rating day
    components = {
        "created": (
            created,
            ones,
            {"messages": sign, "replied": sign * replied, "pending": sign * pending, "in_progress": sign * in_progress},
        ),
        "answered": (answered, replied, {"replies": sign}),
        "rated": (rated, has_rating, {"evaluations": sign * judged, "satisfied": sign * satisfied}),
    }
    dims = {"province": province, "category": category, "msg_type": msg_type, "is_urgent": urgent}
    # each component summed per fine key (day, province, category, msg_type, is_urgent) first; the coarse
    # tables are sums of these groups (far fewer than the states)
    grouped = {}
    for name, (day, rows, values) in components.items():
        if not rows.any():
            continue
        keys, sums = _group(
            [day[rows], *(dims[k][rows] for k in _FINE_KEYS[1:])], {v: column[rows] for v, column in values.items()}
        )
        if len(keys[0]):
            grouped[name] = (dict(zip(_FINE_KEYS, keys, strict=True)), sums)
    out = {}
    for name in names:
        keys, values = TABLES[name]
        if name in components:
            if name not in grouped:
                continue
            group_keys, group_values = grouped[name]
            key_columns = [group_keys[k] for k in keys]
            value_columns = group_values
        else:
            parts = []
            for component, (group_keys, group_values) in grouped.items():
                n = len(group_keys["day"])
                columns = dict.fromkeys(values)
                for v in values:
                    if v == "urgent_messages":
                        column = group_values["messages"] * group_keys["is_urgent"] if component == "created" else None
                    else:
                        column = group_values.get(v)
                    columns[v] = column if column is not None else np.zeros(n, dtype=np.int64)
                parts.append(([group_keys[k] for k in keys], columns))
            if not parts:
                continue
            key_columns, value_columns = _group(
                [np.concatenate([p[0][i] for p in parts]) for i in range(len(keys))],
                {v: np.concatenate([p[1][v] for p in parts]) for v in values},
            )
            if not len(key_columns[0]):
                continue
        arrays = [pa.array(key_columns[0].astype("int32"), pa.int32()).cast(pa.date32())]
        for key, column in zip(keys[1:], key_columns[1:], strict=True):
            if key == "province":
                arrays.append(provinces.take(pa.array(column)).cast(pa.int32()))
            elif key == "category":
                arrays.append(categories.take(pa.array(column)))
            elif key == "msg_type":
                arrays.append(types.take(pa.array(column)))
            else:
                arrays.append(pa.array(column.astype(bool)))
        arrays += [pa.array(value_columns[v], pa.int64()) for v in values]
        out[name] = pa.Table.from_arrays(arrays, names=list(keys) + list(values))
    return out


def _days(column: pa.ChunkedArray) -> set:
    """The distinct calendar days of a timestamp column (nulls left out)."""
    return set(pc.unique(pc.cast(column.drop_null(), pa.date32())).to_pylist())


_NO_CITY = "\x00"


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
        keys = ["day", "province", "city", "category", "msg_type", "is_urgent", "hours"]
        gone = pd.DataFrame(gone, columns=keys)
        # city may be missing: a sentinel so that missing equals missing in the join
        gone["city"] = gone["city"].astype(object).where(gone["city"].notna(), _NO_CITY)
        removed = removed.assign(city=removed["city"].astype(object).where(removed["city"].notna(), _NO_CITY))
        stored = gone.groupby(keys).size().rename("stored").reset_index()
        back = removed.merge(stored, on=keys, how="left")
        back["city"] = back["city"].where(back["city"] != _NO_CITY, None)
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


def _count(cur, path: str, days: dict[str, set]) -> None:
    """Count the appends per (table, day); compact the ones that reached COMPACT_AFTER."""
    due: dict[str, list] = {}
    with _appends_lock:
        for name, wanted in days.items():
            counter = _appends.setdefault((path, name), Counter())
            for day in wanted:
                counter[day] += 1
                if counter[day] >= COMPACT_AFTER:
                    due.setdefault(name, []).append(day)
                    del counter[day]
    for name, wanted in due.items():
        compact(cur, name, sorted(wanted))


def compact(cur, name: str, days: list[dt.date]) -> None:
    """Merge the rows of `days` in roll_<name> into one row per key (keys summing to zero go)."""
    if not days:
        return
    keys, values = TABLES[name]
    table = f"roll_{name}"  # from the TABLES allow-list
    old = cur.execute(
        f"DELETE FROM {table} WHERE day >= $first AND day <= $last AND list_contains($days, day) RETURNING *",
        {"first": days[0], "last": days[-1], "days": days},
    ).fetchall()
    if not old:
        return
    old = pd.DataFrame(old, columns=list(keys) + list(values))
    cur.register("old_rows", old)
    try:
        sums = ", ".join(f"sum({v}) AS {v}" for v in values)
        nonzero = " OR ".join(f"{v} <> 0" for v in values)
        key_list = ", ".join(keys)
        cur.execute(
            f"INSERT INTO {table} SELECT * FROM (SELECT {key_list}, {sums} FROM old_rows "
            f"GROUP BY {key_list}) WHERE {nonzero} ORDER BY {key_list}"
        ).fetchall()
    finally:
        cur.unregister("old_rows")


def compact_pending(cur, path: str) -> None:
    """Compact every (table, day) of `path` appended to since its last compaction (after a bulk import)."""
    with _appends_lock:
        pending = {name: sorted(counter) for (p, name), counter in _appends.items() if p == path and counter}
        for (p, _name), counter in _appends.items():
            if p == path:
                counter.clear()
    for name, days in pending.items():
        for lo in range(0, len(days), 1000):
            compact(cur, name, days[lo : lo + 1000])
