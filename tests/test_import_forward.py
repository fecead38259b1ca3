"""`python app.py import` while the server owns the database: rows go through its write API."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.request

from queries.db import Store
from tests.conftest import ROOT, free_port, start_server_process

TOKEN = "forward-token"
CSV = (
    "\ufeffmessage_id,created_at,province,category,title\n"
    "f1,2025-04-01 08:00:00,河南省,城建,路灯\n"
    "f2,2025-04-01 09:00:00,Narnia,交通,公交\n"  # line 3: unknown province (rejected locally)
    "f3,2025-04-02T01:00:00Z,北京,教育,学位\n"  # 09:00 Beijing on 2 April
)
REPLIES = (
    "reply_id,message_id,replied_at\n"
    "g1,f1,2025-04-01 07:00:00\n"  # line 2: before its message (rejected by the server)
    "g2,f3,2025-04-03 09:00:00\n"
)


def _import(tmp_path, db, port, kind, text, token=TOKEN):
    path = tmp_path / f"{kind}.csv"
    path.write_text(text, encoding="utf-8")
    env = dict(os.environ, LIUYAN_PORT=str(port), LIUYAN_INGEST_TOKEN=token)
    return subprocess.run(
        [sys.executable, str(ROOT / "app.py"), "import", kind, str(path), "--db", str(db)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_import_is_forwarded_to_the_running_server(tmp_path):
    db = tmp_path / "held.duckdb"
    Store(db).close()
    port = free_port()
    server = start_server_process(db, port, LIUYAN_INGEST_TOKEN=TOKEN)
    try:
        done = _import(tmp_path, db, port, "messages", CSV)
        assert done.returncode == 1, done.stderr
        assert "messages.csv:3: province" in done.stdout
        done = _import(tmp_path, db, port, "replies", REPLIES)
        assert done.returncode == 1
        assert "replies.csv:2: replied_at" in done.stdout
        without_token = _import(tmp_path, db, port, "messages", CSV, token="")
        assert without_token.returncode == 3 and "LIUYAN_INGEST_TOKEN" in without_token.stderr
        url = f"http://127.0.0.1:{port}/api/v1/summary?start=2025-04-01&end=2025-04-30"
        with urllib.request.urlopen(url) as response:
            summary = json.loads(response.read())
        assert (summary["messages"], summary["replies"], summary["median_reply_hours"]) == (2, 1, 24.0)
    finally:
        server.kill()
        server.wait()
