"""What the reply checks need of each reply, computed once and stored (tables of queries/schema_reply_features.sql).

Per reply (pure, `compute_reply_features`): the keys of its reduced text, of its message's problem and of its
distinct clauses with their lengths, and the three checks that look at the reply and its own message only —
addresses, action, legal (supervision/quality.py says what they mean). What compares replies with each other
(boilerplate) is computed from the stored keys and stored apart (supervision/boilerplate.py).

The indexer (insight/index.py) fills the rows in the background with `missing_replies` → `compute_reply_features` (in a
worker process) → `save_reply_features`; analyses call `ensure_reply_features` first, which computes whatever is still
missing in-process, so results are always complete: there the database computes the whole rows (`sql_reply_features`:
the text work, the keys, the word test against the stored generic bigrams; the same rows, tested) and no text is
carried into Python. A row is dropped when its reply or its message is
written again (queries/writes.py: re-sent or held replies, re-sent messages; new records have no row) and is computed
again.

"Addresses" ignores the bigrams replies use whatever their message says. They come from a deterministic sample of
the store's (reply, message) pairs (`DF_SAMPLE`), stored once (table reply_generic_bigrams) so that every stored
row was computed against the same set; while the store has fewer pairs than the sample the set is taken again
(and every row with it) when the store has grown by a quarter or lost replies.

Deliberate change from the first version, which took replies only and counted a bigram generic when over
`GENERIC_DF` of the period's replies had it: a bigram is now generic when replies whose message lacks it still use
it (over `GENERIC_DF` of them), or when replies use it barely more often when their message has it (under `ECHO`
times as often). Topic words a reply repeats from its message (拖欠工资, 物业管理) are common among replies but are
not generic by this rule: composed answers that name the problem in the message's words now address it and are
no longer taken for boilerplate.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections import Counter

import pandas as pd
import pyarrow as pa

from insight import index
from queries import writes
from queries.db import Store, remake_tables
from supervision import rules
from supervision.common import sql

CODE_VERSION = "3"  # bump when compute_reply_features changes: every stored row is then computed again (3: md5 keys)
BATCH = 20_000
WORKER_BATCH = 4000  # replies per worker call when many are missing (ingest/setup.py index_newest)
# days of missing replies read at once then: a read scans the texts of the messages and replies; the texts stay in
# the database (what Python gets back holds keys). The 180 days of a briefing's units read at once took the same CPU
# as two quarters (the text work, not the scans, dominates) and 0.65 GB more peak memory (2.5 GB at the demo size)
READ_DAYS = 91
DF_SAMPLE = 20_000
REFERENCE_GROWTH = 1.25  # a sample smaller than DF_SAMPLE is taken again when the store has this many times more
GENERIC_DF = 0.02
ECHO = 3.0
ECHO_MIN = 3  # replies without the bigram in their message needed before the echo test applies
ADDRESS_MIN = 2
BODY_CHARS = 120

FEATURE_SCHEMA = pa.schema(
    [
        ("reply_id", pa.string()),
        ("message_id", pa.string()),
        ("replied_at", pa.timestamp("us")),
        ("unit", pa.string()),
        ("has_text", pa.bool_()),
        ("text_key", pa.uint64()),
        ("problem_key", pa.uint64()),
        ("chars", pa.int32()),
        ("addresses", pa.bool_()),
        ("action", pa.bool_()),
        ("legal", pa.bool_()),
        ("clause_keys", pa.list_(pa.uint64())),
        ("clause_lengths", pa.list_(pa.int16())),
    ]
)
COLUMNS = FEATURE_SCHEMA.names
# versions whose stored generic bigrams are those this code makes (the rule and the sample of version 2): a store
# of one of them keeps its set when its rows are computed again
REFERENCE_CODES = ("2", CODE_VERSION)
REPLY_CHECK_MIGRATIONS = (10, 14)  # the DDL of reply_features, reply_clauses (10) and reply_boilerplate (14)


def key(value: str, _md5=hashlib.md5, _from_bytes=int.from_bytes) -> int:
    """A stable 64-bit key of a text (the same in every process and run): the first 8 bytes of its UTF-8 MD5, read
    little-endian, which is DuckDB's md5_number_upper (the database keys texts the same way)."""
    return _from_bytes(_md5(value.encode("utf-8")).digest()[:8], "little")


def problem(title, body, location) -> int:
    """What a message is about: its named location when it gives one (messages about one place are one problem,
    however worded), else its reduced title and body."""
    place = rules.han(location)
    return key("@" + place) if len(place) >= 2 else key(rules.han(title) + "|" + rules.han(body))


def message_words(title, body, location) -> set[str]:
    return rules.bigrams(f"{title or ''} {location or ''} {str(body or '')[:BODY_CHARS]}")


def addresses(reply: str, title, body, location, generic: frozenset) -> bool:
    """The reply names the message's location, or has at least ADDRESS_MIN of its non-generic bigrams."""
    place = rules.han(location)
    if len(place) >= 2 and place in rules.han(reply):
        return True
    # a Chinese bigram is in the reply exactly when it is one of the reply's bigrams (both characters are Chinese,
    # so they stand in one run of it): set operations instead of a substring search per word
    words = message_words(title, body, location) & rules.bigrams(reply)
    return len(words) >= ADDRESS_MIN and len(words - generic) >= ADDRESS_MIN


def generic_bigrams(sample: pd.DataFrame) -> frozenset:
    """From (reply, title, body, location) pairs: the bigrams replies use whatever their message says."""
    in_reply, in_both, in_message = Counter(), Counter(), Counter()
    for reply, title, body, location in zip(
        sample["reply"], sample["title"], sample["body"], sample["location"], strict=True
    ):
        said, asked = rules.bigrams(reply), message_words(title, body, location)
        in_reply.update(said)
        in_message.update(asked)
        in_both.update(said & asked)
    n = len(sample)
    out = set()
    for gram, r in in_reply.items():
        m, b = in_message.get(gram, 0), in_both.get(gram, 0)
        without = r - b  # replies with it whose message lacks it
        p_without = without / max(1, n - m)
        p_with = b / m if m else 0.0
        if without > max(1.0, GENERIC_DF * (n - m)) or (without >= ECHO_MIN and p_with < ECHO * p_without):
            out.add(gram)
    return frozenset(out)


def compute_reply_features(frame: pd.DataFrame) -> pd.DataFrame:
    """Pure: one row of features per reply of `frame` (reply_id, message_id, replied_at, unit, reply, title, body,
    location; the generic bigrams in frame.attrs['generic']). Columns: COLUMNS."""
    generic = frozenset(frame.attrs.get("generic", ()))
    rows = []
    names = ["reply_id", "message_id", "replied_at", "unit", "reply", "title", "body", "location"]
    # plain lists: iterating pandas' arrow-backed columns costs more than the checks of short replies
    columns = [frame[name].tolist() for name in names]
    for reply_id, message_id, replied_at, unit, reply, title, body, location in zip(*columns, strict=True):
        text = reply if isinstance(reply, str) else ""
        if not text.strip():
            rows.append((reply_id, message_id, replied_at, unit, False, None, None, None, None, None, None, [], []))
            continue
        clauses = list(dict.fromkeys(rules.clauses(text)))
        lengths = [len(c) for c in clauses]
        rows.append(
            (
                reply_id,
                message_id,
                replied_at,
                unit,
                True,
                key(rules.han(text)),
                problem(title, body, location),
                sum(lengths),
                addresses(text, title, body, location, generic),
                rules.says_action(text),
                rules.cites_basis(text),
                [key(c) for c in clauses],
                lengths,
            )
        )
    return _frame(rows)


def _frame(rows: list[tuple]) -> pd.DataFrame:
    out = pd.DataFrame.from_records(rows, columns=COLUMNS)
    for column in ("text_key", "problem_key"):
        out[column] = out[column].astype("UInt64")
    return out


def sql_reply_features(store: Store, start: dt.datetime, stop: dt.datetime, n: int) -> pa.Table:
    """compute_reply_features of missing_replies(start, stop, n) as an Arrow table of FEATURE_SCHEMA, computed by the
    database (vectorised, on every core, no text carried into Python) against the stored generic bigrams."""
    params = {"start": start, "stop": stop, "n": int(n), "body_chars": BODY_CHARS, "address_min": ADDRESS_MIN}
    params.update(rules.re2_patterns())
    return store.cursor().sql(sql("reply_feature_rows"), params=params).to_arrow_table().cast(FEATURE_SCHEMA)


# -- the store ----------------------------------------------------------------------------------------------------
def reference(store: Store) -> frozenset:
    """The stored generic bigrams, (re)computed first when missing, made by other code, or from a sample smaller
    than DF_SAMPLE that the store has outgrown (stored features are then dropped: they used the old set)."""
    fresh = _refresh_reference(store)
    return fresh if fresh is not None else _stored_reference(store)


def upgrade(store: Store) -> None:
    """Replace the stored reply checks now when other code made them (`_refresh_reference`), before any answer is
    cached from them: done by the first analysis instead, the replacement moved the data version under it, so the
    next asker of the same answer (a briefing's second unit list) found nothing cached and computed it all again."""
    if not store.read_only and store.meta("reply_features_code") not in (None, CODE_VERSION):
        _refresh_reference(store)


def _stored_reference(store: Store) -> frozenset:
    return frozenset(store.df(sql("reply_generic_bigrams"))["gram"])


def _refresh_reference(store: Store) -> frozenset | None:
    """Recompute the generic bigrams when stale (see `reference`) and return them; None when the stored set holds.
    Stored rows of another CODE_VERSION are dropped; the stored set is kept when its version's rule made it the same
    (REFERENCE_CODES)."""
    code = store.meta("reply_features_code")
    size = int(store.meta("reply_reference_sample") or -1)
    stale = code not in REFERENCE_CODES
    if not stale and size < DF_SAMPLE:
        have = store.scalar(sql("reply_reference_count"), {"n": DF_SAMPLE})
        stale = not size <= have <= size * REFERENCE_GROWTH
    if not stale and code == CODE_VERSION:
        return None
    sample = reference_sample(store, DF_SAMPLE) if stale else None
    grams = generic_bigrams(sample) if stale else _stored_reference(store)
    if store.read_only:
        return grams
    # the first set changes no stored answer (none was made without one): no bump, so that answers cached while it
    # was made (a briefing's numbers, gathered alongside) stay valid
    with store.write(bump=code is not None) as cur:
        store.touch()  # no message changes
        for query in ("drop_reply_checks", "clear_first_flags"):
            cur.execute(sql(query))
        remake_tables(cur, REPLY_CHECK_MIGRATIONS)
        if stale:
            cur.execute(sql("drop_generic_bigrams"))
            if grams:
                cur.execute(sql("insert_generic_bigrams"), {"grams": sorted(grams)})
            store.set_meta(cur, "reply_reference_sample", str(len(sample)))
        store.set_meta(cur, "reply_features_code", CODE_VERSION)
    return grams


def reference_sample(store: Store, n: int) -> pd.DataFrame:
    """The `n` replies with text of the smallest id hashes, with their message's text. They are looked for among
    the 2n smallest hashes first (a condition on the text would read every reply's text: seconds on millions);
    among all replies only when fewer than n of those have text."""
    ids: list[str] = []
    for pool in (2 * n, None):
        ordered = [row[0] for row in store.rows(sql("reply_reference_pool"), {"pool": pool})]
        has_text = store.df(sql("reply_has_text"), {"ids": ordered})
        with_text = set(has_text.loc[has_text["has_text"].astype(bool), "reply_id"])
        ids = [r for r in ordered if r in with_text][:n]
        if len(ids) == n or len(ordered) < 2 * n:
            break
    return store.df(sql("reply_reference_sample"), {"ids": ids})


def missing_replies(store: Store, start: dt.datetime, stop: dt.datetime, n: int) -> pd.DataFrame:
    """Replies published in [start, stop) without stored features, newest first, at most `n`, with their text and
    their message's (the input of compute_reply_features; the generic bigrams ride in frame.attrs)."""
    generic = reference(store)
    frame = store.df(sql("missing_reply_features"), {"start": start, "stop": stop, "n": int(n)})
    frame.attrs["generic"] = generic
    return frame


def save_reply_features(store: Store, rows: pd.DataFrame | pa.Table) -> None:
    """Upsert computed features (and replace the replies' clause rows) in one write transaction; the boilerplate
    flags they may change are dropped (supervision/boilerplate.py computes them again)."""
    if not len(rows):
        return
    if isinstance(rows, pd.DataFrame):
        rows = pa.Table.from_pandas(rows[COLUMNS], schema=FEATURE_SCHEMA, preserve_index=False)
    with store.write(bump=False) as cur:  # derived data: cached answers stay valid (they were complete)
        cur.register("feature_batch", rows)
        try:
            unsettled = cur.execute(sql("unsettle_boilerplate_after_features")).fetchall()
            writes.refresh_first_flags(cur, [row[0] for row in unsettled])
            cur.execute(sql("delete_reply_clauses"))
            cur.execute(sql("upsert_reply_features"))
            cur.execute(sql("insert_reply_clauses"))
        finally:
            cur.unregister("feature_batch")


def ensure_reply_features(store: Store, start: dt.datetime, stop: dt.datetime, batch: int = BATCH) -> int:
    """Compute and store the features of every reply of [start, stop) still missing them; returns how many.
    The database computes the rows (`sql_reply_features`), READ_DAYS at a time when many are missing (a store
    nothing has indexed yet): a read joining texts scans them, so few long reads cost less than many short ones;
    they are stored `batch` rows per transaction. A read-only store (a scale-out snapshot) is left as it is: its
    writer stores the features."""
    if store.read_only:
        return 0
    _refresh_reference(store)
    # every stored row is of an existing reply at its current time (rows are dropped when a reply is re-sent or
    # held), so the difference of two counts is what is missing: the common case costs two counts, not an anti-join
    lacking = store.scalar(sql("reply_features_lacking"), {"start": start, "stop": stop})
    if not lacking:
        return 0
    done = 0
    if lacking >= batch:
        until = stop
        while until > start:
            since = max(start, until - dt.timedelta(days=READ_DAYS))
            table = sql_reply_features(store, since, until, index.WHOLE)
            for lo in range(0, table.num_rows, batch):
                save_reply_features(store, table.slice(lo, batch))
            done += table.num_rows
            until = since
    while True:  # the few left (or written meanwhile)
        table = sql_reply_features(store, start, stop, batch)
        save_reply_features(store, table)
        done += table.num_rows
        if table.num_rows < batch:
            return done


# The background indexer's kind (insight/index.py): the app's serve fills stored features soon after replies arrive.
REPLY_FEATURES = index.Kind("reply_features", missing_replies, compute_reply_features, save_reply_features)
