"""The database owner's checkpoints (queries/checkpoints.py): taken in the pauses of the writes instead of within
the write that passes DuckDB's threshold, never while a snapshot holds the file (real DuckDB files)."""

from __future__ import annotations

import hashlib
import threading
import time
from dataclasses import replace
from pathlib import Path

import pytest

from queries.checkpoints import Checkpointer
from queries.db import Store
from queries.writes import upsert
from settings import Settings
from tests.conftest import frame, message

# DuckDB never checkpoints by itself here: only the owner's checkpoints keep the WAL small
SMALL_WAL = replace(Settings(), checkpoint_wal_mb=0.02, checkpoint_limit="1TB")
BATCH = 40  # messages per write: a few KB of WAL (measured below, not assumed)


@pytest.fixture
def owned(tmp_path):
    store = Store(tmp_path / "own.duckdb", SMALL_WAL)
    checkpointer = Checkpointer(store, SMALL_WAL).start()
    yield store, checkpointer
    checkpointer.stop()
    store.close()


def write(store: Store, tag: str) -> None:
    upsert(store, "messages", frame([message(f"{tag}-{k}", "2026-11-20 09:00:00") for k in range(BATCH)]))


def wait_for(condition, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return condition()


def digest(path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def test_the_threshold_of_duckdbs_own_checkpoint_is_the_setting(tmp_path):
    store = Store(tmp_path / "t.duckdb", replace(Settings(), checkpoint_limit="64MB"))
    try:
        assert store.scalar("SELECT current_setting('checkpoint_threshold')") in ("64.0 MiB", "61.0 MiB")
    finally:
        store.close()


def wal_of_one_write(path: Path) -> int:
    """The WAL bytes of one more write (on a store of its own: no checkpoint in between)."""
    store = Store(path, SMALL_WAL)
    try:
        write(store, "first")
        first = store.wal_bytes
        write(store, "second")
        return store.wal_bytes - first
    finally:
        store.close()


def test_a_checkpoint_is_taken_in_a_pause_and_the_wal_stays_bounded(owned, tmp_path):
    """Writes with pauses between them: the WAL is emptied in a pause each time it passed the setting, so it never
    holds much more than the setting plus the writes of one pause; every row is kept."""
    store, checkpointer = owned
    limit = SMALL_WAL.checkpoint_wal_mb * 2**20
    one_write = wal_of_one_write(tmp_path / "one.duckdb")
    assert 0 < one_write < limit / 2
    write(store, "first")
    write(store, "second")
    peak = 0
    for i in range(11):
        write(store, f"w{i}")
        peak = max(peak, store.wal_bytes)
        time.sleep(0.4)  # a pause: longer than the checkpointer's quiet time and its poll
    # with DuckDB alone (threshold 1TB) the WAL would hold all 13 writes
    assert wait_for(lambda: store.wal_bytes < limit)
    assert checkpointer.taken >= 2
    assert peak <= limit + 3 * one_write
    assert store.scalar("SELECT count(*) FROM messages") == 13 * BATCH


def test_no_checkpoint_while_a_snapshot_holds_the_file(owned):
    """The snapshot protocol copies the file as the last checkpoint left it plus the WAL's committed bytes: a
    checkpoint in a pause during the copy would change the file under it. Once released, the pause's checkpoint
    comes."""
    store, checkpointer = owned
    write(store, "before")
    assert wait_for(lambda: store.wal_bytes == 0 or checkpointer.taken >= 1)
    with store.frozen_file() as frozen:
        held = digest(frozen.path)
        for i in range(4):
            write(store, f"held{i}")
        time.sleep(1.5)  # pauses the checkpointer would use
        assert store.wal_bytes > SMALL_WAL.checkpoint_wal_mb * 2**20
        assert digest(frozen.path) == held
    assert wait_for(lambda: store.wal_bytes < SMALL_WAL.checkpoint_wal_mb * 2**20)
    assert store.scalar("SELECT count(*) FROM messages") == 5 * BATCH


def test_a_read_that_needs_replaced_rows_defers_the_checkpoint(tmp_path):
    """DuckDB refuses a CHECKPOINT while a read transaction begun before a committed update still runs: the store
    says so instead of raising, and the checkpoint goes through once the read ended."""
    store = Store(tmp_path / "r.duckdb", SMALL_WAL)
    try:
        write(store, "a")
        reading, release = threading.Event(), threading.Event()

        def reader():
            cur = store.cursor()
            cur.execute("BEGIN TRANSACTION")
            cur.execute("SELECT count(*) FROM messages").fetchall()
            reading.set()
            release.wait(10)
            cur.execute("COMMIT")

        thread = threading.Thread(target=reader)
        thread.start()
        assert reading.wait(10)
        with store.write() as cur:
            cur.execute("UPDATE messages SET title = 'changed' WHERE message_id = 'a-1'")
        assert store.checkpoint() is False
        release.set()
        thread.join()
        assert store.checkpoint() is True
        assert store.wal_bytes == 0
    finally:
        store.close()
