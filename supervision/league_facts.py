"""The unit league's stored facts: per answered message its unit, place, domain, reply delay, whether it was
restated after the answer, and its evaluation (table league_facts, queries/schema_league_facts.sql).

A league is then one scan of the period's rows of a narrow table: the on-time limit (a setting) is compared with
the stored delay at read, the median is exact over the rows, and the restatement search, which needs the messages
posted after each answer, runs once per message instead of once per request.

Rows are only ever of current answered messages: a write drops the rows it may change (queries/writes.sql
`league_facts_near_batch`, `drop_league_facts`), and `ensure` computes the missing ones of the league's period before a
league is read (the period's the first time, a few after a write); the app's background indexer (insight/index.py,
`LEAGUE_FACTS`) fills every missing row soon after writes, so that requests find them complete. A read-only store (a
scale-out snapshot) cannot store them: its writer has; where it has not, the snapshot's league counts the rows it has.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd

from insight.index import Kind
from queries.db import Store
from supervision.common import sql

REPEAT_SIMILARITY = 0.6  # character-set Jaccard of two titles for a restatement


def ensure(store: Store, start: dt.datetime | None = None, stop: dt.datetime | None = None) -> bool:
    """Fill the facts of every answered message lacking them, or with a period [start, stop) only of those a league
    of it reads (first answered or rated in it: a briefing's league on a store no server has indexed needs a few
    quarters, not the whole history); a quarter (by first reply) per transaction so that writes are not held up
    for long by a first fill. A row depends on its message and the messages after it only, so a row filled for a
    period equals the one a whole fill gives. Returns whether anything was missing."""
    if store.read_only or store.scalar(sql("league_facts_complete")):
        return False
    if start is None or stop is None:
        spans = [(low, high, low, high) for low, high in store.rows(sql("league_facts_gaps"))]
    else:
        gaps = store.rows(sql("league_facts_window_gaps"), {"start": start, "stop": stop})
        spans = [(low, high, start, stop) for low, high in gaps]
    for low, high, since, until in spans:
        # derived data: cached answers stay valid (they were computed from complete facts)
        with store.write(bump=False) as cur:
            bound = {"similarity": REPEAT_SIMILARITY, "low": low, "high": high, "start": since, "stop": until}
            cur.execute(sql("add_league_units"), {"low": low, "high": high})
            cur.execute(sql("fill_league_facts"), bound)
    return bool(spans)


def missing(store: Store, start: dt.datetime, stop: dt.datetime, n: int) -> pd.DataFrame:
    """Up to `n` messages first answered in [start, stop) without facts (the indexer's question)."""
    return store.df(sql("messages_without_league_facts"), {"start": start, "stop": stop, "n": int(n)})


def as_found(frame: pd.DataFrame) -> pd.DataFrame:
    """The indexer's worker step: nothing to compute outside the database (the facts are one SQL statement)."""
    return frame


def save(store: Store, frame: pd.DataFrame) -> None:
    ensure(store)


# The background indexer's kind: the writer's serve fills the facts soon after messages are answered.
LEAGUE_FACTS = Kind("league_facts", missing, as_found, save)
