"""Shared by the security tests: a server with login required, its users, a signed-in requests session,
and Dash callback requests made as the browser makes them."""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

import requests

from dashboard.auth.users import UserStore
from settings import Settings
from tests.conftest import LiveServer

PASSWORD = "correct horse battery"


class Site:
    """A LiveServer with auth=required and three users: a national and a Henan analyst, a wall key."""

    def __init__(self, store, tmp: Path, **overrides):
        self.users = UserStore(tmp / "users.json")
        self.users.add("nat", "national", password=PASSWORD)
        self.users.add("henan", "province", province="河南", password=PASSWORD)
        self.users.add("sso-user", "national", sso=True)
        self.wall_key = self.users.add("lobby", "wall")
        settings = replace(
            Settings(), db=store.path, simulate=False, auth="required", users_file=str(self.users.path), **overrides
        )
        self.server = LiveServer(store, settings)
        self.url = self.server.url

    def close(self):
        self.server.close()

    def login(self, name: str, password: str = PASSWORD) -> requests.Session:
        s = requests.Session()
        r = s.post(self.url + "/login", data=login_form(s, self.url, name, password), allow_redirects=False)
        assert r.status_code == 302, (r.status_code, r.text[:200])
        return s


def login_form(s: requests.Session, url: str, name: str, password: str, next_path: str = "/analyst") -> dict:
    page = s.get(url + "/login").text
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    return {"csrf_token": token, "username": name, "password": password, "next": next_path}


def _parts(key: str) -> list[str]:
    return [part.split("@")[0] for part in key.strip(".").split("...")]


def output_key(app, component: str, prop: str) -> str:
    """The callback_map key (what the renderer posts as `output`) of the callback writing component.prop."""
    return next(key for key in app.callback_map if f"{component}.{prop}" in _parts(key))


def callback_body(key: str, inputs: list[dict], state: list[dict] | None = None) -> dict:
    outputs = [{"id": c, "property": p} for c, p in (part.rsplit(".", 1) for part in _parts(key))]
    return {
        "output": key,
        "outputs": outputs if key.startswith("..") else outputs[0],
        "inputs": inputs,
        "changedPropIds": [f"{inputs[0]['id']}.{inputs[0]['property']}"],
        "state": state or [],
    }


def post_callback(s: requests.Session, url: str, body: dict, **headers) -> requests.Response:
    token = s.cookies.get("liuyan_csrf")
    sent = {"Content-Type": "application/json", **({"X-CSRFToken": token} if token else {}), **headers}
    return s.post(url + "/_dash-update-component", json=body, headers={k: v for k, v in sent.items() if v is not None})


def route_body(app, pathname: str) -> dict:
    return callback_body(
        output_key(app, "page", "children"),
        [{"id": "url", "property": "pathname", "value": pathname}],
        [{"id": "url", "property": "search", "value": ""}],
    )
