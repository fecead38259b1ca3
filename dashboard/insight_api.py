"""Insight endpoints of the JSON API: /api/v1/hot-words, hot-issues, alerts, repeats (text masked).

Without start, end or period the period is the last 30 days. A period may span at most MAX_DAYS days (one
year's analysis takes seconds, a longer one would hold a worker for long).
"""

from __future__ import annotations

from flask import Blueprint, jsonify, request
from werkzeug.datastructures import MultiDict

from dashboard.params import BadParameter, filters_from_args
from insight.service import Insight

PARAMS = {"start", "end", "period", "province", "category", "msg_type", "urgent"}
LIMITED = {"hot-words", "hot-issues"}
MAX_DAYS = 366
MAX_LIMIT = 1000


def _limit(default: int) -> int:
    raw = request.args.get("limit")
    if raw in (None, ""):
        return default
    if not raw.strip().isdigit() or not 1 <= int(raw) <= MAX_LIMIT:
        raise BadParameter("limit", f"expected a whole number 1–{MAX_LIMIT}, got {raw[:20]!r}")
    return int(raw)


def create_insight_api(insight: Insight, clock=None) -> Blueprint:
    api = Blueprint("api_v1_insight", __name__, url_prefix="/api/v1")

    def filters(endpoint: str):
        allowed = PARAMS | ({"limit"} if endpoint in LIMITED else set())
        for name in request.args:
            if name not in allowed and not name.startswith("_"):
                raise BadParameter(name, f"unknown parameter; expected {', '.join(sorted(allowed))}")
        args = request.args
        if not any(args.get(k) for k in ("start", "end", "period")):
            args = MultiDict(list(args.items(multi=True)) + [("period", "last30")])
        f = filters_from_args(args, clock().date() if clock else None)
        if (f.end - f.start).days + 1 > MAX_DAYS:
            raise BadParameter("start", f"a period of at most {MAX_DAYS} days")
        return f

    @api.errorhandler(BadParameter)
    def bad_parameter(exc: BadParameter):
        return jsonify({"error": exc.message, "parameter": exc.name}), 400

    @api.get("/hot-words")
    def hot_words():
        f = filters("hot-words")
        return jsonify(insight.hot_words(f, _limit(20)))

    @api.get("/hot-issues")
    def hot_issues():
        f = filters("hot-issues")
        return jsonify(insight.hot_issues(f, _limit(50)))

    @api.get("/alerts")
    def alerts():
        f = filters("alerts")
        return jsonify(insight.alerts(f))

    @api.get("/repeats")
    def repeats():
        f = filters("repeats")
        return jsonify(insight.repeats(f))

    return api
