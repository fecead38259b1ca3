"""OpenID Connect sign-on against a local identity provider over real HTTP.

The provider below is written for this test (Flask + joserfc, served by waitress on loopback): discovery, an
authorization endpoint that signs the configured person in at once, a token endpoint that checks the client's
secret and the PKCE verifier, and its signing keys. What it proves: the app's Authlib client runs the whole
authorization code flow, and refuses ID tokens signed by another key, with another nonce, for another audience, or
for a person the user store does not list as an sso user. What it does not: any particular real provider's quirks.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import threading
import time
from urllib.parse import urlencode

import pytest
import requests
from flask import Flask, jsonify, redirect, request
from joserfc import jwt
from joserfc.jwk import RSAKey

from tests.conftest import free_port
from tests.security.support import Site

CLIENT_ID, CLIENT_SECRET = "liuyan-screen", "client-secret-for-tests"


class Provider:
    """A minimal OpenID provider; `person` and `mode` say whom it signs in and how it misbehaves."""

    def __init__(self):
        from waitress.server import create_server

        self.key = RSAKey.generate_key(2048, parameters={"kid": "k1"})
        self.other_key = RSAKey.generate_key(2048, parameters={"kid": "k1"})  # same kid, wrong key
        self.person = {"email": "sso@example.org", "email_verified": True}
        self.mode = "ok"
        self.codes: dict[str, dict] = {}
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._server = create_server(self._app(), host="127.0.0.1", port=self.port, threads=4)
        threading.Thread(target=self._run, daemon=True).start()

    def _run(self):
        try:
            self._server.run()
        except OSError:
            pass

    def close(self):
        self._server.close()

    def _app(self) -> Flask:
        app = Flask("test-idp")

        @app.get("/.well-known/openid-configuration")
        def discovery():
            return jsonify(
                issuer=self.url,
                authorization_endpoint=self.url + "/authorize",
                token_endpoint=self.url + "/token",
                jwks_uri=self.url + "/jwks",
                response_types_supported=["code"],
                subject_types_supported=["public"],
                id_token_signing_alg_values_supported=["RS256"],
                code_challenge_methods_supported=["S256"],
            )

        @app.get("/jwks")
        def jwks():
            return jsonify(keys=[self.key.as_dict(private=False)])

        @app.get("/authorize")
        def authorize():
            args = request.args
            assert args["client_id"] == CLIENT_ID and args["response_type"] == "code"
            assert args["code_challenge_method"] == "S256" and "openid" in args["scope"].split()
            code = secrets.token_urlsafe(16)
            self.codes[code] = {
                "nonce": args["nonce"],
                "challenge": args["code_challenge"],
                "uri": args["redirect_uri"],
            }
            return redirect(args["redirect_uri"] + "?" + urlencode({"code": code, "state": args["state"]}))

        @app.post("/token")
        def token():
            auth = request.authorization
            if not auth or (auth.username, auth.password) != (CLIENT_ID, CLIENT_SECRET):
                return jsonify(error="invalid_client"), 401
            grant = self.codes.pop(request.form["code"], None)
            verifier = request.form.get("code_verifier", "")
            digest = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
            if grant is None or digest != grant["challenge"] or request.form["redirect_uri"] != grant["uri"]:
                return jsonify(error="invalid_grant"), 400
            now = int(time.time())
            claims = {
                "iss": self.url,
                "sub": "person-1",
                "aud": "someone-else" if self.mode == "audience" else CLIENT_ID,
                "iat": now,
                "exp": now + 300,
                "nonce": "replayed" if self.mode == "nonce" else grant["nonce"],
                **self.person,
            }
            key = self.other_key if self.mode == "key" else self.key
            id_token = jwt.encode({"alg": "RS256", "kid": "k1"}, claims, key)
            return jsonify(
                access_token=secrets.token_urlsafe(16), token_type="Bearer", expires_in=300, id_token=id_token
            )

        return app


@pytest.fixture
def idp():
    provider = Provider()
    yield provider
    provider.close()


@pytest.fixture
def site(fixture_store, tmp_path, idp):
    s = Site(
        fixture_store,
        tmp_path,
        oidc_issuer=idp.url,
        oidc_client_id=CLIENT_ID,
        oidc_client_secret=CLIENT_SECRET,
    )
    s.users.add("sso@example.org", "province", province="河南", sso=True)
    yield s
    s.close()


def sign_in(site) -> tuple[requests.Session, requests.Response]:
    s = requests.Session()
    page = s.get(site.url + "/login?next=/analyst%3Fperiod%3Dmonth")
    assert "/auth/oidc/login" in page.text and "使用单位统一身份认证登录" in page.text
    r = s.get(site.url + "/auth/oidc/login?next=/analyst%3Fperiod%3Dmonth")
    return s, r


def test_sso_signs_a_listed_user_in_with_their_role(site):
    s, r = sign_in(site)
    assert r.status_code == 200 and r.url == site.url + "/analyst?period=month", r.url
    summary = s.get(site.url + "/api/v1/summary", params={"start": "2021-01-01", "end": "2021-06-30"})
    assert summary.json()["messages"] == 2  # the store says: province analyst of 河南
    assert s.get(site.url + "/api/v1/summary", params={"province": "北京"}).status_code == 403


@pytest.mark.parametrize("mode", ["key", "nonce", "audience"])
def test_sso_refuses_a_bad_id_token(site, idp, mode):
    idp.mode = mode
    s, r = sign_in(site)
    assert r.url.startswith(site.url + "/login?error=login_sso_failed"), r.url
    assert "统一身份认证失败" in r.text
    assert s.get(site.url + "/api/v1/summary").status_code == 401


@pytest.mark.parametrize(
    "person",
    [
        {"email": "stranger@example.org", "email_verified": True},  # not in the user store
        {"email": "sso@example.org", "email_verified": False},  # the provider did not verify the address
        {"email": "nat", "email_verified": True},  # a password user who is not marked sso
    ],
)
def test_sso_refuses_people_the_store_does_not_list_for_sso(site, idp, person):
    idp.person = person
    s, r = sign_in(site)
    assert r.url.startswith(site.url + "/login?error=login_unknown_sso"), r.url
    assert s.get(site.url + "/api/v1/summary").status_code == 401


def test_a_forged_callback_is_refused(site):
    s = requests.Session()
    r = s.get(site.url + "/auth/oidc/callback?code=x&state=y")
    assert r.url.startswith(site.url + "/login?error=login_sso_failed")
    assert s.get(site.url + "/api/v1/summary").status_code == 401
