"""GET /api/v1/brief: the briefing (专题简报) for a period and optional province, as PDF or Word.

One briefing renders at a time (each drives a Chromium); others wait up to BUSY_SECONDS, then get 503.
"""

from __future__ import annotations

import logging
import threading
from urllib.parse import quote

from flask import Blueprint, Response, jsonify, request

from briefing.build import FORMATS, build
from briefing.period import resolve
from dashboard.auth.access import own_provinces
from dashboard.params import BadParameter, parse_provinces

log = logging.getLogger(__name__)

BUSY_SECONDS = 60
MIME = {"pdf": "application/pdf", "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document"}


def create_brief_api(metrics, clock, sections=None) -> Blueprint:
    api = Blueprint("brief_v1", __name__, url_prefix="/api/v1")
    rendering = threading.Lock()

    @api.errorhandler(BadParameter)
    def bad_parameter(exc: BadParameter):
        response = jsonify({"error": exc.message, "parameter": exc.name})
        response.status_code = 400
        return response

    @api.get("/brief")
    def brief():
        now = clock()
        try:
            period = resolve(request.args.get("period", "week"), now.date())
        except ValueError as exc:
            raise BadParameter("period", str(exc)) from None
        # a province analyst's briefing is their province's (the metrics refuse any other)
        provinces = parse_provinces(request.args.getlist("province")[:2]) or own_provinces()
        if len(provinces) > 1:
            raise BadParameter("province", "one province at most")
        fmt = request.args.get("format", "pdf")
        if fmt not in FORMATS:
            raise BadParameter("format", f"expected one of {', '.join(FORMATS)}")
        if not rendering.acquire(timeout=BUSY_SECONDS):
            return jsonify({"error": "another briefing is being made; try again shortly"}), 503
        try:
            data, name = build(metrics, period, provinces[0] if provinces else None, now, fmt, sections)
        except (RuntimeError, OSError) as exc:  # no Chromium on this machine, or it failed to print
            log.exception("briefing failed")
            return jsonify({"error": f"the briefing could not be made: {str(exc)[:200]}"}), 503
        finally:
            rendering.release()
        response = Response(data, mimetype=MIME[fmt])
        response.headers["Content-Disposition"] = f"attachment; filename*=UTF-8''{quote(name)}"
        return response

    return api
