"""Security headers on every response, 404 for every path that is not a route, a Dash that names no versions.

The Content-Security-Policy allows scripts from this origin and the SHA-256 of each inline script Dash renders
(its one-line renderer start and clientside callbacks given as source text: `Dash.csp_hashes`); the
`_dash-config` block is `type="application/json"`, data that CSP does not govern. Styles need 'unsafe-inline':
Plotly, AG Grid and React write style elements and attributes at run time (styles cannot run script).
Nothing is loaded from another host.
"""

from __future__ import annotations

import hashlib
import re
import secrets

from dash import Dash
from flask import Flask, Response, jsonify, request
from werkzeug.exceptions import HTTPException, NotFound

# Dash's page routes are "/" and the catch-all "/<path:path>"; only these paths are pages.
PAGE_PATHS = {"", "analyst", "analyst/"}
# _dash-config keys that name software versions (and where to look up the newest)
VERSION_KEYS = ("dash_version", "python_version", "dash_version_url", "ddk_version", "plotly_version")
_FINGERPRINT = re.compile(r"\.v[\w-]+?m([0-9a-fA-F]+)\.")  # Dash's cache-busting file name: .v4_4_1m<mtime>.
_VERSION_QUERY = re.compile(r"\?v=[^\"']*")


class QuietDash(Dash):
    """Dash whose page advertises no versions: config keys dropped, file fingerprints made opaque."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # per process: a restart changes the file names (the browser fetches once more), no version to look up
        self._opaque = hashlib.sha256(secrets.token_bytes(16)).hexdigest()[:12]

    def _config(self):
        config = super()._config()
        for key in VERSION_KEYS:
            config.pop(key, None)
        config["disable_version_check"] = True
        return config

    def interpolate_index(self, **kwargs):
        kwargs["favicon"] = _VERSION_QUERY.sub("", kwargs.get("favicon", ""))
        kwargs["scripts"] = _FINGERPRINT.sub(lambda m: f".v{self._opaque}m{m.group(1)}.", kwargs.get("scripts", ""))
        return super().interpolate_index(**kwargs)


def content_security_policy(script_hashes: list[str], frame_ancestors: str, peers: tuple[str, ...] = ()) -> str:
    directives = {
        "default-src": "'self'",
        "script-src": " ".join(["'self'", *script_hashes]),
        "style-src": "'self' 'unsafe-inline'",
        "img-src": "'self' data: blob:",
        "font-src": "'self' data:",
        "connect-src": " ".join(["'self'", *peers]),  # peers: scale-out web processes a wall may move to
        "worker-src": "'self' blob:",
        "object-src": "'none'",
        "base-uri": "'self'",
        "form-action": "'self'",
        "frame-ancestors": frame_ancestors,
    }
    return "; ".join(f"{k} {v}" for k, v in directives.items())


def frame_options(frame_ancestors: str) -> str | None:
    """X-Frame-Options for browsers without frame-ancestors (it can say only 'self' or none)."""
    return {"'self'": "SAMEORIGIN", "'none'": "DENY"}.get(frame_ancestors.strip())


def error_response(path: str, status: int, message: str, as_json: bool = False) -> Response:
    if as_json or path.startswith("/api/"):
        response = jsonify({"error": message})
        response.status_code = status
        return response
    return Response(f"{status} {message}\n", status=status, mimetype="text/plain")


def install(app: Dash, frame_ancestors: str, peers: str = "") -> None:
    """Headers after every response; unknown paths 404 before Dash's catch-all serves its page."""
    server: Flask = app.server
    policy: list[str] = []  # built on the first response, once every callback (and inline script) exists
    xfo = frame_options(frame_ancestors)

    @server.before_request
    def only_real_pages():
        rule = request.url_rule
        if rule is not None and rule.rule.endswith("<path:path>"):
            if (request.view_args or {}).get("path", "") not in PAGE_PATHS:
                raise NotFound()

    @server.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        """JSON for the API and callback requests, plain text for refusals elsewhere (never the Dash page)."""
        code = exc.code or 500
        json_path = request.path.startswith("/api/") or request.path.endswith("/_dash-update-component")
        if code >= 400 and (json_path or code in (401, 403, 404)):
            description = exc.description if code in (401, 403) else (exc.name or "error").lower()
            return error_response(request.path, code, description, as_json=json_path)
        return exc

    @server.after_request
    def headers(response: Response) -> Response:
        if not policy:
            origins = tuple(p.strip().rstrip("/") for p in peers.split(",") if p.strip())
            policy.append(content_security_policy(app.csp_hashes(), frame_ancestors, origins))
        h = response.headers
        h.setdefault("Content-Security-Policy", policy[0])
        h.setdefault("X-Content-Type-Options", "nosniff")
        h.setdefault("Referrer-Policy", "same-origin")
        h.setdefault("Cross-Origin-Opener-Policy", "same-origin")
        h.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=(), payment=()")
        if xfo:
            h.setdefault("X-Frame-Options", xfo)
        if request.path.startswith(("/api/", "/login", "/auth/")) or response.mimetype == "text/html":
            h.setdefault("Cache-Control", "no-store")
        return response
