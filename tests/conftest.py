"""Shared fixtures: real DuckDB files, a real HTTP server (waitress) in a thread, the demo database."""

from __future__ import annotations

import datetime as dt
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import replace
from pathlib import Path

import pandas as pd
import pytest

from queries.db import Store
from queries.writes import upsert
from settings import Settings

ROOT = Path(__file__).resolve().parent.parent
DEMO_NOW = dt.datetime(2026, 11, 26, 12, 0, 0)
HENAN, BEIJING, SICHUAN = 410000, 110000, 510000


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LiveServer:
    """The real app served by waitress on a free loopback port."""

    def __init__(self, store: Store, settings: Settings):
        from waitress.server import create_server

        from dashboard.server import build_app

        self.app = build_app(settings, store)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._server = create_server(self.app.server, host="127.0.0.1", port=self.port, threads=8)
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            self._server.run()
        except OSError:  # the listening socket was closed by close(): the server is done
            pass

    def get(self, path: str, params=None) -> tuple[int, dict]:
        query = "?" + urllib.parse.urlencode(params, doseq=True) if params else ""
        try:
            with urllib.request.urlopen(self.url + path + query, timeout=60) as response:
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as exc:
            return exc.code, json.loads(exc.read() or b"null")

    def post(
        self, path: str, body: bytes | str, token: str | None = None, content_type: str = "application/json"
    ) -> tuple[int, dict]:
        data = body.encode() if isinstance(body, str) else body
        headers = {"Content-Type": content_type}
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        req = urllib.request.Request(self.url + path, data=data, headers=headers, method="POST")
        try:
            with urllib.request.urlopen(req, timeout=60) as response:
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as exc:
            return exc.code, json.loads(exc.read() or b"null")

    def close(self) -> None:
        self._server.close()


@pytest.fixture
def store(tmp_path):
    s = Store(tmp_path / "test.duckdb")
    yield s
    s.close()


@pytest.fixture
def serve(tmp_path):
    """serve(store, **settings) -> LiveServer; closed at the end of the test."""
    servers = []

    def start(store: Store, **overrides) -> LiveServer:
        settings = replace(Settings(), db=store.path, simulate=False, **overrides)
        server = LiveServer(store, settings)
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.close()


@pytest.fixture(scope="session")
def demo_db(tmp_path_factory):
    """The full default demo history, generated once per test session (fixed 'now')."""
    from ingest.demo import generate

    path = tmp_path_factory.mktemp("demo") / "demo.duckdb"
    s = Store(path)
    generate(s, seed=Settings().seed, start=dt.date(2019, 1, 1), now=DEMO_NOW)
    s.close()
    return path


def message(
    message_id: str,
    created_at: str,
    province: int = 410000,
    category: str = "城建",
    msg_type: str = "投诉/求助",
    is_urgent: bool = False,
    city: str | None = None,
    source_status: str | None = None,
    district: str | None = None,
    title: str | None = None,
) -> dict:
    return dict(
        message_id=message_id,
        created_at=pd.Timestamp(created_at),
        province=province,
        city=city,
        district=district,
        addressee=None,
        category=category,
        msg_type=msg_type,
        title=f"标题{message_id}" if title is None else title,
        is_urgent=is_urgent,
        source_status=source_status,
    )


def reply(reply_id: str, message_id: str, replied_at: str, unit: str | None = None) -> dict:
    return dict(reply_id=reply_id, message_id=message_id, replied_at=pd.Timestamp(replied_at), unit=unit)


def frame(rows: list[dict]) -> pd.DataFrame:
    out = pd.DataFrame(rows)
    out.insert(0, "_row", range(2, len(out) + 2))
    return out


@pytest.fixture
def fixture_store(store):
    """Eight messages around 2021 H1 whose metrics are worked out by hand in tests/test_metrics.py."""
    upsert(
        store,
        "messages",
        frame(
            [
                message("a1", "2021-01-01 00:00:00", HENAN, "城建", "投诉/求助"),
                message("a2", "2021-06-30 23:59:59", HENAN, "交通", "咨询"),
                message("a3", "2021-07-01 00:00:00", HENAN, "城建"),  # day after the period
                message("a4", "2020-12-31 23:59:59", HENAN, "城建"),  # day before the period
                message("a5", "2021-03-15 10:00:00", BEIJING, "城建", "咨询", is_urgent=True),
                message("a6", "2020-03-15 10:00:00", BEIJING, "城建"),  # previous year's period
                message("a7", "2020-06-30 23:59:59", HENAN, "城建"),  # previous period's last second
                message("a8", "2021-05-01 08:00:00", SICHUAN, "教育", "建言"),
            ]
        ),
    )
    upsert(
        store,
        "replies",
        frame(
            [
                reply("r1", "a1", "2021-01-01 10:00:00"),  # a1 first reply after 10 h
                reply("r2", "a1", "2021-01-05 00:00:00"),  # later replies do not count again
                reply("r3", "a1", "2021-08-01 00:00:00"),
                reply("r4", "a2", "2021-07-01 00:00:01"),  # a2 answered in the next period
                reply("r5", "a4", "2021-01-02 23:59:59"),  # last year's message answered in the period: 48 h
                reply("r6", "a5", "2021-03-15 12:00:00"),  # 2 h
                reply("r7", "a6", "2020-03-16 10:00:00"),  # previous period: 24 h
                reply("r8", "a7", "2020-07-01 00:00:00"),  # just after the previous period
            ]
        ),
    )
    upsert(
        store,
        "evaluations",
        frame(
            [
                dict(
                    message_id="a1",
                    rated_at=pd.Timestamp("2021-02-01"),
                    satisfied=True,
                    score_resolution=None,
                    score_attitude=None,
                    score_speed=None,
                ),
                dict(
                    message_id="a2",
                    rated_at=pd.Timestamp("2021-07-02"),
                    satisfied=False,
                    score_resolution=None,
                    score_attitude=None,
                    score_speed=None,
                ),
                # only scores: mean 11/3 < 4 -> not satisfied
                dict(
                    message_id="a5",
                    rated_at=pd.Timestamp("2021-03-20"),
                    satisfied=None,
                    score_resolution=4,
                    score_attitude=4,
                    score_speed=3,
                ),
                # only scores: mean 12/3 = 4 -> satisfied
                dict(
                    message_id="a8",
                    rated_at=pd.Timestamp("2021-05-02"),
                    satisfied=None,
                    score_resolution=5,
                    score_attitude=4,
                    score_speed=3,
                ),
                # no verdict at all: not counted
                dict(
                    message_id="a4",
                    rated_at=pd.Timestamp("2021-01-10"),
                    satisfied=None,
                    score_resolution=None,
                    score_attitude=None,
                    score_speed=None,
                ),
                # message unknown: cannot follow the filters, not counted
                dict(
                    message_id="ghost",
                    rated_at=pd.Timestamp("2021-02-01"),
                    satisfied=True,
                    score_resolution=None,
                    score_attitude=None,
                    score_speed=None,
                ),
            ]
        ).astype({"satisfied": "boolean", "score_resolution": "Int8", "score_attitude": "Int8", "score_speed": "Int8"}),
    )
    upsert(
        store,
        "units",
        frame(
            [
                dict(
                    unit_id="u1",
                    name="郑州市住建局",
                    province=HENAN,
                    level="市级",
                    joined_at=pd.Timestamp("2021-02-01"),
                ),
                dict(
                    unit_id="u2",
                    name="开封市教育局",
                    province=HENAN,
                    level="市级",
                    joined_at=pd.Timestamp("2020-02-01"),
                ),
                dict(
                    unit_id="u3",
                    name="北京市交通委",
                    province=BEIJING,
                    level="省级",
                    joined_at=pd.Timestamp("2021-06-30 23:00"),
                ),
                dict(
                    unit_id="u4",
                    name="北京市卫健委",
                    province=BEIJING,
                    level="省级",
                    joined_at=pd.Timestamp("2021-07-01"),
                ),
            ]
        ),
    )
    upsert(
        store,
        "leaders",
        frame(
            [
                dict(
                    leader_id="l1",
                    name="成都市市长",
                    province=SICHUAN,
                    level="市级",
                    joined_at=pd.Timestamp("2021-03-01"),
                ),
            ]
        ),
    )
    return store


def start_server_process(db: Path, port: int, timeout: float = 120, **env) -> subprocess.Popen:
    """`python app.py` as its own process (it then owns the database file); waits for /healthz.
    The simulator is off unless `env` sets LIUYAN_SIMULATE."""
    environ = {**os.environ, "LIUYAN_SIMULATE": "0", **env}
    log = tempfile.TemporaryFile()  # the server's stderr (read if it fails to start)
    proc = subprocess.Popen(
        [sys.executable, str(ROOT / "app.py"), "--db", str(db), "--port", str(port)],
        cwd=ROOT,
        env=environ,
        stdout=subprocess.DEVNULL,
        # a file, not a pipe: nobody reads a pipe once the server is up, and a server that logged 64 KB (waitress
        # warns of its queue under load) would block on its next line, with its request loop
        stderr=log,
    )
    proc.stderr_log = log  # what it wrote: `stderr_of`
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2):
                return proc
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            if proc.poll() is not None:
                log.seek(0)
                raise RuntimeError(log.read().decode()) from None
            time.sleep(0.2)
    proc.kill()
    raise RuntimeError("server did not start")


def stderr_of(proc: subprocess.Popen, timeout: float = 30) -> str:
    """What a server of `start_server_process` wrote to stderr, once it has exited (waits up to `timeout`)."""
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        pass
    proc.stderr_log.seek(0)
    return proc.stderr_log.read().decode(errors="replace")


def pytest_collection_modifyitems(items):
    """Tests that drive Chromium are marked `browser`, so `pytest -m "not browser"` is the fast loop."""
    for item in items:
        if "browser" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.browser)
