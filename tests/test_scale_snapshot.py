"""Snapshots by block delta: the writer ships a full copy once and then only the blocks checkpoints rewrote, with
the WAL of the writes since; a web process's file, brought forward delta by delta over real HTTP, holds what was
written (real DuckDB files)."""

from __future__ import annotations

import hashlib
import threading
from dataclasses import replace
from pathlib import Path

import pytest
from flask import Flask, request
from waitress.server import create_server

from queries.db import Store
from queries.writes import upsert
from scaleout import blockdiff, snapshot
from settings import Settings
from tests.conftest import frame, free_port, message, reply

SECRET = "s3cret"


@pytest.fixture
def served(tmp_path):
    """The writer's snapshot route on a real loopback server; yields (settings, list of files requested)."""
    settings = replace(Settings(), snapshot_secret=SECRET, snapshot_dir=str(tmp_path), port=free_port())
    files = snapshot.directory(settings, "writer")
    app = Flask("snapshots")
    app.register_blueprint(snapshot.blueprint(settings, files))
    asked: list[str] = []
    app.after_request(lambda response: asked.append(request.path.rsplit("/", 1)[-1]) or response)
    port = free_port()
    server = create_server(app, host="127.0.0.1", port=port, threads=2)
    thread = threading.Thread(target=lambda: _run(server), daemon=True)
    thread.start()
    yield replace(settings, writer_url=f"http://127.0.0.1:{port}"), files, asked
    server.close()


def _run(server) -> None:
    try:
        server.run()
    except OSError:  # closed
        pass


def messages(store: Store) -> dict:
    return dict(store.rows("SELECT message_id, reply_count FROM messages"))


def checkpoint(store: Store) -> None:
    """What DuckDB does by itself once the WAL passes `checkpoint_threshold`: the rows into the file's blocks."""
    store.cursor().execute("CHECKPOINT")


def digest(path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def test_web_file_follows_the_writer_by_block_deltas(store, served, monkeypatch):
    settings, files, asked = served
    monkeypatch.setattr(snapshot, "REBASE_FRACTION", 10.0)  # a checkpoint rewrites most blocks of a file this small
    rows = [message(f"m{i}", f"2026-11-{1 + i % 25:02d} 09:00:00", province=410000 + i % 3) for i in range(6000)]
    upsert(store, "messages", frame(rows))
    checkpoint(store)
    writer = snapshot.Snapshots(store, files)
    fetcher = snapshot.Fetcher(settings)

    first = writer.make()
    assert first["base"] == first["name"] + ".duckdb" and first["deltas"] == []
    web = fetcher.fetch(first)
    assert web.data_version == store.data_version and len(messages(web)) == 6000

    upsert(store, "messages", frame([message(f"n{i}", "2026-11-26 09:00:00") for i in range(10)]))
    upsert(store, "replies", frame([reply("r1", "m7", "2026-11-26 10:00:00")]))
    checkpoint(store)
    second = writer.make()
    assert second["deltas"] == [second["name"] + ".delta"] and second["base"] == first["base"]
    assert second["bytes"] > blockdiff.HEADER  # blocks the checkpoint rewrote, not only the header
    web = fetcher.fetch(second)
    got = messages(web)
    assert len(got) == 6010 and got["m7"] == 1 and got["n9"] == 0 and got["m8"] == 0

    upsert(store, "messages", frame([message("late", "2026-11-26 11:00:00")]))
    checkpoint(store)
    upsert(store, "replies", frame([reply("r2", "late", "2026-11-26 12:00:00")]))  # in the WAL only
    third = writer.make()
    assert len(third["deltas"]) == 2 and third["wal"] == third["name"] + ".wal"
    web = fetcher.fetch(third)  # the first file again, brought from the first state by both deltas and the WAL
    got = messages(web)
    assert len(got) == 6011 and got["late"] == 1 and got["m7"] == 1
    assert web.data_version == store.data_version
    assert asked.count(first["base"]) == 1  # the second file was a local copy, not a second download
    assert fetcher.fetch(third) is None  # already open


def test_a_new_full_copy_once_the_deltas_add_up(store, served, monkeypatch):
    settings, files, asked = served
    upsert(store, "messages", frame([message(f"m{i}", "2026-11-20 09:00:00") for i in range(100)]))
    writer = snapshot.Snapshots(store, files)
    fetcher = snapshot.Fetcher(settings)
    fetcher.fetch(writer.make())
    upsert(store, "messages", frame([message("x", "2026-11-26 09:00:00")]))
    checkpoint(store)
    fetcher.fetch(writer.make())
    monkeypatch.setattr(snapshot, "REBASE_FRACTION", 0.0)
    upsert(store, "messages", frame([message("y", "2026-11-26 09:00:00")]))
    rebased = writer.make()
    assert rebased["base"] == rebased["name"] + ".duckdb" and rebased["deltas"] == []
    web = fetcher.fetch(rebased)
    assert len(messages(web)) == 102 and web.data_version == store.data_version
    assert asked.count(rebased["base"]) == 1


def test_a_snapshot_takes_no_checkpoint_the_wal_carries_the_writes_since(store, served):
    """A checkpoint made every write wait until it ended (up to a second at 6 M messages): the live file must come
    out of a snapshot byte for byte as it went in, and the writes since the last checkpoint reach the web process
    in the WAL (no delta for an unchanged file)."""
    settings, files, asked = served
    upsert(store, "messages", frame([message(f"m{i}", "2026-11-20 09:00:00") for i in range(50)]))
    writer, fetcher = snapshot.Snapshots(store, files), snapshot.Fetcher(settings)
    first = writer.make()
    fetcher.fetch(first)
    upsert(store, "messages", frame([message("new", "2026-11-26 09:00:00")]))
    upsert(store, "replies", frame([reply("r", "m3", "2026-11-26 10:00:00")]))
    before = digest(store.path)
    second = writer.make()
    assert digest(store.path) == before
    assert second["base"] == first["base"] and second["deltas"] == [] and second["wal"]
    web = fetcher.fetch(second)  # the second file: a local copy of the first, and the WAL
    got = messages(web)
    assert len(got) == 51 and got["m3"] == 1 and got["new"] == 0 and web.data_version == store.data_version
    assert asked.count(first["base"]) == 1 and asked.count(second["wal"]) == 1
    assert fetcher.fetch(dict(writer.make(), v=store.data_version)).data_version == store.data_version


def test_a_write_committed_while_the_files_are_copied_is_left_for_the_next_snapshot(store, served, monkeypatch):
    """The WAL is copied up to the last commit before the file was held: a commit appended while the copy runs is
    not in the snapshot (which holds exactly the version it announces) and is in the next one."""
    settings, files, _ = served
    upsert(store, "messages", frame([message(f"m{i}", "2026-11-20 09:00:00") for i in range(20)]))
    copy = blockdiff.copy_prefix

    def copy_during_a_write(source, target, size):
        upsert(store, "messages", frame([message(f"during-{target.name}", "2026-11-26 09:00:00")]))
        return copy(source, target, size)

    writer, fetcher = snapshot.Snapshots(store, files), snapshot.Fetcher(settings)
    fetcher.fetch(writer.make())
    upsert(store, "messages", frame([message("before", "2026-11-26 08:00:00")]))
    announced = store.data_version
    monkeypatch.setattr(blockdiff, "copy_prefix", copy_during_a_write)
    record = writer.make()
    monkeypatch.undo()
    assert record["v"] == announced != store.data_version  # the write went in meanwhile
    got = messages(fetcher.fetch(record))
    assert "before" in got and not any(m.startswith("during") for m in got) and len(got) == 21
    got = messages(fetcher.fetch(writer.make()))
    assert sum(m.startswith("during") for m in got) == 1 and len(got) == 22


def test_fingerprints_from_the_child_process_are_those_of_the_file(tmp_path):
    blocks = [bytes([i]) * 4096 for i in range(5)]
    path = tmp_path / "f.duckdb"
    path.write_bytes(b"H" * blockdiff.HEADER + b"".join(blocks) + b"tail that is not counted")
    size = blockdiff.HEADER + 4 * 4096
    sums = blockdiff.checksums_apart(path, 4096, size, copy_to=tmp_path / "copy")
    assert sums == blockdiff.checksums(path, 4096, size) and len(sums) == 4
    assert [s[: blockdiff.CHECKSUM] for s in sums] == [b[: blockdiff.CHECKSUM] for b in blocks[:4]]
    assert (tmp_path / "copy").read_bytes() == path.read_bytes()[:size]


def test_a_file_that_does_not_hold_the_announced_version_is_refused(store, served):
    settings, files, _ = served
    upsert(store, "messages", frame([message("a", "2026-11-20 09:00:00")]))
    record = snapshot.Snapshots(store, files).make()
    with pytest.raises(ValueError, match="holds"):
        snapshot.Fetcher(settings).fetch(dict(record, v=record["v"] + "0"))


def test_a_file_not_laid_out_in_blocks_is_named(tmp_path):
    odd = tmp_path / "odd.duckdb"
    odd.write_bytes(b"\0" * (blockdiff.HEADER + 1000))
    with pytest.raises(blockdiff.LayoutError, match="12288-byte header"):
        blockdiff.checksums(odd, 262144)


def test_recent_questions_are_answered_on_a_new_snapshot_before_the_switch(tmp_path, monkeypatch):
    import datetime as dt

    from queries import metrics as metric_functions
    from queries.periods import Filters
    from queries.service import Metrics

    computed: list[str] = []
    original = metric_functions.summary
    monkeypatch.setattr(metric_functions, "summary", lambda s, f: computed.append(s.path) or original(s, f))
    old, new = Store(tmp_path / "old.duckdb"), Store(tmp_path / "new.duckdb")
    upsert(old, "messages", frame([message("a", "2026-11-20 09:00:00")]))
    upsert(new, "messages", frame([message(f"b{i}", f"2026-11-2{i} 09:00:00") for i in range(3)]))
    service = Metrics(old)
    november = Filters(dt.date(2026, 11, 1), dt.date(2026, 11, 30))
    assert service.summary(november)["messages"] == 1
    assert service.warm(new, seconds=10) == 1
    service.store = new
    assert service.summary(november)["messages"] == 3  # the new file's three messages
    assert computed == [old.path, new.path]  # the second answer was the one computed before the switch
    old.close()
    new.close()


def test_a_block_whose_words_changed_places_is_in_the_delta(tmp_path):
    """DuckDB's block checksum XORs one hash per 8-byte word: the same words in another order keep it (a
    checkpoint re-packing small segments did that). The delta must still carry the block."""
    size = 4096
    words = [i.to_bytes(8, "little") for i in range(1, size // 8)]
    checksum = b"\x01" * 8  # the same stored checksum in both states
    before = b"H" * blockdiff.HEADER + checksum + b"".join(words) + checksum + b"".join(words)
    after = b"H" * blockdiff.HEADER + checksum + b"".join(words) + checksum + b"".join([words[1], words[0], *words[2:]])
    old, new = tmp_path / "old.duckdb", tmp_path / "new.duckdb"
    old.write_bytes(before)
    new.write_bytes(after)
    blocks = blockdiff.changed(blockdiff.checksums(old, size), blockdiff.checksums(new, size))
    assert blocks == [1]
    blockdiff.write(new, blocks, size, tmp_path / "delta")
    with open(tmp_path / "delta", "rb") as delta:
        blockdiff.apply(delta, old)
    assert old.read_bytes() == after


def test_a_new_snapshot_takes_over_the_delay_index_and_its_medians_stay_exact(store, served):
    """The web side's delay index (built once, 1-4 s at 6 M messages) moves to the next snapshot's store; the days
    whose delays changed since are read from the new file, so its medians are those of the new file."""
    import datetime as dt

    import pandas as pd

    from queries import medians
    from queries.periods import Filters

    settings, files, _ = served
    rows = [message(f"m{i}", f"2026-11-{1 + i % 20:02d} 08:00:00") for i in range(60)]
    upsert(store, "messages", frame(rows))
    upsert(
        store,
        "replies",
        frame([reply(f"r{i}", f"m{i}", f"2026-11-{1 + i % 20:02d} {9 + i % 9:02d}:30:00") for i in range(40)]),
    )
    writer, fetcher = snapshot.Snapshots(store, files), snapshot.Fetcher(settings)
    november = Filters(dt.date(2026, 11, 1), dt.date(2026, 11, 30))
    first = fetcher.fetch(writer.make())
    medians.exact(first, november, None)  # builds the first store's index
    index = first.medians.index.value
    assert index is not None

    # replies after the index: first answers of unanswered messages, and an earlier reply moving m3's first answer
    later = [reply(f"s{i}", f"m{i}", "2026-11-25 20:00:00") for i in range(40, 50)]
    upsert(store, "replies", frame(later + [reply("early3", "m3", "2026-11-04 08:15:00")]))
    second = fetcher.fetch(writer.make())
    assert second.medians.index.value is index  # taken over, not built again

    def expected(web: Store, f: Filters) -> float:
        m = web.df("SELECT created_at, first_reply_at FROM messages WHERE first_reply_at IS NOT NULL")
        lo, hi = pd.Timestamp(f.start), pd.Timestamp(f.end) + pd.Timedelta(days=1)
        answered = m[(m["first_reply_at"] >= lo) & (m["first_reply_at"] < hi)]
        return ((answered["first_reply_at"] - answered["created_at"]).dt.total_seconds() / 3600).median()

    for f in (november, Filters(dt.date(2026, 11, 4), dt.date(2026, 11, 28))):
        assert medians.exact(second, f, None) == pytest.approx(expected(second, f))
    assert medians.exact(second, november, None) != pytest.approx(expected(first, november))  # the data moved
