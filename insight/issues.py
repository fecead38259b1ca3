"""Hot issues (热点问题): groups of messages about the same problem at the same place.

Method. Each message is a TF-IDF vector (sublinear tf, l2-normalised) of its topic words plus the named places it
mentions (the community, company, school or road, counted twice: the place is half of "the same problem at the
same place"); the vocabulary is the period's terms of two or more messages, the weights (`Weights`) are learnt
from a reference corpus (the service's: the month before the period). Messages are compared only within their
block, province, city and district (blocking keeps the work near linear: about 2,800 districts), linked when their
cosine similarity is at least LINK_COSINE, they are at most MAX_GAP_DAYS apart and the places they name agree (two
different named places never link); the linked components are tightened (members whose cosine to their group's
centroid is under CENTROID_COSINE leave it, so that a chain of weak links is not taken for one problem) and those
of at least MIN_MEMBERS messages are the issues. A block's issues depend only on its messages, the weights and
which of its terms are in the vocabulary, so after a write only the blocks it touched are grouped again (`update`),
every figure computed alike (columns in term order, sums in row order), so that the result is the cold one.

Heat index (documented in the README), after the 2020 Teddy Cup 智慧政务 task (how many, how long, how fast,
how strongly supported):
    heat = 10·ln(1 + n) + 3·ln(1 + likes) + 5·ln(1 + n / span_days) + 5·growth
n: messages; likes: their support count; span_days: last − first day + 1; growth: ln((1 + last 7 days' messages)
/ (1 + the 7 days before)), clipped to 0..3 (a problem still gathering messages ranks above one that has faded).
"""

from __future__ import annotations

import math
import threading
from collections import Counter
from dataclasses import dataclass, field
from itertools import chain, repeat

import numpy as np
import pandas as pd
from scipy.sparse import coo_matrix, csr_matrix
from scipy.sparse.csgraph import connected_components
from sklearn.feature_extraction.text import TfidfVectorizer

from insight import memory
from insight.corpus import Corpus, segments, term_frequency
from queries.masking import mask_text

LINK_COSINE = 0.3
CENTROID_COSINE = 0.3
MAX_GAP_DAYS = 45
MIN_MEMBERS = 3
MAX_MEMBER_IDS = 1000
KEYWORDS = 5
_CHUNK = 2000
PAIRS_AT_ONCE = 1_000_000  # similar pairs filtered at a time (`_linked`)
PRODUCT_CELLS = 2_000_000  # rows x near rows whose cosines are computed at once (`_similar_chunks`)
BATCH_ROWS = 30_000  # a cold grouping's rows at a time (whole blocks: `_batches`)


def _identity(doc):
    return doc


def features(corpus: Corpus, tags: list[tuple[str, ...]] | None = None) -> list[list[str]]:
    """Words plus the mentioned places (twice), per message (`tags`: place_terms of the corpus, when known)."""
    tags = place_terms(corpus) if tags is None else tags
    return [[*words, *places, *places] for words, places in zip(corpus.words, tags, strict=True)]


def place_terms(corpus: Corpus) -> list[tuple[str, ...]]:
    """The places each message mentions or is located at, as terms ("@" and the name), once each (in no order
    that matters: every use counts them)."""
    return _place_terms(corpus.frame, slice(None))


def _place_terms(frame: pd.DataFrame, rows) -> list[tuple[str, ...]]:
    """place_terms of the frame's rows `rows` (a slice or positions)."""
    out = []
    tag: dict[str, str] = {}  # one string per place, however many messages name it
    # plain lists: iterating the frame's (Arrow-backed) columns costs microseconds per value
    mentioned, locations = frame["mentions"].iloc[rows].tolist(), frame["location"].iloc[rows].tolist()
    for mentions, location in zip(mentioned, locations, strict=True):
        # mentions are distinct already (corpus.py); a location of blanks alone is a place too (the term "@")
        place = location.strip()
        places = (*mentions, place) if location and place not in mentions else mentions
        out.append(tuple([tag.get(p) or tag.setdefault(p, "@" + p) for p in places]))
    return out


def feature_frequency(corpus: Corpus, tags: list[tuple[str, ...]] | None = None) -> Counter:
    """Messages holding each term of `features` (counted over the corpus's word codes when it has them: the place
    terms then made for the rows counted at a time, not for a year's rows at once)."""
    if tags is None and corpus.coded is not None:
        return term_frequency(corpus, lambda lo, hi: _place_terms(corpus.frame, slice(lo, hi)))
    tags = place_terms(corpus) if tags is None else tags
    counted = term_frequency(corpus, lambda lo, hi: tags[lo:hi])
    return counted if counted is not None else document_frequency(features(corpus, tags))


def vectors(docs: list[list[str]], min_df: int = 2):
    """Row-normalised TF-IDF matrix of the documents (None when there is no vocabulary). min_df=2 keeps the
    words messages share (grouping); min_df=1 keeps every word, so that what one message alone says lowers its
    similarity to others (telling a restatement from a merely alike message)."""
    if not docs or not any(docs):
        return None
    vectorizer = TfidfVectorizer(analyzer=_identity, sublinear_tf=True, min_df=min_df, norm="l2")
    try:
        return vectorizer.fit_transform(docs), vectorizer.get_feature_names_out()
    except ValueError:  # empty vocabulary
        return None


def link(frame: pd.DataFrame, matrix, min_cosine: float = LINK_COSINE, max_gap_days: int = MAX_GAP_DAYS):
    """Component label per message: similar messages of the same city and location, close in time, share one."""
    return _components(len(frame), *_linked(frame, matrix, min_cosine, max_gap_days))


def _linked(frame: pd.DataFrame, matrix, min_cosine: float = LINK_COSINE, max_gap_days: int = MAX_GAP_DAYS):
    """The linked pairs (i, j), i < j, of the frame's rows: similar, at most max_gap_days apart, places agreeing."""
    days = _day_numbers(frame)
    # the similar pairs filtered about PAIRS_AT_ONCE at a time: a batch of alike messages (a 50 M board's fortnight)
    # held 13 million of them, their arrays and the sort of their rows then about 1.4 GB at once
    linked: list[tuple[np.ndarray, np.ndarray]] = []
    pending: list[tuple[np.ndarray, np.ndarray]] = []
    held = 0
    for rows, cols in _similar_chunks(frame, matrix, min_cosine, days, max_gap_days):
        pending.append((rows, cols))
        held += len(rows)
        if held >= PAIRS_AT_ONCE:
            linked += _linked_slices(frame, pending, max_gap_days, days)
            pending, held = [], 0
    linked += _linked_slices(frame, pending, max_gap_days, days)
    return _pairs(linked)


def _linked_slices(frame: pd.DataFrame, pending: list, max_gap_days: int, days: np.ndarray) -> list:
    """linked_pairs of the pending similar pairs, PAIRS_AT_ONCE at a time (one chunk of alike rows held 6 million)."""
    if not pending:
        return []
    rows, cols = _pairs(pending)
    pending.clear()
    out = []
    for lo in range(0, len(rows), PAIRS_AT_ONCE):
        i, j = linked_pairs(frame, rows[lo : lo + PAIRS_AT_ONCE], cols[lo : lo + PAIRS_AT_ONCE], max_gap_days, days)
        out.append((i.astype(np.int32), j.astype(np.int32)))  # rows of one frame: half the memory of int64
    return out


def _pairs(parts: list[tuple[np.ndarray, np.ndarray]]) -> tuple[np.ndarray, np.ndarray]:
    """The pairs of `parts` in one pair of arrays (`parts` is emptied: each part let go once copied, so that a batch's
    13 million pairs are not held twice)."""
    if not parts:
        return np.array([], dtype=np.int64), np.array([], dtype=np.int64)
    size, dtype = sum(len(i) for i, _ in parts), np.result_type(*(i for i, _ in parts))
    rows, cols = np.empty(size, dtype), np.empty(size, dtype)
    at = 0
    parts.reverse()
    while parts:
        i, j = parts.pop()
        rows[at : at + len(i)], cols[at : at + len(i)] = i, j
        at += len(i)
    return rows, cols


def _day_numbers(frame: pd.DataFrame) -> np.ndarray:
    return frame["day"].to_numpy().astype("datetime64[D]").astype("int64")


def linked_pairs(
    frame: pd.DataFrame, rows: np.ndarray, cols: np.ndarray, max_gap_days: int = MAX_GAP_DAYS, days=None
) -> tuple[np.ndarray, np.ndarray]:
    """The similar pairs (rows[k], cols[k]) that are linked: at most max_gap_days apart, their places agreeing
    (`days`: the frame's day numbers, when known)."""
    days = _day_numbers(frame) if days is None else days
    keep = np.abs(days[rows] - days[cols]) <= max_gap_days
    rows, cols = rows[keep], cols[keep]
    keep = _places_agree_pairs(frame, rows, cols)
    return rows[keep], cols[keep]


def _components(n: int, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """The connected component of each of n nodes linked by the pairs (rows[k], cols[k]), numbered in the order of
    their first node. PAIRS_AT_ONCE pairs at a time, each step's graph being its pairs and a link from every node to
    the first node of its component so far: scipy copies a graph as float64 and adds its transpose (a batch of 13
    million pairs took about 0.5 GB more at once)."""
    first = np.arange(n)  # per node: the first node of its component so far
    for lo in range(0, max(len(rows), 1), PAIRS_AT_ONCE):
        i, j = rows[lo : lo + PAIRS_AT_ONCE], cols[lo : lo + PAIRS_AT_ONCE]
        ends = (np.concatenate([i, np.arange(n)]), np.concatenate([j, first]))
        graph = coo_matrix((np.ones(len(ends[0]), dtype=np.int8), ends), shape=(n, n))
        labels = connected_components(graph, directed=False)[1]
        first = np.unique(labels, return_index=True)[1][labels]
    return np.unique(first, return_inverse=True)[1].ravel()


def blocks(frame: pd.DataFrame) -> np.ndarray:
    """Each message's block (province, city, district): messages are compared within their block only."""
    return frame.groupby(["province", "city", "district"], sort=False).ngroup().to_numpy()


def similar_pairs(
    frame: pd.DataFrame, matrix, min_cosine: float, days: np.ndarray, max_gap_days: int
) -> tuple[np.ndarray, np.ndarray]:
    """(i, j), i < j, of the same block with cosine >= min_cosine, among them every such pair at most
    max_gap_days apart (`days`: each row's day number; pairs further apart may be given too). Rows go in chunks of
    about _CHUNK in (block, day) order, each compared with the rows of its blocks within max_gap_days of it (a run
    of that order), so that a year costs about a quarter of comparing whole blocks; within a chunk one sparse
    product serves every block, each term made block-specific (its column moved by block x vocabulary size)."""
    return _pairs(list(_similar_chunks(frame, matrix, min_cosine, days, max_gap_days)))


def _similar_chunks(frame: pd.DataFrame, matrix, min_cosine: float, days: np.ndarray, max_gap_days: int):
    """similar_pairs a chunk of rows at a time: (i, j) arrays per chunk."""
    n, width = matrix.shape
    if n < 2 or not width:
        return
    block = blocks(frame).astype(np.int64)
    csr = matrix.tocsr()
    order = np.lexsort((days, block))
    # keys of one block differ by their day gap; the keys of two blocks by more than max_gap_days
    span = int(days.max()) - int(days.min()) + max_gap_days + 1
    key = block[order] * span + (days[order] - days.min())
    for lo in range(0, n, _CHUNK):
        hi = min(n, lo + _CHUNK)
        first = int(np.searchsorted(key, key[lo] - max_gap_days, "left"))
        last = int(np.searchsorted(key, key[hi - 1] + max_gap_days, "right"))
        part, near = order[lo:hi], order[first:last]
        one, other = _block_terms(csr, part, near, block, width)
        other = other.T.tocsr()
        # the product a few rows at a time: rows of one block of near copies are all alike (a 50 M board's
        # fortnight: 2,000 rows x 30,000 near ones, about 0.4 GB at once); each row's products are the same
        step = max(1, PRODUCT_CELLS // len(near))
        for at in range(0, len(part), step):
            sims = (one[at : at + step] @ other).tocoo()
            keep = sims.data >= min_cosine
            i, j = part[at + sims.row[keep]], near[sims.col[keep]]
            upper = i < j
            yield i[upper], j[upper]


def _block_terms(csr, part: np.ndarray, near: np.ndarray, block: np.ndarray, width: int):
    """The rows `part` and `near` of `csr` with each term made block-specific: columns (block, term), numbered
    over the columns these rows use (a column per block and term of the whole matrix would need an index of
    hundreds of millions of entries)."""
    one, other = csr[part], csr[near]
    keys = [block[r].repeat(np.diff(m.indptr)) * width + m.indices for r, m in ((part, one), (near, other))]
    used, at = np.unique(np.concatenate(keys), return_inverse=True)
    at = at.ravel()
    split = len(keys[0])
    return (
        csr_matrix((one.data, at[:split], one.indptr), shape=(len(part), len(used))),
        csr_matrix((other.data, at[split:], other.indptr), shape=(len(near), len(used))),
    )


def place_sets(frame: pd.DataFrame) -> list[tuple[str, frozenset[str]]]:
    """The place each message names: its district and its location field, else the places its text mentions."""
    return [
        (district, frozenset([location.strip()]) if location.strip() else frozenset(mentions))
        for district, location, mentions in zip(
            frame["district"].tolist(), frame["location"].tolist(), frame["mentions"].tolist(), strict=True
        )
    ]


def places_agree(one: tuple[str, frozenset[str]], other: tuple[str, frozenset[str]]) -> bool:
    """Two messages can be about the same place unless their districts differ, or both name places and no name
    is shared (or contained in the other)."""
    if one[0] and other[0] and one[0] != other[0]:
        return False
    a, b = one[1], other[1]
    if not a or not b or a & b:
        return True
    return any(x in y or y in x for x in a for y in b)


def _places_agree_pairs(frame: pd.DataFrame, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """places_agree of each pair (rows[k], cols[k]), decided once per distinct pair of places named."""
    if not len(rows):
        return np.zeros(0, dtype=bool)
    # only the messages of some pair are looked at (about a third of a month's)
    # (a mask of the frame's rows, not np.unique of the pairs: a sort of tens of millions of rows)
    mask = np.zeros(len(frame), dtype=bool)
    mask[rows] = True
    mask[cols] = True
    involved = np.flatnonzero(mask)
    position = np.cumsum(mask) - 1  # each involved row's place in `involved`
    district, location, mentions = (frame[c].iloc[involved].tolist() for c in ("district", "location", "mentions"))
    # a text key per message for what place_sets makes of it (its district, then its location or its mentions)
    keys = [
        f"{d}\x1e{loc.strip()}" if loc.strip() else f"{d}\x1f" + "\x1f".join(sorted(set(m)))
        for d, loc, m in zip(district, location, mentions, strict=True)
    ]
    per_row = pd.factorize(np.asarray(keys, dtype=object))[0].astype(np.int64)
    first = np.unique(per_row, return_index=True)[1]  # a message of each key, in the order of the codes
    kinds = len(first)
    named = np.fromiter((bool(location[k].strip() or mentions[k]) for k in first.tolist()), bool, kinds)
    one, other = per_row[position[rows]], per_row[position[cols]]
    # the same key, or a message naming no place: agree without looking further
    out = (one == other) | ~named[one] | ~named[other]
    hard = np.flatnonzero(~out)
    if len(hard):
        distinct, inverse = np.unique(one[hard] * kinds + other[hard], return_inverse=True)
        places = {}
        for key in np.unique(np.concatenate([distinct // kinds, distinct % kinds])).tolist():
            k = int(first[key])
            places[key] = (
                district[k],
                frozenset([location[k].strip()]) if location[k].strip() else frozenset(mentions[k]),
            )
        verdict = np.fromiter(
            (places_agree(places[p // kinds], places[p % kinds]) for p in distinct.tolist()), bool, len(distinct)
        )
        out[hard] = verdict[inverse]
    return out


def tighten(labels: np.ndarray, matrix, min_members: int, min_cosine: float = CENTROID_COSINE) -> np.ndarray:
    """Detach from each group the members far from its centroid (a chain of weak links is not one problem).
    Every group at once: centroids (as sums: the cosine does not depend on the scale) by one sparse product of a
    group-membership matrix, each member's cosine by a row-wise product with its group's centroid."""
    labels = labels.copy()
    if not len(labels):
        return labels
    sizes = np.bincount(labels)
    big = np.flatnonzero(sizes[labels] >= min_members)  # the groups too small to be issues are left as they are
    if not len(big):
        return labels
    groups, at = np.unique(labels[big], return_inverse=True)
    rows = matrix.tocsr()[big]
    membership = csr_matrix((np.ones(len(big)), (at, np.arange(len(big)))), shape=(len(groups), len(big)))
    centroids = (membership @ rows).tocsr()
    centroids.sort_indices()
    norms = np.sqrt(np.asarray(centroids.multiply(centroids).sum(axis=1)).ravel())
    dots = np.asarray(rows.multiply(centroids[at]).sum(axis=1)).ravel()
    with np.errstate(invalid="ignore", divide="ignore"):
        far = big[(norms[at] > 0) & (dots / norms[at] < min_cosine)]
    next_label = labels.max() + 1
    labels[far] = np.arange(next_label, next_label + len(far))
    return labels


def _compact(sub):
    """The rows with only the columns they use (in order): a group's figures then do not depend on how wide the
    matrix it came from is (a cold grouping and an update give the same floats)."""
    sub = sub.tocsr()
    used = np.unique(sub.indices)
    return csr_matrix((sub.data, np.searchsorted(used, sub.indices), sub.indptr), shape=(sub.shape[0], len(used)))


def heat(n: int, likes: int, span_days: int, recent: int, before: int) -> float:
    growth = min(3.0, max(0.0, math.log((1 + recent) / (1 + before))))
    return 10 * math.log1p(n) + 3 * math.log1p(likes) + 5 * math.log1p(n / max(span_days, 1)) + 5 * growth


def _mode(values) -> str:
    counts = Counter(v for v in values if v)
    return counts.most_common(1)[0][0] if counts else ""


def _columns(frame: pd.DataFrame) -> dict[str, np.ndarray]:
    out = {c: frame[c].to_numpy() for c in ("message_id", "title", "province", "province_name", "city", "district")}
    out.update({c: frame[c].to_numpy() for c in ("place", "category", "likes")})
    out["day"] = frame["day"].to_numpy().astype("datetime64[D]")
    out["created"] = frame["created_at"].to_numpy()
    out["replied"] = frame["first_reply_at"].notna().to_numpy()
    return out


def describe(cols: dict[str, np.ndarray], members: np.ndarray, matrix, terms) -> dict:
    """One issue: representative title, key words, place, span, counts, heat and member ids."""
    members = members[np.lexsort((cols["message_id"][members], cols["created"][members]))]
    rows = matrix[members].tocsr()
    used = np.unique(rows.indices)
    sub, terms = _compact(rows), terms[used]
    centroid = np.asarray(sub.mean(axis=0)).ravel()
    representative = members[int(np.argmax(sub @ centroid))]
    top = np.argsort(-centroid, kind="stable")[: 3 * KEYWORDS]
    keywords = [terms[k] for k in top if not terms[k].startswith("@") and centroid[k] > 0][:KEYWORDS]
    days = cols["day"][members]
    first, last = days.min(), days.max()
    span = int((last - first).astype(int)) + 1
    recent = int((days > last - 7).sum())
    before = int(((days <= last - 7) & (days > last - 14)).sum())
    n, likes = len(members), int(cols["likes"][members].sum())
    ids = cols["message_id"][members].tolist()
    return {
        "id": f"HI-{ids[0]}",
        "title": mask_text(cols["title"][representative], 80),
        "keywords": [mask_text(k, 20) for k in keywords],
        "province": cols["province_name"][representative],
        "province_code": int(cols["province"][representative]),
        "city": _mode(cols["city"][members]),
        "district": _mode(cols["district"][members]),
        "place": mask_text(_mode(cols["place"][members]), 60),
        "category": _mode(cols["category"][members]),
        "first": str(first),
        "last": str(last),
        "messages": n,
        "likes": likes,
        "replied": int(cols["replied"][members].sum()),
        "heat": heat(n, likes, span, recent, before),
        "message_ids": ids[:MAX_MEMBER_IDS],
    }


def issue_labels(corpus: Corpus, min_members: int = MIN_MEMBERS):
    """(labels, matrix, terms): each message's issue number (-1: in no issue of `min_members` or more), with the
    TF-IDF matrix (the corpus's own document frequencies) and its terms; None when the corpus has no vocabulary."""
    built = vectors(features(corpus))
    if built is None:
        return None
    matrix, terms = built
    return _labels(corpus.frame, matrix, min_members), matrix, terms


def _labels(frame: pd.DataFrame, matrix, min_members: int, linked: np.ndarray | None = None) -> np.ndarray:
    """Issue number per message (-1: none) from its linked component (`linked`, computed when not given)."""
    labels = tighten(link(frame, matrix) if linked is None else linked, matrix, min_members)
    sizes = np.bincount(labels)
    return np.where(sizes[labels] >= min_members, labels, -1)


# -- hot issues with stable term weights, updated in place after live writes ----------------------------------------
@dataclass(frozen=True)
class Weights:
    """Term weights (inverse document frequency, smoothed as scikit-learn's) learnt from a reference corpus: the
    messages before the period (the service's choice), so that a write inside the period moves no weight and an
    update only regroups the blocks it touches."""

    messages: int
    idf: dict[str, float]

    @classmethod
    def learn(cls, docs: list[list[str]]) -> Weights:
        return cls.counted(len(docs), document_frequency(docs))

    @classmethod
    def counted(cls, n: int, df: Counter) -> Weights:
        """The weights of `n` messages of which df[t] hold term t."""
        return cls(n, {t: math.log((1 + n) / (1 + c)) + 1 for t, c in df.items()})

    def of(self, terms: np.ndarray) -> np.ndarray:
        unseen = math.log(1 + self.messages) + 1
        return np.fromiter((self.idf.get(t, unseen) for t in terms.tolist()), np.float64, len(terms))


@dataclass
class Keys:
    ids: pd.Index  # per message: its id,
    marks: np.ndarray  # its mark (corpus.py: a hash of every value read of it)
    blocks: list[tuple]  # and its block (province, city, district)


@dataclass(frozen=True)
class Links:
    """Linked pairs of rows as the runs of their first rows and their second rows, int32. A grouping's pairs come a
    row at a time (a row's pairs are consecutive): the runs take a few bytes a row where the first rows took four
    bytes a pair (a 50 M board's week held 13 million pairs: 99 MB as two arrays, 51 MB so)."""

    firsts: np.ndarray  # the first row of each run
    runs: np.ndarray  # the pairs of each run
    seconds: np.ndarray  # per pair: its second row

    @classmethod
    def of(cls, pairs: tuple[np.ndarray, np.ndarray]) -> Links:
        first, second = pairs
        bounds = np.concatenate([[0], np.flatnonzero(np.diff(first)) + 1, [len(first)]]) if len(first) else [0]
        bounds = np.asarray(bounds, np.int64)
        return cls(first[bounds[:-1]], np.diff(bounds).astype(np.int32), second)

    def pairs(self) -> tuple[np.ndarray, np.ndarray]:
        return np.repeat(self.firsts, self.runs), self.seconds


@dataclass
class Grouping:
    """A period's hot issues, kept per block so that an update regroups only the blocks that changed."""

    weights: Weights
    min_members: int
    keys: Keys
    documents: list[list[str]] | None  # per message: features (None: made from `corpus` when first asked)
    df: Counter  # messages holding each term (a term of two or more messages is in the vocabulary)
    issues: dict[tuple, list[dict]]  # block -> its issues
    corpus: Corpus | None = None  # the corpus grouped (a later one made from it tells what changed: corpus.Edit)
    # the linked pairs (rows, the earlier row first), so that after a write a block is linked again from its pairs
    # between unchanged messages and the pairs of the messages new or changed alone (`_extend`)
    links: Links = field(default_factory=lambda: Links.of((np.zeros(0, np.int32), np.zeros(0, np.int32))))
    spent: bool = False  # an update took its term counts (`update`): a second one from it groups whole
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    @property
    def edges(self) -> tuple[np.ndarray, np.ndarray]:
        """The linked pairs as two arrays of rows (made from `links` when asked: by an update)."""
        return self.links.pairs()

    @property
    def docs(self) -> list[list[str]]:
        """Per message: its features. A cold grouping of a coded corpus is grouped without them (a year's lists of
        strings take hundreds of MB) and an update makes those of the rows it looks at only: made when asked."""
        if self.documents is None:
            self.documents = features(self.corpus)
        return self.documents

    def ranked(self) -> list[dict]:
        out = [i for found in self.issues.values() for i in found]
        out.sort(key=lambda i: (-i["heat"], i["id"]))
        return out


_BLOCK = ["province", "city", "district"]


def group(corpus: Corpus, weights: Weights, min_members: int = MIN_MEMBERS) -> Grouping:
    """Every issue of the corpus (cold), with term weights `weights`."""
    docs = None  # a coded corpus is grouped from its codes
    if corpus.coded is None:
        tags = place_terms(corpus)
        docs = features(corpus, tags)
        df = feature_frequency(corpus, tags)
    else:
        df = feature_frequency(corpus)
    keys = _keys(corpus.frame)
    edges: list = []
    if docs is None:
        found = _group_coded(corpus, df, weights, min_members, edges)
    else:
        found = _group_rows(corpus, docs, np.arange(len(corpus)), df, weights, min_members, edges=edges)
    return Grouping(weights, min_members, keys, docs, df, found, corpus, Links.of(_joined(edges)))


def _group_coded(corpus: Corpus, df: Counter, weights: Weights, min_members: int, edges: list):
    """_group_rows of every row of a coded corpus, a batch of whole blocks at a time (a block's issues depend only
    on its rows, the weights and the vocabulary): a year's matrix, products and place terms are then a batch's.
    The linked pairs are added to `edges`."""
    columns = _CodedColumns.of(corpus.coded, df, weights)
    found: dict[tuple, list[dict]] = {}
    for rows in _batches(corpus.frame):
        built = columns.matrix(corpus.coded, rows, _place_terms(corpus.frame, rows)) if columns is not None else None
        found.update(_group_rows(corpus, None, rows, df, weights, min_members, built, edges))
        memory.give_back()  # the batch's matrices and products, freed: the next one's do not sit on top of them
    return found


def _batches(frame: pd.DataFrame) -> list[np.ndarray]:
    """The rows of whole blocks, in batches (each ordered): a province, or a province of more than BATCH_ROWS
    messages split into runs of whole cities of about that many (a year's largest province held 0.2 GB)."""
    province = frame["province"].to_numpy()
    order = np.argsort(province, kind="stable")  # each province's rows in the corpus's order
    out = []
    for rows in np.split(order, np.flatnonzero(np.diff(province[order])) + 1) if len(order) else []:
        if len(rows) <= BATCH_ROWS:
            out.append(rows)
            continue
        city = pd.factorize(frame["city"].iloc[rows])[0]  # (Arrow's dictionary encoding: no Python strings)
        # cities in order of their first row, a batch closed once it holds BATCH_ROWS rows or more
        batch = np.cumsum(np.bincount(city)) // BATCH_ROWS
        batch = np.concatenate([[0], np.cumsum(np.diff(batch) > 0)])  # batch numbers without gaps
        of_row = batch[city]
        out.extend(rows[of_row == b] for b in range(int(of_row.max()) + 1))
    return out


def update(previous: Grouping, corpus: Corpus) -> Grouping:
    """The grouping of `corpus` (the same period at a later data version) from `previous`: only the blocks holding
    a new, gone or changed message, or a message with a term that entered or left the vocabulary, are grouped
    again; the result equals group(corpus, previous.weights) (every block's issues depend only on its messages, the
    weights and which of their terms are in the vocabulary)."""
    old, edit = previous.keys, corpus.edit
    if edit is not None and previous.corpus is not None and edit.base is previous.corpus:
        # made from the corpus grouped: only the rows it replaced are compared (and their blocks read)
        middle = _keys(corpus.frame.iloc[edit.lo : edit.lo + len(edit.source)])
        blocks = old.blocks[: edit.lo] + middle.blocks + old.blocks[edit.hi :]
        new = Keys(pd.Index(corpus.frame["message_id"]), corpus.frame["mark"].to_numpy(), blocks)
        same, added, gone = edit.same(), edit.added(), edit.gone()
    else:
        new = _keys(corpus.frame)
        same = old.ids.get_indexer(new.ids)
        same[(same >= 0) & (old.marks[np.maximum(same, 0)] != new.marks)] = -1
        added = np.flatnonzero(same < 0)
        gone = np.setdiff1d(np.arange(len(old.ids)), same[same >= 0])
    # features of the rows the update looks at only (a cold grouping of a coded corpus has none made)
    lost = _features_at(previous.corpus, gone)
    fresh = _features_at(corpus, added)
    with previous.lock:
        if previous.spent:  # another update took its counts: group whole
            return group(corpus, previous.weights, previous.min_members)
        previous.spent = True
    df = previous.df  # updated in place (a copy of a month's terms costs more than the rest): `previous` is spent
    before = {}
    for d in lost:
        for t in set(d):
            before.setdefault(t, df[t])
            df[t] -= 1
    for d in fresh:
        for t in set(d):
            before.setdefault(t, df[t])
            df[t] += 1
    crossed = {t for t, c in before.items() if (c >= 2) != (df[t] >= 2)}
    for t in [t for t, c in df.items() if c <= 0] if gone.size else ():
        del df[t]
    dirty = {old.blocks[k] for k in gone.tolist()} | {new.blocks[k] for k in added.tolist()}
    # the rows whose vectors are new or changed: the new ones, and the earlier ones holding a term that entered or
    # left the vocabulary; the others keep their linked pairs with each other
    stale = same < 0
    if crossed:
        holding = _holding(corpus, crossed)
        stale |= holding
        dirty |= {new.blocks[k] for k in np.flatnonzero(holding).tolist()}
    issues = {b: found for b, found in previous.issues.items() if b not in dirty}
    rows = np.flatnonzero(np.fromiter(map(dirty.__contains__, new.blocks), bool, len(new.blocks)))
    edges: list = []
    # the earlier pairs at the rows they moved to, both rows unchanged
    moved = np.full(len(old.ids), -1, np.int64)
    moved[same[same >= 0]] = np.flatnonzero(same >= 0)
    first, second = previous.edges
    i, j = moved[first], moved[second]
    del first, second
    keep = (i >= 0) & (j >= 0)
    i, j = i[keep], j[keep]
    keep = ~stale[i] & ~stale[j]
    edges.append((i[keep], j[keep]))
    docs = _features_at(corpus, rows)
    issues.update(_extend(corpus, docs, rows, stale, df, previous.weights, previous.min_members, edges))
    return Grouping(previous.weights, previous.min_members, new, None, df, issues, corpus, Links.of(_joined(edges)))


def _features_at(corpus: Corpus, rows: np.ndarray) -> list[list[str]]:
    """features of the corpus's rows `rows` (its words made for these rows only)."""
    if not len(rows):
        return []
    return features(Corpus(corpus.frame.iloc[rows], corpus.words_at(rows)))


def _holding(corpus: Corpus, terms: set[str]) -> np.ndarray:
    """Per row of the corpus: whether its features hold any of `terms` (its words, or its place terms as
    place_terms makes them: "@" and a place it mentions or its location)."""
    out = corpus.holding(terms)
    places = {t[1:] for t in terms if t.startswith("@")}
    if places:
        frame = corpus.frame
        out |= np.fromiter((not places.isdisjoint(m) for m in frame["mentions"].tolist()), bool, len(frame))
        location = frame["location"]
        out |= (location != "").to_numpy(bool) & location.str.strip().isin(places).to_numpy(bool)
    return out


def _joined(edges: list) -> tuple[np.ndarray, np.ndarray]:
    """The pairs of `edges` in one pair of arrays, as int32 (rows of one corpus): a grouping keeps them, and a 50 M
    board's week held 13 million pairs (0.2 GB as int64)."""
    if not edges:
        return np.zeros(0, np.int32), np.zeros(0, np.int32)
    return tuple(np.concatenate([e[k] for e in edges], dtype=np.int32, casting="same_kind") for k in (0, 1))


def _extend(corpus: Corpus, docs, rows: np.ndarray, stale: np.ndarray, df: Counter, weights, min_members, edges):
    """{block: issues} of the blocks of `rows` (whole blocks; `docs`: their features) linked again: the pairs of
    `edges` (rows unchanged,
    kept) joined by the pairs of the rows `stale` (new, or their vector changed), then tightened as `_group_rows`
    does. The same pairs and floats as a whole block's grouping: a pair's cosine is the product accumulated over
    the earlier row's columns, as in similar_pairs. The rows' new pairs are added to `edges`."""
    if not len(rows):
        return {}
    frame = corpus.frame.iloc[rows].reset_index(drop=True)
    names = _block_names(frame)
    out: dict[tuple, list[dict]] = {b: [] for b in names}
    built = _matrix(docs, df, weights)
    if built is None:
        return out
    matrix, terms = built
    fresh, kept = np.flatnonzero(stale[rows]), np.flatnonzero(~stale[rows])
    shifted = _block_columns(frame, matrix)
    pairs_rows, pairs_cols = [np.zeros(0, np.int64)], [np.zeros(0, np.int64)]
    for left, right in ((fresh, None), (kept, fresh)):
        if not len(left) or (right is not None and not len(right)):
            continue
        sims = (shifted[left] @ (shifted if right is None else shifted[right]).T).tocoo()
        i = left[sims.row]
        j = sims.col.astype(np.int64) if right is None else right[sims.col]
        keep = (sims.data >= LINK_COSINE) & (i < j)  # a pair is the earlier row's product, as in similar_pairs
        pairs_rows.append(i[keep])
        pairs_cols.append(j[keep])
    i, j = linked_pairs(frame, np.concatenate(pairs_rows), np.concatenate(pairs_cols))
    edges.append((rows[i], rows[j]))
    # the kept pairs of these rows, at their place among them
    local = np.full(len(stale), -1, np.int64)
    local[rows] = np.arange(len(rows))
    a, b = _joined(edges[:-1])
    inside = local[a] >= 0
    linked = _components(len(rows), np.concatenate([i, local[a[inside]]]), np.concatenate([j, local[b[inside]]]))
    return _described(frame, names, matrix, terms, _labels(frame, matrix, min_members, linked), out)


def _block_columns(frame: pd.DataFrame, matrix):
    """The matrix with each term made block-specific (its column moved by block x vocabulary size): a product of
    its rows holds only pairs of one block."""
    n, width = matrix.shape
    block = blocks(frame)
    csr = matrix.tocsr()
    per_row = np.diff(csr.indptr)
    return csr_matrix(
        (csr.data, block.astype(np.int64).repeat(per_row) * width + csr.indices, csr.indptr),
        shape=(n, (int(block.max()) + 1) * width),
    )


def _keys(frame: pd.DataFrame) -> Keys:
    return Keys(pd.Index(frame["message_id"]), frame["mark"].to_numpy(), _block_names(frame))


def _block_names(frame: pd.DataFrame) -> list[tuple]:
    """Each row's block (province, city, district) as one tuple per block, shared by its rows (a year's rows would
    each hold their own: about 150 MB)."""
    codes = frame.groupby(_BLOCK, sort=False, dropna=False).ngroup().to_numpy()
    first = np.unique(codes, return_index=True)[1]  # a row of each block, in the order of the codes
    names = list(zip(*(frame[c].iloc[first].tolist() for c in _BLOCK), strict=True))
    return [names[k] for k in codes.tolist()]


def document_frequency(docs: list[list[str]]) -> Counter:
    """Messages holding each term (one counting pass in C over each message's distinct terms)."""
    return Counter(chain.from_iterable(map(set, docs)))


def _matrix(docs: list[list[str]], df: Counter, weights: Weights):
    """(row-normalised TF-IDF matrix, its terms) of the documents: the terms of two or more messages of the period
    (`df`), in term order; sublinear tf (1 + ln count) times the weights' idf. None without vocabulary."""
    vocabulary = sorted(t for t in set(chain.from_iterable(docs)) if df[t] >= 2)
    if not vocabulary:
        return None
    column = {t: k for k, t in enumerate(vocabulary)}
    lengths = np.fromiter(map(len, docs), np.int64, len(docs))
    cols = np.fromiter(map(column.get, chain.from_iterable(docs), repeat(-1)), np.int64, int(lengths.sum()))
    rows = np.repeat(np.arange(len(docs)), lengths)
    terms = np.asarray(vocabulary, dtype=object)
    return _weighted(len(docs), rows, cols, terms, weights.of(terms))


@dataclass(frozen=True)
class _CodedColumns:
    """The features of a coded corpus (its words' codes, corpus.coded, and its place terms, twice) as the columns of
    the period's vocabulary (the terms of two or more messages, in term order; -1: out of it): _matrix of any of its
    rows without a pass over a million strings."""

    terms: np.ndarray  # the vocabulary
    idf: np.ndarray  # per term: its weight
    of_code: np.ndarray  # per word code: its column
    column: dict[str, int]  # per term of the vocabulary: its column

    @classmethod
    def of(cls, coded, df: Counter, weights: Weights) -> _CodedColumns | None:
        # the terms df counts are those of the words and place terms the rows hold
        vocabulary = sorted(t for t, n in df.items() if n >= 2)
        if not vocabulary:
            return None
        column = {t: k for k, t in enumerate(vocabulary)}
        terms = np.asarray(vocabulary, dtype=object)
        # 32-bit positions: a year holds about 15 million occurrences
        of_code = np.fromiter(map(column.get, coded.vocab, repeat(-1)), np.int32, len(coded.vocab))
        return cls(terms, weights.of(terms), of_code, column)

    def matrix(self, coded, rows: np.ndarray, tags: list[tuple[str, ...]]):
        """(row-normalised TF-IDF matrix, terms) of the rows `rows` (ordered; `tags`: their place terms), as _matrix
        makes it."""
        words, word_counts = segments(coded.ends, rows)
        place_counts = np.fromiter(map(len, tags), np.int64, len(tags))
        places = np.fromiter(
            map(self.column.get, chain.from_iterable(tags), repeat(-1)), np.int32, int(place_counts.sum())
        )
        local = np.arange(len(rows), dtype=np.int32)
        at = np.concatenate([local.repeat(word_counts), local.repeat(place_counts), local.repeat(place_counts)])
        cols = np.concatenate([self.of_code[coded.codes[words]], places, places])
        return _weighted(len(rows), at, cols, self.terms, self.idf)


def _weighted(n: int, rows: np.ndarray, cols: np.ndarray, terms: np.ndarray, idf: np.ndarray):
    """The row-normalised TF-IDF matrix of the (row, column) occurrences (column -1: a term out of the vocabulary
    `terms`, whose weights are `idf`), and its terms."""
    inside = cols >= 0
    ones = np.ones(int(inside.sum()), np.int32)  # counts are whole numbers: the log below is taken in float64
    counts = csr_matrix((ones, (rows[inside], cols[inside])), shape=(n, len(terms)))
    counts.sum_duplicates()  # sorted columns per row, duplicates summed: the same floats however docs are batched
    counts.data = (1 + np.log(counts.data)) * idf[counts.indices]
    # l2 norm per row, each row's squares summed in column order (bincount adds in input order)
    row_of = np.repeat(np.arange(n), np.diff(counts.indptr))
    norms = np.sqrt(np.bincount(row_of, weights=counts.data * counts.data, minlength=n))
    counts.data /= norms[row_of]
    return counts, terms


def _group_rows(
    corpus: Corpus,
    docs,
    rows: np.ndarray,
    df: Counter,
    weights: Weights,
    min_members: int,
    built=None,
    edges: list | None = None,
) -> dict:
    """{block: issues} of the blocks of `rows` (whole blocks, ordered), grouped with the period's vocabulary (terms
    of two or more messages, columns in term order) and `weights`; `built`: their (matrix, terms) when made already
    (_CodedColumns), else made of `docs`; the linked pairs (as corpus rows) are added to `edges` when given."""
    if not len(rows):
        return {}
    whole = len(rows) == len(corpus)  # rows are distinct and ordered: all of them
    frame = corpus.frame if whole else corpus.frame.iloc[rows].reset_index(drop=True)
    names = _block_names(frame)
    out: dict[tuple, list[dict]] = {b: [] for b in names}
    if built is None and docs is not None:
        built = _matrix([docs[k] for k in rows.tolist()], df, weights)
    if built is None:
        return out
    matrix, terms = built
    i, j = _linked(frame, matrix)
    linked = _components(len(frame), i, j)
    if edges is not None:
        # as rows of the corpus (int32: a grouping keeps them), in place a million at a time (not a second copy)
        at = rows.astype(np.int32)
        for pairs in (i, j):
            for lo in range(0, len(pairs), PAIRS_AT_ONCE):
                pairs[lo : lo + PAIRS_AT_ONCE] = at[pairs[lo : lo + PAIRS_AT_ONCE]]
        edges.append((i, j))
    return _described(frame, names, matrix, terms, _labels(frame, matrix, min_members, linked), out)


def _described(frame: pd.DataFrame, names: list[tuple], matrix, terms, labels: np.ndarray, out: dict) -> dict:
    """`out` ({block: []} of the frame's blocks, `names`: each row's) with the issue of each label >= 0 described in
    its block."""
    inside = np.flatnonzero(labels >= 0)
    order = inside[np.argsort(labels[inside], kind="stable")]
    bounds = np.flatnonzero(np.diff(labels[order])) + 1
    # the figures of the members only (a year's columns as Python objects would take about 0.5 GB)
    cols, members_matrix = _columns(frame.iloc[order]), matrix[order]
    for members in np.split(np.arange(len(order)), bounds) if len(order) else []:
        issue = describe(cols, members, members_matrix, terms)
        out[names[int(order[members[0]])]].append(issue)
    return out
