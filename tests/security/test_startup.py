"""`python app.py` refuses to serve without login on a network address, and the user CLI (subprocesses)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from dashboard.auth.users import UserStore
from settings import Settings
from tests.conftest import ROOT, free_port, start_server_process

TIMEOUT = 120


def run(args: list[str], tmp_path, stdin: str | None = None, **env) -> subprocess.CompletedProcess:
    environ = {**os.environ, "LIUYAN_USERS_FILE": str(tmp_path / "users.json"), "LIUYAN_SIMULATE": "0", **env}
    environ = {k: v for k, v in environ.items() if v is not None}
    return subprocess.run(
        [sys.executable, str(ROOT / "app.py"), *args],
        cwd=ROOT,
        env=environ,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
    )


def test_refuses_to_serve_open_on_a_network_address(tmp_path):
    db = tmp_path / "never.duckdb"
    for host in ("0.0.0.0", "::", "192.0.2.10"):
        r = run(["--db", str(db), "--host", host, "--port", str(free_port())], tmp_path, LIUYAN_AUTH=None)
        assert r.returncode == 2, (host, r.stderr)
        assert "LIUYAN_AUTH=required" in r.stderr and "LIUYAN_ALLOW_OPEN=1" in r.stderr
    # production mode without anyone who could sign in refuses too
    r = run(["--db", str(db), "--host", "0.0.0.0"], tmp_path, LIUYAN_AUTH="required")
    assert r.returncode == 2 and "nobody can sign in" in r.stderr
    r = run(["--db", str(db)], tmp_path, LIUYAN_AUTH="sometimes")
    assert r.returncode == 2 and "expected open or required" in r.stderr
    assert not db.exists()  # refused before touching the database


def test_open_on_loopback_and_explicitly_open_are_allowed(tmp_path):
    from app import open_refusal

    base = Settings()
    assert open_refusal(base) is None  # 127.0.0.1
    assert open_refusal(Settings(host="localhost")) is None
    assert open_refusal(Settings(host="::1")) is None
    assert open_refusal(Settings(host="0.0.0.0", allow_open=True)) is None
    assert "refusing" in open_refusal(Settings(host="0.0.0.0"))


def test_user_cli_adds_lists_and_removes(tmp_path):
    r = run(["user", "add", "li", "--role", "province", "--province", "河南"], tmp_path, stdin="a long password\n")
    assert r.returncode == 0, r.stderr
    r = run(["user", "add", "short", "--role", "national"], tmp_path, stdin="short\n")
    assert r.returncode == 2 and "at least 10" in r.stderr
    r = run(["user", "add", "x", "--role", "province"], tmp_path, stdin="a long password\n")
    assert r.returncode == 2 and "--province" in r.stderr
    r = run(["user", "add", "hall", "--role", "wall"], tmp_path)
    assert r.returncode == 0
    key = r.stdout.split("(shown once): ")[1].split()[0]
    r = run(["user", "add", "li", "--role", "national"], tmp_path, stdin="another password\n")
    assert r.returncode == 2 and "exists" in r.stderr
    listing = run(["user", "list"], tmp_path).stdout
    assert "li\trole=province province=410000\tpassword" in listing and "hall\trole=wall\twall key" in listing
    # stored: a salted slow hash and a key digest, never the secrets; the file is private
    raw = (tmp_path / "users.json").read_text()
    assert "a long password" not in raw and key not in raw
    stored = json.loads(raw)["users"]
    assert stored["li"]["password"].startswith("scrypt:")
    assert (tmp_path / "users.json").stat().st_mode & 0o077 == 0
    users = UserStore(tmp_path / "users.json")
    assert users.check_password("li", "a long password").province == 410000
    assert users.check_password("li", "a wrong password") is None
    assert users.by_key(key).name == "hall" and users.by_key(key + "x") is None
    assert run(["user", "remove", "li"], tmp_path).returncode == 0
    assert run(["user", "remove", "li"], tmp_path).returncode == 1
    assert "li\t" not in run(["user", "list"], tmp_path).stdout


def test_serves_with_login_required_on_loopback(tmp_path):
    """The real process with auth=required: pages redirect to the login page, the API answers 401."""
    import urllib.error
    import urllib.request

    assert run(["user", "add", "nat", "--role", "national"], tmp_path, stdin="a long password\n").returncode == 0
    db = tmp_path / "empty.duckdb"
    assert run(["init", "--empty", "--db", str(db)], tmp_path).returncode == 0
    port = free_port()
    proc = start_server_process(
        db, port, LIUYAN_AUTH="required", LIUYAN_USERS_FILE=str(tmp_path / "users.json"), LIUYAN_HOST="127.0.0.1"
    )
    try:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1/summary", timeout=30)
            raise AssertionError("the API answered without login")
        except urllib.error.HTTPError as exc:
            assert exc.code == 401
        assert (tmp_path / "secret_key").stat().st_mode & 0o077 == 0  # generated once, private
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def test_sigterm_stops_the_server_promptly_and_closes_the_database(tmp_path):
    import signal
    import time
    import urllib.request

    import duckdb

    db = tmp_path / "empty.duckdb"
    assert run(["init", "--empty", "--db", str(db)], tmp_path).returncode == 0
    port = free_port()
    proc = start_server_process(db, port)
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=30) as response:  # the wall page
            assert response.status == 200
        began = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0
        assert time.monotonic() - began < 15
    finally:
        if proc.poll() is None:
            proc.kill()
    duckdb.connect(str(db)).close()  # closed cleanly: another process may open the file at once
