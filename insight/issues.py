"""Hot issues (热点问题): groups of messages about the same problem at the same place.

Method. Each message is a TF-IDF vector (scikit-learn, sublinear tf) of its topic words plus the named places it
mentions (the community, company, school or road, counted twice: the place is half of "the same problem at the
same place"). Messages are compared only within their province, city and district (blocking keeps the work
near linear: about 2,800 districts), linked when their cosine similarity is at least LINK_COSINE, they are at most
MAX_GAP_DAYS apart and the places they name agree (two different named places never link); the linked components
are tightened (members whose cosine to their group's centroid is under CENTROID_COSINE leave it, so that a chain
of weak links is not taken for one problem) and those of at least MIN_MEMBERS messages are the issues.

Heat index (documented in the README), after the 2020 Teddy Cup 智慧政务 task (how many, how long, how fast,
how strongly supported):
    heat = 10·ln(1 + n) + 3·ln(1 + likes) + 5·ln(1 + n / span_days) + 5·growth
n: messages; likes: their support count; span_days: last − first day + 1; growth: ln((1 + last 7 days' messages)
/ (1 + the 7 days before)), clipped to 0..3 (a problem still gathering messages ranks above one that has faded).
"""

from __future__ import annotations

import math
from collections import Counter

import numpy as np
import pandas as pd
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from sklearn.feature_extraction.text import TfidfVectorizer

from insight.corpus import Corpus
from queries.masking import mask_text

LINK_COSINE = 0.3
CENTROID_COSINE = 0.3
MAX_GAP_DAYS = 45
MIN_MEMBERS = 3
MAX_MEMBER_IDS = 1000
KEYWORDS = 5
_CHUNK = 2000


def _identity(doc):
    return doc


def features(corpus: Corpus) -> list[list[str]]:
    """Words plus the mentioned places (twice), per message."""
    out = []
    for words, mentions, location in zip(corpus.words, corpus.frame["mentions"], corpus.frame["location"], strict=True):
        places = set(mentions)
        if location:
            places.add(location.strip())
        out.append(list(words) + [f"@{p}" for p in places] * 2)
    return out


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
    n = len(frame)
    rows_all, cols_all = [], []
    days = frame["day"].to_numpy().astype("datetime64[D]").astype("int64")
    places = place_sets(frame)
    for _, block in frame.groupby(["province", "city", "district"], sort=False).indices.items():
        if len(block) < 2:
            continue
        sub = matrix[block]
        for lo in range(0, len(block), _CHUNK):
            sims = (sub[lo : lo + _CHUNK] @ sub.T).tocoo()
            keep = sims.data >= min_cosine
            i = block[sims.row[keep] + lo]
            j = block[sims.col[keep]]
            upper = i < j
            i, j = i[upper], j[upper]
            keep = np.abs(days[i] - days[j]) <= max_gap_days
            i, j = i[keep], j[keep]
            keep = np.fromiter((places_agree(places[a], places[b]) for a, b in zip(i, j, strict=True)), bool, len(i))
            rows_all.append(i[keep])
            cols_all.append(j[keep])
    if rows_all:
        rows, cols = np.concatenate(rows_all), np.concatenate(cols_all)
    else:
        rows = cols = np.array([], dtype=np.int64)
    graph = coo_matrix((np.ones(len(rows), dtype=np.int8), (rows, cols)), shape=(n, n))
    return connected_components(graph, directed=False)[1]


def place_sets(frame: pd.DataFrame) -> list[tuple[str, frozenset[str]]]:
    """The place each message names: its district and its location field, else the places its text mentions."""
    return [
        (district, frozenset([location.strip()]) if location.strip() else frozenset(mentions))
        for district, location, mentions in zip(frame["district"], frame["location"], frame["mentions"], strict=True)
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


def tighten(labels: np.ndarray, matrix, min_members: int, min_cosine: float = CENTROID_COSINE) -> np.ndarray:
    """Detach from each group the members far from its centroid (a chain of weak links is not one problem)."""
    labels = labels.copy()
    order = np.argsort(labels, kind="stable")
    bounds = np.flatnonzero(np.diff(labels[order])) + 1
    next_label = labels.max() + 1 if len(labels) else 0
    for members in np.split(order, bounds):
        if len(members) < min_members:
            continue
        sub = matrix[members]
        centroid = np.asarray(sub.mean(axis=0)).ravel()
        norm = np.linalg.norm(centroid)
        if not norm:
            continue
        far = members[np.asarray(sub @ (centroid / norm)).ravel() < min_cosine]
        labels[far] = np.arange(next_label, next_label + len(far))
        next_label += len(far)
    return labels


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
    sub = matrix[members]
    centroid = np.asarray(sub.mean(axis=0)).ravel()
    representative = members[int(np.argmax(sub @ centroid))]
    top = np.argsort(-centroid)[: 3 * KEYWORDS]
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
    TF-IDF matrix and its terms; None when the corpus has no vocabulary."""
    built = vectors(features(corpus))
    if built is None:
        return None
    matrix, terms = built
    labels = tighten(link(corpus.frame, matrix), matrix, min_members)
    sizes = np.bincount(labels)
    return np.where(sizes[labels] >= min_members, labels, -1), matrix, terms


def hot_issues(corpus: Corpus, min_members: int = MIN_MEMBERS) -> list[dict]:
    """Every issue of the corpus with at least `min_members` messages, hottest first."""
    found = issue_labels(corpus, min_members)
    if found is None:
        return []
    labels, matrix, terms = found
    inside = np.flatnonzero(labels >= 0)
    order = inside[np.argsort(labels[inside], kind="stable")]
    bounds = np.flatnonzero(np.diff(labels[order])) + 1
    cols = _columns(corpus.frame)
    issues = [describe(cols, members, matrix, terms) for members in np.split(order, bounds) if len(members)]
    issues.sort(key=lambda i: (-i["heat"], i["id"]))
    return issues
