"""Text of the demo records, put together inside DuckDB: titles, bodies, places, reply texts, comments.

Each record picks its pieces (ingest/demo_text.py) by a hash of its own key `h`, so millions of texts are built by
one statement each, in parallel, without a Python loop per row, and the same key always gives the same text. The
piece lists are bound parameters (`params()`); list sizes and per-domain offsets are small integers of this module
written into the SQL (an index into a constant list is fast, a list's length per row is not). Placeholders are
filled in the short pieces that have them, not in the whole body. The history (ingest/demo.py) and the live
simulator (`compose_live`, `compose_live_replies`) use the same expressions.

`SOURCE` wraps a relation `s` of: h (UBIGINT), category (index into CATEGORIES), msg_type (index into MSG_TYPES),
topic, city, district, story_place (the place of a planted story, else NULL), repeat; it adds loc (the place the
text names), writer, n and mo (a small number and a month, as text).
"""

from __future__ import annotations

import re

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa

from ingest import demo_text as words

CATEGORY_NAMES = [c for c, _ in words.CATEGORIES]
_PLACEHOLDERS = {
    "{地}": "s.loc",
    "{T}": "s.topic",
    "{市}": "s.city",
    "{区}": "s.district",
    "{身份}": "s.writer",
    "{N}": "s.n",
    "{M}": "s.mo",
}


def _flat(
    table: dict[str, list[str]] | list[list[str]], extra: list[str] = ()
) -> tuple[list[str], list[int], list[int]]:
    lists = [table.get(c, []) + list(extra) for c in CATEGORY_NAMES] if isinstance(table, dict) else table
    offsets = [sum(len(x) for x in lists[:i]) for i in range(len(lists))]
    return [x for part in lists for x in part], offsets, [len(x) for x in lists]


# name -> (flat list, offsets, sizes, what selects the group: SQL over s, or None for a plain list)
_KINDS = [words.PLACE_KIND[c] for c in CATEGORY_NAMES]
_GROUPED = {
    "happened": (_flat(words.HAPPENED, words.HAPPENED_ANY), "s.category"),
    "impact": (_flat(words.IMPACT, words.IMPACT_ANY), "s.category"),
    "actions": (_flat(words.REPLY_ACTIONS, words.REPLY_ACTIONS_ANY), "s.category"),
    "openings": (_flat(words.OPENINGS), "kind"),
    "suffixes": (_flat(words.PLACE_SUFFIXES), "kind"),
    "writers": (_flat(words.WRITERS), "kind"),
}
_PLAIN = {
    "name_words": words.NAME_WORDS,
    "details": words.DETAILS,
    "since": words.SINCE,
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
    "contacts": words.REPLY_CONTACTS,
    "boilerplate": words.BOILERPLATE_REPLIES,
    "adopted": words.ADOPTED_REPLIES,
    "comments_good": words.COMMENTS_GOOD,
    "comments_bad": words.COMMENTS_BAD,
}


def params() -> dict[str, list[str]]:
    """The piece lists, bound as parameters of the statements below."""
    out = {name: list(values) for name, values in _PLAIN.items()}
    out.update({name: flat for name, ((flat, _, _), _) in _GROUPED.items()})
    return out


def bind(sql: str, **extra) -> dict:
    """The parameters statement `sql` uses: its piece lists and `extra` (DuckDB refuses unused ones)."""
    return {k: v for k, v in {**params(), **extra}.items() if f"${k}" in sql}


def _case(selector: str, values: list[int]) -> str:
    if len(set(values)) == 1:
        return str(values[0])
    return f"CASE {selector} " + " ".join(f"WHEN {i} THEN {v}" for i, v in enumerate(values)) + " END"


def _kind() -> str:
    return _case("s.category", _KINDS)


def pick(name: str, salt: int, key: str = "s.h") -> str:
    """SQL: the piece of list `name` for the record's key (salt: which of its choices)."""
    if name in _PLAIN:
        return f"${name}[1 + (hash({key}, {salt}) % {len(_PLAIN[name])})::BIGINT]"
    (_, offsets, sizes), group = _GROUPED[name]
    selector = _kind() if group == "kind" else group
    if group == "kind":  # offsets/sizes per kind of place, selected through the domain
        offsets = [offsets[k] for k in _KINDS]
        sizes = [sizes[k] for k in _KINDS]
        selector = "s.category"
    # the size as UBIGINT like the hash: an INTEGER divisor would make the modulo a (slow) HUGEINT one
    size = _case(selector, sizes)
    size = size if size.isdigit() else f"({size})::UBIGINT"
    return f"${name}[1 + {_case(selector, offsets)} + (hash({key}, {salt}) % {size})::BIGINT]"


def filled(name: str, salt: int, key: str = "s.h") -> str:
    """SQL: a picked piece with the placeholders its list uses filled in."""
    values = _PLAIN[name] if name in _PLAIN else _GROUPED[name][0][0]
    expr = pick(name, salt, key)
    for token, column in _PLACEHOLDERS.items():
        if any(token in v for v in values):
            expr = f"replace({expr}, '{token}', {column})"
    return expr


def fill_text(expr: str, template_values) -> str:
    """SQL: `expr` (e.g. a title template column) with the placeholders found in `template_values` filled in."""
    for token, column in _PLACEHOLDERS.items():
        if any(token in v for v in template_values):
            expr = f"replace({expr}, '{token}', {column})"
    return expr


# The place a record names (a planted story's, else one made of a word and a suffix of its domain's kind).
PLACE = f"coalesce(s.story_place, {pick('name_words', 10)} || {pick('suffixes', 11)})"
SOURCE = f"""SELECT s.*, {PLACE} AS loc, {pick("writers", 22)} AS writer,
       CAST(2 + hash(s.h, 20) % 9 AS VARCHAR) AS n, CAST(1 + hash(s.h, 21) % 12 AS VARCHAR) AS mo
FROM ({{relation}}) s"""


def source(relation: str) -> str:
    return SOURCE.replace("{relation}", relation)


# The body by type: complaint/request (what happened, since when, what it does, a detail, what was tried, the ask),
# question, suggestion, thanks. A repeat complaint (s.repeat) always says it was reported before.
_TRIED_BEFORE = words.TRIED.index("之前在这里留言过，回复说会处理，可问题依旧，") + 1
BODY = f"""CASE s.msg_type
    WHEN 0 THEN concat({filled("openings", 1)}, {filled("happened", 2)}, {filled("since", 3)}, {filled("impact", 4)},
        CASE WHEN hash(s.h, 18) % 2 = 0 THEN {pick("details", 19)} ELSE '' END,
        CASE WHEN s.repeat THEN $tried[{_TRIED_BEFORE}] ELSE {pick("tried", 5)} END,
        CASE WHEN hash(s.h, 5) % {len(words.TRIED)} = hash(s.h, 6) % {len(words.TRIED)} THEN ''
             ELSE {pick("tried", 6)} END,
        {pick("asks", 7)})
    WHEN 1 THEN concat({filled("openings", 1)}, {filled("happened", 2)}, {filled("since", 3)}, {filled("consult", 8)},
        {pick("consult_end", 9)})
    WHEN 2 THEN concat({filled("openings", 1)}, {filled("suggest", 12)}, {filled("suggest_what", 13)},
        {filled("suggest_what", 14)}, {filled("suggest_end", 15)})
    ELSE concat({filled("openings", 1)}, {filled("thanks", 16)}, {pick("thanks_end", 17)})
END"""
TITLE = fill_text("s.template", [t for ts in words.TEMPLATES.values() for t in ts])

# Reply text: an adoption notice (建言 taken up), the unit's one boilerplate text, or greeting, finding, action
# and contact. `s` also has rh (the reply's key), unit, unit_h (the unit's key), boilerplate, adopted.
REPLY = f"""CASE WHEN s.adopted THEN {filled("adopted", 31, "s.rh")}
    WHEN s.boilerplate THEN {pick("boilerplate", 30, "s.unit_h")}
    ELSE concat({pick("greetings", 32, "s.rh")}, replace({filled("findings", 33, "s.rh")}, '{{单位}}', s.unit),
                {filled("actions", 34, "s.rh")}, replace({pick("contacts", 35, "s.rh")}, '{{单位}}', s.unit))
END"""
# A comment (追评) for a third of the evaluations, in the tone of the verdict; `s` has h and satisfied.
HAS_COMMENT = "hash(s.h, 40) % 3 = 0"
COMMENT = f"""CASE WHEN s.satisfied THEN {pick("comments_good", 41)} ELSE {pick("comments_bad", 42)} END"""

assert not re.search(r"\{(?!地|T|市|区|身份|N|M|单位)[^}]*\}", "".join(v for vs in params().values() for v in vs))


def _live(sql: str, table: pa.Table) -> pd.DataFrame:
    con = duckdb.connect()
    try:
        con.register("live_src", table)
        return con.execute(sql, bind(sql)).df()
    finally:
        con.close()


def compose_live(frame: pd.DataFrame, templates: list[str]) -> pd.DataFrame:
    """Title, content and location for live messages: `frame` has message_id, category_index, msg_type_index,
    topic, city, district (and optionally story_place, repeat); `templates` a title template each."""
    n = len(frame)
    src = pa.table(
        {
            "message_id": pa.array(frame["message_id"].astype(str).tolist()),
            "category": pa.array(np.asarray(frame["category_index"], np.int64)),
            "msg_type": pa.array(np.asarray(frame["msg_type_index"], np.int64)),
            "topic": pa.array(frame["topic"].astype(str).tolist()),
            "city": pa.array(frame["city"].astype(str).tolist()),
            "district": pa.array(frame["district"].astype(str).tolist()),
            "template": pa.array(list(templates), pa.string()),
            "story_place": pa.array(
                frame["story_place"].tolist() if "story_place" in frame else [None] * n, pa.string()
            ),
            "repeat": pa.array(np.asarray(frame["repeat"] if "repeat" in frame else np.zeros(n, bool), bool)),
        }
    )
    relation = source("SELECT *, hash(message_id) AS h FROM live_src")
    return _live(f"SELECT {TITLE} AS title, {BODY} AS content, s.loc AS location FROM ({relation}) s", src)


def compose_live_replies(frame: pd.DataFrame) -> list[str]:
    """Reply texts for live replies: `frame` has reply_id, message_id, unit, category_index, city, district (the
    message's); the place named is the message's own (same key); the topic is not repeated."""
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
    relation = source(
        "SELECT *, hash(message_id) AS h, hash(reply_id) AS rh, hash(unit) AS unit_h, '' AS topic, "
        "NULL::VARCHAR AS story_place, false AS repeat, false AS boilerplate, false AS adopted FROM live_src"
    )
    return _live(f"SELECT {REPLY} AS content FROM ({relation}) s", src)["content"].tolist()
