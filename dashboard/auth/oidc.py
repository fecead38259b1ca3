"""OpenID Connect single sign-on (Authlib): the organisation's identity provider says who the user is, the user
store says what they may see (a user added with --sso). Authorization code flow with PKCE; Authlib checks the
state, the nonce and the ID token's signature, issuer, audience and expiry."""

from __future__ import annotations

import logging

from authlib.integrations.base_client import OAuthError
from authlib.integrations.flask_client import OAuth
from flask import Blueprint, redirect, request, session, url_for
from joserfc.errors import JoseError
from requests import RequestException

from dashboard import i18n
from dashboard.auth.users import UserStore
from dashboard.auth.web import safe_next, start_session
from settings import Settings

log = logging.getLogger(__name__)


def create_oidc(server, settings: Settings, users: UserStore) -> Blueprint:
    oauth = OAuth(server)
    provider = oauth.register(
        "sso",
        client_id=settings.oidc_client_id,
        client_secret=settings.oidc_client_secret,
        server_metadata_url=settings.oidc_issuer.rstrip("/") + "/.well-known/openid-configuration",
        client_kwargs={"scope": "openid email profile", "code_challenge_method": "S256"},
    )
    pages = Blueprint("oidc", __name__, url_prefix="/auth/oidc")

    def back_to_login(error: str, lang: str):
        return redirect(f"/login?error={error}&lang={lang}")

    @pages.get("/login")
    def login():
        session["sso_next"] = safe_next(request.args.get("next"))
        session["sso_lang"] = i18n.lang_or_default(request.args.get("lang"))
        try:
            return provider.authorize_redirect(url_for("oidc.callback", _external=True))
        except (OAuthError, RequestException, ValueError):
            log.exception("single sign-on: the identity provider cannot be reached")
            return back_to_login("login_sso_failed", session["sso_lang"])

    @pages.get("/callback")
    def callback():
        lang = session.get("sso_lang", i18n.DEFAULT_LANG)
        target = session.get("sso_next", "/analyst")
        try:
            claims = provider.authorize_access_token().get("userinfo") or {}
        except (OAuthError, JoseError, RequestException, ValueError) as exc:  # bad state, token, signature, claims
            log.warning("single sign-on refused: %s", exc)
            return back_to_login("login_sso_failed", lang)
        name = claims.get(settings.oidc_username_claim)
        unverified = settings.oidc_username_claim == "email" and claims.get("email_verified") is False
        user = users.get(str(name)) if name and not unverified else None
        if user is None or not user.sso or user.role == "wall":
            log.warning("single sign-on: %r is not in the user store as an sso user", name)
            session.clear()
            return back_to_login("login_unknown_sso", lang)
        start_session(user.name, user.role)
        return redirect(target)

    return pages
