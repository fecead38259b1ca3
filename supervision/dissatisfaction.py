"""Dissatisfaction: low ratings and why, from the citizens' follow-up words (追评).

A rating is low when it is not satisfied or any of its three scores is at most 2. Its reasons come from the
comment's words (supervision/rules.py REASONS: not_solved, slow, attitude, not_addressed; a comment may give
several); a comment that names none takes the reason of its lowest score (resolution → not_solved, speed → slow,
attitude → attitude) when that score is at most 2, else "other".
"""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

import pandas as pd

from queries.db import Store
from queries.masking import mask_text
from queries.periods import Filters
from supervision import rules
from supervision.common import province_names, rate, sql, window

REASON_KEYS = (*rules.REASON_ORDER, "other")
POOL_DAYS = 30
TEXT_LIMIT = 120


def low_ratings(store: Store, f: Filters) -> pd.DataFrame:
    frame = store.df(sql("low_ratings"), window(f))
    scores = frame[["score_resolution", "score_attitude", "score_speed"]].astype("object")
    frame["reasons"] = [
        rules.reasons(comment, dict(zip(scores.columns, row, strict=True)))
        for comment, row in zip(frame["comment"], scores.itertuples(index=False), strict=True)
    ]
    for key in REASON_KEYS:
        frame[key] = [key in found for found in frame["reasons"]]
    return frame


def reasons(frame: pd.DataFrame) -> pd.DataFrame:
    """Low ratings per reason and their share of all low ratings (a rating may count under several)."""
    total = len(frame)
    counts = [int(frame[k].sum()) if total else 0 for k in REASON_KEYS]
    out = pd.DataFrame({"reason": REASON_KEYS, "count": counts})
    out["share"] = out["count"] / total if total else float("nan")
    return out


def by_group(frame: pd.DataFrame, key: str) -> pd.DataFrame:
    columns = [key, "low", *REASON_KEYS]
    if frame.empty:
        return pd.DataFrame(columns=columns)
    grouped = frame.assign(low=1).groupby(key)[["low", *REASON_KEYS]].sum().reset_index()
    grouped = grouped.astype({c: "int64" for c in ["low", *REASON_KEYS]})
    grouped["not_solved_share"] = rate(grouped["not_solved"], grouped["low"])
    return grouped.sort_values(["low", key], ascending=[False, True]).reset_index(drop=True)


def shown(frame: pd.DataFrame) -> pd.DataFrame:
    """Rows as they leave the server: masked title, comment and unit; province names; reasons as a list."""
    out = frame.copy()
    out["province_name"] = province_names(out["province"])
    out["title"] = [mask_text(t, 60) for t in out["title"]]
    out["comment"] = [mask_text(t, TEXT_LIMIT) for t in out["comment"]]
    out["unit"] = [mask_text(u, 60) if isinstance(u, str) else None for u in out["unit"]]
    columns = ["message_id", "rated_at", "province", "province_name", "city", "category", "unit", "title"]
    columns += ["satisfied", "score_resolution", "score_attitude", "score_speed", "comment", "reasons"]
    return out.sort_values(["rated_at", "message_id"], ascending=[False, True])[columns].reset_index(drop=True)


def report(store: Store, f: Filters, now: dt.datetime, limit: int = 200) -> dict:
    frame = low_ratings(store, f)
    today = now.date()
    pool_filters = replace(f, start=today - dt.timedelta(days=POOL_DAYS - 1), end=today)
    pool = low_ratings(store, pool_filters)
    units = by_group(frame[frame["unit"].notna()].assign(unit=lambda x: [mask_text(u, 60) for u in x["unit"]]), "unit")
    provinces = by_group(frame, "province")
    provinces.insert(1, "province_name", province_names(provinces["province"]))
    return {
        "low": len(frame),
        "reasons": reasons(frame),
        "units": units,
        "provinces": provinces,
        "pool_start": pool_filters.start,
        "pool_end": pool_filters.end,
        "pool_total": len(pool),
        "pool": shown(pool).head(limit),
    }
