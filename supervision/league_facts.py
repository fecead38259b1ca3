"""The unit league's stored facts: per answered message its unit, place, domain, reply delay, whether it was
restated after the answer, and its evaluation (table league_facts, queries/schema_league_facts.sql).

A league is then one scan of the period's rows of a narrow table: the on-time limit (a setting) is compared with
the stored delay at read, the median is exact over the rows, and the restatement search, which needs the messages
posted after each answer, runs once per message instead of once per request.

Rows are only ever of current answered messages: a write drops the rows it may change (queries/writes.sql
`league_facts_near_batch`, `drop_league_facts`), and `ensure` computes the missing ones before a league is
read (all of them the first time, a few after a write). A read-only store (a scale-out snapshot) cannot store them:
its writer has; if it has not, the snapshot's league is computed from the rows it has.
"""

from __future__ import annotations

from queries.db import Store
from supervision.common import sql

REPEAT_SIMILARITY = 0.6  # character-set Jaccard of two titles for a restatement


def ensure(store: Store) -> bool:
    """Fill the facts of every answered message lacking them, a quarter (by first reply) per transaction so that
    writes are not held up for long by a first fill; returns whether anything was missing."""
    if store.read_only or store.scalar(sql("league_facts_complete")):
        return False
    for low, high in store.rows(sql("league_facts_gaps")):
        # derived data: cached answers stay valid (they were computed from complete facts)
        with store.write(bump=False) as cur:
            cur.execute(sql("fill_league_facts"), {"similarity": REPEAT_SIMILARITY, "low": low, "high": high})
    return True
