"""A period's messages with their words: the input every insight method shares."""

from __future__ import annotations

import datetime as dt
import sys
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from itertools import chain

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from scipy.sparse import csr_matrix

from insight import index, memory, words_store
from insight.places import admin_prefixes, strip_admin
from insight.segment import BODY_CHARS, Segmenter, own_places
from queries import provinces as province_ref
from queries.db import Store
from queries.periods import Filters
from queries.sql import text


class Corpus:
    def __init__(
        self,
        frame: pd.DataFrame,
        words: list[tuple[str, ...]] | None,
        edit: Edit | None = None,
        coded: Coded | None = None,
    ):
        # one row per message (columns of queries/insight.sql period_messages but the body, plus day, place and the
        # named places, `mentions`); `mark`: a hash of
        # everything read of the message, so that a later corpus of the period reads again only what changed (`load`)
        self.frame = frame
        self._words = words  # topic words per row; None: made from `coded` when first asked
        self.edit = edit  # how it was made from an earlier corpus of the period (`load`), if it was
        # the words as codes: those of every corpus `load` makes (None: a corpus of strings, as `rows` makes)
        self.coded = coded

    @property
    def words(self) -> list[tuple[str, ...]]:
        """Topic words per row, made from the codes when first asked: a period read only to be counted (the month
        before, whose counts give the weights and the hot words' change) or grouped never makes them, nor does a
        live write's update (`words_at`: the rows it looks at)."""
        if self._words is None:
            self._words = self.coded.strings()
        return self._words

    def words_at(self, at: np.ndarray) -> list[tuple[str, ...]]:
        """The topic words of the rows `at` (made from the codes for these rows only when the corpus's are not made)."""
        if self._words is not None:
            return [self._words[k] for k in at.tolist()]
        return self.coded.strings_at(at)

    def holding(self, terms: set[str]) -> np.ndarray:
        """Per row: whether its topic words hold any of `terms` (looked up in the codes, when the corpus has them)."""
        if self.coded is None:
            return np.fromiter((not terms.isdisjoint(w) for w in self.words), bool, len(self.frame))
        wanted = np.fromiter((w in terms for w in self.coded.vocab), bool, len(self.coded.vocab))
        out = np.zeros(len(self.frame), bool)
        out[np.searchsorted(self.coded.ends, np.flatnonzero(wanted[self.coded.codes]), "right")] = True
        return out

    def __len__(self) -> int:
        return len(self.frame)

    def days(self, first: dt.date, last: dt.date) -> tuple[int, int]:
        """The rows (lo, hi: exclusive) of the messages created first..last: rows are ordered by creation."""
        bounds = np.array([first, last + dt.timedelta(days=1)], "M8[D]")
        lo, hi = np.searchsorted(self.frame["day"].to_numpy(), bounds)
        return int(lo), int(hi)


@dataclass(frozen=True)
class Coded:
    """A corpus's words as integer codes: row i's words are vocab[codes[ends[i-1]:ends[i]]] (4 bytes a word: a
    year holds about 13 million). Counting messages per word over it is a numpy pass, not a pass over a million
    strings. A live write's corpus is made of its base's codes with the rows read again coded into the base's
    vocabulary, extended (`spliced`): no row left as it was is made into strings."""

    vocab: list[str]
    codes: np.ndarray  # int32
    ends: np.ndarray
    # word -> code, made when first needed (`spliced`) and handed on to the codes spliced from these
    position: dict[str, int] = field(default_factory=dict, compare=False, repr=False)

    def spliced(self, lo: int, hi: int, middle: np.ndarray, more: list[tuple[str, ...]]) -> Coded:
        """The codes of these rows :lo, then the rows `middle`, then these rows hi:. `middle` numbers these rows
        (k < len(ends)) and after them the rows of words `more` (k >= len(ends): more[k - len(ends)]). The vocabulary
        is this one with the new words of `more` added after it (a code keeps its word); the rows of `middle` are
        gathered, the others copied in two runs."""
        n = len(self.ends)
        position = self._positions()
        new = [w for w in dict.fromkeys(chain.from_iterable(more)) if w not in position]
        vocab = self.vocab
        if new:  # a copy: the corpus these codes came from keeps its own
            vocab = [*vocab, *new]
            position = {**position, **{w: k for k, w in enumerate(new, len(self.vocab))}}
        lengths = np.fromiter(map(len, more), np.int64, len(more))
        extra = np.fromiter(map(position.__getitem__, chain.from_iterable(more)), np.int32, int(lengths.sum()))
        # the rows of `middle` out of a pool: the run of these rows they take, then more's
        old = middle[middle < n]
        first, last = (int(old.min()), int(old.max()) + 1) if len(old) else (0, 0)
        start, stop = self._at(first), self._at(last)
        pool = np.concatenate([self.codes[start:stop], extra])
        ends = np.concatenate([self.ends[first:last] - start, stop - start + np.cumsum(lengths)])
        at, counts = segments(ends, np.where(middle < n, middle - first, middle - n + last - first))
        head, tail = self._at(lo), self._at(hi)
        ends = np.concatenate([self.ends[:lo], head + np.cumsum(counts), self.ends[hi:] + (head + counts.sum() - tail)])
        return Coded(vocab, np.concatenate([self.codes[:head], pool[at], self.codes[tail:]]), ends, position)

    def _at(self, row: int) -> int:
        """Where row `row` starts in `codes`."""
        return int(self.ends[row - 1]) if row else 0

    def _positions(self) -> dict[str, int]:
        if len(self.position) < len(self.vocab):
            self.position.update(zip(self.vocab, range(len(self.vocab)), strict=True))
        return self.position

    def strings_at(self, at: np.ndarray) -> list[tuple[str, ...]]:
        """The words of the rows `at`."""
        vocab = self.vocab
        found, counts = segments(self.ends, at)
        kept = [vocab[c] for c in self.codes[found].tolist()]
        bounds = np.cumsum(counts).tolist()
        return [tuple(kept[a:b]) for a, b in zip([0, *bounds][:-1], bounds, strict=True)]

    def rows(self) -> np.ndarray:
        """The row of each code."""
        return np.repeat(np.arange(len(self.ends), dtype=np.int32), np.diff(self.ends, prepend=0))

    @classmethod
    def joined(cls, parts: list[Coded]) -> Coded:
        """The codes of consecutive parts' rows, one after the other, over one vocabulary (`parts` is emptied: each
        part's codes are let go once copied into the whole)."""
        codes = np.empty(sum(len(p.codes) for p in parts), np.int32)
        ends = np.empty(sum(len(p.ends) for p in parts), np.int64)
        position: dict[str, int] = {}
        offset = rows = 0
        parts.reverse()
        while parts:
            part = parts.pop()
            remap = np.fromiter((position.setdefault(w, len(position)) for w in part.vocab), np.int32, len(part.vocab))
            codes[offset : offset + len(part.codes)] = remap[part.codes]
            ends[rows : rows + len(part.ends)] = part.ends + offset
            offset, rows = offset + len(part.codes), rows + len(part.ends)
        return cls(list(position), codes, ends, position)

    def strings(self) -> list[tuple[str, ...]]:
        """Each row's words."""
        kept = np.asarray(self.vocab, dtype=object)[self.codes].tolist()
        bounds = self.ends.tolist()
        return [tuple(kept[a:b]) for a, b in zip([0, *bounds][:-1], bounds, strict=True)]


def segments(ends: np.ndarray, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(positions, counts): where the entries of `rows` are in a flat array whose row i ends at ends[i], row after
    row, and how many each row has."""
    stops = ends[rows]
    starts = np.where(rows > 0, ends[np.maximum(rows - 1, 0)], 0)
    counts = stops - starts
    return np.repeat(starts - (np.cumsum(counts) - counts), counts) + np.arange(int(counts.sum())), counts


def term_frequency(corpus: Corpus, extra: Callable[[int, int], list[tuple[str, ...]]]) -> Counter | None:
    """Messages holding each term, a message's terms being its words and `extra(lo, hi)` (for the rows lo..hi, e.g.
    their places): the Counter of the sets of these terms, counted over codes. None when the corpus has no coded
    words (a corpus of strings: count them)."""
    counted = term_counts(corpus, extra)
    if counted is None:
        return None
    terms, counts = counted
    return Counter(dict(zip(terms, counts.tolist(), strict=True)))


def term_counts(
    corpus: Corpus, extra: Callable[[int, int], list[tuple[str, ...]]]
) -> tuple[list[str], np.ndarray] | None:
    """term_frequency as (terms, messages holding each: an int64 array), the terms held by no message left out."""
    coded = corpus.coded
    if coded is None:
        return None
    terms = list(coded.vocab)
    position = {t: k for k, t in enumerate(terms)}

    def code(term: str) -> int:
        k = position.get(term)
        if k is None:
            k = position[term] = len(terms)
            terms.append(term)
        return k

    # distinct (row, term) pairs as the terms of the sum of two row x term matrices (the words', the extra terms'),
    # each made straight from its rows' runs of codes; then messages per term. TERM_ROWS rows at a time (their
    # extra terms made for them only): a year's matrices and terms at once would take about 0.4 GB
    counts = np.zeros(len(terms), np.int64)
    for lo in range(0, len(corpus), TERM_ROWS):
        hi = min(lo + TERM_ROWS, len(corpus))
        more = extra(lo, hi)
        lengths = np.fromiter(map(len, more), np.int64, len(more))
        codes = np.fromiter(map(code, chain.from_iterable(more)), np.int32, int(lengths.sum()))
        del more
        if len(terms) > len(counts):  # terms first seen in these rows
            counts = np.concatenate([counts, np.zeros(len(terms) - len(counts), np.int64)])
        shape = (hi - lo, len(terms))
        # (boolean: a byte an entry, and the sum of two entries is one entry)
        words = _run_matrix(coded.codes, coded.ends, lo, hi, shape)
        others = _run_matrix(codes, np.cumsum(lengths), 0, hi - lo, shape)
        counts += np.bincount((words + others).indices, minlength=len(terms))
    held = np.flatnonzero(counts)
    return [terms[k] for k in held.tolist()], counts[held].astype(np.int64)


def _run_matrix(codes: np.ndarray, ends: np.ndarray, lo: int, hi: int, shape: tuple[int, int]) -> csr_matrix:
    """The boolean row x term matrix of rows lo..hi (exclusive) of codes whose row i ends at ends[i]."""
    first = int(ends[lo - 1]) if lo else 0
    indptr = np.concatenate([[0], ends[lo:hi] - first])
    return csr_matrix((np.ones(int(indptr[-1]), bool), codes[first : int(ends[hi - 1])], indptr), shape)


@dataclass
class Edit:
    """A corpus made from `base` (the same period earlier) by replacing base rows lo..hi (exclusive) with rows whose
    `source` is the base row each is unchanged from (-1: new or changed). Methods that keep figures per message
    update them from this without comparing the whole period."""

    base: Corpus
    lo: int
    hi: int
    source: np.ndarray

    def same(self) -> np.ndarray:
        """Per row of the new corpus: the base row it is unchanged from, or -1."""
        n = len(self.base)
        return np.concatenate([np.arange(self.lo), self.source, np.arange(self.hi, n)])

    def added(self) -> np.ndarray:
        return self.lo + np.flatnonzero(self.source < 0)

    def gone(self) -> np.ndarray:
        return np.setdiff1d(np.arange(self.lo, self.hi), self.source[self.source >= 0])


# A later corpus of the same period is built from the earlier one when at most this share of its rows changed.
UPDATE_SHARE = 0.25
# A longer period is read this many days at a time: DuckDB's result and the frame made of it are then a month's, not
# a year's (about 0.6 GB more at the peak).
PART_DAYS = 31
# `index_ahead` segments in one worker process: it runs beside the request's other work (a briefing's reply checks in
# DuckDB), and pieces are cut once per process, so two processes cut most of them twice (a cold briefing's 85,146
# messages: 12.1-12.5 CPU-s in one, 15.4-16.1 in two; the briefing 3.5 CPU-s less and no slower)
AHEAD_WORKERS = 1
# Messages counted at a time by term_counts.
TERM_ROWS = 100_000


def _window(f: Filters, start: dt.date, end: dt.date) -> dict:
    p = f.params()
    return {
        "start": dt.datetime.combine(start, dt.time()),
        "stop": dt.datetime.combine(end + dt.timedelta(days=1), dt.time()),
        "provinces": p["provinces"],
        "categories": p["categories"],
        "types": p["types"],
        "urgent_only": p["urgent_only"],
    }


def load(
    store: Store,
    segmenter: Callable[[], Segmenter],
    f: Filters,
    start: dt.date | None = None,
    end: dt.date | None = None,
    progress=None,
    previous: Corpus | None = None,
    days: frozenset | None = None,
    ids: frozenset | None = None,
) -> Corpus:
    """The messages of `start`..`end` (default: the filters' period) matching the filters, with their words.

    Words come from the words index (insight/words_store.py); the few messages without current stored words (just
    written, or re-imported with another text) are segmented here (`segmenter()`: built when first needed) and
    saved (`index.fill`), so the result is the same whether or not the background indexer got there first.
    `previous`: a corpus of the same period and filters at an earlier data version; only the messages that differ
    from it (new, or any value read of them changed: a reply, likes, a re-import) are read again; `days`, when
    known, the days of creation of the messages written since `previous` (Store.changed_days): only these days
    are compared, and a period none of them falls in is `previous`; `ids`, when known too (Store.changed_ids), the
    messages those writes changed: only these are read. `progress`, when given, is called with the number of
    messages done."""
    start, end = start or f.start, end or f.end
    if previous is not None and days is not None:
        inside = sorted(d for d in days if start <= d <= end)
        if not inside:
            return previous  # no write touched the period
        if ids is not None and len(ids) <= UPDATE_SHARE * len(previous):
            return _update_ids(store, segmenter, _window(f, start, end), previous, sorted(ids))
        built = _update_days(store, segmenter, f, previous, inside[0], inside[-1])
        if built is not None:
            return built
    window = _window(f, start, end)
    if previous is not None:
        ids = words_store.window_ids(store, window["start"], window["stop"])
        marks = _marks(store, window, ids)
        at = pd.Index(previous.frame["message_id"]).get_indexer(marks["message_id"])
        kept = (at >= 0) & (previous.frame["mark"].to_numpy()[np.maximum(at, 0)] == marks["mark"].to_numpy())
        changed = marks.loc[~kept, "message_id"].tolist()
        if not changed and len(marks) == len(previous) and (at == np.arange(len(at))).all():
            return previous  # nothing read of the period changed (a write elsewhere)
        if len(changed) <= UPDATE_SHARE * len(marks):
            fresh = _read(store, segmenter, window, changed) if changed else Corpus(previous.frame.iloc[:0], [])
            frame = pd.concat([previous.frame.iloc[at[kept]], fresh.frame], ignore_index=True)
            ordered = _ordered(frame, marks)
            if ordered is not None:
                pool = np.concatenate([at[kept], len(previous) + np.arange(len(fresh))])  # each frame row's
                return Corpus(ordered[0], **_carried(previous, 0, len(previous), pool[ordered[1]], fresh))
    return _read_period(store, segmenter, window, progress)


def words_mark(store: Store, f: Filters) -> tuple[int, str]:
    """(messages, a hash of every value their words and places are made of) of `f`'s period (all of the board's: the
    reference of term weights; a hash as the marks are, a reply or a like leaving it)."""
    window = _window(f, f.start, f.end)
    ids = words_store.window_ids(store, window["start"], window["stop"])
    params = {"start": window["start"], "stop": window["stop"], "body_chars": BODY_CHARS}
    with words_store.registered(store, "ids_frame", words_store.ids_table(ids)) as cur:
        [(messages, mark)] = cur.execute(text("insight", "words_mark"), params).fetchall()
    return int(messages), mark


def _read_period(store: Store, segmenter: Callable[[], Segmenter], window: dict, progress=None) -> Corpus:
    """Every message of the window (matching the filters) with its words, read PART_DAYS at a time and joined."""
    parts, done, start = [], 0, window["start"]
    # a long read (a year) gives back what DuckDB holds of each part (its blocks: about 0.1 GB a month) at once: the
    # next part, and the next stage, do not sit on top of them; a read of one part (the screens' periods) never
    # lowers DuckDB's limit under the other readers
    long_read = window["stop"] - window["start"] > dt.timedelta(days=PART_DAYS)
    while start < window["stop"]:
        stop = min(start + dt.timedelta(days=PART_DAYS), window["stop"])
        table = _query(store, {**window, "start": start, "stop": stop}, words_store.window_ids(store, start, stop))
        if long_read:
            store.drop_cached_blocks()
        part = _built(store, segmenter, table)
        del table
        memory.give_back()
        parts.append(part)
        done += len(part)
        if progress is not None:
            progress(done)
        start = stop
    # a part without messages has columns of another type (object, not str): joined only when all are empty
    parts = [p for p in parts if len(p)] or parts[:1]
    if len(parts) == 1:
        return parts[0]
    return _joined(parts)


def _joined(parts: list[Corpus]) -> Corpus:
    """The corpus of consecutive parts' rows (`parts` is emptied: each part's codes and columns are let go once
    copied into the whole, so that the join holds about one column twice, not the whole year)."""
    coded = [p.coded for p in parts]  # (`_built` codes every part's words)
    frames = [p.frame for p in parts]
    parts.clear()
    coded = Coded.joined(coded)
    frame = _concatenated(frames)
    memory.give_back()  # the parts' columns and the reads', freed: back to the system before the next stage
    return Corpus(frame, None, coded=coded)


def _concatenated(frames: list[pd.DataFrame]) -> pd.DataFrame:
    """pd.concat of the frames (same columns) with each Arrow-backed column in one chunk, made a column at a time,
    each frame's column dropped once copied (`frames` is emptied)."""
    columns = {}
    for name in frames[0].columns:
        pieces = [frame.pop(name) for frame in frames]
        columns[name] = pd.concat(pieces, ignore_index=True)
        pieces.clear()
        _one_chunk_column(columns, name)
    frames.clear()
    return pd.DataFrame(columns, copy=False)


def _update_days(
    store: Store, segmenter: Callable[[], Segmenter], f: Filters, previous: Corpus, first: dt.date, last: dt.date
) -> Corpus | None:
    """`previous` with its rows created first..last read again where their mark changed (days inside the period);
    None when a message moved between the reads (the caller reads the whole period)."""
    window = _window(f, first, last)
    table = _query(store, window, words_store.window_ids(store, window["start"], window["stop"]))
    marks = table.select(["message_id", "mark"]).to_pandas()
    lo, hi = previous.days(first, last)
    part = previous.frame.iloc[lo:hi]
    at = pd.Index(part["message_id"]).get_indexer(marks["message_id"])
    kept = (at >= 0) & (part["mark"].to_numpy()[np.maximum(at, 0)] == marks["mark"].to_numpy())
    changed = np.flatnonzero(~kept)
    # the days' rows are read whole (one read, marks included); only the changed ones are made into corpus rows
    fresh = _built(store, segmenter, table.take(changed)) if len(changed) else Corpus(previous.frame.iloc[:0], [])
    frame = pd.concat([part.iloc[at[kept]], fresh.frame], ignore_index=True)
    ordered = _ordered(frame, marks)
    if ordered is None:
        return None
    middle, order = ordered
    pool = np.concatenate([lo + at[kept], len(previous) + np.arange(len(fresh))])  # each frame row's
    source = np.where(kept, lo + at, -1)  # marks' order is the middle's
    rows = _one_chunk(pd.concat([previous.frame.iloc[:lo], middle, previous.frame.iloc[hi:]], ignore_index=True))
    built = Corpus(rows, edit=Edit(previous, lo, hi, source), **_carried(previous, lo, hi, pool[order], fresh))
    previous.edit = None  # one step is kept: a chain of bases would keep every earlier corpus alive
    return built


def _update_ids(
    store: Store, segmenter: Callable[[], Segmenter], window: dict, previous: Corpus, ids: list[str]
) -> Corpus:
    """`previous` with the messages `ids` (every message changed since: Store.changed_ids) read again: the rows of
    the ids go, the rows read (those of the period matching the filters) come, in the corpus' order. A live write's
    new messages are the newest rows of the text tables: reading them skips the day's older ones."""
    fresh = _built(store, segmenter, _query(store, window, ids))
    frame = previous.frame
    removed = np.flatnonzero(frame["message_id"].isin(ids).to_numpy(dtype=bool))
    if not len(removed) and not len(fresh):
        return previous  # none of them is of the period
    created = frame["created_at"].to_numpy()
    new_created = fresh.frame["created_at"].to_numpy()
    # rows lo..hi hold every row removed and every row created between the new rows' first and last times
    lo = min([*removed[:1].tolist(), *np.searchsorted(created, new_created[:1], "left").tolist()])
    hi = max([*(removed[-1:] + 1).tolist(), *np.searchsorted(created, new_created[-1:], "right").tolist()])
    kept = np.setdiff1d(np.arange(lo, hi), removed)
    middle = pd.concat([frame.iloc[kept], fresh.frame], ignore_index=True)
    order = middle.sort_values(["created_at", "message_id"], kind="stable").index.to_numpy()
    middle = middle.iloc[order].reset_index(drop=True)
    source = np.concatenate([kept, np.full(len(fresh), -1)])[order]
    pool = np.concatenate([kept, len(frame) + np.arange(len(fresh))])[order]
    rows = _one_chunk(pd.concat([frame.iloc[:lo], middle, frame.iloc[hi:]], ignore_index=True))
    built = Corpus(rows, edit=Edit(previous, lo, hi, source), **_carried(previous, lo, hi, pool, fresh))
    previous.edit = None  # one step is kept (as _update_days)
    return built


def _marks(store: Store, window: dict, ids) -> pd.DataFrame:
    with words_store.registered(store, "ids_frame", words_store.ids_table(ids)) as cur:
        return cur.execute(text("insight", "period_marks"), window).df()


def _one_chunk(frame: pd.DataFrame) -> pd.DataFrame:
    """`frame` with each Arrow-backed column in one chunk: a concatenation leaves several, and every later selection
    of rows (Arrow's take) would join them all again (a tenth of a millisecond, not one, per column)."""
    for name in frame.columns:
        _one_chunk_column(frame, name)
    return frame


def _one_chunk_column(frame, name: str) -> None:
    """frame[name] (a frame or a dict of series) in one chunk when Arrow-backed (`_one_chunk`)."""
    values = frame[name].array
    data = getattr(values, "_pa_array", None)
    if isinstance(data, pa.ChunkedArray) and data.num_chunks > 1:
        one = data.combine_chunks()
        if isinstance(values, pd.arrays.ArrowStringArray):
            frame[name] = type(values)(one, dtype=values.dtype)
        else:
            frame[name] = type(values)(one)


def changes(old: Corpus, new: Corpus) -> tuple[np.ndarray, np.ndarray]:
    """(rows of `new` not in `old` as they were, rows of `old` not in `new` as they are): a message new, gone or with
    a changed mark (a later corpus of the same period: methods that keep figures per message update them)."""
    edit = new.edit
    if edit is not None and edit.base is old:
        return edit.added(), edit.gone()
    same = pd.Index(old.frame["message_id"]).get_indexer(new.frame["message_id"])
    marks = old.frame["mark"].to_numpy()
    same[(same >= 0) & (marks[np.maximum(same, 0)] != new.frame["mark"].to_numpy())] = -1
    return np.flatnonzero(same < 0), np.setdiff1d(np.arange(len(old)), same[same >= 0])


def rows(corpus: Corpus, at: np.ndarray) -> Corpus:
    """The corpus of the rows `at`."""
    return Corpus(corpus.frame.iloc[at].reset_index(drop=True), corpus.words_at(at))


def _ordered(frame: pd.DataFrame, marks: pd.DataFrame) -> tuple[pd.DataFrame, np.ndarray] | None:
    """(the rows in the order (and with the marks) of `marks`, the frame row of each); None when one of them is
    missing (a message moved into the period between the two reads: the caller reads the whole period)."""
    at = pd.Index(frame["message_id"]).get_indexer(marks["message_id"])
    if (at < 0).any():
        return None
    ordered = frame.iloc[at].reset_index(drop=True)
    ordered["mark"] = marks["mark"].to_numpy()
    return ordered, at


def _carried(previous: Corpus, lo: int, hi: int, middle: np.ndarray, fresh: Corpus) -> dict:
    """The words (Corpus's `words` and `coded`) of the rows previous[:lo], then `middle`, then previous[hi:], where
    `middle` numbers previous's rows and then fresh's (the rows read again): as codes when previous has them (only
    fresh's rows made into strings, then coded), and as strings too when previous's were made (a method asked for
    every row's: they are kept, not made again)."""
    more = fresh.words  # a write's few rows
    coded = previous.coded.spliced(lo, hi, middle, more) if previous.coded is not None else None
    words = None
    if previous._words is not None or coded is None:
        old, n = previous.words, len(previous)
        words = old[:lo] + [old[k] if k < n else more[k - n] for k in middle.tolist()] + old[hi:]
    return {"words": words, "coded": coded}


def _read(store: Store, segmenter: Callable[[], Segmenter], window: dict, ids) -> Corpus:
    """The messages `ids` (an Arrow array or a list) of the period (matching the filters) with their words."""
    return _built(store, segmenter, _query(store, window, ids))


def _query(store: Store, window: dict, ids) -> pa.Table:
    """period_messages of the messages `ids` of the window."""
    with words_store.registered(store, "ids_frame", words_store.ids_table(ids)) as cur:
        return cur.sql(text("insight", "period_messages"), params={**window, "body_chars": BODY_CHARS}).to_arrow_table()


def _built(store: Store, segmenter: Callable[[], Segmenter], table: pa.Table) -> Corpus:
    """The corpus of rows read by `_query`: the messages the index lacks segmented (and saved); the bodies (read of
    these only) are not kept."""
    # a copy: the columns DuckDB hands over share one release, so that any column kept would keep the whole read
    # (bodies, code lists) alive: a month's part of a year held about 60 MB instead of 20
    kept = table.drop_columns(["words", "places"])
    frame = kept.take(pa.array(np.arange(len(kept)))).to_pandas()
    names = province_ref.names()
    frame["province_name"] = frame["province"].map(names).fillna("")
    full = dict(zip(province_ref.table()["adcode"], province_ref.table()["name_full"], strict=True))
    frame["province_full"] = frame["province"].map(full).fillna("")
    frame["day"] = pd.to_datetime(frame["created_at"]).dt.normalize()
    frame["likes"] = frame["likes"].fillna(0).astype("int64")
    for column in ("title", "content", "location", "city", "district"):
        frame[column] = frame[column].fillna("").astype(str)
    # the titles as Python strings: a write's update joins the period's rows again, and an Arrow column would be
    # copied whole (on fresh memory: page faults) where an object column copies pointers (bodies are not kept)
    frame["title"] = pd.Series(frame["title"].to_numpy(dtype=object), index=frame.index, dtype=object)
    own = _own_places(frame)
    stored_words, stored_places = _decoded(store, table.column("words"), table.column("places"))
    coded = _stored_words(stored_words, own)
    stale = np.flatnonzero(~frame["indexed"].to_numpy(dtype=bool))
    if len(stale):  # their words made now, coded in place of the stored ones (none, or of another text)
        fresh = _index_now(store, segmenter, frame.iloc[stale])
        named = stored_places.lists()
        made = []
        for i, w, p in zip(stale.tolist(), fresh["words"], fresh["places"], strict=True):
            made.append(tuple(x for x in w if x not in own.drops[own.codes[i]]))
            named[i] = list(p)
        stored_places = _Lists.encode(named)
        middle = np.arange(len(frame))
        middle[stale] = len(frame) + np.arange(len(stale))
        coded = coded.spliced(0, len(frame), middle, made)
    frame["mentions"] = _named_places(stored_places, own)
    frame["place"] = [
        location.strip() or (named[0] if named else "")
        for location, named in zip(frame["location"].tolist(), frame["mentions"], strict=True)
    ]
    return Corpus(frame.drop(columns=["indexed", "text_hash", "content", "province_full"]), None, coded=coded)


@dataclass
class _Own:
    codes: np.ndarray  # per row: its (province, city, district) combination
    drops: list[frozenset[str]]  # per combination: the names its messages' own place is written as


def _own_places(frame: pd.DataFrame) -> _Own:
    columns = ["province_full", "city", "district"]
    codes = frame.groupby(columns, sort=False).ngroup().to_numpy()
    first = np.unique(codes, return_index=True)[1]  # a row of each combination, in the order of the codes
    return _Own(codes, [own_places(*combo) for combo in frame[columns].iloc[first].itertuples(index=False)])


@dataclass(frozen=True)
class _Lists:
    """A list of strings per row, dictionary-coded: row i holds dictionary[codes[ends[i-1]:ends[i]]]."""

    lengths: np.ndarray
    codes: np.ndarray  # int64 positions in `dictionary`
    dictionary: pa.StringArray

    @classmethod
    def encode(cls, lists: list[list[str]]) -> _Lists:
        array = pa.array(lists, type=pa.list_(pa.string()))
        flat = pc.dictionary_encode(array.flatten())
        lengths = pc.fill_null(pc.list_value_length(array), 0).to_numpy()
        return cls(lengths, flat.indices.to_numpy(zero_copy_only=False).astype(np.int64), flat.dictionary)

    def lists(self) -> list[list[str]]:
        values = np.asarray(self.dictionary.to_pylist(), dtype=object)[self.codes].tolist()
        ends = np.cumsum(self.lengths).tolist()
        return [values[a:b] for a, b in zip([0, *ends][:-1], ends, strict=True)]


def _decoded(store: Store, *columns: pa.ChunkedArray) -> list[_Lists]:
    """The stored code lists (message_words: word_vocab ids) as `_Lists`, each with the dictionary of the codes it
    holds (read from word_vocab once for all columns): no pass over the strings of a million words."""
    flats = []
    for column in columns:
        lists = _list_array(column)
        lengths = pc.fill_null(pc.list_value_length(lists), 0).to_numpy()  # a row without stored words: none yet
        flats.append((lengths, lists.flatten().to_numpy(zero_copy_only=False).astype(np.int64)))
    top = 1 + max((int(v.max()) for _, v in flats if len(v)), default=-1)
    seen = [np.bincount(v, minlength=top) > 0 for _, v in flats]
    used = np.flatnonzero(np.logical_or.reduce(seen)) if seen else np.zeros(0, np.int64)
    if len(used):
        with words_store.registered(store, "codes_frame", pa.table({"id": used.astype(np.int32)})) as cur:
            found = cur.sql(text("insight", "vocabulary")).to_arrow_table()
    else:  # messages just written: none has stored words yet
        found = pa.table({"id": pa.array([], pa.int32()), "word": pa.array([], pa.string())})
    ids = found.column("id").to_numpy()
    order = np.argsort(ids)
    if not np.array_equal(ids[order], used):
        raise RuntimeError("message_words holds codes that word_vocab lacks")
    words = found.column("word").take(pa.array(order)).combine_chunks()
    out = []
    for (lengths, values), mine in zip(flats, seen, strict=True):
        own = np.flatnonzero(mine)  # the column's codes, in order: its dictionary
        position = np.cumsum(mine) - 1
        dictionary = words.take(pa.array(np.searchsorted(used, own)))
        out.append(_Lists(lengths, position[values], dictionary))
    return out


def _stored_words(stored: _Lists, own: _Own) -> Coded:
    """Each row's stored words without its own place names, as codes (vectorised: a month holds about a million
    words)."""
    lengths, codes = stored.lengths, stored.codes
    vocab = [sys.intern(w) for w in stored.dictionary.to_pylist()]  # one copy of each word, however many hold it
    rows = np.repeat(np.arange(len(lengths)), lengths)
    position = {w: k for k, w in enumerate(vocab)}
    dropped = [c * len(vocab) + position[w] for c, names in enumerate(own.drops) for w in names if w in position]
    keep = ~_member(own.codes[rows] * len(vocab) + codes, np.unique(np.asarray(dropped, dtype=np.int64)))
    ends = np.cumsum(np.bincount(rows[keep], minlength=len(lengths)))
    return Coded(vocab, codes[keep].astype(np.int32), ends)


def _member(values: np.ndarray, sorted_keys: np.ndarray) -> np.ndarray:
    """values in sorted_keys (a binary search per value: no sort of the million values, as np.isin does)."""
    if not len(sorted_keys):
        return np.zeros(len(values), dtype=bool)
    at = np.minimum(np.searchsorted(sorted_keys, values), len(sorted_keys) - 1)
    return sorted_keys[at] == values


def _list_array(column: pa.ChunkedArray) -> pa.ListArray:
    lists = column.combine_chunks() if column.num_chunks != 1 else column.chunk(0)
    return lists if isinstance(lists, pa.ListArray) else lists.cast(pa.list_(pa.int32()))


def _named_places(stored: _Lists, own: _Own) -> list[tuple[str, ...]]:
    """Each row's named places without a leading name of its own place. Vectorised (a month names about 200,000
    distinct (own place, name) pairs): a name starting with no own-place name of any row is kept as it is, the
    others are stripped once per distinct (own place, name)."""
    lengths, codes, dictionary = stored.lengths, stored.codes, stored.dictionary
    names = dictionary.to_pylist()
    heads = pa.array(sorted(set(chain.from_iterable(own.drops))), type=pa.string())
    maybe = np.zeros(len(names), dtype=bool)
    for size in np.unique(pc.utf8_length(heads).to_numpy()).tolist():
        start = pc.utf8_slice_codeunits(dictionary, 0, size)
        maybe |= pc.fill_null(pc.is_in(start, value_set=heads), False).to_numpy(zero_copy_only=False)
    out = np.asarray(names, dtype=object)[codes]
    hard = np.flatnonzero(maybe[codes])
    if len(hard):
        prefixes = [admin_prefixes(names) for names in own.drops]
        owners = np.repeat(own.codes, lengths)[hard]
        pairs, inverse = np.unique(owners * len(names) + codes[hard], return_inverse=True)
        stripped = [strip_admin(names[p % len(names)], prefixes[p // len(names)]) for p in pairs.tolist()]
        out[hard] = np.asarray(stripped, dtype=object)[inverse.ravel()]
    out = out.tolist()
    ends = np.cumsum(lengths).tolist()
    starts = [0, *ends[:-1]] if ends else []  # no rows: no lists
    return [tuple(dict.fromkeys(out[a:b])) for a, b in zip(starts, ends, strict=True)]


def _index_now(store: Store, segmenter: Callable[[], Segmenter], rows: pd.DataFrame) -> pd.DataFrame:
    """Words of messages the index lacks (in the order of `rows`), saved when the store is writable (a scale-out
    web process reads a snapshot: it only uses them). Many (a store nothing has indexed yet): made in worker
    processes; a few (just written): with this process's segmenter (`segmenter()`)."""
    missing = pd.DataFrame(
        {
            "message_id": rows["message_id"].to_numpy(),
            "text_hash": rows["text_hash"].to_numpy(),
            "title": rows["title"].to_numpy(),
            "content": rows["content"].str.slice(0, BODY_CHARS).to_numpy(),
        }
    )
    if len(missing) < index.PARALLEL_FROM:
        return index.fill(store, words_store.MESSAGE_WORDS, missing, partial(words_store.compute_with, segmenter()))
    done = index.fill_many(store, words_store.MESSAGE_WORDS, index.pieces(missing, index.BATCH), collect=True)[1]
    found = pd.concat(done, ignore_index=True).set_index("message_id")
    return found.loc[missing["message_id"]].reset_index()


def index_ahead(store: Store, windows: list[tuple[dt.datetime, dt.datetime]]) -> int:
    """Segment the messages of `windows` (whole board) that have no words, in one worker process, when they are
    many (a store nothing has indexed: a period and the month before it that weighs its terms), so that the corpora
    read next find them stored: the worker (AHEAD_WORKERS) starts once (imports, jieba's dictionary: about 1.5 CPU-s)
    instead of once per corpus. Returns how many were segmented (0: few lacking, left to the corpus reads). The
    store must be writable (what is segmented is saved)."""
    lacking = 0
    for start, stop in windows:
        ids = words_store.window_ids(store, start, stop)
        with words_store.registered(store, "ids_frame", words_store.ids_table(ids)) as cur:
            [(stored,)] = cur.execute(text("insight", "words_stored")).fetchall()
        lacking += len(ids) - stored
    if lacking < index.PARALLEL_FROM:
        return 0
    found = chain.from_iterable(index.batches(store, words_store.MESSAGE_WORDS, start, stop) for start, stop in windows)
    return index.fill_many(store, words_store.MESSAGE_WORDS, found, workers=AHEAD_WORKERS)[0]


def bodies(store: Store, ids: list[str], chars: int) -> dict[str, tuple[str, str]]:
    """{message id: (title, the body's first `chars` characters)} of the messages `ids` (a corpus keeps no bodies:
    read when a method shows a message's text)."""
    if not ids:
        return {}
    with words_store.registered(store, "ids_frame", words_store.ids_table(list(ids))) as cur:
        found = cur.execute(text("insight", "message_bodies"), {"body_chars": chars}).fetchall()
    return {mid: (title or "", content or "") for mid, title, content in found}


def daily_counts(store: Store, f: Filters, start: dt.date, end: dt.date) -> pd.DataFrame:
    """Messages per day x province x city x domain for `start`..`end` under the filters' other conditions, counted
    PART_DAYS at a time (a year and its baseline weeks grouped at once held about 0.15 GB in DuckDB)."""
    parts, first = [], start
    while True:
        last = min(first + dt.timedelta(days=PART_DAYS - 1), end)
        parts.append(store.df(text("insight", "daily_counts"), _window(f, first, last)))
        first = last + dt.timedelta(days=1)
        if first > end:
            break
    # a part without messages has columns of another type (object, not str): joined only when all are empty
    parts = [p for p in parts if len(p)] or parts[:1]
    return parts[0] if len(parts) == 1 else pd.concat(parts, ignore_index=True)
