"""The gate in front of every request: who is asking, may they, and did the request come from our own pages.

Sessions are Flask's signed cookie (HttpOnly, SameSite=Lax, Secure by setting) holding the user's name, role
and a CSRF token; every request re-reads the user store, so a removed user is out at once. CSRF: every
state-changing request (Dash callbacks, login, logout) must come from this origin (Sec-Fetch-Site / Origin) and,
with auth=required, carry the session's token: Dash's renderer sends the `liuyan_csrf` cookie's value in the
X-CSRFToken header, the forms send it as a field (synchronizer token; the cookie is only its carrier to the
page, the comparison is with the signed session). The write API keeps its bearer token and is exempt.
"""

from __future__ import annotations

import datetime as dt
import hmac
import secrets
import threading
import time
from urllib.parse import parse_qs, urlencode, urlsplit

from dash import Dash, Input, Output, dcc, html
from flask import Blueprint, abort, g, redirect, render_template, request, session
from werkzeug.exceptions import HTTPException

from dashboard import i18n
from dashboard.auth import access
from dashboard.auth.access import DEMO, Principal
from dashboard.auth.users import UserStore, secret_key
from settings import Settings

CSRF_COOKIE = "liuyan_csrf"
CSRF_HEADER = "X-CSRFToken"
KEY_HEADER = "X-Liuyan-Key"
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")
PUBLIC_PATHS = {"/healthz", "/login", "/logout", "/_favicon.ico", "/push/hello", "/scale/status"}
# the ingest API and the writer's snapshot downloads check their own bearer secrets
PUBLIC_PREFIXES = ("/assets/", "/_dash-component-suites/", "/api/v1/ingest/", "/auth/", "/scale/snapshots/")
PAGE_OF_PATH = {"/": "wall", "/analyst": "analyst", "/analyst/": "analyst"}


def _lang() -> str:
    return i18n.lang_or_default(request.args.get("lang"))


def _csrf_token() -> str:
    token = session.get("csrf")
    if not token:
        token = session["csrf"] = secrets.token_urlsafe(32)
    return token


def _same_origin() -> bool:
    """The browser says the request comes from this site (absent headers: not a browser, nothing ambient)."""
    if request.headers.get("Sec-Fetch-Site", "same-origin") not in ("same-origin", "none"):
        return False
    origin = request.headers.get("Origin")
    return origin is None or urlsplit(origin).netloc == request.host


def _token_ok(presented: str | None) -> bool:
    expected = session.get("csrf")
    return bool(expected and presented) and hmac.compare_digest(str(presented).encode(), expected.encode())


def safe_next(target: str | None) -> str:
    """Only a path of this site (no scheme, no host, no //evil) may follow a login."""
    if not target or not target.startswith("/") or target.startswith(("//", "/\\")):
        return "/analyst"
    return target


def start_session(name: str, role: str) -> None:
    """A new session for a login (a fresh token: nothing from before the login carries over)."""
    session.clear()
    session.permanent = True
    session.update(u=name, r=role, t=int(time.time()), csrf=secrets.token_urlsafe(32))


class Gate:
    """Who is asking (session, wall key) and whether they may: installed before every request."""

    def __init__(self, app: Dash, settings: Settings, users: UserStore, outputs: dict[str, set[str]]):
        self.app = app
        self.settings = settings
        self.users = users
        self.required = settings.auth == "required"
        shell, wall, analyst = outputs["shell"], outputs["wall"], outputs["analyst"]
        self.outputs = {"national": shell | wall | analyst, "province": shell | wall | analyst, "wall": shell | wall}

    def principal(self) -> Principal | None:
        key = request.headers.get(KEY_HEADER) or (
            request.args.get("key") if request.method == "GET" and request.path in PAGE_OF_PATH else None
        )
        if key:
            user = self.users.by_key(key)
            if user is None:
                abort(403, "wall key not valid")
            if session.get("u") != user.name:
                start_session(user.name, "wall")  # the wall's callbacks then need no key
            return Principal(user.name, "wall")
        name = session.get("u")
        if not name:
            return None
        user = self.users.get(name)
        age = time.time() - session.get("t", 0)
        if user is None or user.role != session.get("r") or (user.role != "wall" and age > self.max_age):
            session.clear()
            return None
        return Principal(user.name, user.role, user.province)

    def wall_principal(self, headers, query_string: str = "") -> Principal | None:
        """Who a connection Flask does not serve (the web process's /push/ws and /scale/status) is, when they may
        see a wall: its session cookie and wall key are checked exactly as for a GET of the wall page, in a
        request context of this app (Flask's own session interface decodes the cookie with the app's secret
        key). None: not allowed. auth=open: the demo principal."""
        if not self.required:
            return DEMO
        passed = {name: headers.get(name) for name in ("Cookie", KEY_HEADER) if headers.get(name)}
        with self.app.server.test_request_context("/", query_string=query_string, headers=passed):
            try:
                principal = self.principal()
            except HTTPException:  # a wall key that is not valid
                return None
        return principal if principal is not None and principal.may_open("wall") else None

    @property
    def max_age(self) -> float:
        return self.settings.session_hours * 3600

    def check(self):
        path = request.path
        if path.startswith("/api/v1/ingest/"):
            return None  # bearer token, no cookies
        if request.method not in SAFE_METHODS and not _same_origin():
            abort(403, "cross-site request refused")
        if not self.required:
            g.principal = DEMO
            return None
        principal = g.principal = self.principal()
        if path in PUBLIC_PATHS or path.startswith(PUBLIC_PREFIXES):
            return None
        page = PAGE_OF_PATH.get(path)
        if principal is None:
            if page is not None and request.method in SAFE_METHODS:
                query = urlencode({"next": request.full_path.rstrip("?"), "lang": _lang()})
                return redirect(f"/login?{query}")
            abort(401, "sign in first")
        if request.method not in SAFE_METHODS and not _token_ok(request.headers.get(CSRF_HEADER)):
            abort(403, "missing or wrong CSRF token")
        if page is not None and not principal.may_open(page):
            abort(403, i18n.t("no_access", _lang()))
        if path.startswith("/api/") and not principal.may_read_api:
            abort(403, "this account may not read the API")
        if path == "/_dash-update-component":
            body = request.get_json(silent=True)
            output = body.get("output") if isinstance(body, dict) else None
            if output not in self.outputs.get(principal.role, ()):
                abort(403, "this account may not use this part of the screens")
        return None

    def set_csrf_cookie(self, response):
        token = session.get("csrf") if self.required else None
        if token and request.cookies.get(CSRF_COOKIE) != token:
            response.set_cookie(
                CSRF_COOKIE, token, secure=self.settings.cookie_secure, samesite="Strict", httponly=False, path="/"
            )
        return response


def configure(app: Dash, settings: Settings, outputs: dict[str, set[str]]) -> Gate:
    """Session cookie settings, the gate, login and logout pages, the session bar."""
    server = app.server
    users = UserStore(settings.users_file)
    if settings.auth == "required":
        server.secret_key = secret_key(settings.secret_key, settings.users_file)
    server.config.update(
        SESSION_COOKIE_NAME="liuyan_session",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.cookie_secure,
        PERMANENT_SESSION_LIFETIME=dt.timedelta(hours=settings.session_hours),
    )
    gate = Gate(app, settings, users, outputs)
    server.before_request(gate.check)
    server.after_request(gate.set_csrf_cookie)
    server.register_blueprint(_login_pages(settings, users))
    if settings.oidc_issuer:
        from dashboard.auth.oidc import create_oidc

        server.register_blueprint(create_oidc(server, settings, users))
    return gate


class Throttle:
    """Failed password logins per (name, client address): after LIMIT in WINDOW seconds, refuse until the oldest
    failure leaves the window (guessing slows to a crawl; a stranger elsewhere cannot lock the user out)."""

    LIMIT, WINDOW = 5, 900.0

    def __init__(self):
        self._lock = threading.Lock()
        self._failures: dict[tuple[str, str], list[float]] = {}

    def _recent(self, key, now: float) -> list[float]:
        times = [t for t in self._failures.get(key, ()) if now - t < self.WINDOW]
        if times:
            self._failures[key] = times
        else:
            self._failures.pop(key, None)
        return times

    def blocked(self, key) -> bool:
        with self._lock:
            return len(self._recent(key, time.monotonic())) >= self.LIMIT

    def failed(self, key) -> None:
        with self._lock:
            now = time.monotonic()
            self._failures[key] = [*self._recent(key, now), now]


def _login_pages(settings: Settings, users: UserStore) -> Blueprint:
    pages = Blueprint("auth", __name__, template_folder="templates")
    sso = bool(settings.oidc_issuer)
    throttle = Throttle()

    def page(error: str | None = None, status: int = 200):
        lang = _lang()
        other = "en" if lang == "zh" else "zh"
        args = {k: v for k, v in request.args.items() if k in ("next",)}
        return (
            render_template(
                "login.html",
                t=lambda key: i18n.t(key, lang),
                lang=lang,
                csrf=_csrf_token(),
                next=safe_next(request.values.get("next")),
                error=error,
                sso=sso,
                sso_href="/auth/oidc/login?" + urlencode({**args, "lang": lang}),
                other_href="/login?" + urlencode({**args, "lang": other}),
            ),
            status,
        )

    @pages.route("/login", methods=["GET", "POST"])
    def login():
        if settings.auth != "required":
            return redirect("/analyst")
        if request.method == "GET":
            return page(i18n.t(request.args["error"], _lang()) if request.args.get("error") in _ERRORS else None)
        if not _token_ok(request.form.get("csrf_token")):
            return page(i18n.t("login_expired", _lang()), 403)
        name = request.form.get("username", "").strip()[:200]
        key = (name, request.remote_addr or "")
        if throttle.blocked(key):
            return page(i18n.t("login_throttled", _lang()), 429)
        user = users.check_password(name, request.form.get("password", "")[:1024])
        if user is None or user.role == "wall":
            throttle.failed(key)
            return page(i18n.t("login_failed", _lang()), 401)
        start_session(user.name, user.role)
        return redirect(safe_next(request.form.get("next")))

    @pages.post("/logout")
    def logout():
        if settings.auth == "required" and not _token_ok(request.form.get("csrf_token")):
            abort(403, "missing or wrong CSRF token")
        lang = _lang()
        session.clear()
        return redirect(f"/login?lang={lang}")

    return pages


_ERRORS = ("login_unknown_sso", "login_sso_failed", "login_expired")


def configure_session_bar(app: Dash) -> None:
    """A small corner: the demo badge when nobody logs in, else who is signed in and a sign-out button."""

    @app.callback(Output("session-bar", "children"), Input("url", "search"))
    def session_bar(search):
        lang = i18n.lang_or_default((parse_qs((search or "").lstrip("?")).get("lang") or [None])[0])
        principal = access.current()
        if principal is None or principal.role == "wall":
            return None
        if principal.demo:
            return html.Span(i18n.t("demo_badge", lang), className="session-badge")
        return html.Form(
            [
                html.Span(f"{principal.name} · {i18n.t('role_' + principal.role, lang)}", className="session-user"),
                dcc.Input(type="hidden", name="csrf_token", value=session.get("csrf", "")),
                html.Button(i18n.t("logout", lang), type="submit", className="session-logout"),
            ],
            action=f"/logout?lang={lang}",
            method="POST",
            className="session-form",
        )
