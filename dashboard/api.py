"""Read-only JSON API, /api/v1/... (numbers unrounded; NaN becomes null)."""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import orjson
import pandas as pd
from flask import Blueprint, current_app, jsonify, request

from dashboard.params import BadParameter, filters_from_args, granularity_from_args
from queries.messages import terms as message_terms
from queries.service import Metrics

COMMON_PARAMS = {"start", "end", "period", "province", "category", "msg_type", "urgent"}
ENDPOINT_PARAMS = {"trend": {"granularity"}, "feed": {"limit"}, "messages": {"q", "limit", "offset"}}
MAX_PAGE, MAX_OFFSET, MAX_WORDS, MAX_Q = 100, 10_000, 10, 200


def _clean(value):
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, (float, np.floating)):
        return None if math.isnan(value) or math.isinf(value) else float(value)
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (np.bool_,)):
        return bool(value)
    if isinstance(value, (pd.Timestamp, dt.datetime)):
        return value.isoformat(sep=" ")
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def records(frame: pd.DataFrame, columns: list[str] | None = None) -> list[dict]:
    """Rows as JSON-ready dicts, converted column by column (numeric columns in one numpy pass each)."""
    names = list(frame.columns) if columns is None else columns
    values = [_column_values(frame[name]) for name in names]
    return [dict(zip(names, row, strict=True)) for row in zip(*values, strict=True)] if names else []


def _column_values(column: pd.Series) -> list:
    kind = column.dtype.kind if isinstance(column.dtype, np.dtype) else ""
    if kind == "f":
        array = column.to_numpy()
        out = array.tolist()
        for i in np.flatnonzero(~np.isfinite(array)).tolist():
            out[i] = None
        return out
    if kind in "iub":
        return column.to_numpy().tolist()
    return [_clean(v) for v in column.tolist()]


def column_records(columns: dict) -> list[dict]:
    """Rows as JSON-ready dicts from {name: array or list} (as records, without building a DataFrame)."""
    names = list(columns)
    values = [_array_values(columns[name]) for name in names]
    return [dict(zip(names, row, strict=True)) for row in zip(*values, strict=True)] if names else []


def _array_values(values) -> list:
    if isinstance(values, np.ndarray) and values.dtype.kind == "f":
        out = values.tolist()
        for i in np.flatnonzero(~np.isfinite(values)).tolist():
            out[i] = None
        return out
    if isinstance(values, np.ndarray) and values.dtype.kind in "iub":
        return values.tolist()
    return [_clean(v) for v in list(values)]


def _json(payload: dict):
    """A JSON response of JSON-ready values, as jsonify writes it (keys sorted) but encoded by orjson: the metric
    endpoints' rows cost several times more through the standard library's encoder."""
    return current_app.response_class(orjson.dumps(payload, option=orjson.OPT_SORT_KEYS), mimetype="application/json")


def _deep_clean(value):
    if isinstance(value, dict):
        return {k: _deep_clean(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_deep_clean(v) for v in value]
    return _clean(value)


def _bounded(name: str, raw: str | None, default: int, low: int, high: int) -> int:
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise BadParameter(name, "expected an integer") from None
    if not low <= value <= high:
        raise BadParameter(name, f"must be between {low} and {high}")
    return value


def create_api(metrics: Metrics, clock=None) -> Blueprint:
    api = Blueprint("api_v1", __name__, url_prefix="/api/v1")

    def filters(endpoint: str):
        allowed = COMMON_PARAMS | ENDPOINT_PARAMS.get(endpoint, set())
        for name in request.args:
            if name not in allowed and not name.startswith("_"):
                raise BadParameter(name, f"unknown parameter; expected {', '.join(sorted(allowed))}")
        return filters_from_args(request.args, clock().date() if clock else None)

    @api.errorhandler(BadParameter)
    def bad_parameter(exc: BadParameter):
        return jsonify({"error": exc.message, "parameter": exc.name}), 400

    @api.get("/summary")
    def summary():
        f = filters("summary")
        return _json({k: _clean(v) for k, v in metrics.summary(f).items()})

    @api.get("/provinces")
    def provinces():
        f = filters("provinces")
        columns = metrics.province_columns(f)
        return _json(
            {
                "start": f.start.isoformat(),
                "end": f.end.isoformat(),
                "census_year": int(columns["census_year"][0]) if len(columns["census_year"]) else None,
                "provinces": column_records(columns),
            }
        )

    @api.get("/trend")
    def trend():
        f = filters("trend")
        granularity = granularity_from_args(request.args, f)
        return _json(
            {
                "start": f.start.isoformat(),
                "end": f.end.isoformat(),
                "granularity": granularity,
                "points": column_records(metrics.trend_columns(f, granularity)),
            }
        )

    @api.get("/categories")
    def categories():
        f = filters("categories")
        return jsonify(
            {"start": f.start.isoformat(), "end": f.end.isoformat(), "categories": records(metrics.by_category(f))}
        )

    @api.get("/types")
    def types():
        f = filters("types")
        return jsonify({"start": f.start.isoformat(), "end": f.end.isoformat(), "types": records(metrics.by_type(f))})

    @api.get("/feed")
    def feed():
        f = filters("feed")
        raw = request.args.get("limit", "30")
        try:
            limit = int(raw) if len(raw) <= 6 else 0
        except ValueError:
            raise BadParameter("limit", "expected an integer") from None
        if not 1 <= limit <= 500:
            raise BadParameter("limit", "must be between 1 and 500")
        columns = [
            "message_id",
            "created_at",
            "province",
            "province_name",
            "city",
            "category",
            "msg_type",
            "title",
            "status",
        ]
        reply_columns = [
            "message_id",
            "replied_at",
            "created_at",
            "province",
            "province_name",
            "city",
            "category",
            "msg_type",
            "title",
            "unit",
        ]
        return jsonify(
            {
                "messages": records(metrics.latest_messages(f, limit), columns),
                "replies": records(metrics.latest_replies(f, limit), reply_columns),
            }
        )

    @api.get("/messages")
    def messages():
        f = filters("messages")
        limit = _bounded("limit", request.args.get("limit"), 20, 1, MAX_PAGE)
        offset = _bounded("offset", request.args.get("offset"), 0, 0, MAX_OFFSET)
        q = request.args.get("q") or ""
        if len(q) > MAX_Q:
            raise BadParameter("q", f"at most {MAX_Q} characters")
        words = tuple(message_terms(q))
        if len(words) > MAX_WORDS:
            raise BadParameter("q", f"at most {MAX_WORDS} words")
        frame, total = metrics.messages(f, words, limit, offset)
        return jsonify({"messages": records(frame), "total": total, "limit": limit, "offset": offset})

    @api.get("/messages/<message_id>")
    def message(message_id: str):
        found = metrics.message(message_id) if len(message_id) <= 200 else None
        if found is None:
            return jsonify({"error": "no such message", "message_id": message_id[:200]}), 404
        return jsonify(_deep_clean(found))

    @api.get("/meta")
    def meta():
        store = metrics.store
        return jsonify(
            {
                "data_version": metrics.data_version,
                "demo": store.is_demo,
                "last_write_at": store.last_write_at,
                "write_api": bool(current_app.config.get("LIUYAN_WRITE_API")),
            }
        )

    return api
