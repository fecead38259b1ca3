"""Build the Dash app: pages, JSON API, shared cache, health endpoint, security headers and the login gate."""

from __future__ import annotations

import logging

from dash import Dash, Input, Output, State, dcc, html
from flask import jsonify, request
from flask_caching import Cache
from werkzeug.exceptions import HTTPException, InternalServerError
from werkzeug.middleware.proxy_fix import ProxyFix

from briefing.sections import providers
from dashboard import headers, i18n
from dashboard.analyst import callbacks as analyst_callbacks
from dashboard.analyst import hot as analyst_hot
from dashboard.analyst import layout as analyst_layout
from dashboard.analyst import supervision as analyst_supervision
from dashboard.api import create_api
from dashboard.auth import access, web
from dashboard.auth.access import ScopedMetrics
from dashboard.brief_api import create_brief_api
from dashboard.ingest_api import create_ingest_api
from dashboard.insight_api import create_insight_api
from dashboard.readgate import ReadGate
from dashboard.supervision_api import create_supervision_api
from dashboard.wall import callbacks as wall_callbacks
from dashboard.wall import layout as wall_layout
from insight.service import Insight
from queries.db import Store
from queries.service import Metrics
from settings import PROJECT_ROOT, Settings
from supervision.service import Supervision

log = logging.getLogger(__name__)


def build_app(settings: Settings, store: Store, wall_views=None) -> Dash:
    """`wall_views`: where the wall's views come from (default: built here; a web process: scaleout.push)."""
    app = headers.QuietDash(
        __name__,
        title="领导留言板 · 网上群众工作智慧大屏",
        assets_folder=str(PROJECT_ROOT / "assets"),
        health_endpoint="healthz",
        suppress_callback_exceptions=True,
        update_title=None,
        serve_locally=True,
        csrf_token_name=web.CSRF_COOKIE,
        csrf_header_name=web.CSRF_HEADER,
    )
    if settings.proxy_hops:
        app.server.wsgi_app = ProxyFix(
            app.server.wsgi_app, x_for=settings.proxy_hops, x_proto=settings.proxy_hops, x_host=settings.proxy_hops
        )
    cache = Cache(
        app.server,
        config={"CACHE_TYPE": "SimpleCache", "CACHE_THRESHOLD": 2000, "CACHE_DEFAULT_TIMEOUT": settings.cache_seconds},
    )
    metrics = Metrics(store, cache=cache.cache, timeout=settings.cache_seconds)
    read_gate = ReadGate(store, settings.read_slots, settings.read_yield_ms)
    read_gate.install(app.server)
    # the read API and the analyst see the metrics through the request's principal (a province analyst: one province)
    scoped = ScopedMetrics(metrics)
    app.server.config["LIUYAN_WRITE_API"] = bool(settings.ingest_token)
    insight = Insight(store, cache=cache.cache, timeout=settings.cache_seconds, clock=settings.now)
    supervision = Supervision(metrics, settings)
    # requests see insight and supervision through the principal too; the wall's story (no request) does not
    scoped_insight, scoped_supervision = ScopedMetrics(insight), ScopedMetrics(supervision)
    app.server.extensions["liuyan"] = {
        "settings": settings,
        "store": store,
        "metrics": metrics,
        "insight": insight,
        "supervision": supervision,
        "read_gate": read_gate,
    }
    app.server.register_blueprint(create_api(scoped, settings.now))
    app.server.register_blueprint(create_insight_api(scoped_insight, settings.now))
    # the briefing's province is the reader's own (brief_api) and checked by the scoped metrics before its sections
    # run; they run on worker threads (no request there), so they take the services themselves
    app.server.register_blueprint(create_brief_api(scoped, settings.now, providers(insight, supervision)))
    app.server.register_blueprint(create_ingest_api(store, settings))
    app.server.register_blueprint(create_supervision_api(scoped_supervision))

    app.layout = html.Div([dcc.Location(id="url"), html.Div(id="page"), html.Div(id="session-bar")])

    @app.server.get("/push/hello", endpoint="no_push")
    @app.server.get("/scale/status", endpoint="no_snapshot")
    def single_process():
        """A scale-out web process answers these (scaleout/roles.py); one process has no push and no snapshot:
        204, so that the wall and analyst scripts stop asking (an unknown path is 404 now, an error in the console)."""
        return "", 204

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

    # which callbacks belong to which page: the gate lets each role reach only its pages' callbacks
    outputs = {"wall": _registered(app, lambda: wall_callbacks.register(app, metrics, settings, views=wall_views))}
    if wall_views is None:  # the wall's views are built here: its refresh waits only when it builds (Views.get)
        read_gate.self_gated = frozenset(outputs["wall"])

    def analyst():
        supervision_tables = analyst_supervision.register(app, scoped_supervision, settings)
        hot_tables = analyst_hot.register(app, scoped_insight, scoped, settings)

        def tables(name, state):
            return (hot_tables if name in analyst_hot.DOWNLOADS else supervision_tables)(name, state)

        analyst_callbacks.register(app, scoped, settings, tables)

    outputs["analyst"] = _registered(app, analyst)

    def shell():
        @app.callback(Output("page", "children"), Input("url", "pathname"), State("url", "search"))
        def route(pathname, search):
            principal = access.current()
            options = wall_layout.kiosk_options(search, settings)
            if pathname in (None, "", "/", app.get_relative_path("/")):
                if principal is None or not principal.may_open("wall"):
                    return wall_layout.placeholder(i18n.t("no_access", options["lang"]))
                return wall_layout.build(access.wall_scope(options, principal))
            if pathname in ("/analyst", "/analyst/", app.get_relative_path("/analyst")):
                if principal is None or not principal.may_open("analyst"):
                    return wall_layout.placeholder(i18n.t("no_access", options["lang"]))
                return analyst_layout.build(search, settings)
            return wall_layout.placeholder(f"{pathname}: 建设中 (under construction)")

        web.configure_session_bar(app)

    outputs["shell"] = _registered(app, shell)
    headers.install(app, settings.frame_ancestors, settings.peers)  # first: an unknown path is 404 for everyone
    app.server.extensions["liuyan"]["gate"] = web.configure(app, settings, outputs)
    return app


def _registered(app: Dash, register) -> set[str]:
    """The callback outputs that `register()` adds (the keys the renderer posts as `output`)."""
    before = set(app.callback_map)
    register()
    return set(app.callback_map) - before
