"""Security headers on pages, API answers, assets and errors; 404 for every path that is not a route; the page
names no software versions. Real HTTP against the default (open demo) settings unless a test sets otherwise."""

from __future__ import annotations

import base64
import hashlib
import json
import re
from importlib import metadata

import pytest
import requests

from dashboard.headers import content_security_policy, frame_options

PATHS = {
    "page": "/",
    "analyst": "/analyst",
    "api": "/api/v1/meta",
    "asset": "/assets/wall.css",
    "suite": None,  # a Dash component bundle, found in the page
    "missing": "/.git/config",
}


@pytest.fixture
def live(store, serve):
    return serve(store)


def _policy(header: str) -> dict[str, list[str]]:
    out = {}
    for part in header.split(";"):
        name, *values = part.split()
        out[name] = values
    return out


def _bundle(page: str) -> str:
    return re.search(r'<script src="(/_dash-component-suites/[^"]+)"', page).group(1)


def test_every_response_carries_the_headers(live):
    page = requests.get(live.url + "/").text
    for kind, path in {**PATHS, "suite": _bundle(page)}.items():
        r = requests.get(live.url + path)
        h = r.headers
        assert h["X-Content-Type-Options"] == "nosniff", kind
        assert h["Referrer-Policy"] == "same-origin", kind
        assert h["X-Frame-Options"] == "SAMEORIGIN", kind
        policy = _policy(h["Content-Security-Policy"])
        assert policy["frame-ancestors"] == ["'self'"], kind
        assert policy["default-src"] == ["'self'"] and policy["object-src"] == ["'none'"], kind
        assert "'unsafe-inline'" not in policy["script-src"] and "'unsafe-eval'" not in policy["script-src"], kind
        # no outside host anywhere in the policy (by default): everything is served locally
        assert not re.search(r"https?:|\*", h["Content-Security-Policy"]), kind


def test_the_policy_allows_exactly_the_pages_inline_scripts(live):
    """Each inline executable script of the page has its SHA-256 in script-src (the JSON config is data)."""
    r = requests.get(live.url + "/analyst")
    allowed = set(_policy(r.headers["Content-Security-Policy"])["script-src"])
    inline = re.findall(r"<script(?![^>]*\bsrc=)([^>]*)>(.*?)</script>", r.text, flags=re.S)
    executable = [body for attrs, body in inline if "application/json" not in attrs and body.strip()]
    assert executable  # Dash's renderer start at least
    for body in executable:
        if "alert(" in body and "Internet Explorer" in body:
            continue  # inside <!--[if IE]> ... <![endif]-->: a comment for every other browser
        digest = base64.b64encode(hashlib.sha256(body.encode()).digest()).decode()
        assert f"'sha256-{digest}'" in allowed, body[:80]


def test_frame_ancestors_follow_the_setting(store, serve):
    for setting, xfo in (("'none'", "DENY"), ("'self' https://wall.example.org", None)):
        live = serve(store, frame_ancestors=setting)
        h = requests.get(live.url + "/").headers
        assert _policy(h["Content-Security-Policy"])["frame-ancestors"] == setting.split()
        assert h.get("X-Frame-Options") == xfo
    live = serve(store, peers="http://web-b.example:8050, http://web-c.example:8050/")
    connect = _policy(requests.get(live.url + "/").headers["Content-Security-Policy"])["connect-src"]
    assert connect == ["'self'", "http://web-b.example:8050", "http://web-c.example:8050"]  # a wall's failover
    assert frame_options("'self'") == "SAMEORIGIN"
    assert "frame-ancestors 'none'" in content_security_policy([], "'none'")


@pytest.mark.parametrize(
    "path", ["/.git/config", "/foo", "/analyst/x", "/index.php", "/_dash-config", "/static/x.js", "/assets/none.js"]
)
def test_unknown_paths_are_404_plain(live, path):
    r = requests.get(live.url + path)
    assert r.status_code == 404, path
    assert r.headers["Content-Type"].startswith("text/plain") or path.startswith("/assets/"), path
    assert "_dash-config" not in r.text and "react-entry-point" not in r.text
    assert r.headers["X-Content-Type-Options"] == "nosniff"


@pytest.mark.parametrize("path", ["/api/v1/nope", "/api/v2/summary", "/api/", "/api/v1/summary/x"])
def test_unknown_api_paths_are_404_json(live, path):
    r = requests.get(live.url + path)
    assert r.status_code == 404 and r.headers["Content-Type"].startswith("application/json"), path
    assert r.json()["error"]


def test_the_real_routes_still_serve(live):
    for path in ("/", "/analyst", "/analyst/", "/healthz", "/api/v1/summary", "/_dash-layout", "/_dash-dependencies"):
        assert requests.get(live.url + path).status_code == 200, path


def test_the_page_names_no_versions(live):
    page = requests.get(live.url + "/").text
    config = json.loads(re.search(r'<script id="_dash-config" type="application/json">(.*?)</script>', page).group(1))
    for key in ("dash_version", "plotly_version", "python_version", "dash_version_url", "ddk_version"):
        assert key not in config
    versions = {metadata.version(p) for p in ("dash", "plotly", "dash-ag-grid")}
    for version in versions:
        assert version not in page and version.replace(".", "_") not in page, version
    assert "dash-version.plotly.com" not in page
    # the opaque fingerprints still let the browser cache the bundles for long
    bundle = requests.get(live.url + _bundle(page))
    assert bundle.status_code == 200 and "max-age" in bundle.headers.get("Cache-Control", "")
