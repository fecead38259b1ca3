"""The spec's metrics as DataFrames and dicts, from the named SQL in queries/*.sql.

Every function takes the Store and a Filters value and does no caching itself
(see queries/service.py). Numbers are not rounded here.
"""

from __future__ import annotations

import datetime as dt
import re

import numpy as np
import pandas as pd

from queries import provinces as province_ref
from queries.db import Store
from queries.periods import GRANULARITIES, Filters
from queries.sql import text

# Identifiers that may be substituted into SQL text; values are always bound.
DIMENSIONS = {"province": "province", "city": "city", "category": "category", "msg_type": "msg_type"}
ROLLUP_DIMENSIONS = ("province", "category", "msg_type")  # the others are grouped on raw rows
JOIN_TABLES = {"units": "units", "leaders": "leaders"}

_COUNTS = ["messages", "messages_prev", "replies", "replies_prev", "replied_cohort"]


def _sql(family: str, query: str, dimension: str | None = None, table: str | None = None) -> str:
    sql = text(family, query)
    if dimension is not None:
        sql = sql.replace("__DIM__", DIMENSIONS[dimension])
    if table is not None:
        sql = sql.replace("__TABLE__", JOIN_TABLES[table])
    return sql


def ratio(numerator, denominator):
    """numerator / denominator, None (or NaN in frames) when the denominator is 0."""
    if isinstance(denominator, pd.Series):
        return numerator.astype("float64") / denominator.where(denominator != 0)
    return None if not denominator else numerator / denominator


def yoy(current, previous):
    """Year-on-year growth; None (NaN) when the previous value is 0."""
    if isinstance(previous, pd.Series):
        return (current - previous).astype("float64") / previous.where(previous != 0)
    return None if not previous else (current - previous) / previous


def population(f: Filters) -> tuple[int, int]:
    """(census year, population of the filtered provinces, all 31 when unfiltered)."""
    year = province_ref.census_year(f.end)
    table = province_ref.table()
    if f.provinces:
        table = table[table["adcode"].isin(f.provinces)]
    return year, int(table[f"census_{year}"].sum())


def _coarse(f: Filters) -> bool:
    """Whether the day x province rollup can answer (no domain, type or urgency filter)."""
    return not (f.categories or f.types or f.urgent_only)


def _province_params(params: dict) -> dict:
    return {k: v for k, v in params.items() if k in ("start", "stop", "prev_start", "prev_stop", "provinces")}


def summary(store: Store, f: Filters) -> dict:
    params = f.params()
    if _coarse(f):
        volume = sat = store.df(_sql("coarse", "totals"), _province_params(params)).iloc[0]
    else:
        volume = store.df(_sql("volume", "totals"), params).iloc[0]
        sat = store.df(_sql("satisfaction", "totals"), params).iloc[0]
    median = store.scalar(_sql("volume", "median_hours"), _current(params))
    joined = {table: store.df(_sql("joins", "totals", table=table), _join_params(f)).iloc[0] for table in JOIN_TABLES}
    messages, replies = int(volume["messages"]), int(volume["replies"])
    census_year, people = population(f)
    return {
        "start": f.start.isoformat(),
        "end": f.end.isoformat(),
        "previous_start": f.previous.start.isoformat(),
        "previous_end": f.previous.end.isoformat(),
        "messages": messages,
        "replies": replies,
        "reply_ratio": ratio(replies, messages),
        "reply_rate": ratio(int(volume["replied_cohort"]), messages),
        "median_reply_hours": None if median is None or pd.isna(median) else float(median),
        "satisfaction_rate": ratio(int(sat["satisfied"]), int(sat["evaluations"])),
        "evaluations": int(sat["evaluations"]),
        "new_units": int(joined["units"]["joined"]),
        "new_leaders": int(joined["leaders"]["joined"]),
        "new_units_provinces": int(joined["units"]["provinces"]),
        "new_leaders_provinces": int(joined["leaders"]["provinces"]),
        "messages_prev": int(volume["messages_prev"]),
        "replies_prev": int(volume["replies_prev"]),
        "new_units_prev": int(joined["units"]["joined_prev"]),
        "new_leaders_prev": int(joined["leaders"]["joined_prev"]),
        "messages_yoy": yoy(messages, int(volume["messages_prev"])),
        "replies_yoy": yoy(replies, int(volume["replies_prev"])),
        "new_units_yoy": yoy(int(joined["units"]["joined"]), int(joined["units"]["joined_prev"])),
        "new_leaders_yoy": yoy(int(joined["leaders"]["joined"]), int(joined["leaders"]["joined_prev"])),
        "satisfaction_rate_prev": ratio(int(sat["satisfied_prev"]), int(sat["evaluations_prev"])),
        "urgent_messages": int(volume["urgent_messages"]),
        "pending": int(volume["pending"]),
        "in_progress": int(volume["in_progress"]),
        "population": people,
        "messages_per_10k": ratio(messages * 10_000, people),
        "replies_per_10k": ratio(replies * 10_000, people),
        "census_year": census_year,
    }


def _join_params(f: Filters) -> dict:
    p = f.params()
    return {k: p[k] for k in ("start", "stop", "prev_start", "prev_stop", "provinces")}


def _current(params: dict) -> dict:
    return {k: v for k, v in params.items() if not k.startswith("prev_")}


def _grouped(store: Store, f: Filters, dimension: str) -> pd.DataFrame:
    params = f.params()
    medians = store.df(_sql("volume", "median_hours_grouped", dimension=dimension), _current(params))
    if dimension == "province" and _coarse(f):
        frame = store.df(_sql("coarse", "by_province"), _province_params(params)).merge(medians, on="key", how="outer")
    else:
        query = "grouped" if dimension in ROLLUP_DIMENSIONS else "grouped_raw"
        volume = store.df(_sql("volume", query, dimension=dimension), params)
        sat = store.df(_sql("satisfaction", query, dimension=dimension), _current(params))
        frame = volume.merge(sat, on="key", how="outer").merge(medians, on="key", how="outer")
    for column in _COUNTS + ["evaluations", "satisfied"]:
        frame[column] = frame[column].fillna(0).astype("int64")
    return _derive(frame)


def _derive(frame: pd.DataFrame) -> pd.DataFrame:
    frame["reply_ratio"] = ratio(frame["replies"], frame["messages"])
    frame["reply_rate"] = ratio(frame["replied_cohort"], frame["messages"])
    frame["satisfaction_rate"] = ratio(frame["satisfied"], frame["evaluations"])
    frame["messages_yoy"] = yoy(frame["messages"], frame["messages_prev"])
    frame["replies_yoy"] = yoy(frame["replies"], frame["replies_prev"])
    return frame


def by_province(store: Store, f: Filters) -> pd.DataFrame:
    """Every one of the 31 provinces (selected or not only if filtered), with per-10k and ranks."""
    grouped = _grouped(store, f, "province").rename(columns={"key": "adcode"})
    census_year = province_ref.census_year(f.end)
    ref = province_ref.table()
    if f.provinces:
        ref = ref[ref["adcode"].isin(f.provinces)]
    frame = ref[["adcode", "name_short", "name_full", "name_en", "region"]].rename(columns={"name_short": "name"})
    frame = frame.assign(population=ref[f"census_{census_year}"].to_numpy(), census_year=census_year)
    frame = frame.merge(grouped, on="adcode", how="left")
    for column in _COUNTS + ["evaluations", "satisfied"]:
        frame[column] = frame[column].fillna(0).astype("int64")
    frame = _derive(frame)
    joined_params = _join_params(f)
    for table in JOIN_TABLES:
        joined = store.df(_sql("joins", "by_province", table=table),
                          {k: joined_params[k] for k in ("start", "stop", "provinces")})
        frame = frame.merge(joined.rename(columns={"key": "adcode", "joined": f"new_{table}"}), on="adcode", how="left")
        frame[f"new_{table}"] = frame[f"new_{table}"].fillna(0).astype("int64")
    frame["messages_per_10k"] = frame["messages"] * 10_000 / frame["population"]
    frame["replies_per_10k"] = frame["replies"] * 10_000 / frame["population"]
    for metric in ("messages", "replies", "messages_per_10k", "replies_per_10k", "reply_ratio", "reply_rate"):
        frame[f"rank_{metric}"] = rank(frame, metric)
    return frame.sort_values("adcode").reset_index(drop=True)


def rank(frame: pd.DataFrame, metric: str) -> pd.Series:
    """1 = highest; ties broken by adcode; provinces without a value rank last."""
    order = frame.assign(_missing=frame[metric].isna()).sort_values(
        ["_missing", metric, "adcode"], ascending=[True, False, True]
    )
    return pd.Series(np.arange(1, len(frame) + 1), index=order.index).reindex(frame.index)


def by_category(store: Store, f: Filters) -> pd.DataFrame:
    return _shares(_grouped(store, f, "category").rename(columns={"key": "category"}))


def by_type(store: Store, f: Filters) -> pd.DataFrame:
    return _shares(_grouped(store, f, "msg_type").rename(columns={"key": "msg_type"}))


def by_city(store: Store, f: Filters) -> pd.DataFrame:
    frame = _grouped(store, f, "city").rename(columns={"key": "city"})
    frame["city"] = frame["city"].fillna("（未填）")
    return _shares(frame)


def _shares(frame: pd.DataFrame) -> pd.DataFrame:
    frame = frame[(frame["messages"] > 0) | (frame["replies"] > 0)].copy()
    total = frame["messages"].sum()
    frame["share"] = frame["messages"] / total if total else np.nan
    return frame.sort_values(["messages", frame.columns[0]], ascending=[False, True]).reset_index(drop=True)


def trend(store: Store, f: Filters, granularity: str = "day") -> pd.DataFrame:
    """Buckets over the period; *_prev counts the same calendar dates one year earlier.

    Each day of the previous period is placed in the bucket of its date one year
    later (29 February on 28 February), so the *_prev columns add up to the
    summary's previous-period counts.
    """
    if granularity not in GRANULARITIES:
        raise ValueError(f"granularity must be one of {', '.join(GRANULARITIES)}")
    if _coarse(f):
        daily = store.df(_sql("coarse", "daily"), _province_params(f.params()))
    else:
        daily = store.df(_sql("volume", "daily"), f.params())
    counts = {pd.Timestamp(d).date(): (int(m), int(r)) for d, m, r in daily.itertuples(index=False)}
    days = pd.date_range(f.start, f.end, freq="D").date
    prev = f.previous
    prev_days = pd.date_range(prev.start, prev.end, freq="D").date
    current = pd.DataFrame({
        "bucket": [_bucket(d, granularity) for d in days],
        "messages": [counts.get(d, (0, 0))[0] for d in days],
        "replies": [counts.get(d, (0, 0))[1] for d in days],
    }).groupby("bucket").sum()
    previous = pd.DataFrame({
        "bucket": [_bucket(min(max(year_later(d), f.start), f.end), granularity) for d in prev_days],
        "messages_prev": [counts.get(d, (0, 0))[0] for d in prev_days],
        "replies_prev": [counts.get(d, (0, 0))[1] for d in prev_days],
    }).groupby("bucket").sum()
    out = current.join(previous, how="left").fillna(0).astype("int64").reset_index()
    out["bucket"] = out["bucket"].map(lambda d: d.isoformat())
    return out[["bucket", "messages", "replies", "messages_prev", "replies_prev"]]


def year_later(day: dt.date) -> dt.date:
    if day.month == 2 and day.day == 29:
        return dt.date(day.year + 1, 2, 28)
    return day.replace(year=day.year + 1)


def _bucket(day: dt.date, granularity: str) -> dt.date:
    if granularity == "week":  # ISO weeks start on Monday
        return day - dt.timedelta(days=day.weekday())
    if granularity == "month":
        return day.replace(day=1)
    return day


def joined_latest(store: Store, f: Filters, table: str, limit: int = 20) -> pd.DataFrame:
    p = _join_params(f)
    frame = store.df(_sql("joins", "latest", table=table),
                     {"start": p["start"], "stop": p["stop"], "provinces": p["provinces"], "limit": limit})
    return frame.assign(province_name=frame["province"].map(province_ref.names()))


# Anything that looks like a phone number, ID number or e-mail address is masked on screens.
_PERSONAL = re.compile(r"\d{6,}|[\w.+-]+@[\w-]+\.[\w.]+")


def mask_text(value, limit: int = 40) -> str:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return ""
    cleaned = _PERSONAL.sub(lambda m: "*" * min(len(m.group()), 6), str(value))
    cleaned = " ".join(cleaned.split())
    return cleaned if len(cleaned) <= limit else cleaned[: limit - 1] + "…"


def latest_messages(store: Store, f: Filters, limit: int = 30, title_limit: int = 40) -> pd.DataFrame:
    params = dict(f.message_filter(), limit=limit)
    frame = store.df(_sql("feed", "latest_messages"), params)
    return _feed(frame, title_limit)


def latest_replies(store: Store, f: Filters, limit: int = 30, title_limit: int = 40) -> pd.DataFrame:
    params = dict(f.message_filter(), limit=limit)
    frame = store.df(_sql("feed", "latest_replies"), params)
    frame = _feed(frame, title_limit)
    frame["unit"] = [mask_text(u, 30) for u in frame["unit"]]
    return frame


def _feed(frame: pd.DataFrame, title_limit: int) -> pd.DataFrame:
    frame = frame.copy()
    frame["title"] = [mask_text(t, title_limit) for t in frame["title"]]
    frame["province_name"] = frame["province"].map(province_ref.names())
    frame["province_name_en"] = frame["province"].map(province_ref.names("en"))
    frame["city"] = frame["city"].fillna("")
    return frame
