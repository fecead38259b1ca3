"""The spec's metrics as DataFrames and dicts: counts by SQL written from the catalog (queries/rollup_sql.py),
medians by queries/medians.py (the feed: queries/feed.py).

Every function takes the Store and a Filters value; results are cached per data version by queries/service.py;
what is cached below that (the memo, the median windows) belongs to the Store. Numbers are not rounded here.
"""

from __future__ import annotations

import datetime as dt
from functools import lru_cache

import numpy as np
import pandas as pd

from queries import catalog, medians, rollup_sql
from queries import provinces as province_ref
from queries.db import Store
from queries.periods import GRANULARITIES, Filters
from queries.sql import JOIN_TABLES, template


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


# -- counts from the rollups --------------------------------------------------------------------------------------
# Every question (any period, any filters) is one statement over the rollups, written from the catalog
# (queries/rollup_sql.py): each count over the period, a year earlier and the 环比 period.
def _source(f: Filters, dimension: str | None) -> str:
    return rollup_sql.source_for(dimension, bool(f.provinces), bool(f.categories), bool(f.types), f.urgent_only)


def _bound(sql: str, params: dict) -> dict:
    """The parameters the statement uses (DuckDB rejects extra ones)."""
    return {k: v for k, v in params.items() if f"${k}" in sql}


def _fetch(store: Store, sql: str, params: dict) -> dict[str, np.ndarray]:
    """Columns of a result as numpy arrays (NULL counts become 0)."""
    data = store.cursor().execute(sql, _bound(sql, params)).fetchnumpy()
    return {k: (v.filled(0) if isinstance(v, np.ma.MaskedArray) and k != "key" else v) for k, v in data.items()}


def daily(store: Store, f: Filters, columns: tuple[str, ...], bounds: dict) -> dict[str, np.ndarray]:
    """Counts `columns` per day (`day`) from the smallest rollup that carries the filters, between `bounds`
    (start, stop, prev_start, prev_stop)."""
    return _fetch(store, rollup_sql.daily(_source(f, None), columns), {**f.params(), **bounds})


COUNT_COLUMNS = tuple(f"{c.name}{suffix}" for c in catalog.COUNTS for suffix in catalog.PERIODS)


def _counts(store: Store, f: Filters, dimension: str | None) -> tuple[list, dict[str, np.ndarray]]:
    """(keys, {count column: values}) per value of `dimension` (None: one key, 0)."""
    sql = rollup_sql.sums(_source(f, dimension), dimension)
    data = _fetch(store, sql, f.params())
    keys = _keys(data["key"])
    if dimension is None and not keys:
        return [0], {c: np.zeros(1, np.int64) for c in COUNT_COLUMNS}
    return keys, {c: np.asarray(data[c], np.int64) for c in COUNT_COLUMNS}


def _keys(values) -> list:
    if isinstance(values, np.ma.MaskedArray):
        return [
            None if m else v for v, m in zip(values.data.tolist(), np.ma.getmaskarray(values).tolist(), strict=True)
        ]
    return values.tolist()


def _ratio(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    """As ratio() on Series: float division, NaN where the denominator is 0."""
    out = np.full(len(numerator), np.nan)
    ok = denominator != 0
    out[ok] = numerator[ok].astype("float64") / denominator[ok].astype("float64")
    return out


def _derived(c: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The catalog's rates (each period) and the YoY and 环比 growth of every count."""
    out = {}
    for r in catalog.RATES:
        for suffix in catalog.PERIODS:
            out[f"{r.name}{suffix}"] = _ratio(c[f"{r.numerator}{suffix}"], c[f"{r.denominator}{suffix}"])
    for count in catalog.COUNTS:
        for change, base in catalog.CHANGES.items():
            now, before = c[count.name], c[f"{count.name}{base}"]
            out[f"{count.name}{change}"] = _ratio(now - before, before)
    return out


def _grouped(store: Store, f: Filters, dimension: str) -> tuple[list, dict[str, np.ndarray]]:
    """(keys, {column: values}) of the counts and the median per value of `dimension`."""
    by_key = medians.exact(store, f, dimension)
    keys, counts = _province_counts(store, f) if dimension == "province" else _counts(store, f, dimension)
    index = {k: i for i, k in enumerate(keys)}
    extra = [k for k in by_key if k not in index]
    for k in extra:
        index[k] = len(index)
    columns = {c: np.concatenate([v, np.zeros(len(extra), np.int64)]) for c, v in counts.items()}
    median = np.full(len(index), np.nan)
    for k, v in by_key.items():
        median[index[k]] = v
    columns["median_reply_hours"] = median
    return list(index), columns


_DAY0 = dt.date(1970, 1, 1)


def _days(store: Store, f: Filters, dimension: str | None) -> dict[str, np.ndarray]:
    """Every count per day (`day`: days since 1970-01-01) and, for dimension "province", per province (`key`),
    over the days of the three periods (a day and key may come in several rows). One statement per question and
    data version: when the summary's rollup also carries the province, its rows serve the summary, the province
    table and the trend (`Store.questions`)."""
    source = _source(f, dimension)
    if dimension is None and source == _source(f, "province"):
        dimension = "province"

    def fetch():
        data = _fetch(store, rollup_sql.days(source, dimension), f.params())
        data["day"] = np.asarray(data["day"]).astype("datetime64[D]").astype(np.int64)
        return data

    return store.questions.get(store.data_version, "days", (source, dimension, f), fetch)


def _in(data: dict, p: dict, prefix: str) -> np.ndarray:
    """Rows of the days of one period (`prefix` of its parameters)."""
    lo, hi = ((p[f"{prefix}{b}"].date() - _DAY0).days for b in ("start", "stop"))
    return (data["day"] >= lo) & (data["day"] < hi)


def _summed(store: Store, f: Filters) -> dict[str, int]:
    """Every count of the catalog over each period."""
    data, p = _days(store, f, None), f.params()
    out = {}
    for suffix, prefix in catalog.PERIODS.items():
        mask = _in(data, p, prefix)
        for c in catalog.COUNTS:
            out[f"{c.name}{suffix}"] = int(data[c.name][mask].sum())
    return out


def _province_counts(store: Store, f: Filters) -> tuple[list, dict[str, np.ndarray]]:
    """(provinces, {count column: values}) from the question's day x province rows."""
    data, p = _days(store, f, "province"), f.params()
    keys, at = np.unique(np.asarray(data["key"], np.int64), return_inverse=True)
    columns = {}
    for suffix, prefix in catalog.PERIODS.items():
        mask = _in(data, p, prefix)
        for c in catalog.COUNTS:
            summed = np.bincount(at[mask], weights=data[c.name][mask], minlength=len(keys))
            columns[f"{c.name}{suffix}"] = summed.astype(np.int64)
    return keys.tolist(), columns


def _joins(store: Store) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """{"units"|"leaders": (joined_at in order, province)}: every join, read once per data version (tens of
    thousands of rows; each question then counts its periods in memory instead of running a statement)."""

    def fetch():
        out = {}
        for table in JOIN_TABLES:
            data = store.cursor().execute(template("joins", "all", table=table)).fetchnumpy()
            out[table] = (np.asarray(data["joined_at"], "datetime64[us]"), np.asarray(data["province"], np.int64))
        return out

    return store.memo.get(store.data_version, "joins", (), fetch)


def _joined(store: Store, f: Filters) -> dict[str, dict[str, np.ndarray]]:
    """{"units"|"leaders": {"province": adcodes, "joined", "joined_prev", "joined_before": counts per province}}."""
    p = f.params()
    out = {}
    for table, (at, province) in _joins(store).items():
        periods = {}
        for suffix, prefix in catalog.PERIODS.items():
            lo, hi = np.searchsorted(at, [np.datetime64(p[f"{prefix}{b}"], "us") for b in ("start", "stop")])
            codes = province[lo:hi]
            periods[suffix] = codes[np.isin(codes, np.array(f.provinces, np.int64))] if f.provinces else codes
        keys = np.unique(np.concatenate(list(periods.values())))
        out[table] = {"province": keys} | {
            f"joined{suffix}": np.bincount(np.searchsorted(keys, codes), minlength=len(keys))
            for suffix, codes in periods.items()
        }
    return out


def _joined_by_province(f_joined: dict, adcode: np.ndarray) -> dict[str, np.ndarray]:
    """{"units"|"leaders": joined in the period per province of `adcode`}."""
    out = {}
    for table, j in f_joined.items():
        where = dict(zip(j["province"].tolist(), j["joined"].tolist(), strict=True))
        out[table] = np.array([where.get(int(a), 0) for a in adcode.tolist()], np.int64)
    return out


def summary(store: Store, f: Filters) -> dict:
    """Every count and rate of the catalog for the period (with `_prev`: a year earlier, `_before`: the 环比
    period; `_yoy`, `_pop`: their growth), the median, new units and leaders, per-10k figures."""
    values = _summed(store, f)
    derived = {c: _scalar(v[0]) for c, v in _derived({c: np.array([v]) for c, v in values.items()}).items()}
    median = medians.exact(store, f, None)
    joined = _joined(store, f)
    census_year, people = population(f)
    before = f.before
    out = {
        "start": f.start.isoformat(),
        "end": f.end.isoformat(),
        "previous_start": f.previous.start.isoformat(),
        "previous_end": f.previous.end.isoformat(),
        "before_start": before.start.isoformat(),
        "before_end": before.end.isoformat(),
        **values,
        **derived,
        "median_reply_hours": None if median is None or pd.isna(median) else float(median),
    }
    for table in JOIN_TABLES:
        j = joined[table]
        out[f"new_{table}"] = int(j["joined"].sum())
        out[f"new_{table}_provinces"] = int(np.count_nonzero(j["joined"]))
        for change, base in catalog.CHANGES.items():
            out[f"new_{table}{base}"] = int(j[f"joined{base}"].sum())
            out[f"new_{table}{change}"] = yoy(out[f"new_{table}"], out[f"new_{table}{base}"])
    out["population"] = people
    for name in catalog.PER_10K:
        out[f"{name}_per_10k"] = ratio(values[name] * 10_000, people)
    out["census_year"] = census_year
    return out


def _scalar(value) -> float | None:
    return None if value != value else float(value)


def by_province(store: Store, f: Filters) -> pd.DataFrame:
    """Every one of the 31 provinces (selected or not only if filtered), with per-10k and ranks."""
    return pd.DataFrame(province_columns(store, f))


def province_columns(store: Store, f: Filters) -> dict:
    """by_province as {column: array} (the JSON API's rows are built from it without a DataFrame)."""
    keys, grouped = _grouped(store, f, "province")
    census_year = province_ref.census_year(f.end)
    ref = province_ref.table()
    if f.provinces:
        ref = ref[ref["adcode"].isin(f.provinces)]
    ref = ref.sort_values("adcode")
    adcode = ref["adcode"].to_numpy()
    where = {int(k): i for i, k in enumerate(keys) if k is not None}
    rows = np.array([where.get(int(a), -1) for a in adcode], np.int64)
    found = rows >= 0
    columns: dict[str, np.ndarray] = {}
    for c in COUNT_COLUMNS:
        values = np.zeros(len(adcode), np.int64)
        values[found] = grouped[c][rows[found]]
        columns[c] = values
    median = np.full(len(adcode), np.nan)
    median[found] = grouped["median_reply_hours"][rows[found]]
    population = ref[f"census_{census_year}"].to_numpy().astype("int64")
    joined = _joined_by_province(_joined(store, f), adcode.astype(np.int64))
    frame = {
        "adcode": adcode.astype("int64"),
        "name": ref["name_short"].array,
        "name_full": ref["name_full"].array,
        "name_en": ref["name_en"].array,
        "region": ref["region"].array,
        "population": population,
        "census_year": np.full(len(adcode), census_year, np.int64),
        **columns,
        "median_reply_hours": median,
        **_derived(columns),
        **{f"new_{table}": joined[table] for table in JOIN_TABLES},
        **{f"{name}_per_10k": columns[name] * 10_000 / population for name in catalog.PER_10K},
    }
    ranked = (*catalog.PER_10K, *(f"{n}_per_10k" for n in catalog.PER_10K), *catalog.RANKING_RATES)
    for metric in ranked:
        frame[f"rank_{metric}"] = _rank(frame[metric], frame["adcode"])
    return frame


def _rank(values: np.ndarray, adcode: np.ndarray) -> np.ndarray:
    """1 = highest; ties broken by adcode; missing values last."""
    values = values.astype("float64")
    missing = np.isnan(values)
    order = np.lexsort((adcode, -np.where(missing, 0.0, values), missing))
    out = np.empty(len(values), np.int64)
    out[order] = np.arange(1, len(values) + 1)
    return out


def by_category(store: Store, f: Filters) -> pd.DataFrame:
    return _shares("category", *_grouped(store, f, "category"))


def by_type(store: Store, f: Filters) -> pd.DataFrame:
    return _shares("msg_type", *_grouped(store, f, "msg_type"))


def by_city(store: Store, f: Filters) -> pd.DataFrame:
    keys, columns = _grouped(store, f, "city")
    return _shares("city", ["（未填）" if k is None else k for k in keys], columns)


def _shares(name: str, keys: list, columns: dict[str, np.ndarray]) -> pd.DataFrame:
    """Values with messages or replies, largest first (ties by name), with their share of messages."""
    keep = np.flatnonzero((columns["messages"] > 0) | (columns["replies"] > 0))
    order = sorted(keep.tolist(), key=lambda i: (-int(columns["messages"][i]), keys[i]))
    columns = {c: v[order] for c, v in columns.items()}
    total = columns["messages"].sum()
    return pd.DataFrame(
        {
            # (an empty result keeps the object dtype that an empty query result has)
            name: pd.array([keys[i] for i in order], dtype="str") if order else np.array([], dtype=object),
            **columns,
            **_derived(columns),
            "share": columns["messages"] / total if total else np.full(len(order), np.nan),
        }
    )


TREND_COUNTS = tuple(c.name for c in catalog.COUNTS)
TREND_RATES = tuple(r for r in catalog.RATES if r.numerator in TREND_COUNTS and r.denominator in TREND_COUNTS)


def trend(store: Store, f: Filters, granularity: str = "day") -> pd.DataFrame:
    """Buckets over the period: every count (and `*_prev`: the same calendar dates a year earlier) and rate
    (see trend_columns)."""
    columns = trend_columns(store, f, granularity)
    return pd.DataFrame({**columns, "bucket": pd.array(columns["bucket"], dtype="str")})


def trend_columns(store: Store, f: Filters, granularity: str = "day") -> dict:
    """The trend as {column: array} (`bucket`: a list of ISO dates): every count (and `*_prev`: the same calendar
    dates a year earlier) and rate per bucket.

    Each day of the previous period is placed in the bucket of its date one year
    later (29 February on 28 February), so the *_prev columns add up to the
    summary's previous-period counts.
    """
    if granularity not in GRANULARITIES:
        raise ValueError(f"granularity must be one of {', '.join(GRANULARITIES)}")
    labels, current, previous = _trend_layout(f.start, f.end, f.previous.start, f.previous.end, granularity)
    first = f.previous.start
    daily = _days(store, f, None)
    offset = daily["day"] - (first - _DAY0).days
    span = (f.end - first).days + 1
    ok = (offset >= 0) & (offset < span)
    per_day = {c: np.bincount(offset[ok], weights=daily[c][ok], minlength=span).astype(np.int64) for c in TREND_COUNTS}
    n = len(labels)
    out = {"bucket": labels}
    for column, (days, buckets) in (("", current), ("_prev", previous)):
        for c in TREND_COUNTS:
            out[c + column] = np.bincount(buckets, weights=per_day[c][days], minlength=n).astype(np.int64)
    for r in TREND_RATES:
        out[r.name] = _ratio(out[r.numerator], out[r.denominator])
    return out


@lru_cache(maxsize=256)
def _trend_layout(start: dt.date, end: dt.date, prev_start: dt.date, prev_end: dt.date, granularity: str):
    """Bucket labels and, for the current and the previous period, (day offsets from prev_start, bucket index)."""
    days = pd.date_range(start, end, freq="D").date
    labels = sorted({_bucket(d, granularity) for d in days})
    position = {b: i for i, b in enumerate(labels)}
    prev_days = pd.date_range(prev_start, prev_end, freq="D").date
    current = (
        np.array([(d - prev_start).days for d in days], np.int64),
        np.array([position[_bucket(d, granularity)] for d in days], np.int64),
    )
    previous = (
        np.array([(d - prev_start).days for d in prev_days], np.int64),
        np.array([position[_bucket(min(max(year_later(d), start), end), granularity)] for d in prev_days], np.int64),
    )
    return [b.isoformat() for b in labels], current, previous


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
