"""The 31 mainland provinces and their census populations (reference data, no I/O beyond the CSV).

Source: data/census_provinces.csv, resident population (常住人口) of the 6th (2010)
and 7th (2020) national censuses, 国家统计局 主要数据公报.
"""

from __future__ import annotations

import csv
import datetime as dt
from functools import lru_cache

import pandas as pd

from settings import DATA_DIR

CENSUS_CSV = DATA_DIR / "census_provinces.csv"
CENSUS_YEARS = (2010, 2020)
REGIONS = ("东部", "中部", "西部", "东北")
REGIONS_EN = {"东部": "East", "中部": "Central", "西部": "West", "东北": "Northeast"}


@lru_cache(maxsize=1)
def table() -> pd.DataFrame:
    frame = pd.read_csv(CENSUS_CSV, dtype={"adcode": "int64"})
    return frame[["adcode", "name_full", "name_short", "name_en", "region", "census_2010", "census_2020"]]


@lru_cache(maxsize=1)
def _aliases() -> dict[str, int]:
    aliases: dict[str, int] = {}
    with open(CENSUS_CSV, encoding="utf-8") as f:
        for row in csv.DictReader(f):
            code = int(row["adcode"])
            names = [row["adcode"], row["name_full"], row["name_short"], row["name_en"]]
            # "Xizang (Tibet)" is also written "Xizang" or "Tibet".
            if "(" in row["name_en"]:
                outer, inner = row["name_en"].split("(", 1)
                names += [outer.strip(), inner.rstrip(")").strip()]
            for name in names:
                aliases[_norm(name)] = code
    return aliases


def _norm(value: str) -> str:
    return "".join(str(value).split()).lower()


def resolve(value) -> int | None:
    """Adcode of a province given as adcode, short, full or English name; None if unknown."""
    if value is None:
        return None
    if isinstance(value, (int,)) and not isinstance(value, bool):
        value = str(value)
    elif isinstance(value, float) and value.is_integer():
        value = str(int(value))
    return _aliases().get(_norm(value))


def codes() -> list[int]:
    return table()["adcode"].tolist()


def names(lang: str = "zh") -> dict[int, str]:
    column = "name_en" if lang == "en" else "name_short"
    return dict(zip(table()["adcode"], table()[column], strict=True))


def by_region(region: str) -> list[int]:
    frame = table()
    return frame.loc[frame["region"] == region, "adcode"].tolist()


def census_year(period_end: dt.date) -> int:
    """Latest census whose year is <= the period's end year (the 2010 census before 2020)."""
    usable = [year for year in CENSUS_YEARS if year <= period_end.year]
    return usable[-1] if usable else CENSUS_YEARS[0]
