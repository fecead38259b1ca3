"""Vectorised parsing of time values into naive Beijing timestamps (the store's time form).

Accepted forms (decisions documented here and in the importer's help):

* ISO-like strings: ``2021-06-30 23:59:59``, ``2021-06-30T23:59:59``, fractional
  seconds, ``/`` as date separator, single-digit month/day/hour, ``20210630``.
  A string must hold at least a full date (year, month, day): ``2021`` or
  ``2021-06`` are rejected. A bare date means its midnight.
* An offset (``Z``/``z``, ``+08:00``, ``-0500``, ``+08``) converts the instant to
  Beijing time; a string without an offset already is Beijing time.
* Real timestamps (Parquet, or datetime objects): tz-aware ones are converted to
  Beijing, naive ones are taken as Beijing wall-clock time; dates mean midnight.
* Numbers (Parquet/JSON numeric columns) are Unix epoch instants (UTC):
  seconds when ``abs(value) < 1e11`` (before the year 5138), milliseconds otherwise,
  fractions allowed. Digit strings in CSV are *not* epochs (``20210630`` is a date).
* Impossible dates/times (``2021-02-30``, ``24:00:00``) are unparseable.

Result: ``datetime64[us]`` (DuckDB's TIMESTAMP precision) naive Beijing times.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from pandas.api import types as ptypes

BEIJING = "Asia/Shanghai"
EPOCH_MS_THRESHOLD = 1e11  # |epoch| at or above this is milliseconds
MIN_TEXT_LENGTH = 8  # "2021-6-3" / "20210630": anything shorter is not a full date
RESULT_DTYPE = "datetime64[us]"


def parse_times(values: pd.Series) -> tuple[pd.Series, np.ndarray, np.ndarray]:
    """Parse a column of raw time values.

    Returns ``(times, missing, bad)``: naive Beijing ``datetime64[us]`` values
    (NaT where missing or bad), a mask of missing values (null, NaN, empty or
    blank strings) and a mask of present values that are not a valid time.
    """
    index = values.index
    n = len(values)
    if isinstance(values.dtype, pd.CategoricalDtype):
        values = values.astype(object)
    dtype = values.dtype
    if isinstance(dtype, pd.DatetimeTZDtype):
        times = values.dt.tz_convert(BEIJING).dt.tz_localize(None)
        missing = times.isna().to_numpy()
        return _finish(times, index), missing, np.zeros(n, bool)
    if ptypes.is_datetime64_dtype(dtype):
        missing = values.isna().to_numpy()
        return _finish(values, index), missing, np.zeros(n, bool)
    if ptypes.is_bool_dtype(dtype):
        missing = values.isna().to_numpy()
        return _finish(pd.Series(pd.NaT, index=index), index), missing, ~missing
    if ptypes.is_numeric_dtype(dtype):
        return _from_epoch(values)
    if ptypes.is_string_dtype(dtype) and not ptypes.is_object_dtype(dtype):
        return _from_text(values)
    return _from_objects(values)


def _finish(times: pd.Series, index) -> pd.Series:
    times = pd.Series(times, index=index)
    if times.dtype != RESULT_DTYPE:
        times = times.astype(RESULT_DTYPE)
    return times


def _from_epoch(values: pd.Series) -> tuple[pd.Series, np.ndarray, np.ndarray]:
    numbers = pd.to_numeric(values, errors="coerce").astype("float64")
    missing = numbers.isna().to_numpy()
    finite = np.isfinite(numbers.to_numpy(na_value=np.nan))
    millis = numbers.where(numbers.abs() >= EPOCH_MS_THRESHOLD, numbers * 1000.0)
    # Outside datetime64[us]'s range (about ±290,000 years) cannot be a time.
    in_range = finite & (np.abs(millis.to_numpy(na_value=np.nan)) < 9.2e15)
    micros = (millis.where(in_range, 0.0) * 1000.0).round().astype("int64")
    utc = pd.to_datetime(micros, unit="us", utc=True)
    times = utc.dt.tz_convert(BEIJING).dt.tz_localize(None).where(in_range)
    bad = ~missing & ~in_range
    return _finish(times, values.index), missing, bad


# An offset is "Z"/"z"/"+" anywhere, or "-" after the date part (the first 10 characters).
_OFFSET = r"(?s)[+Zz]|^.{10}.*-"


def _from_arrow_text(values: pd.Series, data: pa.ChunkedArray) -> tuple[pd.Series, np.ndarray, np.ndarray]:
    """_from_text for Arrow-backed text: the string work in Arrow compute, the same rules."""
    text = pc.utf8_trim_whitespace(data.cast(pa.string()))
    missing = pc.fill_null(pc.equal(text, ""), True).to_numpy(zero_copy_only=False)
    times = np.full(len(values), np.datetime64("NaT"), dtype=RESULT_DTYPE)
    present = ~missing
    if present.any():
        sub = text.filter(pa.array(present)) if not present.all() else text
        offset = pc.match_substring_regex(sub, _OFFSET).to_numpy(zero_copy_only=False)
        strings = pd.Series(sub.to_numpy(zero_copy_only=False), dtype=object)
        parsed = np.full(len(sub), np.datetime64("NaT"), dtype=RESULT_DTYPE)
        if (~offset).any():
            parsed[~offset] = _to_datetime(strings[~offset], utc=False).to_numpy()
        if offset.any():
            parsed[offset] = _to_datetime(strings[offset].str.upper(), utc=True).to_numpy()
        parsed[pc.less(pc.utf8_length(sub), MIN_TEXT_LENGTH).to_numpy(zero_copy_only=False)] = np.datetime64("NaT")
        times[present] = parsed
    bad = present & np.isnat(times)
    return pd.Series(times, index=values.index), missing, bad


def _from_text(values: pd.Series) -> tuple[pd.Series, np.ndarray, np.ndarray]:
    data = getattr(values.array, "_pa_array", None)
    if data is not None and (pa.types.is_string(data.type) or pa.types.is_large_string(data.type)):
        return _from_arrow_text(values, data)
    text = values.str.strip()
    missing = (text.isna() | (text == "")).to_numpy(dtype=bool)
    times = np.full(len(values), np.datetime64("NaT"), dtype=RESULT_DTYPE)
    present = ~missing
    if present.any():
        sub = text[present]
        # An offset is "Z"/"z"/"+" anywhere, or "-" after the date part.
        offset = (
            sub.str.contains("+", regex=False)
            | sub.str.contains("Z", regex=False)
            | sub.str.contains("z", regex=False)
            | sub.str.slice(10).str.contains("-", regex=False)
        ).to_numpy(dtype=bool)
        parsed = np.full(len(sub), np.datetime64("NaT"), dtype=RESULT_DTYPE)
        if (~offset).any():
            parsed[~offset] = _to_datetime(sub[~offset], utc=False).to_numpy()
        if offset.any():
            parsed[offset] = _to_datetime(sub[offset].str.upper(), utc=True).to_numpy()
        parsed[(sub.str.len() < MIN_TEXT_LENGTH).to_numpy(dtype=bool)] = np.datetime64("NaT")
        times[present] = parsed
    bad = present & np.isnat(times)
    return pd.Series(times, index=values.index), missing, bad


def _to_datetime(text: pd.Series, utc: bool) -> pd.Series:
    try:
        parsed = pd.to_datetime(text, format="ISO8601", errors="coerce", utc=utc)
    except ValueError:  # e.g. mixed offsets the split did not foresee: element by element
        parsed = pd.Series([_one(v) for v in text], index=text.index, dtype=RESULT_DTYPE)
        return parsed
    if utc:
        parsed = parsed.dt.tz_convert(BEIJING).dt.tz_localize(None)
    return parsed.astype(RESULT_DTYPE)


def _one(value: str):
    try:
        stamp = pd.Timestamp(value)
    except (ValueError, TypeError, OverflowError):
        return pd.NaT
    if stamp.tzinfo is not None:
        stamp = stamp.tz_convert(BEIJING).tz_localize(None)
    return stamp


def _from_objects(values: pd.Series) -> tuple[pd.Series, np.ndarray, np.ndarray]:
    """Mixed Python objects (JSON): strings, numbers, datetimes, dates, None."""
    n = len(values)
    objects = values.to_numpy(dtype=object)
    kinds = np.array([_kind(v) for v in objects], dtype=np.int8) if n else np.zeros(0, np.int8)
    times = np.full(n, np.datetime64("NaT"), dtype=RESULT_DTYPE)
    missing = kinds == 0
    bad = kinds == 9
    for kind, parser in ((1, _from_text), (2, _from_epoch)):
        mask = kinds == kind
        if mask.any():
            sub = pd.Series(list(objects[mask]), index=values.index[mask], dtype="str" if kind == 1 else "float64")
            t, m, b = parser(sub)
            times[mask] = t.to_numpy()
            missing[mask] |= m
            bad[mask] |= b
    mask = kinds == 3
    if mask.any():
        converted = [_datetime_object(v) for v in objects[mask]]
        times[mask] = pd.Series(converted, dtype=RESULT_DTYPE).to_numpy()
    return pd.Series(times, index=values.index), missing, bad


def _kind(value) -> int:
    """0 missing, 1 text, 2 number, 3 datetime/date, 9 anything else."""
    if value is None:
        return 0
    if isinstance(value, str):
        return 1
    if isinstance(value, (bool, np.bool_)):
        return 9
    if isinstance(value, (int, float, np.integer, np.floating)):
        return 0 if value != value else 2  # NaN is missing
    if isinstance(value, (dt.datetime, dt.date, np.datetime64)):
        return 0 if pd.isna(value) else 3
    return 9


def _datetime_object(value):
    stamp = pd.Timestamp(value)
    if stamp.tzinfo is not None:
        stamp = stamp.tz_convert(BEIJING).tz_localize(None)
    return stamp
