"""Read-only snapshots of the store for the analysts on web processes.

Writer: every `snapshot_seconds` a thread holds the live database file unchanged (automatic checkpoints held
off, so writes go on into the WAL; no checkpoint is taken, Store.frozen_file) and publishes the file's state as a
*block delta* from the previous snapshot (scaleout/blockdiff.py: the few blocks the checkpoints since rewrote,
found by their checksums) or, the first time and when the deltas since the last full copy have grown past
REBASE_FRACTION of it, as a full copy (the base), plus the WAL up to the last commit (the writes since the last
checkpoint). Each announcement names the base, the chain of deltas leading to it and the WAL; the files are
served at /scale/snapshots/<file> to holders of the shared secret.

Web: `Fetcher` keeps two files and takes turns: the one open for requests, and the previous one, which it
closes (one snapshot after it was replaced, so requests still running on it finish), brings to the newest
state by downloading only the deltas it lacks (or, after a new base, the base; the second file starts as a copy
of the first, made before any request) and
puts the announced WAL next to it and opens it read-only (DuckDB replays the WAL in memory and leaves both
files as they are), after checking that it holds the announced data version.
"""

from __future__ import annotations

import hmac
import json
import logging
import re
import shutil
import threading
import time
import urllib.request
from pathlib import Path

from flask import Blueprint, abort, request, send_file

from queries.db import Frozen, Store
from scaleout import blockdiff
from settings import Settings

log = logging.getLogger(__name__)
REBASE_FRACTION = 0.25  # a new full copy once the deltas since the last one add up to this share of it
NAME = re.compile(r"^snap-\d+$")
FILE = re.compile(r"^snap-\d+\.(duckdb|delta|wal)$")
ROUTE = "/scale/snapshots/"


def directory(settings: Settings, role: str) -> Path:
    base = Path(settings.snapshot_dir) if settings.snapshot_dir else Path(settings.db).parent
    path = base / f"snapshots-{role}"
    path.mkdir(parents=True, exist_ok=True)
    return path


class Snapshots:
    """The writer's snapshot files: one full copy (the base) and the deltas after it, plus the generation
    before (a web process may still be downloading it), and the WALs of the last two snapshots. `make()`
    publishes the store's current state."""

    def __init__(self, store: Store, target_dir: Path):
        self.store = store
        self.dir = target_dir
        self.base: str | None = None
        self.deltas: list[str] = []
        self.delta_bytes = 0
        self._sums: list[bytes] | None = []  # None: the file is not laid out in blocks
        self._head: tuple[int, bytes] | None = None  # the file's size and header at the last snapshot
        self._previous: list[str] = []  # files of the generation before
        self._wals: list[str] = []  # the WALs of the last snapshots

    def make(self) -> dict:
        """Publish the store's state now; returns its record (name, data version, the chain, seconds taken)."""
        began = time.perf_counter()
        name = f"snap-{time.time_ns() // 1_000_000}"
        block_size = int(
            self.store.scalar("SELECT block_size FROM pragma_database_size() WHERE database_name = current_database()")
        )
        with self.store.frozen_file() as frozen:
            wal = self._wal(frozen, name)
            head = _head(frozen)
            if self.base is None or self._sums is None or self.delta_bytes > REBASE_FRACTION * frozen.size:
                written = self._copy(frozen, name, block_size)
            elif head != self._head:
                written = self._delta(frozen, name, block_size)
            else:  # no checkpoint since the last snapshot: the file is as it was, the WAL holds what is new
                written = 0
            self._head = head
        return {
            "name": name,
            "v": frozen.version,
            "updated_at": frozen.updated_at,
            "at": time.time(),
            "base": self.base,
            "deltas": list(self.deltas),
            "wal": wal,
            "bytes": written,
            "wal_bytes": frozen.wal_size,
            "seconds": round(time.perf_counter() - began, 3),
            "lock_seconds": round(frozen.held, 3),
        }

    def _tmp(self, file: str) -> Path:
        return self.dir / (file + ".tmp")

    def _wal(self, frozen: Frozen, name: str) -> str | None:
        """Copy the WAL's committed bytes; returns the file's name (None without a WAL). Keeps the last two."""
        if not frozen.wal_size:
            return None
        blockdiff.copy_prefix(frozen.wal, self._tmp(name + ".wal"), frozen.wal_size)
        self._tmp(name + ".wal").replace(self.dir / (name + ".wal"))
        self._wals.append(name + ".wal")
        for old in self._wals[:-2]:
            (self.dir / old).unlink(missing_ok=True)
        del self._wals[:-2]
        return name + ".wal"

    def _delta(self, frozen: Frozen, name: str, block_size: int) -> int:
        """The blocks that changed since the last fingerprints, as the next delta of the chain."""
        sums = blockdiff.checksums_apart(frozen.path, block_size, frozen.size)
        blocks = blockdiff.changed(self._sums, sums)
        written = blockdiff.write(frozen.path, blocks, block_size, self._tmp(name + ".delta"), frozen.size)
        self._tmp(name + ".delta").replace(self.dir / (name + ".delta"))
        self.deltas.append(name + ".delta")
        self.delta_bytes += written
        self._sums = sums
        return written

    def _copy(self, frozen: Frozen, name: str, block_size: int) -> int:
        """A full copy, the new base (its fingerprints taken in the same child process)."""
        try:
            self._sums = blockdiff.checksums_apart(frozen.path, block_size, frozen.size, self._tmp(name + ".duckdb"))
        except blockdiff.LayoutError:  # copied whole every time
            self._sums = None
            blockdiff.copy_prefix(frozen.path, self._tmp(name + ".duckdb"), frozen.size)
        self._tmp(name + ".duckdb").replace(self.dir / (name + ".duckdb"))
        for old in self._previous:
            (self.dir / old).unlink(missing_ok=True)
        self._previous = ([self.base] if self.base else []) + self.deltas
        self.base, self.deltas, self.delta_bytes = name + ".duckdb", [], 0
        return (self.dir / self.base).stat().st_size


class Snapshotter:
    """Writer thread: a snapshot now, then every `snapshot_seconds` (when the data changed)."""

    def __init__(self, store: Store, settings: Settings, announce, base_url: str):
        self.store = store
        self.settings = settings
        self.announce = announce
        self.base_url = base_url.rstrip("/")
        self.snapshots = Snapshots(store, directory(settings, "writer"))
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.last: dict | None = None

    def start(self) -> Snapshotter:
        self._thread = threading.Thread(target=self._run, name="snapshotter", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join(timeout=30)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                if self.last is None or self.last["v"] != self.store.data_version:
                    record = self.snapshots.make()
                    record["url"] = self.base_url
                    self.last = record
                    log.info(
                        "snapshot %s (version %s, %d bytes) in %.2f s",
                        *(record[k] for k in ("name", "v", "bytes", "seconds")),
                    )
                    self.announce(json.dumps(record))
            except Exception:
                log.exception("snapshot failed; next try in %s s", self.settings.snapshot_seconds)
            self._stop.wait(self.settings.snapshot_seconds)


def blueprint(settings: Settings, snapshot_dir: Path) -> Blueprint:
    """GET /scale/snapshots/<name> with `Authorization: Bearer <snapshot_secret>` (off without a secret)."""
    bp = Blueprint("liuyan_snapshots", __name__)

    @bp.get(ROUTE + "<name>")
    def download(name: str):
        if not settings.snapshot_secret:
            abort(503)
        given = request.headers.get("Authorization", "").removeprefix("Bearer ").encode()
        if not hmac.compare_digest(given, settings.snapshot_secret.encode()):
            abort(401)
        path = snapshot_dir / name
        if not FILE.match(name) or not path.is_file():
            abort(404)
        return send_file(path, mimetype="application/octet-stream", max_age=0)

    return bp


class Fetcher:
    """Web side: brings a file to each announced snapshot and opens it read-only (two files, in turns)."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self.dir = directory(settings, f"web-{settings.port}")
        self.record: dict | None = None
        self.store: Store | None = None
        self._previous: Store | None = None
        self._writer = ""  # the base URL the writer announces
        # file -> the last file of the chain it was brought to (base or delta; only files not being changed): a
        # snapshot after no checkpoint adds none, its WAL holds what is new
        self._holds: dict[Path, str] = {}
        self._slots = (self.dir / "a.duckdb", self.dir / "b.duckdb")
        for slot in self._slots:
            slot.unlink(missing_ok=True)  # left by an earlier run: what they hold is unknown
            _wal_of(slot).unlink(missing_ok=True)

    def url(self, file: str) -> str:
        return (self.settings.writer_url or self._writer).rstrip("/") + ROUTE + file

    def fetch(self, record: dict) -> Store | None:
        """Bring a file to `record`'s snapshot and open it, unless it is the one open already; returns the
        new store (the one before stays open until the next fetch: requests may still read it)."""
        if self.record and self.record["name"] == record["name"]:
            return None
        chain = [record.get("base") or ""] + list(record.get("deltas") or [])
        wal = record.get("wal")
        if not NAME.match(record.get("name", "")) or not all(FILE.match(f) for f in chain + ([wal] if wal else [])):
            raise ValueError(f"bad snapshot record {record!r}")
        self._writer = record.get("url", "")
        target = (
            self._slots[1] if self.store is not None and Path(self.store.path) == self._slots[0] else self._slots[0]
        )
        if self._previous is not None:
            self._previous.close()  # it was replaced one snapshot ago
            self._previous = None
        held = self._holds.pop(target, None)
        names = [f.rsplit(".", 1)[0] for f in chain]
        if held not in names:
            held = self._seed(target, names)
        if held is None:
            self._download(chain[0], target)
            held = names[0]
        for file in chain[names.index(held) + 1 :]:
            with self._open(file) as stream:
                blockdiff.apply(stream, target)
        if wal:
            self._download(wal, _wal_of(target))
        else:
            _wal_of(target).unlink(missing_ok=True)
        store = Store(target, read_only=True)
        if store.data_version != record["v"]:
            store.close()
            raise ValueError(
                f"snapshot {record['name']}: the file holds version {store.data_version}, not {record['v']}"
            )
        self._holds[target] = names[-1]
        if self.store is not None:
            store.carry(self.store)
        else:
            self._spare(target, names[-1])
        self._previous, self.store, self.record = self.store, store, record
        return store

    def _spare(self, first: Path, held: str) -> None:
        """At the first snapshot, before any request: a copy of it in the other file, which the next snapshot
        then only brings forward. Made at the first switch instead, the copy (3 GB at 6 M messages, 10-12 s)
        held up the analysts' requests of both web processes of one machine for 2 s."""
        spare = self._slots[1] if first == self._slots[0] else self._slots[0]
        shutil.copyfile(first, spare)  # read-only open: DuckDB replays the WAL in memory, the file stays as it is
        self._holds[spare] = held

    def _seed(self, target: Path, names: list[str]) -> str | None:
        """Copy the open file when it is on this chain (cheaper than downloading the base); returns what it holds."""
        held = self._holds.get(Path(self.store.path)) if self.store is not None else None
        if held not in names:
            return None
        # opened read-only: its bytes do not change (DuckDB replays its WAL in memory)
        shutil.copyfile(self.store.path, target)
        return held

    def _open(self, file: str):
        secret = {"Authorization": f"Bearer {self.settings.snapshot_secret}"}
        return urllib.request.urlopen(urllib.request.Request(self.url(file), headers=secret), timeout=120)

    def _download(self, file: str, target: Path) -> None:
        with self._open(file) as response, open(target, "wb") as out:
            shutil.copyfileobj(response, out, 1 << 20)


def _head(frozen: Frozen) -> tuple[int, bytes]:
    """The file's size and header: every checkpoint rewrites the header (its iteration count)."""
    with open(frozen.path, "rb") as f:
        return frozen.size, f.read(blockdiff.HEADER)


def _wal_of(file: Path) -> Path:
    """Where DuckDB looks for a database file's WAL."""
    return file.with_name(file.name + ".wal")
