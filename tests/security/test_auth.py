"""Login, roles and CSRF over real HTTP (waitress, requests sessions) with LIUYAN_AUTH=required.

The fixture store (tests/conftest.py) holds, in 2021-01-01..2021-06-30, messages a1 and a2 in 河南 (410000),
a5 in 北京 and a8 in 四川: 4 nationally, 2 in 河南, counted by hand from the fixture's rows.
"""

from __future__ import annotations

import json

import pytest
import requests

from dashboard.analyst import ids as A
from dashboard.analyst import state as S
from tests.conftest import HENAN
from tests.security.support import (
    PASSWORD,
    Site,
    callback_body,
    login_form,
    output_key,
    post_callback,
    route_body,
)

H1 = {"start": "2021-01-01", "end": "2021-06-30"}


@pytest.fixture
def site(fixture_store, tmp_path):
    s = Site(fixture_store, tmp_path)
    yield s
    s.close()


def api(s: requests.Session, site: Site, path: str, params=None) -> requests.Response:
    return s.get(f"{site.url}/api/v1/{path}", params=params, allow_redirects=False)


# -- nobody signed in ----------------------------------------------------------------------------------------------
def test_without_login_pages_redirect_and_data_is_refused(site):
    s = requests.Session()
    for path in ("/", "/analyst?period=month"):
        r = s.get(site.url + path, allow_redirects=False)
        assert r.status_code == 302 and r.headers["Location"].startswith("/login?next="), path
    r = api(s, site, "summary")
    assert r.status_code == 401 and r.headers["Content-Type"].startswith("application/json") and "error" in r.json()
    for path in ("/_dash-layout", "/_dash-dependencies", "/geo/china"):
        assert s.get(site.url + path).status_code == 401, path
    assert s.get(site.url + "/healthz").status_code == 200
    assert s.get(site.url + "/assets/login.css").status_code == 200
    login = s.get(site.url + "/login")
    assert login.status_code == 200 and "用户名" in login.text and "密码" in login.text
    assert "User name" in s.get(site.url + "/login?lang=en").text


def test_login_sets_safe_cookies_and_logout_ends_the_session(site):
    s = requests.Session()
    form = login_form(s, site.url, "nat", "wrong password!")
    r = s.post(site.url + "/login", data=form, allow_redirects=False)
    assert r.status_code == 401 and "用户名或密码错误" in r.text
    form = login_form(s, site.url, "nat", PASSWORD, next_path="/analyst?period=month")
    r = s.post(site.url + "/login", data=form, allow_redirects=False)
    assert r.status_code == 302 and r.headers["Location"] == "/analyst?period=month"
    cookies = r.headers["Set-Cookie"]
    session_cookie = next(c for c in r.raw.headers.getlist("Set-Cookie") if c.startswith("liuyan_session="))
    assert "HttpOnly" in session_cookie and "SameSite=Lax" in session_cookie and "Secure" not in session_cookie
    csrf_cookie = next(c for c in r.raw.headers.getlist("Set-Cookie") if c.startswith("liuyan_csrf="))
    assert "SameSite=Strict" in csrf_cookie and "HttpOnly" not in csrf_cookie, cookies
    assert s.get(site.url + "/analyst", allow_redirects=False).status_code == 200
    assert api(s, site, "summary", H1).json()["messages"] == 4

    # logout needs the token (a cross-site form cannot log anyone out), then the session is gone
    assert s.post(site.url + "/logout", allow_redirects=False).status_code == 403
    token = s.cookies.get("liuyan_csrf")
    r = s.post(site.url + "/logout", data={"csrf_token": token}, allow_redirects=False)
    assert r.status_code == 302 and r.headers["Location"].startswith("/login")
    assert api(s, site, "summary").status_code == 401


def test_login_needs_the_form_token_and_never_redirects_off_site(site):
    s = requests.Session()
    form = login_form(s, site.url, "nat", PASSWORD)
    r = s.post(site.url + "/login", data={**form, "csrf_token": "forged"}, allow_redirects=False)
    assert r.status_code == 403
    fresh = requests.Session()  # no session at all: no token to match
    r = fresh.post(site.url + "/login", data={k: v for k, v in form.items() if k != "csrf_token"})
    assert r.status_code == 403
    for target in ("//evil.example/x", "https://evil.example/", "/\\evil.example"):
        s = requests.Session()
        r = s.post(site.url + "/login", data=login_form(s, site.url, "nat", PASSWORD, target), allow_redirects=False)
        assert r.status_code == 302 and r.headers["Location"] == "/analyst", target


def test_secure_cookies_behind_tls(fixture_store, tmp_path):
    site = Site(fixture_store, tmp_path, cookie_secure=True)
    try:
        s = requests.Session()
        r = s.post(site.url + "/login", data=login_form(s, site.url, "nat", PASSWORD), allow_redirects=False)
        for cookie in r.raw.headers.getlist("Set-Cookie"):
            assert "Secure" in cookie, cookie
    finally:
        site.close()


def test_a_removed_user_is_out_at_once(site):
    s = site.login("nat")
    assert api(s, site, "summary").status_code == 200
    site.users.remove("nat")
    assert api(s, site, "summary").status_code == 401


# -- province analyst ----------------------------------------------------------------------------------------------
def test_province_analyst_gets_only_their_province_from_the_api(site):
    nat, henan = site.login("nat"), site.login("henan")
    assert api(nat, site, "summary", H1).json()["messages"] == 4
    assert api(henan, site, "summary", H1).json()["messages"] == 2  # asking for all: forced to 河南
    assert api(henan, site, "summary", {**H1, "province": "河南"}).json()["messages"] == 2
    assert api(henan, site, "summary", {**H1, "province": str(HENAN)}).json()["messages"] == 2
    for other in (["北京"], ["河南", "北京"], ["中部"], ["Beijing"]):
        r = api(henan, site, "summary", {**H1, "province": other})
        assert r.status_code == 403 and "error" in r.json(), other
    rows = api(henan, site, "provinces", H1).json()["provinces"]
    assert [row["adcode"] for row in rows] == [HENAN]
    feed = api(henan, site, "feed", {"start": "2020-01-01", "end": "2021-12-31", "limit": 50}).json()
    assert feed["messages"] and {m["province"] for m in feed["messages"]} == {HENAN}
    assert {m["message_id"] for m in feed["messages"]} == {"a1", "a2", "a3", "a4", "a7"}
    trend = api(henan, site, "trend", {**H1, "granularity": "month"}).json()["points"]
    assert sum(p["messages"] for p in trend) == 2
    assert api(henan, site, "categories", {**H1, "province": "北京"}).status_code == 403
    assert api(henan, site, "brief", {"province": "北京", "format": "docx"}).status_code == 403
    # messages, insight and supervision answer through the same scope
    listed = api(henan, site, "messages", H1).json()["messages"]
    assert {m["message_id"] for m in listed} == {"a1", "a2"}
    assert api(henan, site, "messages/a1").status_code == 200
    assert api(nat, site, "messages/a5").status_code == 200
    assert api(henan, site, "messages/a5").status_code == 404  # 北京's message: as if unknown
    for path in ("hot-issues", "alerts", "repeats", "hot-words", "units", "overdue", "ideas"):
        assert api(henan, site, path, {**H1, "province": "北京"}).status_code == 403, path
        assert api(henan, site, path, H1).status_code == 200, path


def _kpis(site, s, provinces: list[str]) -> dict:
    state = S.State(period="custom", start="2021-01-01", end="2021-06-30", provinces=tuple(provinces)).to_dict()
    key = output_key(site.server.app, A.KPIS, "children")
    r = post_callback(s, site.url, callback_body(key, [{"id": A.STATE, "property": "data", "value": state}]))
    assert r.status_code == 200, r.text[:300]
    return r.json()["response"]


def _kpi_value(children, name: str):
    """The text of the KPI card value span `name` in a callback's component JSON."""
    wanted = A.kpi_value(A.KPIS, name) if hasattr(A, "kpi_value") else None
    found = []

    def walk(node):
        if isinstance(node, dict):
            props = node.get("props", {})
            if props.get("id") == wanted:
                found.append(props.get("children"))
            for v in props.values() if "props" in node else node.values():
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)

    walk(children)
    return found[0] if found else None


def test_province_analyst_callbacks_are_limited_on_the_server(site):
    nat, henan = site.login("nat"), site.login("henan")
    assert _kpi_value(_kpis(site, nat, []), "messages") == "4"
    assert _kpi_value(_kpis(site, henan, []), "messages") == "2"  # the whole country asked: 河南 shown
    assert _kpi_value(_kpis(site, henan, ["河南"]), "messages") == "2"
    refused = _kpis(site, henan, ["北京"])
    assert A.KPIS not in refused  # no numbers; the page's own error message instead
    assert json.dumps(refused[A.ERROR]["data"]).find('"kpis"') >= 0


# -- the wall of a province analyst --------------------------------------------------------------------------------
def _wall_tick(site, s, config: dict) -> requests.Response:
    """One wall refresh as the browser sends it, with `config` as the (client-held) screen options."""
    from dashboard import ids as W

    key = output_key(site.server.app, W.WALL_STATE, "data")
    inputs = [{"id": W.WALL_TICK, "property": "n_intervals", "value": 1}]
    inputs += [{"id": i, "property": "n_intervals", "value": 0} for i in (W.WALL_ROTATE, W.WALL_CAROUSEL)]
    state = [{"id": W.WALL_CONFIG, "property": "data", "value": config}, {"id": W.WALL_STATE, "property": "data"}]
    return post_callback(s, site.url, callback_body(key, inputs, state))


def _shown_province(response: requests.Response) -> str:
    from dashboard import ids as W

    assert response.status_code == 200, response.text[:300]
    token = response.json()["response"][W.WALL_STATE]["data"]["token"]
    return token.rsplit("|", 1)[1]  # the view token's last part: the province shown ('' = national)


def test_province_analyst_opens_only_their_own_province_wall(site):
    nat, henan = site.login("nat"), site.login("henan")
    assert henan.get(site.url + "/", allow_redirects=False).status_code == 200
    national = {"period": "ytd", "lang": "zh", "metric_index": 0}
    beijing = {**national, "province": 110000}
    carousel = {**national, "carousel": 30, "carousel_provinces": [110000, 510000]}
    assert _shown_province(_wall_tick(site, nat, national)) == ""
    assert _shown_province(_wall_tick(site, nat, beijing)) == "110000"
    # whatever the client-held options ask, the province analyst's screen shows their province
    for config in (national, beijing, carousel):
        assert _shown_province(_wall_tick(site, henan, config)) == str(HENAN)
    app = site.server.app
    r = post_callback(henan, site.url, route_body(app, "/"))
    assert r.status_code == 200 and "无权访问此页面" not in r.text
    assert '"province":410000' in r.text.replace(" ", "")  # the screen's options name its province


# -- wall keys -----------------------------------------------------------------------------------------------------
def test_a_wall_key_opens_the_wall_only(site):
    s = requests.Session()
    assert s.get(f"{site.url}/?key=wrong", allow_redirects=False).status_code == 403
    r = s.get(f"{site.url}/?key={site.wall_key}&period=today", allow_redirects=False)
    assert r.status_code == 200 and "_dash-config" in r.text
    app = site.server.app
    # the wall's own callbacks work on the session the key opened; its route gives the wall layout
    r = post_callback(s, site.url, route_body(app, "/"))
    assert r.status_code == 200 and "wall" in r.text
    r = post_callback(s, site.url, route_body(app, "/analyst"))
    assert r.status_code == 200 and "无权访问此页面" in r.text and "analyst-kpis" not in r.text
    assert s.get(site.url + "/analyst", allow_redirects=False).status_code == 403
    assert api(s, site, "summary").status_code == 403
    r = post_callback(
        s,
        site.url,
        callback_body(output_key(app, A.KPIS, "children"), [{"id": A.STATE, "property": "data", "value": {}}]),
    )
    assert r.status_code == 403
    # a kiosk may send the key as a header instead
    fresh = requests.Session()
    assert fresh.get(site.url + "/", headers={"X-Liuyan-Key": site.wall_key}, allow_redirects=False).status_code == 200
    # removing the key closes every screen that used it
    site.users.remove("lobby")
    assert post_callback(s, site.url, route_body(app, "/")).status_code == 401


def test_wall_keys_and_sso_users_cannot_log_in_with_a_password(site):
    for name, password in (("lobby", site.wall_key), ("sso-user", "")):
        s = requests.Session()
        r = s.post(site.url + "/login", data=login_form(s, site.url, name, password), allow_redirects=False)
        assert r.status_code == 401, name


# -- CSRF ----------------------------------------------------------------------------------------------------------
def test_cross_site_callback_posts_are_refused(site):
    s = site.login("nat")
    body = route_body(site.server.app, "/analyst")
    assert post_callback(s, site.url, body).status_code == 200
    assert post_callback(s, site.url, body, **{"Origin": "http://evil.example"}).status_code == 403
    assert post_callback(s, site.url, body, **{"Sec-Fetch-Site": "cross-site"}).status_code == 403
    assert post_callback(s, site.url, body, **{"Sec-Fetch-Site": "same-site"}).status_code == 403
    assert post_callback(s, site.url, body, **{"X-CSRFToken": None}).status_code == 403  # no token
    assert post_callback(s, site.url, body, **{"X-CSRFToken": "guess"}).status_code == 403
    # the write API keeps its bearer token and needs no cookie or CSRF token
    status, _ = site.server.post("/api/v1/ingest/messages", "[]", token="x")
    assert status == 503  # (no ingest token configured here: the write API is off, not a CSRF refusal)


def test_open_demo_refuses_cross_site_posts_too(fixture_store, serve):
    live = serve(fixture_store)
    s = requests.Session()
    body = route_body(live.app, "/analyst")
    assert post_callback(s, live.url, body).status_code == 200
    assert post_callback(s, live.url, body, **{"Origin": "http://evil.example"}).status_code == 403
    assert post_callback(s, live.url, body, **{"Sec-Fetch-Site": "cross-site"}).status_code == 403


def test_password_guessing_is_throttled(site):
    s = requests.Session()
    for _ in range(5):
        r = s.post(site.url + "/login", data=login_form(s, site.url, "nat", "not the password"), allow_redirects=False)
        assert r.status_code == 401
    r = s.post(site.url + "/login", data=login_form(s, site.url, "nat", PASSWORD), allow_redirects=False)
    assert r.status_code == 429 and "15" in r.text  # even the right password, for now, from here
    other = site.login("henan")  # other names are not affected
    assert api(other, site, "meta").status_code == 200
