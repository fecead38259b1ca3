"""Issue 16, item 10: reads let pending writes go first (dashboard/readgate.py); figures in
bench/write_under_reads.py. Liveness and the write API are never held back."""

from __future__ import annotations

import threading
import time
import urllib.request

from queries.writes import upsert
from tests.conftest import HENAN, frame, message


def test_a_read_waits_for_the_pending_write_and_sees_it(store, serve):
    server = serve(store, read_yield_ms=10_000, clock="2021-06-30T12:00:00")
    assert server.get("/api/v1/summary", {"period": "month"})[1]["messages"] == 0
    release, inside = threading.Event(), threading.Event()

    def slow_write():
        with store.write() as cur:
            cur.execute("SELECT 1")
            inside.set()
            release.wait(30)

    holder = threading.Thread(target=slow_write)
    holder.start()
    assert inside.wait(10)
    # a real write queues behind it: writes stay pending until both are done
    writer = threading.Thread(
        target=lambda: upsert(store, "messages", frame([message("w1", "2021-06-01 10:00:00", province=HENAN)]))
    )
    writer.start()
    deadline = time.monotonic() + 10
    while store._writes < 2 and time.monotonic() < deadline:
        time.sleep(0.01)
    result = {}
    reader = threading.Thread(target=lambda: result.update(r=server.get("/api/v1/summary", {"period": "month"})))
    reader.start()
    reader.join(1.0)
    assert reader.is_alive()  # held back while the write is pending
    with urllib.request.urlopen(server.url + "/healthz", timeout=5) as response:  # liveness is never held
        assert response.status == 200
    release.set()
    holder.join(30)
    writer.join(30)
    reader.join(30)
    assert result["r"][0] == 200 and result["r"][1]["messages"] == 1  # it read after the write


def test_a_read_is_held_back_at_most_the_yield_time(store, serve):
    server = serve(store, read_yield_ms=200)
    with store.write():
        began = time.monotonic()
        status, _ = server.get("/api/v1/meta")
        waited = time.monotonic() - began
    assert status == 200 and 0.15 <= waited < 10


def test_what_the_gate_holds_back():
    from dashboard.readgate import gated

    assert gated("/_dash-update-component") and gated("/wall/_dash-update-component")
    assert gated("/api/v1/summary") and gated("/api/v1/feed")
    for path in ("/api/v1/ingest/messages", "/healthz", "/_dash-layout", "/assets/wall.js", "/analyst"):
        assert not gated(path), path
