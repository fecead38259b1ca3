"""With login required, the scale-out web process's own routes (/push/ws, /scale/status, served before the Flask
gate) ask for the same login as the wall page. Real processes: redis-server, one writer, one web process, users
added with the CLI, a national analyst signed in over HTTP to the web process."""

from __future__ import annotations

import asyncio
import json

import pytest
import requests

from queries.db import Store
from tests.cluster import Cluster
from tests.security.support import login_form
from tests.security.test_startup import run

websockets = pytest.importorskip("websockets")

PASSWORD = "a long password"
VIEW = {"period": "ytd", "lang": "zh", "metric": "messages_per_10k", "province": None, "token": None}
WAIT = 60.0  # every socket step is bounded: a hung server fails the test instead of hanging it


@pytest.fixture(scope="module")
def web(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("push-auth")
    assert run(["user", "add", "nat", "--role", "national"], workdir, stdin=PASSWORD + "\n").returncode == 0
    henan = run(["user", "add", "li", "--role", "province", "--province", "河南"], workdir, stdin=PASSWORD + "\n")
    assert henan.returncode == 0, henan.stderr
    hall = run(["user", "add", "hall", "--role", "wall"], workdir)
    assert hall.returncode == 0, hall.stderr
    key = hall.stdout.split("(shown once): ")[1].split()[0]
    Store(workdir / "writer.duckdb").close()  # empty: the wall's count of today's messages is 0
    env = {"LIUYAN_AUTH": "required", "LIUYAN_USERS_FILE": str(workdir / "users.json")}
    with Cluster(workdir, workdir / "writer.duckdb", LIUYAN_CLOCK="2026-11-26T12:00:00", **env) as cluster:
        cluster.start_redis()
        cluster.start_writer()
        port = cluster.web_ports[0]
        cluster.start_web(port)
        yield cluster.web_url(port), key


def session_cookie(url: str, name: str) -> str:
    s = requests.Session()
    r = s.post(url + "/login", data=login_form(s, url, name, PASSWORD), allow_redirects=False, timeout=30)
    assert r.status_code == 302, r.text[:300]
    return s.cookies["liuyan_session"]


async def _first(url: str, headers: dict | None) -> tuple[dict | None, int | None]:
    """The first message pushed for VIEW, or the close code when the server closes the socket instead."""
    async with websockets.connect(url, additional_headers=headers, open_timeout=WAIT, max_size=None) as ws:
        try:
            await asyncio.wait_for(ws.send(json.dumps(VIEW)), WAIT)
            return json.loads(await asyncio.wait_for(ws.recv(), WAIT)), None
        except websockets.ConnectionClosed:
            return None, ws.close_code


def first_message(base: str, query: str = "", **headers) -> tuple[dict | None, int | None]:
    url = base.replace("http://", "ws://") + "/push/ws" + query
    return asyncio.run(asyncio.wait_for(_first(url, headers or None), 3 * WAIT))


def today_count(message: dict):
    for component, prop, value in message["o"]:
        if (component, prop) == ("wall-kpi", "data"):
            return value["today_messages"]
    raise AssertionError(f"no KPI data in {list(message)}")


def test_socket_without_login_is_closed_with_policy_violation(web):
    url, _ = web
    assert first_message(url) == (None, 1008)
    assert first_message(url, Cookie="liuyan_session=forged.value.sig") == (None, 1008)
    assert first_message(url, "?key=not-a-key") == (None, 1008)


def test_signed_in_national_analyst_receives_the_wall(web):
    url, _ = web
    message, code = first_message(url, Cookie="liuyan_session=" + session_cookie(url, "nat"))
    assert code is None and message["t"]
    assert today_count(message) == 0


def test_wall_key_in_query_or_header_receives_the_wall(web):
    url, key = web
    message, _ = first_message(url, "?key=" + key)
    assert today_count(message) == 0
    message, _ = first_message(url, **{"X-Liuyan-Key": key})
    assert today_count(message) == 0


def test_province_analyst_receives_only_their_own_province_wall(web):
    """As on the wall page (access.wall_scope): a province analyst's wall is their province's, nothing else."""
    url, _ = web
    cookie = "liuyan_session=" + session_cookie(url, "li")
    assert first_message(url, Cookie=cookie) == (None, 1008)  # the national view
    message, code = asyncio.run(asyncio.wait_for(_first_view(url, {**VIEW, "province": 410000}, cookie), 3 * WAIT))
    assert code is None and message["t"].endswith("|410000")
    message, code = asyncio.run(asyncio.wait_for(_first_view(url, {**VIEW, "province": 110000}, cookie), 3 * WAIT))
    assert (message, code) == (None, 1008)


async def _first_view(base: str, view: dict, cookie: str) -> tuple[dict | None, int | None]:
    url = base.replace("http://", "ws://") + "/push/ws"
    async with websockets.connect(url, additional_headers={"Cookie": cookie}, open_timeout=WAIT) as ws:
        try:
            await asyncio.wait_for(ws.send(json.dumps(view)), WAIT)
            return json.loads(await asyncio.wait_for(ws.recv(), WAIT)), None
        except websockets.ConnectionClosed:
            return None, ws.close_code


def test_scale_status_needs_login(web):
    url, _ = web
    assert requests.get(url + "/scale/status", timeout=30).status_code == 401
    cookie = session_cookie(url, "nat")
    r = requests.get(url + "/scale/status", cookies={"liuyan_session": cookie}, timeout=30)
    assert r.status_code == 200 and "walls" in r.json()
    assert requests.get(url + "/push/hello", timeout=30).status_code == 200  # still public: no wall data
