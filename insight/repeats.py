"""Repeat complaints (重复诉求): a message restating an earlier one from the same place about the same problem.

Method. Candidate pairs come from MinHash LSH (datasketch) over character 2-grams of title and body start: a
restatement re-uses the writer's own details (the address, the building, the amounts, the dates), so its
character shingles overlap the earlier message's far more than a different problem's do, however it is
reworded. A candidate is a repeat when the two messages are from the same province, city and district, name the same
place (or at most one names one), the later one comes within WINDOW_DAYS of the earlier, and the cosine of
their TF-IDF word vectors is at least MIN_COSINE. One more condition tells a restatement from other people
reporting the same problem: neither message may have more than MAX_CROWD other messages of its city at
cosine CROWD_COSINE or more (a hot issue is a crowd of alike messages; a person's restatement is alike mainly
to its own earlier message). Pairs are joined into groups (connected components); every member after a
group's first is a repeat.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
from datasketch import MinHash, MinHashLSH
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from insight.corpus import Corpus
from insight.issues import features, place_sets, places_agree, vectors

WINDOW_DAYS = 30
LSH_THRESHOLD = 0.15
NUM_PERM = 128
MIN_COSINE = 0.55
CROWD_COSINE = 0.35
MAX_CROWD = 1
SHINGLE_CHARS = 2
TEXT_CHARS = 200


def shingles(text: str, k: int = SHINGLE_CHARS) -> set[bytes]:
    cleaned = "".join(ch for ch in text if ch.isalnum())
    return {cleaned[i : i + k].encode("utf-8") for i in range(max(0, len(cleaned) - k + 1))}


def candidate_pairs(texts: list[str], blocks: list[tuple]) -> set[tuple[int, int]]:
    """Index pairs (i < j) of messages of one block whose shingle sets look alike to the LSH."""
    pairs: set[tuple[int, int]] = set()
    by_block: dict[tuple, list[int]] = {}
    for i, block in enumerate(blocks):
        by_block.setdefault(block, []).append(i)
    for members in by_block.values():
        if len(members) < 2:
            continue
        lsh = MinHashLSH(threshold=LSH_THRESHOLD, num_perm=NUM_PERM)
        for i in members:
            sketch = MinHash(num_perm=NUM_PERM, seed=7)
            grams = shingles(texts[i])
            if not grams:
                continue
            sketch.update_batch(list(grams))
            for j in lsh.query(sketch):
                pairs.add((j, i) if j < i else (i, j))
            lsh.insert(i, sketch)
    return pairs


def _crowds(nodes: set[int], blocks: list[tuple], matrix) -> dict[int, int]:
    """For each node, how many other messages of its block are at least CROWD_COSINE similar to it."""
    by_block: dict[tuple, list[int]] = {}
    for i, block in enumerate(blocks):
        by_block.setdefault(block, []).append(i)
    out = {}
    for i in nodes:
        members = by_block[blocks[i]]
        sims = (matrix[i] @ matrix[members].T).toarray().ravel()
        out[i] = int((sims >= CROWD_COSINE).sum()) - 1
    return out


def find(corpus: Corpus, start: dt.date, end: dt.date) -> dict:
    """Repeat groups touching start..end (the corpus also holds the WINDOW_DAYS before start) and the rate."""
    frame = corpus.frame
    in_period = ((frame["day"] >= pd.Timestamp(start)) & (frame["day"] <= pd.Timestamp(end))).to_numpy()
    texts = [f"{t}{c[:TEXT_CHARS]}" for t, c in zip(frame["title"], frame["content"], strict=True)]
    blocks = list(zip(frame["province"], frame["city"], frame["district"], strict=True))
    pairs = candidate_pairs(texts, blocks)
    built = vectors(features(corpus), min_df=1) if pairs else None
    rows, cols = [], []
    if built is not None:
        matrix = built[0]
        created = frame["created_at"].to_numpy()
        places = place_sets(frame)
        window = np.timedelta64(WINDOW_DAYS, "D")
        close = []
        for i, j in sorted(pairs):
            if not places_agree(places[i], places[j]):
                continue
            if abs(created[j] - created[i]) > window or created[i] == created[j]:
                continue
            if float(matrix[i].multiply(matrix[j]).sum()) >= MIN_COSINE:
                close.append((i, j))
        crowd = _crowds({k for pair in close for k in pair}, blocks, matrix)
        for i, j in close:
            if crowd[i] <= MAX_CROWD and crowd[j] <= MAX_CROWD:
                rows.append(i)
                cols.append(j)
    n = len(frame)
    graph = coo_matrix((np.ones(len(rows), dtype=np.int8), (rows, cols)), shape=(n, n))
    labels = connected_components(graph, directed=False)[1] if n else np.array([], dtype=np.int64)
    groups, repeats_in_period = [], np.zeros(n, dtype=bool)
    order = np.argsort(labels, kind="stable")
    bounds = np.flatnonzero(np.diff(labels[order])) + 1
    for members in np.split(order, bounds) if n else []:
        if len(members) < 2:
            continue
        members = members[
            np.lexsort((frame["message_id"].to_numpy()[members], frame["created_at"].to_numpy()[members]))
        ]
        if not in_period[members].any():
            continue
        repeats_in_period[members[1:]] = in_period[members[1:]]
        first = frame.iloc[members[0]]
        second_at = frame["created_at"].iloc[members[1]]
        groups.append(
            {
                "message_ids": frame["message_id"].iloc[members].tolist(),
                "first": pd.Timestamp(first["created_at"]).date().isoformat(),
                "last": pd.Timestamp(frame["created_at"].iloc[members[-1]]).date().isoformat(),
                "province": first["province_name"],
                "province_code": int(first["province"]),
                "city": first["city"],
                "category": first["category"],
                "replied_before_repeat": bool(
                    pd.notna(first["first_reply_at"]) and first["first_reply_at"] < second_at
                ),
            }
        )
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
