"""Text of the demo records, put together inside DuckDB: titles, bodies, places, reply texts, comments.

The pieces (ingest/demo_text.py) are registered as one row of lists (`demo_pieces`); each record picks its pieces
by a hash of its own key `h` (`demo_pick`), so millions of texts are built by one statement each, in parallel,
without a Python loop per row, and the same key always gives the same text. The history (ingest/demo.py) and the
live simulator (`compose_live`) use the same expressions.

Relations the expressions read: `s` with h (UBIGINT), category (index into demo_text.CATEGORIES), msg_type (index
into MSG_TYPES), topic, city, district, story_place (the place of a planted story, else NULL), and `p` the pieces.
"""

from __future__ import annotations

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa

from ingest import demo_text as words

CATEGORY_NAMES = [c for c, _ in words.CATEGORIES]


def pieces() -> pa.Table:
    """The text pieces as one row of (nested) lists; per-domain lists are in CATEGORIES order."""

    def per_category(table: dict[str, list[str]], extra: list[str]) -> list[list[str]]:
        return [table.get(c, []) + extra for c in CATEGORY_NAMES]

    row = {
        "kinds": [words.PLACE_KIND[c] for c in CATEGORY_NAMES],
        "name_words": words.NAME_WORDS,
        "suffixes": words.PLACE_SUFFIXES,
        "writers": words.WRITERS,
        "openings": words.OPENINGS,
        "details": words.DETAILS,
        "happened": per_category(words.HAPPENED, words.HAPPENED_ANY),
        "since": words.SINCE,
        "impact": per_category(words.IMPACT, words.IMPACT_ANY),
        "tried": words.TRIED,
        "asks": words.ASKS,
        "consult": words.CONSULT,
        "consult_end": words.CONSULT_END,
        "suggest": words.SUGGEST,
        "suggest_what": words.SUGGEST_WHAT,
        "suggest_end": words.SUGGEST_END,
        "thanks": words.THANKS,
        "thanks_end": words.THANKS_END,
        "greetings": words.REPLY_GREETINGS,
        "findings": words.REPLY_FINDINGS,
        "actions": per_category(words.REPLY_ACTIONS, words.REPLY_ACTIONS_ANY),
        "contacts": words.REPLY_CONTACTS,
        "boilerplate": words.BOILERPLATE_REPLIES,
        "adopted": words.ADOPTED_REPLIES,
        "comments_good": words.COMMENTS_GOOD,
        "comments_bad": words.COMMENTS_BAD,
    }
    return pa.table({k: [v] for k, v in row.items()})


MACROS = [
    # a piece of list `l` for key `h` (salt: which choice of the record)
    "CREATE OR REPLACE TEMP MACRO demo_pick(l, h, salt) AS l[1 + (hash(h, salt) % len(l))::BIGINT]",
    # the invented place a record names (a school carries its district's name)
    """CREATE OR REPLACE TEMP MACRO demo_place(p, h, category, district, story_place) AS coalesce(story_place,
        demo_pick(p.name_words, h, 10) || demo_pick(p.suffixes[p.kinds[category + 1] + 1], h, 11))""",
    """CREATE OR REPLACE TEMP MACRO demo_fill(t, p, h, category, city, district, place, topic) AS
        replace(replace(replace(replace(replace(replace(replace(t,
            '{地}', place), '{T}', topic), '{市}', city), '{区}', district),
            '{身份}', demo_pick(p.writers[p.kinds[category + 1] + 1], h, 22)),
            '{N}', CAST(2 + hash(h, 20) % 9 AS VARCHAR)), '{M}', CAST(1 + hash(h, 21) % 12 AS VARCHAR))""",
]

# The body by type: complaint/request (what happened, since when, what it does, what was tried, the ask),
# question, suggestion, thanks. A repeat complaint (s.repeat) always says it was reported before.
OPENING = "demo_pick(p.openings[p.kinds[s.category + 1] + 1], s.h, 1)"
BODY = f"""CASE s.msg_type
    WHEN 0 THEN concat({OPENING}, demo_pick(p.happened[s.category + 1], s.h, 2),
        demo_pick(p.since, s.h, 3), demo_pick(p.impact[s.category + 1], s.h, 4),
        CASE WHEN hash(s.h, 18) % 2 = 0 THEN demo_pick(p.details, s.h, 19) ELSE '' END,
        CASE WHEN s.repeat THEN p.tried[5] ELSE demo_pick(p.tried, s.h, 5) END,
        CASE WHEN hash(s.h, 5) % len(p.tried) = hash(s.h, 6) % len(p.tried) THEN '' ELSE demo_pick(p.tried, s.h, 6) END,
        demo_pick(p.asks, s.h, 7))
    WHEN 1 THEN concat({OPENING}, demo_pick(p.happened[s.category + 1], s.h, 2),
        demo_pick(p.since, s.h, 3), demo_pick(p.consult, s.h, 8), demo_pick(p.consult_end, s.h, 9))
    WHEN 2 THEN concat({OPENING}, demo_pick(p.suggest, s.h, 12),
        demo_pick(p.suggest_what, s.h, 13), demo_pick(p.suggest_what, s.h, 14), demo_pick(p.suggest_end, s.h, 15))
    ELSE concat({OPENING}, demo_pick(p.thanks, s.h, 16), demo_pick(p.thanks_end, s.h, 17))
END"""
PLACE = "demo_place(p, s.h, s.category, s.district, s.story_place)"


def fill(expr: str, place: str = PLACE) -> str:
    return f"demo_fill({expr}, p, s.h, s.category, s.city, s.district, {place}, s.topic)"


# Reply text: the unit's one boilerplate text, an adoption notice (建言 taken up), or greeting, finding, action
# and contact. `s` also has rh (the reply's key), unit, unit_h (the unit's key), boilerplate, adopted.
REPLY = f"""CASE WHEN s.boilerplate THEN demo_pick(p.boilerplate, s.unit_h, 30)
    WHEN s.adopted THEN {fill("demo_pick(p.adopted, s.rh, 31)")}
    ELSE {
    fill('''replace(concat(demo_pick(p.greetings, s.rh, 32), demo_pick(p.findings, s.rh, 33),
        demo_pick(p.actions[s.category + 1], s.rh, 34), demo_pick(p.contacts, s.rh, 35)), '{单位}', s.unit)''')
}
END"""
# A comment (追评) for about a third of the evaluations, in the citizen's verdict's tone; `s` has h and satisfied.
COMMENT = """CASE WHEN hash(s.h, 40) % 3 <> 0 THEN NULL
    WHEN s.satisfied THEN demo_pick(p.comments_good, s.h, 41) ELSE demo_pick(p.comments_bad, s.h, 42) END"""


def register(cur) -> None:
    """Register the pieces and create the macros on cursor `cur` (a connection's temp objects)."""
    cur.register("demo_pieces", pieces())
    for sql in MACROS:
        cur.execute(sql)


def compose_live_replies(frame: pd.DataFrame) -> list[str]:
    """Reply texts for live replies: `frame` has reply_id, message_id, unit, category_index, city, district (the
    message's); the place named is the message's own (same key), the topic is not repeated."""
    con = duckdb.connect()
    try:
        register(con)
        src = pa.table(
            {
                "reply_id": pa.array(frame["reply_id"].astype(str).tolist()),
                "message_id": pa.array(frame["message_id"].astype(str).tolist()),
                "unit": pa.array([u if isinstance(u, str) else "" for u in frame["unit"].tolist()], pa.string()),
                "category": pa.array(np.asarray(frame["category_index"], np.int64)),
                "city": pa.array(frame["city"].astype(str).tolist()),
                "district": pa.array(frame["district"].astype(str).tolist()),
            }
        )
        con.register("live_src", src)
        return (
            con.execute(
                f"""SELECT {REPLY} AS content FROM (
                SELECT *, hash(message_id) AS h, hash(reply_id) AS rh, hash(unit) AS unit_h, '' AS topic,
                       NULL::VARCHAR AS story_place, false AS boilerplate, false AS adopted
                FROM live_src) s CROSS JOIN demo_pieces p"""
            )
            .fetchnumpy()["content"]
            .tolist()
        )
    finally:
        con.close()


def compose_live(frame: pd.DataFrame, templates: list[str]) -> pd.DataFrame:
    """Title, content and location for live messages: `frame` has message_id, category_index, msg_type_index,
    topic, city, district, template (a title template each), repeat; same expressions as the history."""
    con = duckdb.connect()
    try:
        register(con)
        src = pa.table(
            {
                "message_id": pa.array(frame["message_id"].astype(str).tolist()),
                "category": pa.array(np.asarray(frame["category_index"], np.int64)),
                "msg_type": pa.array(np.asarray(frame["msg_type_index"], np.int64)),
                "topic": pa.array(frame["topic"].astype(str).tolist()),
                "city": pa.array(frame["city"].astype(str).tolist()),
                "district": pa.array(frame["district"].astype(str).tolist()),
                "template": pa.array(list(templates)),
                "story_place": pa.array(frame.get("story_place", pd.Series([None] * len(frame))).tolist(), pa.string()),
                "repeat": pa.array(np.asarray(frame.get("repeat", np.zeros(len(frame), bool)), bool)),
            }
        )
        con.register("live_src", src)
        out = con.execute(
            f"""SELECT {fill("s.template")} AS title, {fill(BODY)} AS content, {PLACE} AS location
            FROM (SELECT *, hash(message_id) AS h FROM live_src) s CROSS JOIN demo_pieces p"""
        ).df()
        return out
    finally:
        con.close()
