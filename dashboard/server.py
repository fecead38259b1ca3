"""Build the Dash app: pages, JSON API, shared cache, health endpoint."""

from __future__ import annotations

import logging

from dash import Dash, Input, Output, State, dcc, html
from flask import jsonify, request
from flask_caching import Cache
from werkzeug.exceptions import HTTPException, InternalServerError

from dashboard.analyst import callbacks as analyst_callbacks
from dashboard.analyst import layout as analyst_layout
from dashboard.api import create_api
from dashboard.brief_api import create_brief_api
from dashboard.ingest_api import create_ingest_api
from dashboard.readgate import ReadGate
from dashboard.wall import callbacks as wall_callbacks
from dashboard.wall import layout as wall_layout
from queries.db import Store
from queries.service import Metrics
from settings import PROJECT_ROOT, Settings

log = logging.getLogger(__name__)


def build_app(settings: Settings, store: Store, wall_views=None) -> Dash:
    """`wall_views`: where the wall's views come from (default: built here; a web process: scaleout.push)."""
    app = Dash(
        __name__,
        title="领导留言板 · 网上群众工作智慧大屏",
        assets_folder=str(PROJECT_ROOT / "assets"),
        health_endpoint="healthz",
        suppress_callback_exceptions=True,
        update_title=None,
        serve_locally=True,
    )
    cache = Cache(
        app.server,
        config={"CACHE_TYPE": "SimpleCache", "CACHE_THRESHOLD": 2000, "CACHE_DEFAULT_TIMEOUT": settings.cache_seconds},
    )
    metrics = Metrics(store, cache=cache.cache, timeout=settings.cache_seconds)
    ReadGate(store, settings.read_slots, settings.read_yield_ms).install(app.server)
    app.server.config["LIUYAN_WRITE_API"] = bool(settings.ingest_token)
    app.server.extensions["liuyan"] = {"settings": settings, "store": store, "metrics": metrics}
    app.server.register_blueprint(create_api(metrics, settings.now))
    app.server.register_blueprint(create_brief_api(metrics, settings.now))
    app.server.register_blueprint(create_ingest_api(store, settings))

    app.layout = html.Div([dcc.Location(id="url"), html.Div(id="page")])

    wall_callbacks.register(app, metrics, settings, views=wall_views)
    analyst_callbacks.register(app, metrics, settings)

    @app.server.errorhandler(Exception)
    def unexpected(exc: Exception):
        """A callback request Dash cannot read (crafted: no output, inputs of the wrong shape...) is the
        client's error: 400 with a JSON reason, not a 500. Anything else: logged, 500 as before."""
        callback = request.path.endswith("/_dash-update-component")
        if isinstance(exc, HTTPException):
            return (jsonify({"error": exc.name}), exc.code) if callback and exc.code == 400 else exc
        if callback:
            log.warning("callback request refused: %s: %s", type(exc).__name__, str(exc)[:200])
            return jsonify({"error": "malformed callback request"}), 400
        log.exception("unhandled error on %s", request.path)
        return InternalServerError()

    @app.callback(Output("page", "children"), Input("url", "pathname"), State("url", "search"))
    def route(pathname, search):
        if pathname in (None, "", "/", app.get_relative_path("/")):
            return wall_layout.build(wall_layout.kiosk_options(search, settings))
        if pathname in ("/analyst", "/analyst/", app.get_relative_path("/analyst")):
            return analyst_layout.build(search, settings)
        return wall_layout.placeholder(f"{pathname}: 建设中 (under construction)")

    return app
