"""Good ideas (金点子): 建言 messages ranked by likes and by how many others say the same, and those adopted.

"Others say the same": other 建言 of the period from the same province, city and domain whose title and start of
body share at least `SIMILAR` of their character bigrams (Jaccard), or that name the same location. Adopted: one
of its replies says the idea was taken up (supervision/rules.py ADOPTED: 采纳, 采用, 吸纳, 纳入规划/计划 ...).
"""

from __future__ import annotations

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
    grams = [rules.bigrams(f"{t} {str(b)[:BODY_CHARS]}") for t, b in zip(frame["title"], frame["body"], strict=True)]
    counts = [0] * len(frame)
    groups = frame.groupby(["province", frame["city"].fillna(""), "category"]).indices
    for rows in groups.values():
        for i_pos, i in enumerate(rows):
            for j in rows[i_pos + 1 :]:
                a, b = grams[i], grams[j]
                same = bool(a and b) and len(a & b) / len(a | b) >= SIMILAR
                place = frame["location"].iat[i]
                if same or (place and place == frame["location"].iat[j]):
                    counts[i] += 1
                    counts[j] += 1
    return counts


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
