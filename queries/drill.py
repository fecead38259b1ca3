"""Drill-down metrics of the analyst workspace, from the named SQL in queries/drill.sql.

Every function takes the Store and a Filters value (and plain values) and does
no caching itself (see queries/service.py). Numbers are not rounded here.
Definitions follow the spec: a unit's "answered" messages are those whose
first reply falls in the period and came from that unit; its median reply
time is the median first-reply delay of those messages (interpolated median,
as queries.metrics.summary).
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from queries import provinces as province_ref
from queries.db import Store
from queries.masking import mask_text, mask_texts
from queries.metrics import ratio
from queries.periods import Filters
from queries.sql import text

UNIT_NAME_LIMIT = 60
TITLE_LIMIT = 60
MAX_OVERDUE_ROWS = 500


def _sql(query: str) -> str:
    return text("drill", query)


def _window(f: Filters) -> dict:
    p = f.params()
    return {k: p[k] for k in ("start", "stop", "provinces", "categories", "types", "urgent_only")}


def units(store: Store, f: Filters, late_days: int = 15) -> pd.DataFrame:
    """One row per replying unit (None: no unit given), most answered first.

    Columns: unit, answered, share (of all messages first answered in the
    period), median/mean/p90_reply_hours, late (answered after more than
    `late_days` days) and late_share.
    """
    frame = store.df(_sql("units"), dict(_window(f), late_hours=float(late_days) * 24.0))
    if frame.empty:
        frame = pd.DataFrame(
            columns=["unit", "answered", "median_reply_hours", "mean_reply_hours", "p90_reply_hours", "late"]
        )
    units = frame["unit"].astype(object)
    named = units.notna().to_numpy()
    shown = np.full(len(units), None, dtype=object)  # None: no unit given
    shown[named] = mask_texts(units[named].tolist(), UNIT_NAME_LIMIT)
    frame["unit"] = pd.Series(shown, index=frame.index, dtype=object)
    frame["answered"] = frame["answered"].astype("int64")
    frame["late"] = frame["late"].astype("int64")
    total = int(frame["answered"].sum())
    frame["share"] = frame["answered"] / total if total else float("nan")
    frame["late_share"] = ratio(frame["late"], frame["answered"])
    for column in ("median_reply_hours", "mean_reply_hours", "p90_reply_hours"):
        frame[column] = frame[column].astype("float64")
    frame = frame.sort_values(["answered", "unit"], ascending=[False, True], na_position="last")
    return frame[
        ["unit", "answered", "share", "median_reply_hours", "mean_reply_hours", "p90_reply_hours", "late", "late_share"]
    ].reset_index(drop=True)


def top_units(frame: pd.DataFrame, n: int = 20) -> pd.DataFrame:
    """The `n` units that answered most (ties by name)."""
    return (
        frame.sort_values(["answered", "unit"], ascending=[False, True], na_position="last")
        .head(n)
        .reset_index(drop=True)
    )


def slowest_units(frame: pd.DataFrame, n: int = 20, min_answered: int = 5) -> pd.DataFrame:
    """The `n` units with the longest median first-reply time among those with at least `min_answered`."""
    eligible = frame[(frame["answered"] >= min_answered) & frame["median_reply_hours"].notna()]
    return (
        eligible.sort_values(
            ["median_reply_hours", "answered", "unit"], ascending=[False, False, True], na_position="last"
        )
        .head(n)
        .reset_index(drop=True)
    )


def overdue_cutoff(now: dt.datetime, overdue_days: int) -> dt.datetime:
    """Messages created before this instant and still unanswered are overdue."""
    return now - dt.timedelta(days=overdue_days)


def overdue_count(store: Store, f: Filters, now: dt.datetime, overdue_days: int = 15) -> int:
    """Messages created in the period, more than `overdue_days` before `now`, with no reply yet."""
    params = dict(_window(f), cutoff=overdue_cutoff(now, overdue_days))
    return int(store.scalar(_sql("overdue_count"), params) or 0)


def overdue(store: Store, f: Filters, now: dt.datetime, overdue_days: int = 15, limit: int = 50) -> pd.DataFrame:
    """The oldest overdue messages (see overdue_count), oldest first, titles masked, days waited until `now`."""
    limit = max(1, min(int(limit), MAX_OVERDUE_ROWS))
    params = dict(_window(f), cutoff=overdue_cutoff(now, overdue_days), limit=limit)
    frame = store.df(_sql("overdue"), params)
    frame["title"] = [mask_text(t, TITLE_LIMIT) for t in frame["title"]]
    frame["province_name"] = frame["province"].map(province_ref.names())
    frame["province_name_en"] = frame["province"].map(province_ref.names("en"))
    for column in ("city", "district"):
        frame[column] = frame[column].fillna("")
    waited = (pd.Timestamp(now) - pd.to_datetime(frame["created_at"])).dt.total_seconds() / 86_400
    frame["days_waiting"] = waited.astype("float64")
    return frame.reset_index(drop=True)


def cross(store: Store, f: Filters) -> pd.DataFrame:
    """Messages and replies (first replies in the period) per (category, msg_type), largest first."""
    frame = store.df(_sql("cross"), _window(f))
    for column in ("messages", "replies"):
        frame[column] = frame[column].fillna(0).astype("int64")
    return frame.sort_values(["messages", "category", "msg_type"], ascending=[False, True, True]).reset_index(drop=True)


def cross_table(frame: pd.DataFrame, value: str = "messages") -> pd.DataFrame:
    """`cross` pivoted: one row per domain, one column per type, plus the row total; largest domains first."""
    if frame.empty:
        return pd.DataFrame(columns=["category", "total"])
    table = frame.pivot_table(index="category", columns="msg_type", values=value, aggfunc="sum", fill_value=0)
    type_order = frame.groupby("msg_type")[value].sum().sort_values(ascending=False, kind="stable")
    table = table[type_order.index.tolist()].astype("int64")
    table["total"] = table.sum(axis=1)
    table = table.reset_index().sort_values(["total", "category"], ascending=[False, True])
    table.columns.name = None
    return table.reset_index(drop=True)


def dimension_values(store: Store) -> dict[str, list[str]]:
    """Every domain and type present in the data, most frequent first: {"category": [...], "msg_type": [...]}."""
    frame = store.df(_sql("dimension_values"))
    out: dict[str, list[str]] = {"category": [], "msg_type": []}
    frame = frame.sort_values(["dimension", "messages", "value"], ascending=[True, False, True])
    for dimension, value in zip(frame["dimension"], frame["value"], strict=True):
        out[dimension].append(str(value))
    return out
