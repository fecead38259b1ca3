"""The database owner's checkpoints, taken in the pauses between writes.

DuckDB checkpoints by itself within the commit that takes the WAL past `checkpoint_threshold`: that write waits
for it, and so does every write meanwhile (0.5-1.6 s at 6 M messages with a 16 MB WAL: the checkpoint rewrites
every row group the updates since touched; a concurrent CHECKPOINT blocks commits too, DuckDB 2.0). The owner takes
it instead once the WAL file holds `checkpoint_wal_mb`, just after a write ended: writes that come in a rhythm
(the simulator's tick, a source's batches) find it done, and a smaller WAL takes a shorter checkpoint (0.2 s at
load 1-4, 0.45 s at load 6-9 for 1 MiB). DuckDB's own stays as the bound when no pause comes (`checkpoint_limit`,
DuckDB's estimate of the WAL: at 16MB the file holds about 2.5-5 MiB). A writer that never pauses for as long as a
checkpoint takes still waits for one: DuckDB 2.0 holds commits while any checkpoint runs.
"""

from __future__ import annotations

import logging
import threading

import duckdb

from queries.db import Store
from settings import Settings

log = logging.getLogger(__name__)
QUIET_SECONDS = 0.1  # no write for this long: the pause after a write (not the gap between two kinds of one batch)
# how often the WAL's size is looked at (a stat: cheap), so that a checkpoint starts soon after the write that filled
# it ended, early in the pause before the next one; and the wait after a refused checkpoint
POLL_SECONDS = 0.05


class Checkpointer:
    """A thread of the database's owner (serve()): a checkpoint in the first pause of the writes once the WAL
    has grown past `settings.checkpoint_wal_mb`."""

    def __init__(self, store: Store, settings: Settings):
        self.store = store
        self.wal_bytes = int(settings.checkpoint_wal_mb * 2**20)
        self.taken = 0
        self.refused = 0  # a snapshot held the file, or a read still needed rows an update replaced
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> Checkpointer:
        self._thread = threading.Thread(target=self._run, name="checkpointer", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None

    def _run(self) -> None:
        while not self._stop.is_set():
            if self.store.wal_bytes < self.wal_bytes:
                self._stop.wait(POLL_SECONDS)
            elif self.store.quiet_writes(QUIET_SECONDS, POLL_SECONDS) and not self._stop.is_set():
                try:
                    taken = self.store.checkpoint()
                except duckdb.Error:
                    log.exception("checkpoint failed; DuckDB checkpoints within a write past checkpoint_limit")
                    taken = False
                if taken:
                    self.taken += 1
                else:
                    self.refused += 1
                    self._stop.wait(POLL_SECONDS)
