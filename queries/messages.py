"""Messages with their text for reading and search (the API's /messages), masked as they leave the server.

Search: `q` is split at whitespace; every word must occur in the title or the body, case-insensitive
(substring match, so Chinese words match without a word splitter). Text is masked by queries.masking.
"""

from __future__ import annotations

import pandas as pd

from queries import provinces as province_ref
from queries.db import Store
from queries.masking import mask_text
from queries.periods import Filters
from queries.sql import text

TITLE_LIMIT = 200
CONTENT_LIMIT = 10_000
UNIT_LIMIT = 60
COMMENT_LIMIT = 2_000
LIST_COLUMNS = [
    "message_id",
    "created_at",
    "province",
    "province_name",
    "city",
    "district",
    "category",
    "msg_type",
    "title",
    "content",
    "likes",
    "status",
    "first_reply_at",
]


def terms(q: str | None) -> list[str]:
    """The search words of `q`: whitespace-separated, lower-case, duplicates dropped."""
    return list(dict.fromkeys(w.lower() for w in (q or "").split()))


def search(store: Store, f: Filters, words: tuple[str, ...], limit: int, offset: int) -> tuple[pd.DataFrame, int]:
    """The page of messages matching `f` and every word (newest first) and the number of all matches."""
    p = f.params()
    window = {k: p[k] for k in ("start", "stop", "provinces", "categories", "types", "urgent_only")}
    if words:
        window["terms"] = [w for w in words if w == w.upper()]  # no letter with case: matched as given
        window["cased"] = [w for w in words if w != w.upper()]
        frame = store.df(text("messages", "search"), dict(window, limit=limit, offset=offset))
        total_query = "search_total"
    else:
        frame = store.df(text("messages", "page"), dict(window, limit=limit, offset=offset))
        total_query = "page_total"
    total = int(frame["total"].iloc[0]) if len(frame) else int(store.scalar(text("messages", total_query), window))
    return _shown(frame)[LIST_COLUMNS], total


def by_ids(store: Store, f: Filters, ids: tuple[str, ...]) -> pd.DataFrame:
    """The messages among `ids` that match `f` (oldest first), masked: the members of an insight group, read
    through the filters so that a scoped reader sees only those of its own province."""
    p = f.params()
    window = {k: p[k] for k in ("start", "stop", "provinces", "categories", "types", "urgent_only")}
    frame = store.df(text("messages", "by_ids"), dict(window, ids=list(ids)))
    return _shown(frame)[LIST_COLUMNS]


def detail(store: Store, message_id: str) -> dict | None:
    """One message (the list's fields, its replies, its evaluation), masked; None when unknown."""
    frame = store.df(text("messages", "message"), {"id": message_id})
    if frame.empty:
        return None
    row = frame.iloc[0]
    shown = _shown(frame).iloc[0]
    result = {c: shown[c] for c in LIST_COLUMNS}
    result["location"] = mask_text(row["location"], 100) or None
    replies = store.df(text("messages", "replies"), {"id": message_id, "created_at": row["created_at"]})
    result["replies"] = [
        {
            "content": mask_text(r.content, CONTENT_LIMIT),
            "unit": mask_text(r.unit, UNIT_LIMIT),
            "replied_at": r.replied_at,
        }
        for r in replies.itertuples(index=False)
    ]
    if pd.isna(row["rated_at"]):
        result["evaluation"] = None
    else:
        result["evaluation"] = {
            "rated_at": row["rated_at"],
            "satisfied": None if pd.isna(row["satisfied"]) else bool(row["satisfied"]),
            "score_resolution": row["score_resolution"],
            "score_attitude": row["score_attitude"],
            "score_speed": row["score_speed"],
            "comment": mask_text(row["comment"], COMMENT_LIMIT),
        }
    return result


def _shown(frame: pd.DataFrame) -> pd.DataFrame:
    frame = frame.copy()
    frame["title"] = [mask_text(t, TITLE_LIMIT) for t in frame["title"].tolist()]
    frame["content"] = [mask_text(t, CONTENT_LIMIT) for t in frame["content"].tolist()]
    frame["province_name"] = [province_ref.names().get(int(p)) for p in frame["province"].tolist()]
    frame["likes"] = frame["likes"].astype("int64")
    return frame
