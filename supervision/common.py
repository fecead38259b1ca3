"""What the supervision modules share: their named SQL, the bound filter parameters, the filter in pandas."""

from __future__ import annotations

import datetime as dt

import pandas as pd

from queries import provinces as province_ref
from queries.periods import Filters
from queries.sql import text


def sql(query: str) -> str:
    return text("supervision", query)


def window(f: Filters) -> dict:
    """The bound parameters of a period and its message filters."""
    p = f.params()
    return {k: p[k] for k in ("start", "stop", "provinces", "categories", "types", "urgent_only")}


def span(f: Filters, days_before: int = 0) -> dict:
    """Half-open timestamps of the period, optionally starting `days_before` days earlier."""
    p = f.params()
    return {"start": p["start"] - dt.timedelta(days=days_before), "stop": p["stop"]}


def province_names(codes: pd.Series, lang: str = "zh") -> pd.Series:
    return codes.map(province_ref.names("en" if lang == "en" else "zh"))


def rate(numerator: pd.Series, denominator: pd.Series) -> pd.Series:
    """numerator / denominator as floats, NaN where the denominator is 0."""
    den = denominator.astype("float64")
    return (numerator.astype("float64") / den.where(den > 0)).astype("float64")
