"""One unit's page: monthly trend, domains, its slowest answers and its lowest-rated ones (masked text)."""

from __future__ import annotations

import pandas as pd

from queries.db import Store
from queries.masking import mask_text
from queries.periods import Filters
from supervision.common import rate, sql, window

TITLE_LIMIT = 60
COMMENT_LIMIT = 120


def detail(store: Store, f: Filters, unit: str, province: int, on_time_days: int = 15, limit: int = 20) -> dict:
    frame = store.df(sql("unit_messages"), dict(window(f), unit=unit, province=int(province)))
    frame["on_time"] = frame["reply_hours"] <= on_time_days * 24.0
    frame["title"] = [mask_text(t, TITLE_LIMIT) for t in frame["title"]]
    frame["comment"] = [mask_text(c, COMMENT_LIMIT) for c in frame["comment"]]
    month = pd.to_datetime(frame["first_reply_at"]).dt.strftime("%Y-%m")
    trend = (
        frame.assign(month=month)
        .groupby("month")
        .agg(answered=("message_id", "size"), on_time=("on_time", "sum"), median_reply_hours=("reply_hours", "median"))
    )
    trend["on_time_rate"] = rate(trend["on_time"], trend["answered"])
    domains = frame.groupby("category").agg(
        answered=("message_id", "size"), on_time=("on_time", "sum"), median_reply_hours=("reply_hours", "median")
    )
    domains["on_time_rate"] = rate(domains["on_time"], domains["answered"])
    columns = ["message_id", "created_at", "first_reply_at", "category", "title", "reply_hours"]
    slowest = frame.sort_values(["reply_hours", "message_id"], ascending=[False, True]).head(limit)[columns]
    rated = frame[frame["verdict"].notna() | frame["lowest_score"].notna()]
    low = rated[(rated["verdict"] == False) | (rated["lowest_score"] <= 2)]  # noqa: E712 (nullable)
    low = low.sort_values(["lowest_score", "rated_at"], ascending=[True, False], na_position="last").head(limit)
    return {
        "unit": mask_text(unit, 60),
        "province": int(province),
        "answered": len(frame),
        "trend": trend.reset_index(),
        "domains": domains.reset_index().sort_values("answered", ascending=False),
        "slowest": slowest.reset_index(drop=True),
        "lowest_rated": low[columns + ["rated_at", "lowest_score", "comment"]].reset_index(drop=True),
    }
