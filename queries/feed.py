"""The newest rows: the live feed of messages and first replies (titles and units masked) and the newest units
and leaders that joined."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from queries import metrics
from queries import provinces as province_ref
from queries.db import Store
from queries.masking import mask_text
from queries.periods import Filters, beijing_now
from queries.sql import template


def joined_latest(store: Store, f: Filters, table: str, limit: int = 20) -> pd.DataFrame:
    p = f.params()
    frame = store.df(
        template("joins", "latest", table=table),
        {"start": p["start"], "stop": p["stop"], "provinces": p["provinces"], "limit": limit},
    )
    return frame.assign(province_name=frame["province"].map(province_ref.names()))


FEED_LOOKBACK_DAYS = 31
_EPOCH = dt.datetime(1, 1, 1)


def _feed_since(store: Store, f: Filters, limit: int) -> tuple[dt.datetime, dt.datetime]:
    """Times before which neither the newest `limit` messages nor the newest `limit` first replies lie.

    From the rollups of the last FEED_LOOKBACK_DAYS days: the latest day from which on at least `limit` matching
    rows exist (their count is exact), else no bound.
    """
    recent = beijing_now().date() - dt.timedelta(days=FEED_LOOKBACK_DAYS)
    stop = dt.datetime(9999, 1, 1)
    bounds = {"start": recent, "stop": stop, "prev_start": recent, "prev_stop": stop}
    # per day from the smallest rollup that carries the filters (the day x province one for the wall)
    daily = metrics.daily(store, f, ("messages", "replies"), bounds)
    out = []
    for column in ("messages", "replies"):
        after = np.cumsum(daily[column][::-1])[::-1]  # rows on or after each day
        enough = np.flatnonzero(after >= limit)
        day = daily["day"][enough.max()] if len(enough) else None
        out.append(_EPOCH if day is None else dt.datetime.combine(pd.Timestamp(day).date(), dt.time()))
    return tuple(out)


_MESSAGE_FEED = ["message_id", "created_at", "province", "city", "category", "msg_type", "title", "is_urgent", "status"]
_REPLY_FEED = ["message_id", "replied_at", "created_at", "province", "city", "category", "msg_type", "title", "unit"]


def _latest(store: Store, f: Filters, limit: int) -> tuple[list[tuple], list[tuple]]:
    """The newest messages and first replies (one statement for both, shared by the two feeds)."""

    def fetch():
        since = _feed_since(store, f, limit)
        rows = store.rows(
            template("feed", "latest_both"),
            dict(f.message_filter(), limit=limit, since_created=since[0], since_answered=since[1]),
        )
        return (
            [(r[1], r[2], *r[4:11]) for r in rows if r[0] == "m"],
            [(r[1], r[2], r[3], *r[4:9], r[11]) for r in rows if r[0] == "r"],
        )

    return store.memo.get(
        store.data_version, "latest", (f.provinces, f.categories, f.types, f.urgent_only, limit), fetch
    )


def latest_messages(store: Store, f: Filters, limit: int = 30, title_limit: int = 40) -> pd.DataFrame:
    frame = pd.DataFrame(_latest(store, f, limit)[0], columns=_MESSAGE_FEED)
    return _feed(frame, title_limit)


def latest_replies(store: Store, f: Filters, limit: int = 30, title_limit: int = 40) -> pd.DataFrame:
    frame = pd.DataFrame(_latest(store, f, limit)[1], columns=_REPLY_FEED)
    return _feed(frame, title_limit, unit=True)


def _feed(frame: pd.DataFrame, title_limit: int, unit: bool = False) -> pd.DataFrame:
    # built column by column from plain lists: pandas' per-column operations cost more than the query
    provinces = frame["province"].tolist()
    zh, en = province_ref.names(), province_ref.names("en")
    columns = {column: frame[column] for column in frame.columns}
    columns["title"] = pd.array([mask_text(t, title_limit) for t in frame["title"].tolist()], dtype="str")
    columns["city"] = pd.array(["" if c is None or c != c else c for c in frame["city"].tolist()], dtype="str")
    if unit:
        columns["unit"] = pd.array([mask_text(u, 30) for u in frame["unit"].tolist()], dtype="str")
    columns["province_name"] = pd.array([zh.get(p) for p in provinces], dtype="str")
    columns["province_name_en"] = pd.array([en.get(p) for p in provinces], dtype="str")
    return pd.DataFrame(columns, index=frame.index)
