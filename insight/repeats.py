"""Repeat complaints (重复诉求): a message restating an earlier one from the same place about the same problem.

Method. Each message is a TF-IDF vector (every word kept, so that what one message alone says lowers its
similarity to others) of its *problem words*: its words without its own place's name (its location, else the
first place its text names, and any word inside it: two messages about one community share its name whatever
their problem), with the words of its title counted TITLE_WEIGHT more times (a title states the problem; bodies
share much everyday wording). Only the own place is taken out: the other places a text seems to name are read by
a pattern (insight/places.py) that also catches problem words ending like a place (老旧小区, 城中村, 公交线路,
广场舞), and taking their words out left two statements of one problem little in common. Messages are compared
within their province, city and district only. A later message restates an earlier one when, among the earlier
messages of its district in the WINDOW_DAYS before it whose places agree with its own (issues.places_agree), that
one is its most similar, and the cosine is at least MIN_COSINE_NAMED when both name a place (the place already
agrees) or MIN_COSINE otherwise. One more condition tells a restatement from other people reporting the same
problem: the two must not be members of one hot issue (issues.issue_labels) of CROWD_MEMBERS messages or more (a
crowd of alike messages is a hot issue; a person's restatement with one loosely related message is not). Pairs
are joined into groups (connected components); every member after a group's first is a repeat.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from insight.corpus import Corpus
from insight.issues import issue_labels, place_sets, places_agree, vectors

WINDOW_DAYS = 30
TITLE_WEIGHT = 2
MIN_COSINE_NAMED = 0.5
MIN_COSINE = 0.4
CHUNK = 512  # later messages compared at once (a dense block of CHUNK x the messages of their window)
CROWD_MEMBERS = 4


def problem_words(words, title: str, place: str) -> list[str]:
    """The words saying what the problem is: none of the own place's name (nor a part of it); title words
    weighted."""
    kept = [w for w in words if not (place and w in place)]
    return kept + [w for w in kept if w in title] * TITLE_WEIGHT


def restated_pairs(frame: pd.DataFrame, matrix, crowds: np.ndarray | None = None) -> list[tuple[int, int]]:
    """(earlier, later) row pairs where the later message restates the earlier one (module docstring); `crowds`:
    each message's hot issue (-1: none)."""
    created = frame["created_at"].to_numpy()
    places = place_sets(frame)
    window = np.timedelta64(WINDOW_DAYS, "D")
    pairs = []
    for block in frame.groupby(["province", "city", "district"], sort=False).indices.values():
        if len(block) < 2:
            continue
        block = block[np.argsort(created[block], kind="stable")]
        times = created[block]
        for lo in range(0, len(block), CHUNK):
            rows = np.arange(lo, min(lo + CHUNK, len(block)))
            since = int(np.searchsorted(times, times[lo] - window, "left"))
            if since >= rows[-1]:
                continue
            sims = (matrix[block[rows]] @ matrix[block[since : rows[-1]]].T).toarray()
            for row, later in zip(sims, rows, strict=True):
                earlier = np.arange(int(np.searchsorted(times, times[later] - window, "left")), later)
                earlier = earlier[times[earlier] < times[later]]
                pair = _restated(row[earlier - since], earlier, later, block, places, crowds)
                if pair is not None:
                    pairs.append(pair)
    return pairs


def _restated(sims, earlier, later, block, places, crowds) -> tuple[int, int] | None:
    """The pair (earlier message, `later`) when `later` restates its most similar earlier message of the block."""
    for k in np.argsort(-sims, kind="stable"):
        first = earlier[k]
        if places_agree(places[block[first]], places[block[later]]):
            break
    else:
        return None
    both_named = bool(places[block[first]][1] and places[block[later]][1])
    if sims[k] < (MIN_COSINE_NAMED if both_named else MIN_COSINE):
        return None
    a, b = int(block[first]), int(block[later])
    return (a, b) if crowds is None or crowds[a] < 0 or crowds[a] != crowds[b] else None


def find(corpus: Corpus, start: dt.date, end: dt.date) -> dict:
    """Repeat groups touching start..end (the corpus also holds the WINDOW_DAYS before start) and the rate."""
    frame = corpus.frame
    in_period = ((frame["day"] >= pd.Timestamp(start)) & (frame["day"] <= pd.Timestamp(end))).to_numpy()
    docs = [
        problem_words(words, title, place)
        for words, title, place in zip(corpus.words, frame["title"], frame["place"], strict=True)
    ]
    built = vectors(docs, min_df=1)
    found = issue_labels(corpus, CROWD_MEMBERS) if built is not None else None
    crowds = found[0] if found is not None else None
    pairs = restated_pairs(frame, built[0], crowds) if built is not None else []
    n = len(frame)
    rows = [i for i, _ in pairs]
    cols = [j for _, j in pairs]
    graph = coo_matrix((np.ones(len(rows), dtype=np.int8), (rows, cols)), shape=(n, n))
    labels = connected_components(graph, directed=False)[1] if n else np.array([], dtype=np.int64)
    groups, repeats_in_period = [], np.zeros(n, dtype=bool)
    order = np.argsort(labels, kind="stable")
    bounds = np.flatnonzero(np.diff(labels[order])) + 1
    ids, created = frame["message_id"].to_numpy(), frame["created_at"].to_numpy()  # once: Arrow columns copy
    for members in np.split(order, bounds) if n else []:
        if len(members) < 2:
            continue
        members = members[np.lexsort((ids[members], created[members]))]
        if not in_period[members].any():
            continue
        repeats_in_period[members[1:]] = in_period[members[1:]]
        groups.append(_group(frame, members))
    groups.sort(key=lambda g: (g["first"], g["message_ids"][0]))
    messages = int(in_period.sum())
    provinces = (
        pd.DataFrame({"province": frame["province_name"], "repeat": repeats_in_period})[in_period]
        .groupby("province")["repeat"]
        .agg(["size", "sum"])
    )
    return {
        "messages": messages,
        "repeats": int(repeats_in_period.sum()),
        "repeat_rate": float(repeats_in_period.sum() / messages) if messages else None,
        "provinces": [
            {"province": p, "messages": int(r["size"]), "repeats": int(r["sum"]), "repeat_rate": r["sum"] / r["size"]}
            for p, r in provinces.iterrows()
        ],
        "groups": groups,
    }


def _group(frame: pd.DataFrame, members: np.ndarray) -> dict:
    first = frame.iloc[members[0]]
    second_at = frame["created_at"].iloc[members[1]]
    return {
        "message_ids": frame["message_id"].iloc[members].tolist(),
        "first": pd.Timestamp(first["created_at"]).date().isoformat(),
        "last": pd.Timestamp(frame["created_at"].iloc[members[-1]]).date().isoformat(),
        "province": first["province_name"],
        "province_code": int(first["province"]),
        "city": first["city"],
        "category": first["category"],
        "replied_before_repeat": bool(pd.notna(first["first_reply_at"]) and first["first_reply_at"] < second_at),
    }
