"""Overdue and aging (督办清单): messages without a reply, by how long they have waited.

Age is counted in whole days from creation to `now` (the app's clock, Settings.now(), frozen in tests):
a message 3 days 20 hours old is in "≤3". Buckets: ≤3, 4–7, 8–15, 16–30, >30 days. A message the source
marks 办理中 (in progress) is counted apart from one still 待回复 (waiting); both have no reply yet.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from queries.db import Store
from queries.masking import mask_text
from queries.periods import Filters
from supervision.common import province_names, sql, window

BUCKETS = (
    ("days_0_3", 0, 3),
    ("days_4_7", 4, 7),
    ("days_8_15", 8, 15),
    ("days_16_30", 16, 30),
    ("days_over_30", 31, None),
)
BUCKET_KEYS = tuple(key for key, _, _ in BUCKETS)
TITLE_LIMIT = 60
CONTENT_LIMIT = 140


def bucket_of(age_days: np.ndarray) -> np.ndarray:
    """The bucket key of each whole-day age."""
    edges = [hi for _, _, hi in BUCKETS if hi is not None]
    return np.asarray(BUCKET_KEYS, dtype=object)[np.searchsorted(edges, age_days, side="left")]


def unanswered(store: Store, f: Filters, now: dt.datetime) -> pd.DataFrame:
    """Every message created in the period with no reply, its whole-day age at `now`, bucket and status."""
    frame = store.df(sql("unanswered"), window(f))
    seconds = (pd.Timestamp(now) - pd.to_datetime(frame["created_at"])).dt.total_seconds().to_numpy()
    frame["age_days"] = np.maximum(np.floor(np.nan_to_num(seconds) / 86_400), 0).astype("int64")
    frame["bucket"] = bucket_of(frame["age_days"].to_numpy())
    frame["status"] = np.where(frame["in_progress"].fillna(False).astype(bool), "办理中", "待回复")
    return frame


def buckets(frame: pd.DataFrame) -> pd.DataFrame:
    """One row per bucket: waiting (待回复), in_progress (办理中), total."""
    table = pd.crosstab(frame["bucket"], frame["status"]).reindex(index=BUCKET_KEYS, columns=["待回复", "办理中"])
    table = table.fillna(0).astype("int64")
    out = pd.DataFrame(
        {"bucket": BUCKET_KEYS, "waiting": table["待回复"].to_numpy(), "in_progress": table["办理中"].to_numpy()}
    )
    out["total"] = out["waiting"] + out["in_progress"]
    return out


def by_group(frame: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """Per group: counts in each bucket, waiting, in_progress, total and the oldest age; largest first."""
    columns = keys + list(BUCKET_KEYS) + ["waiting", "in_progress", "total", "oldest_days"]
    if frame.empty:
        return pd.DataFrame(columns=columns)
    counts = pd.crosstab([frame[k] for k in keys], frame["bucket"]).reindex(columns=BUCKET_KEYS, fill_value=0)
    status = pd.crosstab([frame[k] for k in keys], frame["status"]).reindex(columns=["待回复", "办理中"], fill_value=0)
    out = counts.join(status.rename(columns={"待回复": "waiting", "办理中": "in_progress"}))
    out["total"] = out["waiting"] + out["in_progress"]
    out["oldest_days"] = frame.groupby(keys)["age_days"].max()
    out = out.reset_index().astype({c: "int64" for c in columns if c not in keys})
    return out.sort_values(["total", "oldest_days"] + keys, ascending=[False, False] + [True] * len(keys))[columns]


def oldest(frame: pd.DataFrame, limit: int = 50) -> pd.DataFrame:
    """The `limit` oldest unanswered messages, title and body masked."""
    rows = frame.sort_values(["created_at", "message_id"]).head(limit).copy()
    rows["province_name"] = province_names(rows["province"])
    rows["title"] = [mask_text(t, TITLE_LIMIT) for t in rows["title"]]
    rows["content"] = [mask_text(t, CONTENT_LIMIT) for t in rows["content"]]
    rows["addressee"] = [mask_text(t, TITLE_LIMIT) for t in rows["addressee"]]
    for column in ("city", "district"):
        rows[column] = rows[column].fillna("")
    columns = ["message_id", "created_at", "province", "province_name", "city", "district", "addressee"]
    columns += ["category", "msg_type", "title", "content", "status", "age_days", "bucket"]
    return rows[columns].reset_index(drop=True)


def report(store: Store, f: Filters, now: dt.datetime, limit: int = 50) -> dict:
    frame = unanswered(store, f, now)
    provinces = by_group(frame, ["province"])
    provinces.insert(1, "province_name", province_names(provinces["province"]))
    addressees = by_group(
        frame.assign(addressee=[mask_text(a, TITLE_LIMIT) for a in frame["addressee"]]), ["addressee", "province"]
    )
    return {
        "now": now,
        "unanswered": len(frame),
        "waiting": int((frame["status"] == "待回复").sum()),
        "in_progress": int((frame["status"] == "办理中").sum()),
        "buckets": buckets(frame),
        "provinces": provinces.reset_index(drop=True),
        "addressees": addressees.reset_index(drop=True),
        "oldest": oldest(frame, limit),
    }
