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

import math
from collections import Counter
from collections.abc import Iterable
from itertools import chain

from insight.corpus import term_frequency
from queries import provinces as province_ref
from queries.masking import mask_text

MIN_COUNT = 5
MIN_RATIO = 1.5


def terms(corpus) -> list[tuple[str, ...]]:
    """Words plus named places per message (an insight.corpus.Corpus)."""
    return [words + places for words, places in zip(corpus.words, _places(corpus), strict=True)]


def _places(corpus) -> list[tuple[str, ...]]:
    """Each message's named places, each with its city (`in_city`; its province when the city is unknown)."""
    # plain lists: iterating the frame's (Arrow-backed) columns costs microseconds per value
    frame = corpus.frame
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


def counts(corpus) -> Counter:
    """Messages holding each of `terms` (counted over the corpus's word codes when it has them)."""
    counted = term_frequency(corpus, _places(corpus))
    return counted if counted is not None else document_frequency(terms(corpus))


def document_frequency(words: Iterable[tuple[str, ...]]) -> Counter:
    """Messages containing each word (one counting pass in C over each message's distinct words)."""
    return Counter(chain.from_iterable(map(set, words)))


def log_likelihood(a: int, n1: int, b: int, n2: int) -> float:
    """G2 of a word seen in `a` of `n1` messages now and `b` of `n2` before (two-period keyness)."""
    total = n1 + n2
    if total == 0 or a + b == 0:
        return 0.0
    e1 = n1 * (a + b) / total
    e2 = n2 * (a + b) / total
    g = 0.0
    if a:
        g += a * math.log(a / e1)
    if b:
        g += b * math.log(b / e2)
    return 2.0 * g


def rising(now: Counter, n_now: int, before: Counter, n_before: int, limit: int = 20) -> list[dict]:
    """Words whose share rose most, with counts now and before and the G2 score, highest first."""
    out = []
    for word, count in now.items():
        if count < MIN_COUNT:
            continue
        previous = before.get(word, 0)
        # add-one smoothing keeps a word absent before from an infinite ratio
        ratio = ((count + 1) / (n_now + 1)) / ((previous + 1) / (n_before + 1))
        if ratio < MIN_RATIO:
            continue
        out.append(
            {
                "word": mask_text(word, 30),  # a place written by the citizen may hold a name or a number
                "count": count,
                "previous": previous,
                "score": log_likelihood(count, n_now, previous, n_before),
            }
        )
    out.sort(key=lambda w: (-w["score"], -w["count"], w["word"]))
    return out[:limit]


def frequent(now: Counter, before: Counter, limit: int = 20) -> list[dict]:
    """The most frequent words now (messages containing them), with the previous period's count."""
    ranked = sorted(now.items(), key=lambda kv: (-kv[1], kv[0]))[:limit]
    return [{"word": mask_text(w, 30), "count": c, "previous": before.get(w, 0)} for w, c in ranked]
