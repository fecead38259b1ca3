"""Supervision (督办) JSON API under /api/v1/: unit league and lists, reply quality, overdue aging,
dissatisfaction, good ideas. Same filter parameters as the other endpoints; numbers unrounded, NaN null."""

from __future__ import annotations

from flask import Blueprint, jsonify, request

from dashboard.api import COMMON_PARAMS, _clean
from dashboard.params import BadParameter, filters_from_args, parse_provinces
from supervision import aging, league
from supervision.service import Supervision

UNIT_FIELDS = [c for c in league.COLUMNS]


def records(frame, columns=None) -> list[dict]:
    """Rows as JSON values: missing values of nullable columns (pd.NA, NaN) become null."""
    frame = frame if columns is None else frame[columns]
    plain = frame.astype(object).where(frame.notna(), None)
    return [{k: _clean(v) for k, v in row.items()} for row in plain.to_dict("records")]


def _int(name: str, default: int, low: int, high: int) -> int:
    raw = request.args.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise BadParameter(name, f"expected a whole number, got {raw[:20]!r}") from None
    if not low <= value <= high:
        raise BadParameter(name, f"must be between {low} and {high}")
    return value


def create_supervision_api(supervision: Supervision) -> Blueprint:
    api = Blueprint("api_v1_supervision", __name__, url_prefix="/api/v1")
    settings = supervision.settings

    def filters(*extra: str):
        allowed = COMMON_PARAMS | set(extra)
        for name in request.args:
            if name not in allowed and not name.startswith("_"):
                raise BadParameter(name, f"unknown parameter; expected {', '.join(sorted(allowed))}")
        return filters_from_args(request.args, supervision.now().date())

    def period(f) -> dict:
        return {"start": f.start.isoformat(), "end": f.end.isoformat()}

    @api.errorhandler(BadParameter)
    def bad_parameter(exc: BadParameter):
        return jsonify({"error": exc.message, "parameter": exc.name}), 400

    def min_rated() -> int:
        return _int("min_rated", int(settings.min_rated), 1, 1_000_000)

    @api.get("/units")
    def units():
        f = filters("min_rated", "sort", "limit")
        sort = request.args.get("sort") or "rank"
        if sort.lstrip("-") not in league.SORT_KEYS:
            raise BadParameter("sort", f"expected one of {', '.join(league.SORT_KEYS)} (prefix '-' for descending)")
        limit = _int("limit", 1000, 1, 100_000)
        table = league.sort_table(supervision.league(f, min_rated()), sort, limit)
        return jsonify(
            {
                **period(f),
                "min_rated": min_rated(),
                "on_time_days": int(settings.on_time_days),
                "units": records(table, UNIT_FIELDS),
            }
        )

    @api.get("/units/lists")
    def unit_lists():
        f = filters("min_rated", "n")
        n = _int("n", 15, 1, 100)
        out = []
        for item in league.lists(supervision.league(f, min_rated()), n):
            out.append(
                {
                    "province": item["province"],
                    "province_name": item["province_name"],
                    "ranked": item["ranked"],
                    "best": records(item["best"], UNIT_FIELDS),
                    "worst": records(item["worst"], UNIT_FIELDS),
                }
            )
        return jsonify({**period(f), "min_rated": min_rated(), "n": n, "provinces": out})

    @api.get("/units/detail")
    def unit_detail():
        f = filters("unit", "unit_province")
        unit = (request.args.get("unit") or "").strip()
        if not unit or len(unit) > 200:
            raise BadParameter("unit", "expected a unit name (1-200 characters)")
        codes = parse_provinces([request.args.get("unit_province") or ""], "unit_province")
        if len(codes) != 1:
            raise BadParameter("unit_province", "expected one province")
        result = supervision.unit(f, unit, codes[0])
        return jsonify(
            {
                **period(f),
                "unit": result["unit"],
                "province": result["province"],
                "answered": result["answered"],
                **{k: records(result[k]) for k in ("trend", "domains", "slowest", "lowest_rated")},
            }
        )

    @api.get("/replies/quality")
    def reply_quality():
        f = filters("limit")
        limit = _int("limit", 200, 1, 10_000)
        result = supervision.quality(f)
        return jsonify(
            {
                **period(f),
                **{k: _clean(v) for k, v in result["totals"].items()},
                "units": records(result["units"].head(limit)),
                "provinces": records(result["provinces"]),
                "top_texts": records(result["top_texts"]),
            }
        )

    @api.get("/overdue")
    def overdue():
        f = filters("limit")
        result = supervision.aging(f, _int("limit", 50, 1, 1000))
        return jsonify(
            {
                **period(f),
                "now": _clean(result["now"]),
                "buckets_order": list(aging.BUCKET_KEYS),
                **{k: result[k] for k in ("unanswered", "waiting", "in_progress")},
                **{k: records(result[k]) for k in ("buckets", "provinces", "addressees", "oldest")},
            }
        )

    @api.get("/dissatisfaction")
    def dissatisfaction():
        f = filters("limit")
        result = supervision.dissatisfaction(f, _int("limit", 200, 1, 5000))
        return jsonify(
            {
                **period(f),
                "low": result["low"],
                "pool_start": _clean(result["pool_start"]),
                "pool_end": _clean(result["pool_end"]),
                "pool_total": result["pool_total"],
                **{k: records(result[k]) for k in ("reasons", "units", "provinces", "pool")},
            }
        )

    @api.get("/ideas")
    def good_ideas():
        f = filters("limit")
        result = supervision.ideas(f, _int("limit", 20, 1, 1000))
        return jsonify(
            {
                **period(f),
                "suggestions": result["suggestions"],
                "adopted_count": result["adopted_count"],
                **{k: records(result[k]) for k in ("by_likes", "by_similar", "adopted")},
            }
        )

    return api
