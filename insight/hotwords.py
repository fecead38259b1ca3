"""Hot words: the words whose share of messages rose most against the previous period, and the most frequent.

A message's terms are its words and the places it names (location field, or the named places in its text:
'翠竹园小区' stays one term where jieba would split it), a place with its city (`in_city`). A term counts once
per message (document frequency), so one long message cannot make a word hot. The rise is scored by Dunning's
log-likelihood ratio G2 of the term's share in the two periods (a keyness test that weighs both the size of the
change and the evidence for it); only terms whose smoothed share grew by at least MIN_RATIO and that appear in at
least MIN_COUNT messages are ranked (under 5 messages G2's chi-square approximation is unreliable, and a handful of
mentions is no trend).
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterable, Mapping
from itertools import chain

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from insight.corpus import term_counts
from queries import provinces as province_ref
from queries.masking import mask_text

MIN_COUNT = 5
MIN_RATIO = 1.5


def terms(corpus) -> list[tuple[str, ...]]:
    """Words plus named places per message (an insight.corpus.Corpus)."""
    return [words + places for words, places in zip(corpus.words, _places(corpus), strict=True)]


def _places(corpus, rows=slice(None)) -> list[tuple[str, ...]]:
    """Each message's named places (of the rows `rows`: a slice), each with its city (`in_city`; its province when
    the city is unknown)."""
    # plain lists: iterating the frame's (Arrow-backed) columns costs microseconds per value
    frame = corpus.frame.iloc[rows]
    locations, mentioned = frame["location"].tolist(), frame["mentions"].tolist()
    provinces = province_ref.names()
    towns = [
        city or provinces.get(province, "")
        for city, province in zip(frame["city"].tolist(), frame["province"].tolist(), strict=True)
    ]
    marks = {town: in_city("", town) for town in set(towns)}  # one suffix string per city, not per message
    return [
        (name + marks[town],) if (name := location.strip()) else tuple([place + marks[town] for place in mentions])
        for location, mentions, town in zip(locations, mentioned, towns, strict=True)
    ]


def in_city(name: str, city: str) -> str:
    """A named place as a term: 幸福小区 in 郑州 and 幸福小区 in 成都 are two places (common names recur in every
    city), so a place is counted per city and shown with it."""
    return f"{name}（{city}）" if city else name


class Terms:
    """The terms of one period's counts and of the counts updated from them: append-only (a write adds terms, never
    renumbers), so that counts made from each other share their slots."""

    def __init__(self, words: list[str]):
        self.words = words
        self._slot: dict[str, int] | None = None  # made when first asked (a cold period's counts never need it)
        self._lock = threading.Lock()

    def slots(self, words: Iterable[str], add: bool = True) -> np.ndarray:
        """The slot of each word (-1 for a word not held, unless `add`: it gets the next one)."""
        with self._lock:
            if self._slot is None:
                self._slot = dict(zip(self.words, range(len(self.words)), strict=True))
            out = []
            for word in words:
                k = self._slot.get(word)
                if k is None and add:
                    k = self._slot[word] = len(self.words)
                    self.words.append(word)
                out.append(-1 if k is None else k)
            return np.asarray(out, dtype=np.int64)


class Counts:
    """Messages holding each term of a period (n[k]: of terms.words[k]) and the period's messages."""

    def __init__(self, terms: Terms, n: np.ndarray, messages: int, aligned=None):
        self.terms, self.n, self.messages = terms, n, messages
        self._aligned: tuple[Counts, np.ndarray] | None = aligned  # (before, its counts of our first slots)

    @classmethod
    def of(cls, counted: Mapping[str, int], messages: int) -> Counts:
        return cls(Terms(list(counted)), np.fromiter(counted.values(), np.int64, len(counted)), messages)

    def updated(self, less: Counter, more: Counter, messages: int) -> Counts:
        """These counts less the messages `less` counts, plus those `more` counts (a write's gone and new rows)."""
        delta = Counter(more)
        delta.subtract(less)
        slots = self.terms.slots(delta)
        n = np.zeros(max(len(self.n), int(slots.max(initial=-1)) + 1), np.int64)
        n[: len(self.n)] = self.n
        n[slots] += np.fromiter(delta.values(), np.int64, len(delta))
        return Counts(self.terms, n, messages, self._aligned)

    def at(self, slots: np.ndarray) -> np.ndarray:
        """The count of each slot (-1: 0)."""
        padded = np.append(self.n, 0)  # slot -1 reads the 0 at the end
        return padded[np.where(slots < len(self.n), slots, -1)]

    def against(self, before: Counts) -> np.ndarray:
        """`before`'s count of each of our terms (0: not held), kept: after a write only the new terms are looked
        up."""
        known = self._aligned
        if known is not None and known[0] is before:
            aligned = known[1]
            if len(aligned) < len(self.n):
                more = before.terms.slots(self.terms.words[len(aligned) : len(self.n)], add=False)
                aligned = np.concatenate(
                    [aligned, np.where(more >= 0, before.n[np.minimum(more, len(before.n) - 1)], 0)]
                )
        else:
            at = pc.index_in(
                pa.array(self.terms.words[: len(self.n)], pa.string()),
                value_set=pa.array(before.terms.words[: len(before.n)], pa.string()),
            )
            aligned = before.at(pc.fill_null(at, -1).to_numpy(zero_copy_only=False).astype(np.int64))
        self._aligned = (before, aligned)
        return aligned


def counts(corpus) -> Counts:
    """Messages holding each of `terms` (counted over the corpus's word codes when it has them)."""
    counted = term_counts(corpus, lambda lo, hi: _places(corpus, slice(lo, hi)))  # made for the rows counted
    if counted is None:
        return Counts.of(document_frequency(terms(corpus)), len(corpus))
    words, n = counted
    return Counts(Terms(words), n, len(corpus))


def document_frequency(words: Iterable[tuple[str, ...]]) -> Counter:
    """Messages containing each word (one counting pass in C over each message's distinct words)."""
    return Counter(chain.from_iterable(map(set, words)))


def log_likelihood(a, n1: int, b, n2: int):
    """G2 of a word seen in `a` of `n1` messages now and `b` of `n2` before (two-period keyness); elementwise over
    arrays of `a` and `b`."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    total = n1 + n2
    if total == 0:
        return np.zeros_like(a + b) if (a + b).ndim else 0.0
    e1, e2 = n1 * (a + b) / total, n2 * (a + b) / total
    with np.errstate(divide="ignore", invalid="ignore"):
        g = np.where(a > 0, a * np.log(a / e1), 0.0) + np.where(b > 0, b * np.log(b / e2), 0.0)
    g = 2.0 * g
    return float(g) if g.ndim == 0 else g


def _top(values: np.ndarray, limit: int) -> np.ndarray:
    """The positions of the values at least as large as the limit-th largest (ties at the bound all kept)."""
    if len(values) <= limit:
        return np.arange(len(values))
    bound = np.partition(values, len(values) - limit)[len(values) - limit]
    return np.flatnonzero(values >= bound)


def rising(now: Counts, before: Counts, limit: int = 20) -> list[dict]:
    """Words whose share rose most, with counts now and before and the G2 score, highest first."""
    n_now, n_before = now.messages, before.messages
    at = np.flatnonzero(now.n >= MIN_COUNT)
    count, previous = now.n[at], now.against(before)[at]
    # add-one smoothing keeps a word absent before from an infinite ratio
    ratio = ((count + 1) / (n_now + 1)) / ((previous + 1) / (n_before + 1))
    rose = ratio >= MIN_RATIO
    at, count, previous = at[rose], count[rose], previous[rose]
    score = log_likelihood(count, n_now, previous, n_before)
    out = [
        {
            "word": mask_text(now.terms.words[at[k]], 30),  # a place written by the citizen may hold a name or a number
            "count": int(count[k]),
            "previous": int(previous[k]),
            "score": float(score[k]),
        }
        for k in _top(score, limit).tolist()
    ]
    out.sort(key=lambda w: (-w["score"], -w["count"], w["word"]))
    return out[:limit]


def frequent(now: Counts, before: Counts, limit: int = 20) -> list[dict]:
    """The most frequent words now (messages containing them), with the previous period's count."""
    held = np.flatnonzero(now.n > 0)
    chosen = held[_top(now.n[held], limit)]
    previous = now.against(before)
    words = now.terms.words
    ranked = sorted(((words[k], int(now.n[k]), int(previous[k])) for k in chosen.tolist()), key=lambda w: (-w[1], w[0]))
    return [{"word": mask_text(w, 30), "count": c, "previous": p} for w, c, p in ranked[:limit]]
