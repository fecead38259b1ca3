"""Write API: POST /api/v1/ingest/<kind>, a JSON array or JSON Lines body, bearer token.

Uses the import path's reader and validator (one implementation), then writes
the accepted rows in one transaction: after a crash either the whole request is
there or none of it, and re-sending it changes nothing (upsert by id).
"""

from __future__ import annotations

import hmac

from flask import Blueprint, jsonify, request

from ingest.readers import ReadError, parse_body
from ingest.simulate import mark_imported
from ingest.validate import latest_time, validate
from queries.db import Store
from queries.write_groups import WriteGroups
from queries.writes import KINDS
from settings import Settings

BODY_TYPES = {
    "application/json",
    "application/x-ndjson",
    "application/jsonl",
    "application/json-lines",
    "application/x-jsonlines",
    "application/jsonlines",
}


def _error(status: int, message: str, **extra):
    response = jsonify({"error": message, **extra})
    response.status_code = status
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="liuyan-ingest"'
    return response


def _authorised(header: str | None, token: str) -> bool:
    scheme, _, presented = (header or "").partition(" ")
    # compare_digest on bytes: constant time whatever the presented value is
    return scheme.lower() == "bearer" and hmac.compare_digest(presented.strip().encode(), token.encode())


def create_ingest_api(store: Store, settings: Settings) -> Blueprint:
    api = Blueprint("ingest_v1", __name__, url_prefix="/api/v1/ingest")
    marked: list = []  # mark_imported ran for this store (two metadata reads per request otherwise)
    groups = WriteGroups(store)  # requests arriving together share a transaction

    @api.post("/<kind>")
    def ingest(kind: str):
        if not settings.ingest_token:
            return _error(503, "the write API is off: start the server with LIUYAN_INGEST_TOKEN set")
        if not _authorised(request.headers.get("Authorization"), settings.ingest_token):
            return _error(401, "missing or wrong bearer token")
        if kind not in KINDS:
            return _error(404, f"unknown kind; expected one of {', '.join(KINDS)}")
        if request.mimetype not in BODY_TYPES:
            return _error(415, "send application/json (an array) or application/x-ndjson (JSON Lines)")
        limit = settings.max_body_bytes
        if request.content_length is not None and request.content_length > limit:
            return _error(413, f"body larger than {limit} bytes")
        body = request.stream.read(limit + 1)
        with store.writing():  # screens' reads let this request go first: parsing, validation, transaction
            return _ingest(kind, body)

    def _ingest(kind: str, body: bytes):
        limit = settings.max_body_bytes
        if len(body) > limit:
            return _error(413, f"body larger than {limit} bytes")
        try:
            chunk = parse_body(body)
        except ReadError as exc:
            return _error(400, f"body cannot be parsed: {exc}")
        if chunk.rejections and chunk.frame.empty:
            first = chunk.rejections[0]
            return _error(400, f"body cannot be parsed: line {first.row}: {first.reason}")
        accepted, rejections = validate(kind, chunk.frame, latest=latest_time(settings))
        if not accepted.empty and not marked:
            mark_imported(store)  # outside data: a demo database is no longer simulated
            marked.append(True)  # once per server: the mark stays
        result = groups.upsert(kind, accepted)
        rejected = sorted(chunk.rejections + rejections + result.rejected, key=lambda r: r.row)
        rejected_rows = {r.row for r in rejected}
        return jsonify(
            {
                "kind": kind,
                "received": chunk.rows,
                "accepted": chunk.rows - len(rejected_rows),
                "written": result.written,
                "held": result.held,
                "linked": result.linked,
                "rejected": [{"index": r.row, "field": r.field, "reason": r.reason} for r in rejected],
                "data_version": store.data_version,
            }
        )

    return api
