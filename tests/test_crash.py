"""Atomicity with a real process kill: acknowledged batches survive SIGKILL exactly once, no partial batch."""

from __future__ import annotations

import json
import os
import signal
import threading
import time
import urllib.error
import urllib.request

from queries.db import Store
from tests.conftest import free_port, start_server_process

TOKEN = "crash-test-token"
BATCH = 500


def _batch(n: int) -> bytes:
    rows = [
        {
            "message_id": f"b{n:04d}-{i:04d}",
            "created_at": "2025-05-01 10:00:00",
            "province": "河南",
            "title": f"批次{n}",
        }
        for i in range(BATCH)
    ]
    return json.dumps(rows).encode()


def test_sigkill_during_writes_loses_no_acknowledged_batch(tmp_path):
    db = tmp_path / "crash.duckdb"
    Store(db).close()  # an empty database: no demo, no simulator
    port = free_port()
    proc = start_server_process(db, port, LIUYAN_INGEST_TOKEN=TOKEN)
    acknowledged: list[int] = []
    stop = threading.Event()

    def writer():
        n = 0
        while not stop.is_set():
            req = urllib.request.Request(
                f"http://127.0.0.1:{port}/api/v1/ingest/messages",
                data=_batch(n),
                headers={"Content-Type": "application/json", "Authorization": f"Bearer {TOKEN}"},
                method="POST",
            )
            try:
                with urllib.request.urlopen(req, timeout=10) as response:
                    if response.status == 200 and json.loads(response.read())["written"] == BATCH:
                        acknowledged.append(n)
            except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
                return
            n += 1

    threads = [threading.Thread(target=writer) for _ in range(1)]
    for t in threads:
        t.start()
    while len(acknowledged) < 8:
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)  # mid-stream: a batch is usually being written
    proc.wait()
    stop.set()
    for t in threads:
        t.join()

    proc = start_server_process(db, port, LIUYAN_INGEST_TOKEN=TOKEN)  # recovers the WAL
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1/summary?start=2025-05-01&end=2025-05-01") as r:
            total = json.loads(r.read())["messages"]
    finally:
        proc.kill()
        proc.wait()
    store = Store(db)
    per_batch = dict(store.rows("SELECT split_part(message_id, '-', 1), count(*) FROM messages GROUP BY 1"))
    store.close()
    assert set(per_batch.values()) <= {BATCH}, "a partial batch survived"
    for n in acknowledged:
        assert per_batch.get(f"b{n:04d}") == BATCH, f"acknowledged batch {n} lost"
    assert total == BATCH * len(per_batch)
