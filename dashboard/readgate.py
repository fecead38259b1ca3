"""Writes first: read requests take one of a few slots and let pending writes finish before they start.

Every write makes every screen's view a cache miss; twenty screens and API readers
computing at once took the writer's share of the two cores and of the GIL (a write's
transaction ran three to four times longer, and writes fell from 156 to 31 records/s:
bench/write_under_reads.py). A read request (the screens' Dash callbacks and the read
API) now waits, off the CPU, until no write is pending (at most `read_yield_ms`) and
for one of `read_slots` slots; writes, static files and /healthz pass straight through.
Callbacks that gate themselves (the wall's refresh: most of its ticks during writes are
answered with the previous view, `dashboard.wall.callbacks.Views`, and only a build waits,
in `hold`) are not held back at the door.
"""

from __future__ import annotations

import threading
from contextlib import contextmanager

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
        self.self_gated: frozenset[str] = frozenset()  # callback outputs (as Dash posts them) that call `hold`

    def install(self, server: Flask) -> None:
        server.before_request(self._enter)
        server.teardown_request(self._leave)

    @contextmanager
    def hold(self):
        """Around a read's computation: pending writes first (at most the yield time), then one of the slots."""
        slot = self._acquire()
        try:
            yield
        finally:
            if slot:
                self._slots.release()

    def _enter(self) -> None:
        if not gated(request.path) or self._gates_itself():
            return
        g.liuyan_read_slot = self._acquire()

    def _acquire(self) -> bool:
        """Wait off the CPU while writes are pending (at most the yield time), then for a slot (True: taken)."""
        self.store.yield_to_writes(self._yield)
        return self._slots.acquire(timeout=MAX_WAIT_SECONDS)

    def _gates_itself(self) -> bool:
        if not self.self_gated or not request.path.endswith(CALLBACKS):
            return False
        body = request.get_json(silent=True)  # parsed once: Dash reads the same cached body
        return isinstance(body, dict) and body.get("output") in self.self_gated

    def _leave(self, _exc=None) -> None:
        if g.pop("liuyan_read_slot", False):
            self._slots.release()
