"""Upsert validated batches, each kind in one transaction, keeping derived columns exact.

Input frames carry the canonical columns of their kind (see ingest/validate.py)
plus `_row`, the row's position in its source for error messages. Checks that
need the database (a reply earlier than its message) happen here; the rows
they reject are returned, never written.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from queries import rollups
from queries.db import Store
from queries.sql import text

KINDS = ("messages", "replies", "evaluations", "units", "leaders")
ID_COLUMN = {"messages": "message_id", "replies": "reply_id", "evaluations": "message_id",
             "units": "unit_id", "leaders": "leader_id"}


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


def upsert(store: Store, kind: str, batch: pd.DataFrame) -> WriteResult:
    """Write one validated batch of `kind` in a single transaction."""
    if kind not in KINDS:
        raise ValueError(f"unknown kind {kind!r}")
    batch = batch.drop_duplicates(ID_COLUMN[kind], keep="last")
    result = WriteResult()
    if batch.empty:
        return result
    with store.write() as cur:
        _WRITERS[kind](cur, batch, result)
    return result


def _register(cur, frame: pd.DataFrame) -> None:
    cur.register("batch", frame.drop(columns=["_row"], errors="ignore"))


def _write_messages(cur, batch, result: WriteResult) -> None:
    ids = batch["message_id"]
    before = rollups.touched_days(cur, ids)
    _write_message_rows(cur, batch, result)
    rollups.refresh(cur, rollups.merge(before, rollups.touched_days(cur, ids)))


def _write_message_rows(cur, batch, result: WriteResult) -> None:
    _register(cur, batch)
    cur.execute(text("writes", "upsert_messages")).fetchall()
    held = cur.execute(text("writes", "held_for_batch")).df()
    cur.unregister("batch")
    result.written = len(batch)
    if held.empty:
        return
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
        result.linked = len(linkable)
    if not conflicts.empty:
        cur.register("batch", conflicts)
        cur.execute(text("writes", "upsert_held_replies")).fetchall()
        cur.unregister("batch")


def _write_replies(cur, batch, result: WriteResult) -> None:
    _register(cur, batch)
    targets = cur.execute(text("writes", "reply_targets")).df()
    cur.unregister("batch")
    batch = batch.merge(targets, on="reply_id", how="left")
    known = batch["message_created_at"].notna()
    too_early = known & (batch["replied_at"] < batch["message_created_at"])
    for row in batch.loc[too_early, "_row"]:
        result.rejected.append(Rejection(int(row), "replied_at", "precedes the message's created_at"))
    linked = batch[known & ~too_early]
    held = batch[~known]
    touched = sorted(set(linked["message_id"]) | set(batch.loc[~too_early, "previous_message_id"].dropna()))
    before = rollups.touched_days(cur, touched, ("created", "answered"))
    columns = ["reply_id", "message_id", "replied_at", "unit"]
    if not linked.empty:
        cur.register("batch", linked[columns])
        cur.execute(text("writes", "upsert_replies")).fetchall()
        cur.unregister("batch")
        cur.execute(text("writes", "delete_held"), {"ids": linked["reply_id"].tolist()}).fetchall()
    if not held.empty:
        cur.register("batch", held[columns].assign(problem=None))
        cur.execute(text("writes", "upsert_held_replies")).fetchall()
        cur.unregister("batch")
        cur.execute(text("writes", "delete_replies"), {"ids": held["reply_id"].tolist()}).fetchall()
    if touched:
        cur.execute(text("writes", "refresh_first_reply"), {"ids": touched}).fetchall()
        after = rollups.touched_days(cur, touched, ("created", "answered"))
        rollups.refresh(cur, rollups.merge(before, after))
    result.written = len(linked)
    result.held = len(held)


def _simple(query: str):
    def write(cur, batch, result: WriteResult) -> None:
        _register(cur, batch)
        cur.execute(text("writes", query)).fetchall()
        cur.unregister("batch")
        result.written = len(batch)
    return write


def _write_evaluations(cur, batch, result: WriteResult) -> None:
    ids = batch["message_id"]
    before = rollups.touched_days(cur, ids, ("rated",))
    _simple("upsert_evaluations")(cur, batch, result)
    rollups.refresh(cur, rollups.merge(before, rollups.touched_days(cur, ids, ("rated",))))


_WRITERS = {
    "messages": _write_messages,
    "replies": _write_replies,
    "evaluations": _write_evaluations,
    "units": _simple("upsert_units"),
    "leaders": _simple("upsert_leaders"),
}
