"""The words index: each message's words and named places, stored once (table message_words, migration 11; as
codes of the table word_vocab since migration 17).

Segmenting is the one costly step of the insight methods (jieba, about 0.35 ms a message), so it is done when a
message is written (the background indexer, insight/index.py) and never again while the message's text is
unchanged. Words are stored with the message's own place names kept: they are dropped when read (corpus.py).
"""

from __future__ import annotations

import datetime as dt
from contextlib import contextmanager
from itertools import chain

import pandas as pd
import pyarrow as pa

from insight.index import Kind
from insight.segment import BODY_CHARS, Segmenter, place_names
from queries.db import Store
from queries.sql import text

# The worker process's segmenter: set once by init_worker in the indexer's worker (never in the serving process,
# whose segmenter the insight service owns).
_worker: list[Segmenter] = []


def missing(store: Store, start: dt.datetime, stop: dt.datetime, n: int) -> pd.DataFrame:
    """Messages of [start, stop) without current words, newest first: message_id, text_hash, title, content."""
    params = {"start": start, "stop": stop, "body_chars": BODY_CHARS, "n": n}
    with registered(store, "ids_frame", ids_table(window_ids(store, start, stop))) as cur:
        return cur.execute(text("insight", "words_missing"), params).df()


def window_ids(store: Store, start: dt.datetime, stop: dt.datetime) -> pa.Array:
    """Ids of the messages of [start, stop), for the queries that read texts or words by id (as the relation
    ids_frame: see queries/insight.sql window_ids)."""
    table = store.cursor().sql(text("insight", "window_ids"), params={"start": start, "stop": stop}).to_arrow_table()
    return table.column("message_id").combine_chunks()


def ids_table(ids) -> pa.Table:
    """Message ids (an Arrow array or a list) as a one-column table to register."""
    return pa.table({"message_id": ids if isinstance(ids, pa.Array) else pa.array(ids, type=pa.string())})


@contextmanager
def registered(store: Store, name: str, table: pa.Table):
    """This thread's cursor with `table` registered as `name` while in the block: a month's ids bound as a list
    parameter cost more than the query reading by them (each value is copied in Python)."""
    cur = store.cursor()
    cur.register(name, table)
    try:
        yield cur
    finally:
        cur.unregister(name)


def compute_with(segmenter: Segmenter, frame: pd.DataFrame) -> pd.DataFrame:
    """Words and places of each row of a `missing` frame: message_id, text_hash, words, places."""
    words, places = [], []
    for title, content in zip(frame["title"], frame["content"], strict=True):
        w, p = segmenter.message(_text(title), _text(content))
        words.append(w)
        places.append(p)
    return pd.DataFrame(
        {"message_id": frame["message_id"], "text_hash": frame["text_hash"], "words": words, "places": places}
    )


def compute(frame: pd.DataFrame) -> pd.DataFrame:
    """compute_with the worker's segmenter (runs in the indexer's worker process)."""
    return compute_with(_worker[0], frame)


def init_worker(places: list[str], units: list[str]) -> None:
    _worker[:] = [Segmenter(places, units)]


def worker_init(store: Store):
    """The worker's segmenter is built from the same names as the insight service's."""
    return init_worker, (sorted(place_names()), unit_names(store))


def unit_names(store: Store) -> list[str]:
    return [row[0] for row in store.rows(text("insight", "unit_names"))]


def save(store: Store, frame: pd.DataFrame) -> None:
    """Upsert the rows in one write, their words as codes; derived data, so the data version (and every cached result)
    stays. The codes of the rows' words are looked up in the vocabulary the store keeps in memory (read before the
    write lock is taken; under it only what another write added since) and the new words numbered after the last
    code, in word order, here: the rows are then saved as they are, with no join."""
    terms = sorted(set(chain.from_iterable(frame["words"])) | set(chain.from_iterable(frame["places"])))
    store.word_codes.refresh(store.cursor())
    with store.write(bump=False) as cur:
        codes = store.word_codes.lookup(cur, terms)
        new = [t for t in terms if t not in codes]
        if new:
            ((top,),) = cur.execute(text("insight", "last_code")).fetchall()
            codes.update(zip(new, range(top + 1, top + 1 + len(new)), strict=True))
            added = pa.table({"id": pa.array([codes[t] for t in new], pa.int32()), "word": pa.array(new, pa.string())})
            _run(cur, "add_codes", "codes_frame", added)
        lists = pa.list_(pa.int32())
        coded = pa.table(
            {
                "message_id": pa.array(frame["message_id"].tolist(), pa.string()),
                "text_hash": pa.array(frame["text_hash"].to_numpy(), pa.uint64()),
                "words": pa.array([[codes[w] for w in ws] for ws in frame["words"]], lists),
                "places": pa.array([[codes[p] for p in ps] for ps in frame["places"]], lists),
            }
        )
        _run(cur, "save_coded", "coded_frame", coded)


def _run(cur, name: str, table_name: str, table: pa.Table) -> None:
    cur.register(table_name, table)
    try:
        cur.execute(text("insight", name))
    finally:
        cur.unregister(table_name)


def _text(value) -> str | None:
    return value if isinstance(value, str) else None  # NULL comes back as None or NaN


def warm(store: Store) -> None:
    store.word_codes.refresh(store.cursor())


MESSAGE_WORDS = Kind("message_words", missing, compute, save, worker_init, warm)
