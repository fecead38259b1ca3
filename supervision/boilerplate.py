"""The boilerplate flag of each reply (套话/模板回复), a property of the reply alone, stored (queries/
schema_reply_boilerplate.sql) so that the league and the shares read it by SQL.

**Definition.** A reply's *window* is its own day (Beijing date) and the `WINDOW_DAYS` days before it: the replies
with text published then, itself included. A reply is boilerplate when it does not address its message
(supervision/quality.py) and, within its window,
(a) its reduced text (its Chinese characters) also answers another problem, or
(b) at least `NEAR_SHARE` of its characters lie in clauses (between punctuation, at least 4 characters) that
    replies to at least `NEAR_MESSAGES` different problems use; when at least `PARTIAL_FROM` but under `NEAR_SHARE`
    is so shared, a clause not shared itself counts by the share of its 4-character pieces found in shared clauses.
A message's problem is its named location when it gives one, else its reduced title and body (features.problem).

Why backward only, and by day: a reply published today is compared with what was answered before it (as a reader of
the day would), so a new live reply never changes the flags of earlier days; and every reply of one day has the same
window, so the windows of a span of days slide a day at a time: one query computes the flags of every day of a span
(per text and per clause, day aggregates over a 90-day frame), each the value its own day's window gives. The flag
does not depend on the period asked for: the first use of a stock text is not boilerplate, its repetitions are.

**Kept exact on writes.** The rule is monotone in the window's replies (more replies never clear a flag). So a new or
recomputed reply (features saved) drops the unflagged flags of replies not addressing their message on its day and
the 90 after (`unsettle_boilerplate_after_features`), and a reply losing its features (re-sent reply or message)
drops the set flags it may have caused on those days (queries/writes.sql `drop_boilerplate_near`); `ensure` and the
background indexer (`BOILERPLATE`) compute the dropped and missing flags again, a span of days at a time.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from insight.index import Kind
from queries import writes
from queries.db import Store
from supervision import features, rules
from supervision.common import sql

WINDOW_DAYS = 90
NEAR_MESSAGES = 3
NEAR_SHARE = 0.7
PARTIAL_FROM = 0.4  # replies this shared get credit for partly shared clauses
PIECE = 4
SAVE_TRIES = 5  # a day's flags computed again when features of its window were saved meanwhile
DAY = dt.timedelta(days=1)
WINDOW = dt.timedelta(days=WINDOW_DAYS)  # queries/supervision.sql `boilerplate_span` spells it: 90 days
MICROSECOND = dt.timedelta(microseconds=1)
FLAG_SCHEMA = pa.schema(
    [
        ("reply_id", pa.string()),
        ("message_id", pa.string()),
        ("replied_at", pa.timestamp("us")),
        ("unit", pa.string()),
        ("text_key", pa.uint64()),
        ("candidate", pa.bool_()),
        ("exact", pa.bool_()),
        ("boilerplate", pa.bool_()),
    ]
)


def ensure(store: Store, start: dt.datetime, stop: dt.datetime) -> int:
    """Store the flag of every reply with text of [start, stop) lacking one (their windows' features first);
    returns how many days had replies lacking one. A read-only store is left as it is (its writer stores the flags)."""
    if store.read_only:
        return 0
    features.ensure_reply_features(store, _day(start) - WINDOW, stop)
    if store.scalar(sql("boilerplate_complete"), {"start": start, "stop": stop}):
        return 0
    return save_span(store, start, stop)


def missing(store: Store, start: dt.datetime, stop: dt.datetime, n: int) -> pd.DataFrame:
    """The days of [start, stop) with replies lacking a flag, newest first, at most `n` (the indexer's question)."""
    return store.df(sql("boilerplate_missing_days"), {"start": start, "stop": stop, "n": int(n)})


def save_span(store: Store, start: dt.datetime, stop: dt.datetime) -> int:
    """Compute and store the flags of the replies of [start, stop) lacking one, every day at once (queries/
    supervision.sql `boilerplate_span`); returns how many days had some. Features saved meanwhile in the span's
    windows (a live reply, the indexer) would make them stale: they are stored only if the windows' features are as
    read, else computed again."""
    windows = {"start": _day(start) - WINDOW, "stop": _day(stop - MICROSECOND) + DAY}  # whole days
    for _ in range(SAVE_TRIES):
        features.ensure_reply_features(store, windows["start"], windows["stop"])
        state = store.rows(sql("boilerplate_window_state"), windows)
        table = span_flags(store, start, stop, windows)
        if table is None:
            return 0
        with store.write(bump=False) as cur:  # derived data: cached answers stay valid (they were complete)
            if cur.execute(sql("boilerplate_window_state"), windows).fetchall() != state:
                continue
            cur.register("flag_batch", table)
            try:
                cur.execute(sql("insert_boilerplate"))
            finally:
                cur.unregister("flag_batch")
            writes.refresh_first_flags(cur, table.column("message_id").to_pylist())
        return len(pc.unique(table.column("day")))
    return 0


def span_flags(store: Store, start: dt.datetime, stop: dt.datetime, windows: dict) -> pa.Table | None:
    """The flags of the replies of [start, stop) lacking one, from the stored features (None: none lacking). Rule (b)
    of the few whose shared part earns partial credit (PARTIAL_FROM to NEAR_SHARE) is worked out a day at a time
    (`mostly_shared`, which reads texts)."""
    bound = {"start": start, "stop": stop, "lookback": windows["start"], "until": windows["stop"]}
    frame = store.df(sql("boilerplate_span"), dict(bound, near=NEAR_MESSAGES))
    if frame.empty:
        return None
    for column in ("candidate", "exact"):
        frame[column] = frame[column].astype(bool)
    share = frame["share"].astype("float64")
    open_ = (frame["candidate"] & ~frame["exact"]).to_numpy()
    passed = open_ & (share >= NEAR_SHARE).to_numpy()
    partly = open_ & ((share >= PARTIAL_FROM) & (share < NEAR_SHARE)).to_numpy()
    for day, ids in frame.loc[partly, "reply_id"].groupby(frame.loc[partly, "day"]):
        first = pd.Timestamp(day).to_pydatetime()
        shared = mostly_shared(store, ids, {"start": first - WINDOW, "stop": first + DAY})
        passed |= frame["reply_id"].isin(shared).to_numpy() & partly
    frame["boilerplate"] = frame["candidate"] & (frame["exact"] | passed)
    frame["day"] = pd.to_datetime(frame["day"])
    return pa.Table.from_pandas(frame[[*FLAG_SCHEMA.names, "day"]], preserve_index=False).cast(
        pa.schema([*FLAG_SCHEMA, ("day", pa.timestamp("us"))])
    )


def _day(moment: dt.datetime) -> dt.datetime:
    return dt.datetime.combine(moment.date(), dt.time())


def mostly_shared(store: Store, ids: pd.Series, lookback: dict) -> set:
    """Rule (b) for the candidate replies `ids` in the window `lookback` (start, stop). Returns the ids that pass."""
    if ids.empty:
        return set()
    bound = {"lookback": lookback["start"], "stop": lookback["stop"], "near": NEAR_MESSAGES}
    parts = store.df(sql("candidate_clauses"), dict(bound, ids=ids.tolist()))
    if parts.empty:
        return set()
    parts["length"] = parts["length"].astype("float64")
    parts["common"] = parts["common"].astype(bool)
    parts["shared"] = np.where(parts["common"], parts["length"], 0.0)
    share = parts.groupby("reply_id")["shared"].sum() / parts.groupby("reply_id")["length"].sum()
    partly = share.index[(share >= PARTIAL_FROM) & (share < NEAR_SHARE)]
    if len(partly):
        redo = parts[parts["reply_id"].isin(partly) & ~parts["common"]]
        parts.loc[redo.index, "shared"] = _partial_credit(store, redo, bound)
        share = parts.groupby("reply_id")["shared"].sum() / parts.groupby("reply_id")["length"].sum()
    return set(share.index[share >= NEAR_SHARE])


def _partial_credit(store: Store, redo: pd.DataFrame, bound: dict) -> list[float]:
    """Characters credited to the unshared clauses `redo` (reply_id, clause_key, length): length × the share of
    their pieces found in the window's shared clauses (texts recovered from one reply using each). Only the pieces
    of `redo`'s clauses not found yet are looked for: a text is split only when its reduced text holds one."""
    own_texts = texts(store, set(redo["reply_id"]))
    own = {(rid, features.key(c)): c for rid, text in own_texts.items() for c in rules.clauses(text)}
    wanted = {p for clause in own.values() for p in _pieces(clause)}
    examples = store.df(sql("shared_clause_examples"), bound)
    shared_keys = set(examples["clause_key"].astype("uint64").tolist())
    pieces, missing_pieces = set(), set(wanted)
    for text in set(texts(store, set(examples["reply_id"])).values()):
        reduced = rules.han(text)
        if not missing_pieces:
            break
        if not any(p in reduced for p in missing_pieces):  # every piece of its clauses lies in its reduced text
            continue
        for clause in rules.clauses(text):
            if features.key(clause) in shared_keys:
                pieces.update(p for p in _pieces(clause) if p in missing_pieces)
        missing_pieces -= pieces
    return [
        length * _covered(own.get((rid, int(k)), ""), pieces)
        for rid, k, length in zip(redo["reply_id"], redo["clause_key"], redo["length"], strict=True)
    ]


def texts(store: Store, ids) -> dict:
    frame = store.df(sql("reply_texts_of"), {"ids": sorted(ids)})
    return dict(zip(frame["reply_id"], frame["reply"], strict=True))


def _pieces(clause: str) -> list[str]:
    return [clause[i : i + PIECE] for i in range(max(1, len(clause) - PIECE + 1))]


def _covered(clause: str, pieces: set[str]) -> float:
    own = _pieces(clause)
    return sum(1 for p in own if p in pieces) / len(own) if clause else 0.0


def _as_found(frame: pd.DataFrame) -> pd.DataFrame:
    """The indexer's worker step: nothing to compute outside the database (the flags compare stored rows)."""
    return frame


def _save_days(store: Store, frame: pd.DataFrame) -> None:
    days = pd.to_datetime(frame["day"])
    save_span(store, days.min().to_pydatetime(), days.max().to_pydatetime() + DAY)


# The background indexer's kind: the writer's serve computes the flags soon after replies' features are stored.
BOILERPLATE = Kind("reply_boilerplate", missing, _as_found, _save_days)
