"""Validate raw records of one kind into the canonical columns the write path expects.

`validate(kind, raw)` is vectorised: columns are converted whole (pandas/numpy);
low-cardinality columns (province, flags, scores, status, level) are converted
once per distinct value. Python only runs per *rejected* row, to build its
`Rejection`.

Decisions (see also ingest/timeparse.py for times):

* Column names are matched after trimming and lower-casing; unknown extra
  columns are ignored. The messages field `status` (spec name) may also be given
  as `source_status`, its store column.
* Text values are trimmed; an empty or blank value is missing. Numeric ids
  (Parquet/JSON) become their decimal text (`12` → "12", also `12.0` → "12").
* A required field that is missing, or a missing required *column* (every row
  is rejected, naming the field), rejects the row.
* Every failing field of a row is reported (one `Rejection` per field), rows in
  input order, fields in contract order; the row is rejected once.
* province: adcode (int or text), short name (河南), full name (河南省) or English
  name (Henan, any case, spaces ignored); anything else is rejected.
* Booleans: true/false, 1/0, yes/no, 是/否 (any case; also real booleans);
  `satisfied` also takes 满意/不满意. `is_urgent` missing → false; `satisfied`
  missing → null.
* Scores: whole numbers 1–5 (`4`, "4", 4.0 are accepted; 4.5, 0, 6 are not);
  missing → null.
* category / msg_type missing → "其他"; other values are kept as given when they
  are short labels: at most 20 characters, no markup ("<", ">") and no control or
  invisible formatting characters.
* Text lengths (characters, after trimming; a longer value rejects the row,
  naming the field): ids 100; title 200; city, district 50; addressee, unit,
  unit/leader name 100; category, msg_type 20; message and reply content 10,000,
  location 100, evaluation comment 2,000. The text fields are optional: a file
  without them imports as before. likes: whole number ≥ 0, missing → 0.
* A field's value must be one value (text, number, true/false, null): an object
  or array rejects the row, naming the field. Unknown columns are ignored
  whatever they hold.
* Times must lie from 2000-01-01 00:00 to `latest` (Beijing time; by default now
  plus the max_future_minutes setting); others reject the row.
* status: 待回复 / 办理中 / 已办理 or missing; level: 省级 / 市级 / 县级 or missing.
* Rows that share an id within one input: the last *accepted* row wins (a
  rejected duplicate does not displace an earlier good row). The accepted frame
  holds one row per id.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from pandas.api import types as ptypes

from ingest.timeparse import parse_times
from queries import provinces
from queries.writes import ID_COLUMN, KINDS, Rejection
from settings import Settings

DEFAULT_LABEL = "其他"
STATUSES = ("待回复", "办理中", "已办理")
LEVELS = ("省级", "市级", "县级")
TRUE_WORDS = frozenset({"true", "1", "yes", "是"})
FALSE_WORDS = frozenset({"false", "0", "no", "否"})
SATISFIED_TRUE = TRUE_WORDS | {"满意"}
SATISFIED_FALSE = FALSE_WORDS | {"不满意"}

MISSING_VALUE = "required value is missing"
MISSING_COLUMN = "required column is missing from the input"
EARLIEST = dt.datetime(2000, 1, 1)
ID_LIMIT = 100
LABEL_LIMIT = 20
# Markup and characters that hide or reorder text: not in a label shown on every screen (RE2 syntax).
_NOT_IN_LABEL = r"[<>\p{Cc}\p{Cf}\p{Zl}\p{Zp}]"


@dataclass(frozen=True)
class Field:
    name: str  # canonical column
    kind: str  # id, text, time, province, flag, satisfied, score, choice
    required: bool = False
    default: object = None
    choices: tuple[str, ...] = ()
    label: str = ""  # name in messages; defaults to `name`
    aliases: tuple[str, ...] = ()  # other accepted input column names
    limit: int = 0  # text: most characters (0: no limit)
    stored: bool = True  # False: a contract field checked but not kept

    @property
    def shown(self) -> str:
        return self.label or self.name


def _member(id_name: str) -> list[Field]:
    return [
        Field(id_name, "id", required=True, limit=ID_LIMIT),
        Field("name", "text", required=True, limit=100),
        Field("province", "province", required=True),
        Field("level", "choice", choices=LEVELS),
        Field("joined_at", "time", required=True),
    ]


FIELDS: dict[str, list[Field]] = {
    "messages": [
        Field("message_id", "id", required=True, limit=ID_LIMIT),
        Field("created_at", "time", required=True),
        Field("province", "province", required=True),
        Field("city", "text", limit=50),
        Field("district", "text", limit=50),
        Field("addressee", "text", limit=100),
        Field("category", "label", default=DEFAULT_LABEL, limit=LABEL_LIMIT),
        Field("msg_type", "label", default=DEFAULT_LABEL, limit=LABEL_LIMIT),
        Field("title", "text", limit=200),
        Field("is_urgent", "flag", default=False),
        Field("source_status", "choice", choices=STATUSES, label="status", aliases=("status",)),
        Field("content", "text", limit=10_000),
        Field("likes", "count", default=0),
        Field("location", "text", limit=100),
    ],
    "replies": [
        Field("reply_id", "id", required=True, limit=ID_LIMIT),
        Field("message_id", "id", required=True, limit=ID_LIMIT),
        Field("replied_at", "time", required=True),
        Field("unit", "text", limit=100),
        Field("content", "text", limit=10_000),
    ],
    "evaluations": [
        Field("message_id", "id", required=True, limit=ID_LIMIT),
        Field("rated_at", "time", required=True),
        Field("satisfied", "satisfied"),
        Field("score_resolution", "score"),
        Field("score_attitude", "score"),
        Field("score_speed", "score"),
        Field("comment", "text", limit=2_000),
    ],
    "units": _member("unit_id"),
    "leaders": _member("leader_id"),
}
assert set(FIELDS) == set(KINDS)


def columns(kind: str) -> list[str]:
    """Canonical (stored) columns of `kind` (without `_row`)."""
    return [f.name for f in FIELDS[kind] if f.stored]


def latest_time(settings: Settings) -> dt.datetime:
    """The latest time a record may carry: the settings' Beijing now plus the allowed minutes ahead."""
    return settings.now() + dt.timedelta(minutes=settings.max_future_minutes)


def validate(
    kind: str, raw: pd.DataFrame, *, latest: dt.datetime | None = None
) -> tuple[pd.DataFrame, list[Rejection]]:
    """Check and convert raw records of `kind`.

    `raw` holds raw values (strings, numbers, timestamps, ...) under any column
    names, plus `_row` (the row's line/position in its source; 1.. if absent).
    Times after `latest` (naive Beijing; default: `latest_time` of the default
    settings, i.e. the real clock) are rejected.
    Returns the accepted rows in canonical columns plus `_row`, one per id
    (last wins), and one Rejection per failing field of every rejected row.
    """
    if kind not in FIELDS:
        raise ValueError(f"unknown kind {kind!r}; expected one of {', '.join(KINDS)}")
    if latest is None:
        latest = latest_time(Settings())
    raw = raw.reset_index(drop=True)
    n = len(raw)
    if "_row" in raw.columns:
        rows = pd.to_numeric(raw["_row"], errors="coerce").fillna(0).astype("int64").to_numpy()
    else:
        rows = np.arange(1, n + 1, dtype="int64")
    by_name: dict[str, str] = {}
    for column in raw.columns:
        if column != "_row":
            by_name.setdefault(str(column).strip().lower(), column)

    out: dict[str, object] = {}
    bad_any = np.zeros(n, dtype=bool)
    problems: list[tuple[np.ndarray, int, list[str]]] = []  # (positions, field order, reasons)

    for order, spec in enumerate(FIELDS[kind]):
        source = next((by_name[c] for c in (spec.name, *spec.aliases) if c in by_name), None)
        if source is None:
            if spec.required:
                problems.append((np.arange(n), order, [MISSING_COLUMN] * n))
                bad_any[:] = True
            out[spec.name] = _default_values(spec, n)  # placeholders when required: every row is rejected
            continue
        column = raw[source]
        nested = _nested(column)
        if nested.any():  # one reason for these rows; the converter sees them as missing
            shown = column.to_numpy(dtype=object)[nested]
            problems.append(
                (np.flatnonzero(nested), order, [f"expected a single value, got {_structure(v)}" for v in shown])
            )
            column = column.where(~nested, None)
        values, missing, bad, reason = _CONVERTERS[spec.kind](column, spec)
        missing = missing & ~nested
        if bad.any():
            positions = np.flatnonzero(bad)
            shown = column.to_numpy(dtype=object)[positions]
            problems.append((positions, order, [reason(v) for v in shown]))
        if spec.kind == "time":
            bad = bad | _time_bounds(values, latest, order, problems)
        if spec.required and missing.any():
            positions = np.flatnonzero(missing)
            problems.append((positions, order, [MISSING_VALUE] * len(positions)))
            bad = bad | missing
        bad_any |= bad | nested
        out[spec.name] = values

    rejections = _rejections(kind, rows, problems)
    keep = None if not bad_any.any() else ~bad_any
    stored = set(columns(kind))
    accepted = pd.DataFrame({name: _take(values, keep) for name, values in out.items() if name in stored})
    accepted["_row"] = rows if keep is None else rows[keep]
    accepted = _final_types(kind, accepted)
    id_column = ID_COLUMN[kind]
    duplicated = accepted[id_column].duplicated(keep="last").to_numpy()
    if duplicated.any():
        accepted = accepted[~duplicated]
    return accepted.reset_index(drop=True), rejections


# -- conversion ---------------------------------------------------------------


def _show(value) -> str:
    if isinstance(value, (float, np.floating)) and float(value).is_integer():
        value = int(value)  # 6.0 from a numeric column with gaps was 6 in the source
    text = str(value)
    if len(text) > 40:
        text = text[:39] + "…"
    return f"'{text}'"


def as_text(column: pd.Series) -> tuple[pd.Series, np.ndarray]:
    """Trimmed text (pandas str dtype, NA where missing) and the missing mask."""
    if isinstance(column.dtype, pd.CategoricalDtype):
        column = column.astype(object)
    fast = _arrow_trimmed(column)
    if fast is not None:
        return fast
    dtype = column.dtype
    if ptypes.is_float_dtype(dtype):
        finite = column.notna() & np.isfinite(column.to_numpy(dtype="float64", na_value=np.nan))
        if (column[finite] == np.floor(column[finite])).all() and column[finite].abs().max() < 2**53:
            column = column.where(finite).astype("Int64")
    text = column if ptypes.is_string_dtype(dtype) and not ptypes.is_object_dtype(dtype) else column.astype("str")
    text = text.str.strip()
    missing = (text.isna() | (text == "")).to_numpy(dtype=bool)
    if missing.any():
        text = text.mask(missing)
    return text, missing


def _arrow_trimmed(column: pd.Series) -> tuple[pd.Series, np.ndarray] | None:
    """as_text for Arrow-backed text (pandas' str dtype, JSON and CSV columns) in Arrow compute, or None."""
    data = getattr(column.array, "_pa_array", None)
    if data is None or not (pa.types.is_string(data.type) or pa.types.is_large_string(data.type)):
        return None
    trimmed = pc.utf8_trim_whitespace(data.cast(pa.string()))  # what pandas' str.strip does on Arrow text
    absent = pc.fill_null(pc.equal(trimmed, ""), True)
    missing = absent.to_numpy(zero_copy_only=False)
    if missing.any():
        trimmed = pc.if_else(absent, pa.scalar(None, pa.string()), trimmed)
    return pd.Series(pd.arrays.ArrowExtensionArray(trimmed), index=column.index, name=column.name), missing


def _by_unique(column: pd.Series, convert, dtype, fill):
    """Convert each distinct value once; returns (values, missing, bad)."""
    codes, uniques = pd.factorize(column, use_na_sentinel=True)
    k = len(uniques)
    values = np.full(k + 1, fill, dtype=dtype)
    state = np.ones(k + 1, dtype=np.int8)  # 0 ok, 1 missing, 2 bad; the extra slot is NA
    for i, unique in enumerate(uniques):
        result = convert(unique)
        if result is _MISSING:
            state[i] = 1
        elif result is _BAD:
            state[i] = 2
        else:
            values[i] = result
            state[i] = 0
    rows = state[codes]
    return values[codes], rows == 1, rows == 2


class _Sentinel:
    pass


_MISSING = _Sentinel()
_BAD = _Sentinel()


def _scalar_text(value):
    """Normalised text of one distinct value, or _MISSING."""
    if isinstance(value, (float, np.floating)):
        if value != value:
            return _MISSING
        if float(value).is_integer():
            value = int(value)
    text = str(value).strip()
    return text if text else _MISSING


_NESTED_TYPES = (dict, list, tuple, set, np.ndarray)


def _nested(column: pd.Series) -> np.ndarray:
    """Values that are objects or arrays (JSON, Parquet structs/lists); only object columns can hold them."""
    if column.dtype != object:
        return np.zeros(len(column), dtype=bool)
    return np.fromiter((isinstance(v, _NESTED_TYPES) for v in column.to_numpy()), dtype=bool, count=len(column))


def _structure(value) -> str:
    return "an object" if isinstance(value, dict) else "an array"


def _time_bounds(values, latest: dt.datetime, order: int, problems) -> np.ndarray:
    """Times before EARLIEST or after `latest`: a problem each; returns their mask."""
    times = np.asarray(values, dtype="datetime64[us]")
    early = times < np.datetime64(EARLIEST, "us")  # NaT compares False
    late = times > np.datetime64(latest.replace(tzinfo=None), "us")
    for mask, reason in (
        (early, f"before {EARLIEST:%Y-%m-%d}: not a time of this platform"),
        (late, f"in the future (later than {latest:%Y-%m-%d %H:%M:%S} Beijing time)"),
    ):
        if mask.any():
            positions = np.flatnonzero(mask)
            problems.append((positions, order, [reason] * len(positions)))
    return early | late


def _text_array(text: pd.Series) -> pa.Array:
    data = getattr(text.array, "_pa_array", None)
    if data is None:
        return pa.array(text.to_numpy(dtype=object, na_value=None), type=pa.string())
    return data.combine_chunks().cast(pa.string()) if isinstance(data, pa.ChunkedArray) else data.cast(pa.string())


def _too_long(text: pd.Series, spec: Field):
    """Rows whose text is longer than the field's limit, and the reason to give."""
    if not spec.limit:
        return np.zeros(len(text), dtype=bool), None
    lengths = pc.fill_null(pc.utf8_length(_text_array(text)), 0).to_numpy(zero_copy_only=False)
    too_long = lengths > spec.limit
    return too_long, lambda v: f"longer than {spec.limit} characters ({len(str(v).strip()):,})"


def _convert_id(column: pd.Series, spec: Field):
    text, missing = as_text(column)
    bad, reason = _too_long(text, spec)
    return text, missing, bad, reason


def _convert_text(column: pd.Series, spec: Field):
    text, missing = as_text(column)
    bad, reason = _too_long(text, spec)
    if spec.default is not None and missing.any():
        text = text.mask(missing, spec.default)
        missing = np.zeros(len(column), dtype=bool)
    return text, missing, bad, reason


def _convert_label(column: pd.Series, spec: Field):
    """A short label (domain, type): bounded, and nothing a chart or page could render as markup."""
    text, missing, too_long, long_reason = _convert_text(column, spec)
    marked = pc.fill_null(pc.match_substring_regex(_text_array(text), _NOT_IN_LABEL), False)
    marked = marked.to_numpy(zero_copy_only=False) & ~too_long

    def reason(value):
        if too_long.any() and len(str(value).strip()) > spec.limit:
            return long_reason(value)
        return f"a label may not hold markup (< >) or control/invisible characters: {_show(value)}"

    return text, missing, too_long | marked, reason


def _convert_time(column: pd.Series, spec: Field):
    times, missing, bad = parse_times(column)
    return times, missing, bad, lambda v: f"not a valid time: {_show(v)}"


def _province(value):
    if isinstance(value, (bool, np.bool_)):
        return _BAD
    text = _scalar_text(value)
    if text is _MISSING:
        return text
    code = provinces.resolve(text)
    return _BAD if code is None else code


def _convert_province(column: pd.Series, spec: Field):
    values, missing, bad = _by_unique(column, _province, np.int32, 0)
    return values, missing, bad, lambda v: f"unknown province {_show(v)}"


def _flag_converter(true_words, false_words):
    def convert(value):
        if isinstance(value, (bool, np.bool_)):
            return bool(value)
        text = _scalar_text(value)
        if text is _MISSING:
            return text
        text = text.lower()
        if text in true_words:
            return True
        if text in false_words:
            return False
        return _BAD

    return convert


_FLAG = _flag_converter(TRUE_WORDS, FALSE_WORDS)
_SATISFIED = _flag_converter(SATISFIED_TRUE, SATISFIED_FALSE)


def _convert_flag(column: pd.Series, spec: Field):
    values, missing, bad = _by_unique(column, _FLAG, bool, False)
    return values, missing, bad, lambda v: f"expected true/false (yes/no, 1/0, 是/否), got {_show(v)}"


def _convert_satisfied(column: pd.Series, spec: Field):
    values, missing, bad = _by_unique(column, _SATISFIED, bool, False)
    result = pd.arrays.BooleanArray(values, missing | bad)
    return result, missing, bad, lambda v: f"expected true/false or 满意/不满意, got {_show(v)}"


def _score(value):
    if isinstance(value, (bool, np.bool_)):
        return _BAD
    text = _scalar_text(value)
    if text is _MISSING:
        return text
    try:
        number = float(text)
    except ValueError:
        return _BAD
    if not number.is_integer() or not 1 <= number <= 5:
        return _BAD
    return int(number)


def _convert_score(column: pd.Series, spec: Field):
    values, missing, bad = _by_unique(column, _score, np.int8, 0)
    result = pd.arrays.IntegerArray(values, missing | bad)
    return result, missing, bad, lambda v: f"must be a whole number from 1 to 5, got {_show(v)}"


def _convert_choice(column: pd.Series, spec: Field):
    def convert(value):
        text = _scalar_text(value)
        if text is _MISSING:
            return text
        return text if text in spec.choices else _BAD

    values, missing, bad = _by_unique(column, convert, object, None)
    allowed = ", ".join(spec.choices)
    return values, missing, bad, lambda v: f"expected one of {allowed}, got {_show(v)}"


def _count(value):
    if isinstance(value, (bool, np.bool_)):
        return _BAD
    text = _scalar_text(value)
    if text is _MISSING:
        return text
    try:
        number = float(text)
    except ValueError:
        return _BAD
    if not number.is_integer() or not 0 <= number < 2**31:
        return _BAD
    return int(number)


def _convert_count(column: pd.Series, spec: Field):
    values, missing, bad = _by_unique(column, _count, np.int32, 0)
    if missing.any():
        values = np.where(missing, np.int32(spec.default or 0), values)
    return values, missing, bad, lambda v: f"must be a whole number ≥ 0, got {_show(v)}"


_CONVERTERS = {
    "id": _convert_id,
    "text": _convert_text,
    "label": _convert_label,
    "time": _convert_time,
    "province": _convert_province,
    "flag": _convert_flag,
    "satisfied": _convert_satisfied,
    "score": _convert_score,
    "choice": _convert_choice,
    "count": _convert_count,
}


def _default_values(spec: Field, n: int):
    if spec.kind == "flag":
        return np.full(n, bool(spec.default), dtype=bool)
    if spec.kind == "time":
        return np.full(n, np.datetime64("NaT"), dtype="datetime64[us]")
    if spec.kind == "province":
        return np.zeros(n, dtype=np.int32)
    if spec.kind == "satisfied":
        return pd.array([None] * n, dtype="boolean")
    if spec.kind == "score":
        return pd.array([None] * n, dtype="Int8")
    if spec.kind == "count":
        return np.full(n, spec.default or 0, dtype=np.int32)
    values = pa.nulls(n, pa.string()) if spec.default is None else pa.array([spec.default] * n, pa.string())
    return pd.Series(pd.arrays.ArrowExtensionArray(values))


def _take(values, keep: np.ndarray | None):
    """The kept rows (`keep` None: all of them) with a fresh 0.. index."""
    if isinstance(values, pd.Series):
        if keep is None:
            index = values.index
            fresh = isinstance(index, pd.RangeIndex) and index.start == 0 and index.step == 1
            return values if fresh else values.reset_index(drop=True)
        return values[keep].reset_index(drop=True)
    return values if keep is None else values[keep]


# Text is Arrow-backed (pd.ArrowDtype(pa.string())): DuckDB scans it several times
# faster than pandas' default "str" dtype or Python objects.
TEXT_DTYPE = pd.ArrowDtype(pa.string())
_FINAL_DTYPES = {
    "id": TEXT_DTYPE,
    "text": TEXT_DTYPE,
    "label": TEXT_DTYPE,
    "choice": TEXT_DTYPE,
    "time": np.dtype("datetime64[us]"),
    "province": np.dtype("int32"),
    "flag": np.dtype("bool"),
    "satisfied": pd.BooleanDtype(),
    "score": pd.Int8Dtype(),
    "count": np.dtype("int32"),
}


def _final_types(kind: str, frame: pd.DataFrame) -> pd.DataFrame:
    for spec in FIELDS[kind]:
        if not spec.stored:
            continue
        wanted = _FINAL_DTYPES[spec.kind]
        column = frame[spec.name]
        if column.dtype != wanted:
            fast = _arrow_text(column) if wanted == TEXT_DTYPE else None
            frame[spec.name] = fast if fast is not None else column.astype(wanted)
    return frame


def _arrow_text(column: pd.Series) -> pd.Series | None:
    """An Arrow-backed text column as TEXT_DTYPE without copying (astype goes value by value), or None."""
    data = getattr(column.array, "_pa_array", None)  # pandas' Arrow-backed arrays (str dtype, ArrowDtype)
    if data is None or not (pa.types.is_string(data.type) or pa.types.is_large_string(data.type)):
        return None
    if data.type != pa.string():
        data = data.cast(pa.string())
    return pd.Series(pd.arrays.ArrowExtensionArray(data), index=column.index, name=column.name)


def _rejections(kind: str, rows: np.ndarray, problems) -> list[Rejection]:
    if not problems:
        return []
    fields = FIELDS[kind]
    positions = np.concatenate([p for p, _, _ in problems])
    orders = np.concatenate([np.full(len(p), o, dtype=np.int16) for p, o, _ in problems])
    reasons = [r for _, _, rs in problems for r in rs]
    ranking = np.lexsort((orders, positions))
    return [Rejection(int(rows[positions[i]]), fields[orders[i]].shown, reasons[i]) for i in ranking]
