"""Upsert validated batches, each kind in one transaction, keeping derived columns exact.

Input frames carry the canonical columns of their kind (see ingest/validate.py)
plus `_row`, the row's position in its source for error messages. Checks that
need the database (a reply earlier than its message) happen here; the rows
they reject are returned, never written.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field

import pandas as pd

from queries import rollups
from queries.db import Store
from queries.periods import beijing_now
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


def _days(values) -> set:
    """Beijing calendar days of a column of timestamps (missing values skipped)."""
    stamps = pd.to_datetime(pd.Series(values)).dropna()
    return set(stamps.dt.date.unique())


def _write_messages(cur, batch, result: WriteResult) -> None:
    """Insert new messages (the index tells which are new: no scan for their old days), update known
    ones (their old and new days from the tables), link held replies, refresh the touched days."""
    _register(cur, batch)
    new_ids = {row[0] for row in cur.execute(text("writes", "insert_new_messages")).fetchall()}
    days: rollups.Days = defaultdict(set)
    if new_ids:
        days["created"] |= _days(batch.loc[batch["message_id"].isin(new_ids), "created_at"])
        # evaluations that arrived before their message now follow it
        days["rated"] |= {day for (day,) in cur.execute(text("writes", "evaluation_days")).fetchall()}
    cur.unregister("batch")
    existing = batch[~batch["message_id"].isin(new_ids)]
    if not existing.empty:
        ids = existing["message_id"]
        before = rollups.touched_days(cur, ids)
        _register(cur, existing)
        cur.execute(text("writes", "upsert_messages")).fetchall()
        cur.unregister("batch")
        days = rollups.merge(days, before, rollups.touched_days(cur, ids))
    linked = _link_held(cur, batch, result)
    if linked:
        days = rollups.merge(days, rollups.touched_days(cur, linked))
    rollups.refresh(cur, days)


def _link_held(cur, batch, result: WriteResult) -> list:
    """Link the held replies whose message is in the batch; returns the ids of the messages that got replies."""
    _register(cur, batch)
    held = cur.execute(text("writes", "held_for_batch")).df()
    cur.unregister("batch")
    result.written = len(batch)
    if held.empty:
        return []
    # A held reply older than its (now known) message stays held with the reason.
    ok = held["replied_at"] >= held["created_at"]
    linkable = held[ok].drop(columns=["created_at"])
    conflicts = held[~ok].drop(columns=["created_at"]).assign(problem="replied_at precedes the message's created_at")
    ids: list = []
    if not linkable.empty:
        cur.register("batch", linkable)
        cur.execute(text("writes", "upsert_replies")).fetchall()
        cur.unregister("batch")
        cur.execute(text("writes", "delete_held"), {"ids": linkable["reply_id"].tolist()}).fetchall()
        ids = linkable["message_id"].unique().tolist()
        cur.execute(text("writes", "refresh_first_reply"), {"ids": ids}).fetchall()
        result.linked = len(linkable)
    if not conflicts.empty:
        cur.register("batch", conflicts)
        cur.execute(text("writes", "upsert_held_replies")).fetchall()
        cur.unregister("batch")
    return ids


# Replies look for their message among the messages of the last weeks first, then of the year before,
# then of all earlier time (only for the replies still not found: late answers, or messages not
# stored at all, which are held). Each step reads only the row groups of its span, so a batch of
# live replies reads the recent row groups, not the whole table. (Primary-key lookups cost a few
# milliseconds per id on a large table, more than a scan of the recent weeks.)
REPLY_LOOKBACK_DAYS = (45, 400)
_TARGET_COLUMNS = ["message_id", "message_created_at", "first_reply_at", "first_reply_unit", "reply_count"]
_FAR_PAST, _FAR_FUTURE = dt.datetime(1, 1, 1), dt.datetime(9999, 12, 31)


def _reply_targets(cur, batch) -> pd.DataFrame:
    """The batch with the stored state of each reply's message (missing values: message not stored)."""
    missing = pd.DataFrame({"message_id": batch["message_id"].drop_duplicates()})
    now = beijing_now()
    edges = [_FAR_FUTURE, *(now - dt.timedelta(days=d) for d in REPLY_LOOKBACK_DAYS), _FAR_PAST]
    parts = []
    for high, low in zip(edges[:-1], edges[1:], strict=True):
        if missing.empty:
            break
        cur.register("batch", missing)
        try:
            found = cur.execute(text("writes", "reply_targets"), {"low": low, "high": high}).df()
        finally:
            cur.unregister("batch")
        if not found.empty:
            parts.append(found)
            missing = missing[~missing["message_id"].isin(found["message_id"])]
    if not parts:
        return batch.assign(message_created_at=pd.NaT, first_reply_at=pd.NaT, first_reply_unit=None,
                            reply_count=pd.NA)
    targets = pd.concat(parts, ignore_index=True)
    return batch.merge(targets[_TARGET_COLUMNS], on="message_id", how="left")


def _write_replies(cur, batch, result: WriteResult) -> None:
    """New replies to known messages: inserted through the index, their messages' first reply moved
    forward from the stored values (no scan of replies). Re-sent replies and replies whose message is
    unknown (held) take the general path: first replies recomputed from all replies of the messages."""
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
    # -- the general path: re-sent replies (possibly moved to another message) and held ones
    slow: set = set()
    days: rollups.Days = defaultdict(set)
    others = pd.concat([resent, held])
    if not others.empty:
        _register(cur, others[columns])
        previous = cur.execute(text("writes", "stored_replies")).df()
        cur.unregister("batch")
        slow = set(resent["message_id"]) | set(previous["previous_message_id"].dropna())
        days = rollups.merge(days, rollups.touched_days(cur, sorted(slow), ("created", "answered")))
    if not resent.empty:
        cur.register("batch", resent[columns])
        cur.execute(text("writes", "upsert_replies")).fetchall()
        cur.unregister("batch")
    if not linked.empty:
        cur.execute(text("writes", "delete_held"), {"ids": linked["reply_id"].tolist()}).fetchall()
    if not held.empty:
        cur.register("batch", held[columns].assign(problem=None))
        cur.execute(text("writes", "upsert_held_replies")).fetchall()
        cur.unregister("batch")
        cur.execute(text("writes", "delete_replies"), {"ids": held["reply_id"].tolist()}).fetchall()
    # -- new replies only: the first reply can only move earlier
    fresh = linked[linked["reply_id"].isin(new_ids) & ~linked["message_id"].isin(slow)]
    if not fresh.empty:
        days = rollups.merge(days, _advance_first_replies(cur, fresh))
    if slow:
        ids = sorted(slow)
        cur.execute(text("writes", "refresh_first_reply"), {"ids": ids}).fetchall()
        days = rollups.merge(days, rollups.touched_days(cur, ids, ("created", "answered")))
    rollups.refresh(cur, days)
    result.written = len(linked)
    result.held = len(held)


def _advance_first_replies(cur, fresh: pd.DataFrame) -> rollups.Days:
    """Set first_reply_* and reply_count of the messages of `fresh` (new replies, messages as stored in
    its target columns); returns the rollup days touched (before and after)."""
    ordered = fresh.sort_values(["message_id", "replied_at"], kind="stable")
    first = ordered.groupby("message_id", sort=False).agg(
        created=("message_created_at", "first"), old_at=("first_reply_at", "first"),
        old_unit=("first_reply_unit", "first"), old_n=("reply_count", "first"),
        at=("replied_at", "first"), unit=("unit", "first"), n=("reply_id", "size")).reset_index()
    keep_old = first["old_at"].notna() & (first["old_at"] <= first["at"])
    update = pd.DataFrame({
        "message_id": first["message_id"],
        "first_at": first["old_at"].where(keep_old, first["at"]),
        "first_unit": first["old_unit"].where(keep_old, first["unit"]),
        "n": (first["old_n"].fillna(0).astype("int64") + first["n"]).astype("int32"),
    })
    cur.register("batch", update)
    try:
        cur.execute(text("writes", "set_first_reply"),
                    {"low": first["created"].min().to_pydatetime(),
                     "high": first["created"].max().to_pydatetime()}).fetchall()
    finally:
        cur.unregister("batch")
    days: rollups.Days = defaultdict(set)
    days["created"] = _days(first["created"])
    days["answered"] = _days(first["old_at"]) | _days(update["first_at"])
    return days


def _simple(query: str):
    def write(cur, batch, result: WriteResult) -> None:
        _register(cur, batch)
        cur.execute(text("writes", query)).fetchall()
        cur.unregister("batch")
        result.written = len(batch)
    return write


def _write_evaluations(cur, batch, result: WriteResult) -> None:
    """Rating days touched: the stored evaluations' old days and the batch's new ones (from the frame)."""
    _register(cur, batch)
    before = {day for (day,) in cur.execute(text("writes", "evaluation_days")).fetchall()}
    cur.execute(text("writes", "upsert_evaluations")).fetchall()
    cur.unregister("batch")
    result.written = len(batch)
    rollups.refresh(cur, {"rated": before | _days(batch["rated_at"])})


_WRITERS = {
    "messages": _write_messages,
    "replies": _write_replies,
    "evaluations": _write_evaluations,
    "units": _simple("upsert_units"),
    "leaders": _simple("upsert_leaders"),
}
