"""Writes first: read requests take one of a few slots and let pending writes finish before they start.

Every write makes every screen's view a cache miss; twenty screens and API readers
computing at once took the writer's share of the two cores and of the GIL (a write's
transaction ran three to four times longer, and writes fell from 156 to 31 records/s:
bench/write_under_reads.py). A read request (the screens' Dash callbacks and the read
API) now waits, off the CPU, until no write is pending (at most `read_yield_ms`) and
for one of `read_slots` slots; writes, static files and /healthz pass straight through.
"""

from __future__ import annotations

import threading

from flask import Flask, g, request

from queries.db import Store

READ_API = "/api/v1/"
WRITE_API = "/api/v1/ingest/"
CALLBACKS = "/_dash-update-component"  # under the app's path prefix, if any
MAX_WAIT_SECONDS = 10.0  # a read never waits longer for a slot (it then runs anyway)


def gated(path: str) -> bool:
    return path.endswith(CALLBACKS) or (path.startswith(READ_API) and not path.startswith(WRITE_API))


class ReadGate:
    def __init__(self, store: Store, slots: int, yield_ms: int):
        self.store = store
        self._slots = threading.BoundedSemaphore(max(1, slots))
        self._yield = max(0, yield_ms) / 1000

    def install(self, server: Flask) -> None:
        server.before_request(self._enter)
        server.teardown_request(self._leave)

    def _enter(self) -> None:
        if not gated(request.path):
            return
        self.store.yield_to_writes(self._yield)
        g.liuyan_read_slot = self._slots.acquire(timeout=MAX_WAIT_SECONDS)

    def _leave(self, _exc=None) -> None:
        if g.pop("liuyan_read_slot", False):
            self._slots.release()
