"""Good ideas (金点子): 建言 messages ranked by likes and by how many others say the same, and those adopted.

"Others say the same": other 建言 of the period from the same province, city and domain whose title and start of
body share at least `SIMILAR` of their character bigrams (Jaccard), or that name the same location. Adopted: one
of its replies says the idea was taken up (supervision/rules.py ADOPTED: 采纳, 采用, 吸纳, 纳入规划/计划 ...).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from queries.db import Store
from queries.masking import mask_text
from queries.periods import Filters
from supervision import rules
from supervision.common import province_names, sql, window

SIMILAR = 0.4
BODY_CHARS = 80
COLUMNS = ["message_id", "created_at", "province", "province_name", "city", "category", "title", "likes"]
COLUMNS += ["similar", "adopted", "unit"]


def _similar_counts(frame: pd.DataFrame) -> list[int]:
    """For each suggestion, how many others in its (province, city, domain) group are similar or name its place.

    Bigram sets become rows of a 0/1 matrix per group, so every pair's intersection is one matrix product."""
    grams = [rules.bigrams(f"{t} {str(b)[:BODY_CHARS]}") for t, b in zip(frame["title"], frame["body"], strict=True)]
    places = frame["location"].to_numpy()
    counts = np.zeros(len(frame), dtype=np.int64)
    groups = frame.groupby(["province", frame["city"].fillna(""), "category"]).indices
    for rows in groups.values():
        if len(rows) < 2:
            continue
        vocab: dict[str, int] = {}
        cells = [(r, vocab.setdefault(g, len(vocab))) for r, i in enumerate(rows) for g in grams[i]]
        matrix = np.zeros((len(rows), max(1, len(vocab))), dtype=np.float32)
        if cells:
            r_idx, c_idx = zip(*cells, strict=True)
            matrix[list(r_idx), list(c_idx)] = 1.0
        inter = matrix @ matrix.T
        sizes = matrix.sum(axis=1)
        union = sizes[:, None] + sizes[None, :] - inter
        with np.errstate(invalid="ignore", divide="ignore"):
            similar = np.where(union > 0, inter / union, 0.0) >= SIMILAR
        place = places[rows]
        same_place = (place[:, None] == place[None, :]) & (place[:, None] != "")
        hit = similar | same_place
        np.fill_diagonal(hit, False)
        counts[rows] = hit.sum(axis=1)
    return counts.tolist()


def ideas(store: Store, f: Filters) -> pd.DataFrame:
    frame = store.df(sql("suggestions"), window(f))
    if frame.empty:
        return pd.DataFrame(columns=COLUMNS)
    frame["location"] = [rules.han(x) for x in frame["location"]]
    frame["similar"] = _similar_counts(frame)
    frame["adopted"] = [rules.is_adopted(r) for r in frame["replies"]]
    frame["likes"] = frame["likes"].astype("int64")
    frame["province_name"] = province_names(frame["province"])
    frame["title"] = [mask_text(t, 60) for t in frame["title"]]
    frame["unit"] = [mask_text(u, 60) if isinstance(u, str) else None for u in frame["unit"]]
    frame["city"] = frame["city"].fillna("")
    return frame[COLUMNS]


def report(store: Store, f: Filters, limit: int = 20) -> dict:
    frame = ideas(store, f)
    by_likes = frame.sort_values(["likes", "similar", "created_at"], ascending=[False, False, True])
    by_similar = frame.sort_values(["similar", "likes", "created_at"], ascending=[False, False, True])
    adopted = frame[frame["adopted"].astype(bool)].sort_values(["likes", "created_at"], ascending=[False, True])
    return {
        "suggestions": len(frame),
        "adopted_count": int(frame["adopted"].sum()) if len(frame) else 0,
        "by_likes": by_likes.head(limit).reset_index(drop=True),
        "by_similar": by_similar.head(limit).reset_index(drop=True),
        "adopted": adopted.head(limit).reset_index(drop=True),
    }
