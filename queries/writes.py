"""Upsert validated batches, each kind in one transaction, keeping derived columns exact.

Input frames carry the canonical columns of their kind (see ingest/validate.py)
plus `_row`, the row's position in its source for error messages. Checks that
need the database (a reply earlier than its message) happen here; the rows
they reject are returned, never written.
"""

from __future__ import annotations

import datetime as dt
import warnings
from collections import Counter
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from queries import deltas, texts
from queries.db import Store
from queries.periods import beijing_now
from queries.sql import text

KINDS = ("messages", "replies", "evaluations", "units", "leaders")
ID_COLUMN = {
    "messages": "message_id",
    "replies": "reply_id",
    "evaluations": "message_id",
    "units": "unit_id",
    "leaders": "leader_id",
}


@dataclass
class Rejection:
    row: int
    field: str
    reason: str


@dataclass
class WriteResult:
    written: int = 0
    held: int = 0
    linked: int = 0
    rejected: list[Rejection] = field(default_factory=list)
    held_rows: list[int] = field(default_factory=list)  # `_row` of each held reply
    linked_by: Counter = field(default_factory=Counter)  # held replies linked, per message id of the batch


def upsert(store: Store, kind: str, batch: pd.DataFrame, prepared: Prepared | None = None) -> WriteResult:
    """Write one validated batch of `kind` in a single transaction, rollups included (`prepared`: what
    `prepare` made of this batch beforehand)."""
    if kind not in KINDS:
        raise ValueError(f"unknown kind {kind!r}")
    if prepared is None and not batch[ID_COLUMN[kind]].is_unique:  # validated batches are: a cheap check
        batch = batch.drop_duplicates(ID_COLUMN[kind], keep="last")
    prepared = prepared if prepared is not None and prepared.kind == kind else None
    result = WriteResult()
    if batch.empty:
        return result
    with store.write() as cur:
        # the rollup maintenance adds the days of the messages written (deltas.apply)
        store.touch(joins=kind in ("units", "leaders"))
        if prepared is not None:
            _PREPARED_WRITERS[kind](cur, batch, result, store.appends, prepared)
        else:
            _WRITERS[kind](cur, batch, result, store.appends)
        texts.write(cur, kind, texts.table(kind, batch, {r.row for r in result.rejected}))
        if kind == "messages":  # a messages batch changes its own messages only (its held replies linked to them)
            store.appends.declare_ids(batch["message_id"].tolist())
    return result


@dataclass
class Prepared:
    """A bulk chunk of messages or replies made ready outside the write: its Arrow columns."""

    kind: str
    table: pa.Table


def prepare(kind: str, batch: pd.DataFrame) -> Prepared | None:
    """The work on a validated bulk chunk of messages or replies that needs no database (None for other batches):
    a bulk import does it while the previous chunk is written."""
    schema = {"messages": MESSAGE_SCHEMA, "replies": REPLY_SCHEMA}.get(kind)
    if schema is None or len(batch) < BULK_ROWS or not batch[ID_COLUMN[kind]].is_unique:
        return None
    return Prepared(kind, _arrow(batch, schema))


def _register(cur, frame: pd.DataFrame) -> None:
    cur.register("batch", frame.drop(columns=["_row"], errors="ignore"))


def _read_states(cur, ids) -> pd.DataFrame:
    """The rollup state of the stored messages `ids` (with their evaluation)."""
    cur.register("state_ids", pa.table({"message_id": pa.array(list(ids), pa.string())}))
    try:
        return cur.execute(text("deltas", "message_states")).df()
    finally:
        cur.unregister("state_ids")


# A chunk this large finds its stored ids by one join (a scan of the ids) instead of a conflict
# check per row (index lookups: a few microseconds each).
BULK_ROWS = 20_000
FIRST_FLAGS_LISTED = 1000  # refresh_first_flags: more messages than this are joined from a table
_STRING, _TIME = pa.string(), pa.timestamp("us")
MESSAGE_SCHEMA = pa.schema(
    [
        ("message_id", _STRING),
        ("created_at", _TIME),
        ("province", pa.int32()),
        ("city", _STRING),
        ("district", _STRING),
        ("addressee", _STRING),
        ("category", _STRING),
        ("msg_type", _STRING),
        ("title", _STRING),
        ("is_urgent", pa.bool_()),
        ("source_status", _STRING),
    ]
)
REPLY_SCHEMA = pa.schema([("reply_id", _STRING), ("message_id", _STRING), ("replied_at", _TIME), ("unit", _STRING)])


def _arrow_rows(cur, sql: str, params=None) -> pa.Table:
    """A statement's rows as Arrow straight from its DB-API result: one step (a relation would bind the
    statement first, about a millisecond more); the copy DuckDB warns about is negligible for these results."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Arrow output on a DB-API result", category=UserWarning)
        return cur.execute(sql, params).to_arrow_table()


def _arrow(frame: pd.DataFrame, schema: pa.Schema) -> pa.Table:
    """The columns of `schema` from `frame` as one Arrow table (DuckDB registers Arrow several times faster
    than pandas); nanosecond times are truncated to microseconds as DuckDB stores them."""
    arrays = []
    for column in schema:
        values = frame[column.name]
        array = (
            pa.array(values, from_pandas=True)
            if values.dtype == object or not isinstance(values.dtype, pd.ArrowDtype)
            else values.array._pa_array
        )
        if array.type != column.type:  # only times may lose digits (nanoseconds)
            array = array.cast(column.type, safe=not pa.types.is_timestamp(column.type))
        arrays.append(array)
    return pa.Table.from_arrays(arrays, schema=schema)


def _write_messages(cur, batch, result: WriteResult, appends: deltas.Appends, prepared: Prepared | None = None) -> None:
    """Insert new messages, update known ones (one lookup finds the stored ids and what waits for the batch:
    held replies and evaluations), link held replies and held evaluations; rollups from the messages' states
    before and after."""
    table = prepared.table if prepared is not None else _arrow(batch, MESSAGE_SCHEMA)
    cur.register("batch", table)
    try:
        _drop_league_facts(cur, table)
        if table.num_rows >= BULK_ROWS:
            found = _arrow_rows(cur, text("writes", "message_lookup"))
            kinds = found.column("kind")
            stored = found.filter(pc.equal(kinds, "s")).column("message_id")
            is_new = (
                ~pc.is_in(table.column("message_id"), value_set=stored).to_numpy(zero_copy_only=False)
                if len(stored)
                else np.ones(table.num_rows, dtype=bool)
            )
            if is_new.all():
                cur.execute(text("writes", "insert_messages")).fetchall()
        else:
            new_ids = _arrow_rows(cur, text("writes", "insert_new_messages")).column(0)
            is_new = (
                pc.is_in(table.column("message_id"), value_set=new_ids).to_numpy(zero_copy_only=False)
                if len(new_ids) < table.num_rows
                else np.ones(table.num_rows, dtype=bool)
            )
            found = _arrow_rows(cur, text("writes", "waiting_for_batch"))
            kinds = found.column("kind")
    finally:
        cur.unregister("batch")
    waiting = found.filter(pc.not_equal(kinds, "s"))
    if waiting.num_rows:
        waiting = waiting.to_pandas()
        held, rated = waiting[waiting["kind"] == "r"], waiting[waiting["kind"] == "e"]
    else:
        held = rated = None
    if not is_new.all() and table.num_rows >= BULK_ROWS:
        if is_new.any():
            cur.register("batch", table.filter(pa.array(is_new)))
            cur.execute(text("writes", "insert_messages")).fetchall()
            cur.unregister("batch")
    parts: list = []
    existing = table.filter(pa.array(~is_new)) if not is_new.all() else None
    if existing is not None:
        parts.append(deltas.states(_read_states(cur, existing.column("message_id").to_pylist()), -1))
        cur.register("batch", existing)
        cur.execute(text("writes", "upsert_messages")).fetchall()
        unsettled = cur.execute(text("writes", "drop_boilerplate_near_batch")).fetchall()
        refresh_first_flags(cur, [row[0] for row in unsettled])
        cur.execute(text("writes", "drop_reply_features_of_batch")).fetchall()
        cur.unregister("batch")
    linking: set = set()
    if rated is not None and not rated.empty:
        cur.execute(text("writes", "delete_held_evaluations"), {"ids": rated["message_id"].tolist()}).fetchall()
    if held is not None and not held.empty:
        linking = set(held.loc[held["replied_at"] >= held["created_at"], "message_id"])
        _link_held(cur, held)
        if linking:
            result.linked_by = Counter(held.loc[held["message_id"].isin(linking), "message_id"])
            result.linked = sum(result.linked_by.values())
    result.written = table.num_rows
    slow = set(existing.column("message_id").to_pylist()) if existing is not None else set()
    slow |= linking
    if slow:
        parts.append(deltas.states(_read_states(cur, slow), 1))
    fresh_mask = is_new
    if slow:
        fresh_mask = fresh_mask & ~pc.is_in(
            table.column("message_id"), value_set=pa.array(sorted(slow), _STRING)
        ).to_numpy(zero_copy_only=False)
    if fresh_mask.any():
        fresh = table if fresh_mask.all() else table.filter(pa.array(fresh_mask))
        evaluation = {}
        if rated is not None and not rated.empty:
            ratings = pa.Table.from_pandas(rated[["message_id", "rated_at", "verdict"]], preserve_index=False)
            where = pc.index_in(fresh.column("message_id"), value_set=ratings.column("message_id"))
            evaluation = {
                "rated_at": ratings.column("rated_at").take(where),
                "verdict": ratings.column("verdict").take(where),
            }
        parts.append(deltas.state_table(fresh, 1, **evaluation))
    deltas.apply(cur, appends, parts, "messages")


def refresh_first_flags(cur, message_ids: list) -> None:
    """The league facts of messages whose flag rows were inserted or deleted take their first reply's flag again
    (league_facts.first_boilerplate, migration 15)."""
    if not message_ids:
        return
    found = cur.execute(text("writes", "first_flags"), {"ids": sorted(set(message_ids))}).fetchall()
    if len(found) > FIRST_FLAGS_LISTED:
        # many (a span of days flagged at once): joined from a table, not looked up in bound lists per row
        table = pa.table(
            {"message_id": [m for m, _ in found], "flag": [flag for _, flag in found]},
            schema=pa.schema([("message_id", pa.string()), ("flag", pa.bool_())]),
        )
        cur.register("first_flag_batch", table)
        try:
            cur.execute(text("writes", "set_first_flags_joined"))
        finally:
            cur.unregister("first_flag_batch")
    elif found:
        params = {
            "ids": [m for m, _ in found],
            "flagged": [m for m, flag in found if flag is True],
            "plain": [m for m, flag in found if flag is False],
        }
        cur.execute(text("writes", "set_first_flags"), params).fetchall()


def _drop_league_facts(cur, table: pa.Table) -> None:
    """Before the messages of `table` (registered as `batch`) are written: drop the league facts they may change
    (their own, and those of the answered messages they may restate, as stored and as sent; see
    supervision/league_facts.py). A store without facts yet (a bulk load) has nothing to drop."""
    if not cur.execute("SELECT count(*) FROM league_facts").fetchone()[0]:
        return
    ids = table.column("message_id").to_pylist()
    low, high = cur.execute(text("writes", "league_facts_span"), {"ids": ids}).fetchone()
    # found first, then deleted by key: a DELETE with the join would scan the whole table
    near = cur.execute(text("writes", "league_facts_near_batch"), {"ids": ids, "low": low, "high": high}).fetchall()
    cur.execute(text("writes", "drop_league_facts"), {"ids": ids + [row[0] for row in near]}).fetchall()


def _drop_facts(cur, ids: pa.Array) -> None:
    """Drop the league facts of the messages `ids` (their first reply moved). Binding a bulk chunk's ids costs more
    than the statement, and a bulk load has no facts yet (supervision/league_facts.py computes them when a league is
    first read): a bulk list asks first whether there are any."""
    if not len(ids):
        return
    if len(ids) >= BULK_ROWS and not cur.execute("SELECT count(*) FROM league_facts").fetchall()[0][0]:
        return
    cur.execute(text("writes", "drop_league_facts"), {"ids": ids.to_pylist()}).fetchall()


def _link_held(cur, held: pd.DataFrame) -> None:
    """Link the held replies (of messages of the batch) that do not precede their message."""
    if held.empty:
        return
    held = held[["reply_id", "message_id", "replied_at", "unit", "created_at"]]
    # A held reply older than its (now known) message stays held with the reason.
    ok = held["replied_at"] >= held["created_at"]
    linkable = held[ok].drop(columns=["created_at"])
    conflicts = held[~ok].drop(columns=["created_at"]).assign(problem="replied_at precedes the message's created_at")
    if not linkable.empty:
        cur.register("batch", linkable)
        cur.execute(text("writes", "upsert_replies")).fetchall()
        cur.unregister("batch")
        cur.execute(text("writes", "delete_held"), {"ids": linkable["reply_id"].tolist()}).fetchall()
        cur.execute(text("writes", "refresh_first_reply"), {"ids": linkable["message_id"].unique().tolist()}).fetchall()
    if not conflicts.empty:
        cur.register("batch", conflicts)
        cur.execute(text("writes", "upsert_held_replies")).fetchall()
        cur.unregister("batch")


# Replies (and evaluations) look for their message among the messages created in the weeks before the batch's
# earliest time first (live writes: the recent weeks; a bulk import in time order: the weeks of its chunk), then
# the year before, then all earlier time, then later messages (a reply preceding its message, rejected): each only
# for the ids still not found (late answers, or messages not stored at all, which are held). Each step reads only
# the row groups of its span, so a batch reads the row groups of its own weeks, not the whole table. (Primary-key
# lookups cost a few milliseconds per id on a large table, more than a scan of those weeks.)
REPLY_LOOKBACK_DAYS = (45, 400)
_TARGET_COLUMNS = [
    "message_id",
    "message_created_at",
    "first_reply_at",
    "first_reply_unit",
    "reply_count",
    "province",
    "city",
    "category",
    "msg_type",
    "is_urgent",
    "source_status",
]
_FAR_PAST, _FAR_FUTURE = dt.datetime(1, 1, 1), dt.datetime(9999, 12, 31)


def _spans(first, last) -> list[tuple[dt.datetime, dt.datetime]]:
    """The creation-time spans [low, high) to look for the messages of a batch whose times run from `first` to
    `last`, in order (see REPLY_LOOKBACK_DAYS)."""
    first = pd.Timestamp(first).to_pydatetime() if pd.notna(first) else beijing_now()
    last = pd.Timestamp(last).to_pydatetime() if pd.notna(last) else first
    near, far = (max(first, _FAR_PAST + dt.timedelta(days=d)) - dt.timedelta(days=d) for d in REPLY_LOOKBACK_DAYS)
    end = min(last, _FAR_FUTURE - dt.timedelta(days=2)) + dt.timedelta(days=1)
    return [(near, end), (far, near), (_FAR_PAST, far), (end, _FAR_FUTURE)]


def _message_targets(cur, ids: pd.Series, times: pd.Series) -> pd.DataFrame:
    """The stored messages among `ids` with their state (_TARGET_COLUMNS), found span by span."""
    missing = pd.DataFrame({"message_id": ids.drop_duplicates()})
    parts = []
    for low, high in _spans(times.min(), times.max()):
        if missing.empty:
            break
        cur.register("batch", missing)
        try:
            found = cur.execute(text("writes", "message_targets"), {"low": low, "high": high}).df()
        finally:
            cur.unregister("batch")
        if not found.empty:
            parts.append(found)
            missing = missing[~missing["message_id"].isin(found["message_id"])]
    if not parts:
        return pd.DataFrame({c: pd.Series([], dtype=object) for c in _TARGET_COLUMNS})
    return pd.concat(parts, ignore_index=True) if len(parts) > 1 else parts[0]


def _reply_targets(cur, batch) -> pd.DataFrame:
    """The batch with the stored state of each reply's message (missing values: message not stored)."""
    targets = _message_targets(cur, batch["message_id"], batch["replied_at"])
    if targets.empty:
        return batch.assign(**{c: None for c in _TARGET_COLUMNS[1:]}).assign(message_created_at=pd.NaT)
    return batch.merge(targets[_TARGET_COLUMNS], on="message_id", how="left")


def _write_replies(cur, batch, result: WriteResult, appends: deltas.Appends, prepared: Prepared | None = None) -> None:
    """One lookup finds the replies' messages (span by span, see REPLY_LOOKBACK_DAYS) and the held replies of the
    batch. When every reply's message is stored and every reply is new (the live case, a bulk import), the replies
    are inserted and the first replies moved forward in numpy/Arrow; otherwise the general path below runs. A bulk
    chunk finds its stored replies by one scan and inserts without a conflict check; a small batch checks per row."""
    table = prepared.table if prepared is not None else _arrow(batch, REPLY_SCHEMA)
    cur.register("batch", table)  # one registration for the lookup and the insert
    try:
        _write_replies_fast(cur, batch, table, result, appends)
    finally:
        cur.unregister("batch")


def _write_replies_fast(cur, batch, table: pa.Table, result: WriteResult, appends: deltas.Appends) -> None:
    targets, where, held = _arrow_targets(cur, table)
    bulk = table.num_rows >= BULK_ROWS
    if where is None or (bulk and cur.execute(text("writes", "stored_reply_count")).fetchall()[0][0]):
        return _write_replies_general(cur, batch, result, appends)  # held replies (a message not stored), re-sent
    created = targets.column("created_at").to_numpy()[where]
    replied = table.column("replied_at").to_numpy()
    too_early = replied < created
    fast = table
    if too_early.any():
        keep = ~too_early
        fast, where, replied = table.filter(pa.array(keep)), where[keep], replied[keep]
    if fast.num_rows:
        if fast is not table:
            cur.register("batch", fast)
        if bulk:
            cur.execute(text("writes", "insert_replies")).fetchall()  # none stored (stored_reply_count)
        elif cur.execute(text("writes", "count_new_replies")).fetchall()[0][0] < fast.num_rows:
            # re-sent replies: the general path (it sees the inserted ones as re-sent)
            return _write_replies_general(cur, batch, result, appends)
    if too_early.any():
        rows = batch["_row"].to_numpy() if "_row" in batch.columns else np.arange(1, len(batch) + 1)
        for row in rows[too_early]:
            result.rejected.append(Rejection(int(row), "replied_at", "precedes the message's created_at"))
    if not fast.num_rows:
        return
    if len(held):
        linked_held = pc.filter(held, pc.is_in(held, value_set=fast.column("reply_id")))
        if len(linked_held):
            cur.execute(text("writes", "delete_held_ids"), {"ids": linked_held.to_pylist()}).fetchall()
    parts = _advance_first_replies_arrow(cur, fast, targets, where, replied)
    deltas.apply(cur, appends, parts, "replies")
    result.written = fast.num_rows


def _arrow_targets(cur, replies: pa.Table) -> tuple[pa.Table, np.ndarray | None, pa.ChunkedArray]:
    """The stored messages that `replies` (registered as `batch`) answer, with their state (columns of
    reply_lookup), span by span; the target row of each reply (None when some message is not stored); the ids of
    the batch's held replies. `batch` is `replies` again on return."""
    times = pc.min_max(replies.column("replied_at")).as_py()
    ids = replies.column("message_id")
    parts, held, where, moved = [], None, None, False
    for low, high in _spans(times["min"], times["max"]):
        if held is None:
            query = "reply_lookup"
        else:
            # the ids still not found (distinct): only after a span left some, so the usual batch never hashes them
            missing = pc.unique(ids if where is None else ids.filter(pa.array(where < 0)))
            cur.register("batch", pa.table({"message_id": missing}))
            query, moved = "message_targets", True
        found = _arrow_rows(cur, text("writes", query), {"low": low, "high": high})
        if held is None:
            is_held = pc.equal(found.column("kind"), "h")
            held = found.filter(is_held).column("id")
            # no held reply in the batch (the usual case): no copy of the targets
            found = (found.filter(pc.invert(is_held)) if len(held) else found).drop_columns(["kind"])
        if found.num_rows:
            part = found.rename_columns(_TARGETS_SCHEMA.names).cast(_TARGETS_SCHEMA)
            # target rows (-1: not found yet); a later span looks up only the replies still open, among its own rows
            open_rows = None if where is None else np.flatnonzero(where < 0)
            looked_up = ids if open_rows is None else ids.take(pa.array(open_rows))
            rows = pc.fill_null(pc.index_in(looked_up, value_set=part.column("id")), -1).to_numpy().astype(np.int64)
            rows = np.where(rows >= 0, rows + sum(p.num_rows for p in parts), -1)
            if open_rows is None:
                where = rows
            else:
                where[open_rows] = rows
            parts.append(part)
            if (where >= 0).all():
                break
    if moved:
        cur.register("batch", replies)
    if not parts:
        return _TARGETS_SCHEMA.empty_table(), None, held
    targets = parts[0] if len(parts) == 1 else pa.concat_tables(parts)
    return targets, (where if (where >= 0).all() else None), held


_TARGETS_SCHEMA = pa.schema(
    [
        ("id", _STRING),
        ("created_at", _TIME),
        ("first_reply_at", _TIME),
        ("first_reply_unit", _STRING),
        ("reply_count", pa.int32()),
        ("province", pa.int32()),
        ("city", _STRING),
        ("category", _STRING),
        ("msg_type", _STRING),
        ("is_urgent", pa.bool_()),
        ("source_status", _STRING),
        ("rid", pa.int64()),
    ]
)


def _advance_first_replies_arrow(
    cur, replies: pa.Table, targets: pa.Table, where: np.ndarray, replied: np.ndarray
) -> list[pa.Table]:
    """Set first_reply_* and reply_count of the messages answered by new `replies` (row i answers target
    row where[i]); returns the states of the messages whose first reply moved (before, after)."""
    # per message: the earliest new reply (the first in batch order among equal times) and the count; a batch in time
    # order (a bulk import) needs only a stable sort by message
    in_time_order = len(replied) < 2 or bool((replied[1:] >= replied[:-1]).all())
    order = np.argsort(where, kind="stable") if in_time_order else np.lexsort((replied, where))
    ordered = where[order]
    starts = np.flatnonzero(np.r_[True, ordered[1:] != ordered[:-1]])
    message = ordered[starts]
    first_row = order[starts]
    counts = np.diff(np.r_[starts, len(ordered)])
    new_at = replied[first_row]
    # the targets are the messages the replies answer: usually each one is answered, in order (no copy then)
    answered = targets if len(message) == targets.num_rows else targets.take(pa.array(message))
    old_at = answered.column("first_reply_at").to_numpy()
    keep_old = ~np.isnat(old_at) & (old_at <= new_at)
    first_at = np.where(keep_old, old_at, new_at)
    old_unit = answered.column("first_reply_unit")
    new_unit = replies.column("unit").take(pa.array(first_row))
    reply_count = pc.fill_null(answered.column("reply_count"), 0).to_numpy().astype(np.int64)
    update = pa.table(
        {
            "rid": answered.column("rid"),
            "first_at": pa.array(first_at, _TIME),
            "first_unit": pc.if_else(pa.array(keep_old), old_unit, new_unit),
            "n": pa.array((reply_count + counts).astype(np.int32)),
        }
    )
    cur.register("batch", update)
    try:
        cur.execute(text("writes", "set_first_reply_by_row")).fetchall()
    finally:
        cur.unregister("batch")
    if keep_old.all():
        return []
    if keep_old.any():  # a bulk import moves most first replies: a filter (a sequential copy), not a take
        moved = pa.array(~keep_old)
        answered, first_at, new_unit = answered.filter(moved), first_at[~keep_old], new_unit.filter(moved)
    _drop_facts(cur, answered.column("id"))
    return [
        deltas.state_table(answered, -1),
        deltas.state_table(answered, 1, first_reply_at=pa.array(first_at, _TIME), first_reply_unit=new_unit),
    ]


def _write_replies_general(cur, batch, result: WriteResult, appends: deltas.Appends) -> None:
    """Batches the fast path leaves (held replies, re-sent ones, replies preceding their message): new replies
    inserted through the index, held ones kept, and the first reply of every message concerned recomputed from
    its stored replies (the fast path moves first replies forward in Arrow; there is no third way)."""
    batch = _reply_targets(cur, batch)
    known = batch["message_created_at"].notna()
    too_early = known & (batch["replied_at"] < batch["message_created_at"])
    for row in batch.loc[too_early, "_row"]:
        result.rejected.append(Rejection(int(row), "replied_at", "precedes the message's created_at"))
    linked = batch[known & ~too_early]
    held = batch[~known]
    columns = ["reply_id", "message_id", "replied_at", "unit"]
    new_ids: set = set()
    if not linked.empty:
        cur.register("batch", linked[columns])
        new_ids = {row[0] for row in cur.execute(text("writes", "insert_new_replies")).fetchall()}
        cur.unregister("batch")
    resent = linked[~linked["reply_id"].isin(new_ids)]
    # every message whose replies change gets its first reply recomputed from its stored replies (the new ones,
    # the re-sent ones, the messages re-sent replies left, held replies' messages when known)
    slow: set = set(linked.loc[linked["reply_id"].isin(new_ids), "message_id"])
    others = pd.concat([resent, held]) if not resent.empty else held
    if not others.empty:
        dropped = {"ids": others["reply_id"].tolist()}
        unsettled = cur.execute(text("writes", "drop_boilerplate_near"), dropped).fetchall()
        refresh_first_flags(cur, [row[0] for row in unsettled])
        cur.execute(text("writes", "drop_reply_features"), dropped).fetchall()
        _register(cur, others[columns])
        previous = cur.execute(text("writes", "stored_replies")).df()
        cur.unregister("batch")
        slow |= set(resent["message_id"]) | set(previous["previous_message_id"].dropna())
    parts = [deltas.states(_read_states(cur, slow), -1)] if slow else []
    if not resent.empty:
        cur.register("batch", resent[columns])
        cur.execute(text("writes", "upsert_replies")).fetchall()
        cur.unregister("batch")
    if not linked.empty:
        cur.register("batch", linked[["reply_id"]])
        cur.execute(text("writes", "delete_held_in_batch")).fetchall()
        cur.unregister("batch")
    if not held.empty:
        cur.register("batch", held[columns].assign(problem=None))
        cur.execute(text("writes", "upsert_held_replies")).fetchall()
        cur.unregister("batch")
        cur.execute(text("writes", "delete_replies"), {"ids": held["reply_id"].tolist()}).fetchall()
    if slow:
        ids = sorted(slow)
        cur.execute(text("writes", "refresh_first_reply"), {"ids": ids}).fetchall()
        _drop_facts(cur, pa.array(ids, _STRING))
        parts.append(deltas.states(_read_states(cur, ids), 1))
    deltas.apply(cur, appends, parts, "replies")
    result.written = len(linked)
    result.held = len(held)
    result.held_rows = [int(row) for row in held["_row"]] if "_row" in held.columns else []


def _simple(query: str):
    def write(cur, batch, result: WriteResult, appends: deltas.Appends) -> None:
        _register(cur, batch)
        cur.execute(text("writes", query)).fetchall()
        cur.unregister("batch")
        result.written = len(batch)

    return write


def _write_evaluations(cur, batch, result: WriteResult, appends: deltas.Appends) -> None:
    """Evaluations of stored messages move between rating days in the rollups (old state from the
    table, new from the upsert); those of unknown messages wait in held_evaluations."""
    targets = _message_targets(cur, batch["message_id"], batch["rated_at"]).rename(
        columns={"message_created_at": "created_at"}
    )
    _register(cur, batch)
    try:
        old = cur.execute(text("writes", "stored_evaluations")).df()
        new = cur.execute(text("writes", "upsert_evaluations_returning")).df()
    finally:
        cur.unregister("batch")
    result.written = len(batch)
    cur.execute(text("writes", "drop_league_facts"), {"ids": new["message_id"].tolist()}).fetchall()
    unknown = new[~new["message_id"].isin(targets["message_id"])]
    if not unknown.empty:
        cur.register("batch", unknown)
        cur.execute(text("writes", "upsert_held_evaluations")).fetchall()
        cur.unregister("batch")
    if targets.empty:
        return
    dims = targets.drop(columns=["first_reply_unit", "reply_count"])
    before = dims.merge(old, on="message_id", how="left").rename(
        columns={"old_rated_at": "rated_at", "old_verdict": "verdict"}
    )
    after = dims.merge(new, on="message_id", how="inner")
    deltas.apply(cur, appends, [deltas.states(before, -1), deltas.states(after, 1)], "evaluations")


_PREPARED_WRITERS = {"messages": _write_messages, "replies": _write_replies}
_WRITERS = {
    "messages": _write_messages,
    "replies": _write_replies,
    "evaluations": _write_evaluations,
    "units": _simple("upsert_units"),
    "leaders": _simple("upsert_leaders"),
}
