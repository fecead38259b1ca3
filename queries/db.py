"""The only module that opens DuckDB.

One process owns the database file. Each thread reads through its own cursor
(a shared connection raises "connection is busy"); writes go through
`Store.write()`, one transaction each, serialised by a lock, and every
committed write bumps the data version that caches key on.
"""

from __future__ import annotations

import os
import threading
import time
import uuid
from collections import OrderedDict
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pandas as pd

from queries import provinces as province_ref
from queries.deltas import Appends, Touched
from queries.medians import MedianCache
from queries.memo import Memo
from queries.word_codes import WordCodes
from settings import Settings

_HERE = Path(__file__).parent


def _backfill_rollups(cur) -> None:
    from queries import rollups

    rollups.align(cur)  # the catalog's columns first (a file older than migration 8)
    rollups.rebuild(cur)


def _align_rollups(cur) -> None:
    """Rollup tables and columns follow the metric declarations (queries/catalog.py): missing ones are added and
    filled (a coarse table alone from the fine ones, a wide one from the raw rows of their days; anything else by a
    full rebuild)."""
    from queries import rollups
    from queries.catalog import COARSE, WIDE

    changed = rollups.align(cur)
    if changed - set(COARSE) - set(WIDE):
        rollups.rebuild(cur)
    elif changed:
        rollups.fill(cur, sorted(changed))


def _refresh_stale(cur) -> None:
    from queries import rollups

    rollups.refresh_stale(cur)


def _code_words(cur) -> None:
    """Migration 17: the stored words saved again as codes (schema_word_codes.sql leaves them in words_frame); a
    file whose words are codes already (its schema version set back) is left as it is."""
    from queries.sql import text

    kind = cur.execute(
        "SELECT data_type FROM information_schema.columns WHERE table_name = 'message_words' AND column_name = 'words'"
    ).fetchone()[0]
    if kind != "VARCHAR[]":
        return
    cur.execute((_HERE / "schema_word_codes.sql").read_text(encoding="utf-8"))
    cur.execute(text("insight", "add_words"))
    cur.execute(text("insight", "save_words"))
    cur.execute("DROP TABLE words_frame")


def _backfill_first_flags(cur) -> None:
    from queries.sql import text

    cur.execute(text("writes", "refresh_all_first_flags"))


def _backfill_league_unit_codes(cur) -> None:
    from queries.sql import text

    cur.execute(text("supervision", "add_league_units"), {"low": None, "high": None})
    cur.execute(text("supervision", "code_league_facts"))


def _backfill_delay_units(cur) -> None:
    from queries import rollups

    rollups.rebuild_delays(cur)


def _backfill_held_evaluations(cur) -> None:
    cur.execute(
        "INSERT INTO held_evaluations SELECT message_id, rated_at, verdict FROM evaluations "
        "WHERE message_id NOT IN (SELECT message_id FROM messages)"
    )


# Schema changes, applied in order to a file whose schema_version is older:
# (version, DDL, optional backfill run in the same transaction).
MIGRATIONS = [
    (1, (_HERE / "schema.sql").read_text(encoding="utf-8"), None),
    (2, (_HERE / "schema_rollups.sql").read_text(encoding="utf-8"), None),  # filled by 3
    (3, (_HERE / "schema_province_rollup.sql").read_text(encoding="utf-8"), None),  # filled by 4
    (4, (_HERE / "schema_delays.sql").read_text(encoding="utf-8"), None),  # filled by 5
    (5, (_HERE / "schema_breakdowns.sql").read_text(encoding="utf-8"), _backfill_rollups),
    (6, (_HERE / "schema_held_evaluations.sql").read_text(encoding="utf-8"), _backfill_held_evaluations),
    (7, (_HERE / "schema_texts.sql").read_text(encoding="utf-8"), None),
    # 8: every count of the catalog in every rollup table (replied_24h, urgent_messages, pending, in_progress
    # where they were missing); later counts are added by the same step at open (`_migrate`)
    (8, "SELECT 1", _align_rollups),
    # 9: the day x province x domain rollup (declared in queries/catalog.py, created and filled by the same step)
    (9, "SELECT 1", _align_rollups),
    # 10: the stored reply features of the reply checks (supervision/features.py)
    (10, (_HERE / "schema_reply_features.sql").read_text(encoding="utf-8"), None),
    # 11: words per message, filled in the background (insight/index.py)
    (11, (_HERE / "schema_words.sql").read_text(encoding="utf-8"), None),
    # 12: per answered message what the unit league counts (supervision/league_facts.py), filled when first read
    (12, (_HERE / "schema_league_facts.sql").read_text(encoding="utf-8"), None),
    # 13: rollup days a bulk import left stale (Store.deferred_rollups)
    (13, (_HERE / "schema_stale_rollups.sql").read_text(encoding="utf-8"), None),
    # 14: the stored boilerplate flag per reply (supervision/boilerplate.py), filled in the background and when read
    (14, (_HERE / "schema_reply_boilerplate.sql").read_text(encoding="utf-8"), None),
    # 15: the first reply's boilerplate flag in league_facts (supervision/league_facts.py), copied from the flags
    (15, (_HERE / "schema_league_first_flag.sql").read_text(encoding="utf-8"), _backfill_first_flags),
    # 16: the first reply's unit in roll_delays (the drill-down's unit table), and (by the catalog, at open) the
    # day x city rollup of the drill-down's city table
    (16, (_HERE / "schema_delay_units.sql").read_text(encoding="utf-8"), _backfill_delay_units),
    # 17: the stored words as codes of one vocabulary (insight/words_store.py)
    (17, "SELECT 1", _code_words),
    # 18: the league's (unit, province) pairs as integer codes (supervision/league.py groups by them)
    (18, (_HERE / "schema_league_unit_codes.sql").read_text(encoding="utf-8"), _backfill_league_unit_codes),
]
SCHEMA_VERSION = MIGRATIONS[-1][0]


def remake_tables(cur, versions) -> None:
    """Run the DDL of the migrations `versions` again (CREATE ... IF NOT EXISTS): tables the caller dropped come back
    empty, as those migrations declare them."""
    ddl = {version: statements for version, statements, _ in MIGRATIONS}
    for version in versions:
        cur.execute(ddl[version])


CLOSE_ATTEMPTS = 100  # 5 s for a running statement to give way
COMMIT_TIMES_KEPT = 1000  # `superseded_for`: versions older than this many commits count as long superseded
CACHED_BLOCKS_FLOOR = "32MB"  # what DuckDB keeps of the blocks a long read loaded (`drop_cached_blocks`)


@dataclass(frozen=True)
class Frozen:
    """A database file held unchanged with its WAL (Store.frozen_file) and what they hold."""

    path: Path
    size: int  # the file's bytes then (a large write may grow it meanwhile, into blocks nothing here refers to)
    wal: Path
    wal_size: int  # the WAL's bytes up to the last commit then (0: no WAL); later commits are appended after them
    held: float  # seconds writes waited
    version: str  # Store.data_version of the file's content
    updated_at: str | None  # the last write it holds, Beijing time


class DatabaseLocked(RuntimeError):
    """Another process (usually the running server) holds the database file."""


class Store:
    """The database file and what is kept about it in memory (created with it, dropped with it): the memo per
    data version, the count rows of the latest questions, the median windows and delay index, the rollup append
    counts, the days each write touched and the codes of the words index's vocabulary.

    `read_only`: a snapshot file that many processes open at once (no migration, no writes)."""

    def __init__(self, path: str | Path, settings: Settings | None = None, read_only: bool = False):
        self.path = str(path)
        self.read_only = read_only
        self.memo = Memo()
        # a question's count rows (up to a few MB each), shared by its summary, province table and trend
        self.questions = Memo(size=16)
        self.medians = MedianCache()
        self.appends = Appends()
        self.word_codes = WordCodes()
        if self.path != ":memory:" and not read_only:
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        try:
            self._con = duckdb.connect(self.path, read_only=read_only)
        except duckdb.IOException as exc:
            if "lock" in str(exc).lower():
                raise DatabaseLocked(f"{self.path} is in use by another process") from exc
            raise
        settings = settings or Settings()
        memory = self._memory_limit = settings.duckdb_memory
        if memory:
            self._con.execute("SET memory_limit = $m", {"m": memory}).fetchall()
        if settings.duckdb_purge:  # jemalloc's background threads purge the pages a finished query freed
            self._con.execute("SET allocator_background_threads = true").fetchall()
        if not read_only:  # past it DuckDB checkpoints within a commit; before it, in a pause (`checkpoint`)
            self._con.execute("SET checkpoint_threshold = $t", {"t": settings.checkpoint_limit}).fetchall()
        self._local = threading.local()
        self._write_lock = threading.Lock()
        self._writes = 0  # writes waiting or running
        self._no_writes = threading.Condition()
        self._writes_ended = time.monotonic()  # when the last pending write ended (`quiet_writes`)
        self._committed: OrderedDict[int, float] = OrderedDict()  # data version -> monotonic time of its commit
        self._frozen = 0  # frozen_file blocks running: no checkpoint
        if not read_only:
            self._migrate()
        self._instance = self.meta("instance") or ""
        self._version = int(self.meta("data_version") or 0)
        self._last_write_at = self.meta("last_write_at")  # kept with each commit (no query per view)
        self._joins = 0  # committed writes that may have changed the units or leaders (`joins_version`)
        self.touched = Touched(self._version)

    # -- connections -------------------------------------------------------
    def cursor(self) -> duckdb.DuckDBPyConnection:
        cur = getattr(self._local, "cursor", None)
        if cur is None:
            cur = self._con.cursor()
            self._local.cursor = cur
        return cur

    def df(self, sql: str, params=None) -> pd.DataFrame:
        return self.cursor().execute(sql, params or {}).df()

    def rows(self, sql: str, params=None) -> list[tuple]:
        return self.cursor().execute(sql, params or {}).fetchall()

    def scalar(self, sql: str, params=None):
        rows = self.cursor().execute(sql, params or {}).fetchall()
        return rows[0][0] if rows else None

    def drop_cached_blocks(self) -> None:
        """Let DuckDB give back the table blocks its reads loaded. It keeps them until its memory limit presses (by
        default 80% of RAM): a year's insight read left about 0.2 GB (the texts it hashes). Lowering the limit for
        a moment evicts them; it is set back at once (under the write lock: a write's buffers are not squeezed).
        When running queries pin more than the floor, DuckDB refuses the lower limit and nothing is evicted."""
        with self._write_lock:
            cur = self.cursor()
            try:
                cur.execute("SET memory_limit = $m", {"m": CACHED_BLOCKS_FLOOR}).fetchall()
            except duckdb.Error:
                pass  # pinned by running queries: keep the blocks this time
            finally:
                if self._memory_limit:
                    cur.execute("SET memory_limit = $m", {"m": self._memory_limit}).fetchall()
                else:
                    cur.execute("RESET memory_limit").fetchall()

    def yield_to_writes(self, timeout: float) -> None:
        """Wait (up to `timeout` seconds) until no write is waiting or running: readers let writes go first."""
        if self._writes and timeout > 0:
            with self._no_writes:
                self._no_writes.wait_for(lambda: not self._writes, timeout)

    @property
    def writes_pending(self) -> bool:
        """A write is waiting or running (`writing`)."""
        return self._writes > 0

    def quiet_writes(self, quiet: float, timeout: float) -> bool:
        """Wait (up to `timeout` seconds) until no write has been pending for `quiet` seconds (True), else False:
        background analyses start in a lull, not between two writes of a storm (the next one would find them
        holding the cores)."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            with self._no_writes:
                if not self._no_writes.wait_for(lambda: not self._writes, max(0.0, left)):
                    return False
                lull = time.monotonic() - self._writes_ended
            if lull >= quiet:
                return True
            if left <= 0:
                return False
            time.sleep(min(quiet - lull, left))

    def superseded_for(self, version: str) -> float:
        """Seconds since data version `version` stopped being the current one (0.0 while it is; infinity when not
        known: another file, or more than COMMIT_TIMES_KEPT commits ago)."""
        number = self._own_version(version)
        if number is None:
            return float("inf")
        if number >= self._version:
            return 0.0
        with self._no_writes:
            committed = self._committed.get(number + 1)
        return float("inf") if committed is None else time.monotonic() - committed

    @contextmanager
    def write(self, bump: bool = True):
        """One transaction; commits and bumps the data version, or rolls back whole. `bump=False`: a background
        write of derived data that changes no result (the words index): cached results stay valid, and reads do
        not wait for it (writes go first for the records only)."""
        if not bump:
            with self._transaction(bump=False) as cur:
                yield cur
            return
        with self.writing(), self._transaction() as cur:
            yield cur

    @contextmanager
    def deferred_rollups(self):
        """Writes in the block (a bulk import, the only user of the store meanwhile) mark the rollup days they
        change stale instead of appending increments; the block ends by rebuilding those days from the rows, one
        pass over them instead of increments per chunk. Each write marks its days in its own transaction, so a
        process that dies first leaves them marked and opening the file rebuilds them (`_migrate`)."""
        self.appends.deferred = True
        try:
            yield
        finally:
            self.appends.deferred = False
            with self.write() as cur:
                _refresh_stale(cur)

    @contextmanager
    def writing(self):
        """This thread is writing from now until the block ends (a write request: parsing, validation and its
        transaction): reads on other threads let it go first (`yield_to_writes`, `cursor`)."""
        with self._no_writes:
            self._writes += 1
        self._local.writing = getattr(self._local, "writing", 0) + 1
        try:
            yield
        finally:
            self._local.writing -= 1
            with self._no_writes:
                self._writes -= 1
                if not self._writes:
                    self._writes_ended = time.monotonic()
                    self._no_writes.notify_all()

    @contextmanager
    def _transaction(self, bump: bool = True):
        with self._write_lock:
            # not cursor(): a bump=False write pausing for the writes waiting on this lock would only delay them
            cur = self.cursor()
            cur.execute("BEGIN TRANSACTION")
            self.appends.begin()
            try:
                yield cur
                written = self._last_write_at
                if bump:
                    # an UPDATE of the two rows (made at open) costs a third of an INSERT OR REPLACE
                    stamped = cur.execute(
                        "UPDATE meta SET value = CASE key WHEN 'data_version' THEN $v ELSE "
                        "strftime(now() AT TIME ZONE 'Asia/Shanghai', '%Y-%m-%d %H:%M:%S') END "
                        "WHERE key IN ('data_version', 'last_write_at') RETURNING key, value",
                        {"v": str(self._version + 1)},
                    ).fetchall()
                    written = dict(stamped).get("last_write_at", written)
                cur.execute("COMMIT")
            except BaseException:
                cur.execute("ROLLBACK")
                self.appends.rollback()
                raise
            joins = self.appends.changes_joins()
            ids = self.appends.changed_ids()
            touched = self.appends.commit()
            if bump and joins:
                self._joins += 1  # before the data version: whoever sees the new one sees this too
            if bump:
                self._last_write_at = written
                # recorded before the version moves: whoever sees the new version finds its days
                self.touched.record(self._version + 1, touched, ids)
                with self._no_writes:
                    self._committed[self._version + 1] = time.monotonic()
                    while len(self._committed) > COMMIT_TIMES_KEPT:
                        self._committed.popitem(last=False)
                self._version += 1

    @contextmanager
    def frozen_file(self):
        """While the block runs, the database file stays as the last checkpoint left it (automatic checkpoints held
        off: commits go on into the WAL only) and the WAL's first `wal_size` bytes hold every commit until now: the
        two are exactly the committed data of now (scale-out snapshots copy them). No checkpoint is taken: a DuckDB
        checkpoint makes every write transaction wait until it ends (0.5-1.8 s at 6 M messages on a busy machine: it
        rewrites every row group an update touched), whichever lock of ours it runs under. Writes wait only for the
        few statements here."""
        cur = self.cursor()
        with self._write_lock:  # no commit (nor the automatic checkpoint of one) is running or interleaves
            began = time.perf_counter()
            threshold = cur.execute("SELECT current_setting('checkpoint_threshold')").fetchone()[0]
            cur.execute("SET checkpoint_threshold = '1TB'")
            self._frozen += 1
            # read on this cursor: `meta()` would let the writes waiting for this lock go first (`cursor`)
            updated = cur.execute("SELECT value FROM meta WHERE key = 'last_write_at'").fetchone()
            wal = Path(self.path + ".wal")
            frozen = Frozen(
                Path(self.path),
                os.path.getsize(self.path),
                wal,
                wal.stat().st_size if wal.exists() else 0,
                time.perf_counter() - began,
                self.data_version,
                updated and updated[0],
            )
        try:
            yield frozen
        finally:
            with self._write_lock:
                self._frozen -= 1
                cur.execute("SET checkpoint_threshold = $t", {"t": threshold}).fetchall()

    @property
    def wal_bytes(self) -> int:
        """The WAL's size: the commits since the last checkpoint (0: none)."""
        try:
            return os.path.getsize(self.path + ".wal")
        except OSError:
            return 0

    def checkpoint(self) -> bool:
        """Write the WAL's commits into the file now (the owner's `Checkpointer` calls this in a pause of the
        writes); False when not taken: a snapshot holds the file (frozen_file), or DuckDB refused because a read
        that began before a later update is still running (it still needs the rows that update replaced). A write
        arriving meanwhile waits for it, as for DuckDB's own checkpoint within a commit."""
        with self._write_lock:
            if self._frozen:
                return False
            try:
                self.cursor().execute("CHECKPOINT")
            except duckdb.TransactionException:
                return False
        return True

    @property
    def data_version(self) -> str:
        """Changes on every committed write; also differs between database files."""
        return f"{self._instance}:{self._version}"

    @property
    def last_write_at(self) -> str | None:
        """When the last committed write happened (meta last_write_at, Beijing time), as the file holds it."""
        return self._last_write_at

    @property
    def joins_version(self) -> str:
        """Changes on every committed write that may have changed the units or leaders that joined (any write
        that does not declare otherwise, `touch`); also differs between database files."""
        return f"{self._instance}:{self._joins}"

    def touch(self, days=(), joins: bool = False) -> None:
        """Inside a write: it changes the messages created on `days` and no other (a write that declares nothing
        may have changed any: `changed_days`), and, unless `joins`, no unit or leader (`joins_version`). The
        rollup maintenance declares the messages it counts."""
        self.appends.touch(days, joins)

    def carry(self, earlier: Store) -> None:
        """Take over what stays valid of `earlier`, a Store on an earlier state of the same file (a web process's
        snapshot before this one): the delay index, which reads the days revised since from the file. Building it
        again took about 1 s at 6 M messages, 4 s under load, on every snapshot."""
        if earlier._instance == self._instance and earlier._version <= self._version:
            self.medians.index.adopt(earlier.medians.index)

    def changed_days(self, since: str) -> frozenset | None:
        """The days of creation of the messages changed by the writes committed after data version `since` (an
        earlier `data_version`); None when not known (then any day may have changed)."""
        version = self._own_version(since)
        return None if version is None else self.touched.since(version)

    def changed_ids(self, since: str) -> frozenset | None:
        """The ids of the messages changed by the writes committed after data version `since`; None when not known
        (a write that did not declare them: then any message of the changed days may have changed)."""
        version = self._own_version(since)
        return None if version is None else self.touched.ids_since(version)

    def _own_version(self, data_version: str) -> int | None:
        """The number of a `data_version` of this file, None for another file's or a malformed one."""
        instance, _, version = data_version.rpartition(":")
        return int(version) if instance == self._instance and version.isdigit() else None

    def close(self) -> None:
        """Close the file; a statement still running on another thread (a background analysis of the wall's story)
        is interrupted first, since nothing may use the store after this."""
        for _ in range(CLOSE_ATTEMPTS):
            try:
                self._con.close()
                return
            except duckdb.Error:  # busy with another thread's call
                try:
                    self._con.interrupt()
                except duckdb.ConnectionException:  # the refused close closed it after all
                    return
                time.sleep(0.05)
        self._con.close()

    # -- metadata ----------------------------------------------------------
    def meta(self, key: str) -> str | None:
        return self.scalar("SELECT value FROM meta WHERE key = $k", {"k": key})

    def set_meta(self, cur, key: str, value: str) -> None:
        cur.execute("INSERT OR REPLACE INTO meta VALUES ($k, $v)", {"k": key, "v": value})

    @property
    def is_demo(self) -> bool:
        return self.meta("demo") == "1"

    def is_empty(self) -> bool:
        return not self.scalar("SELECT count(*) FROM messages")

    # -- schema ------------------------------------------------------------
    def _migrate(self) -> None:
        cur = self.cursor()
        cur.execute("CREATE TABLE IF NOT EXISTS meta (key VARCHAR PRIMARY KEY, value VARCHAR)")
        current = int(self.scalar("SELECT value FROM meta WHERE key = 'schema_version'") or 0)
        if current > SCHEMA_VERSION:
            raise RuntimeError(f"{self.path} has schema version {current}, newer than this program ({SCHEMA_VERSION})")
        for version, sql, backfill in MIGRATIONS:
            if version <= current:
                continue
            cur.execute("BEGIN TRANSACTION")
            cur.execute(sql)
            if backfill is not None:
                backfill(cur)
            cur.execute("INSERT OR REPLACE INTO meta VALUES ('schema_version', $v)", {"v": str(version)})
            cur.execute("COMMIT")
        # a count declared after the last migration gets its column (and a rebuild) here, and the days a bulk
        # import that did not finish left stale are rebuilt
        cur.execute("BEGIN TRANSACTION")
        _align_rollups(cur)
        _refresh_stale(cur)
        cur.execute("COMMIT")
        if not self.scalar("SELECT count(*) FROM provinces"):
            cur.register("census_frame", province_ref.table())
            cur.execute(
                "INSERT INTO provinces SELECT adcode, name_full, name_short, name_en, region, "
                "census_2010, census_2020 FROM census_frame"
            )
            cur.unregister("census_frame")
        cur.execute("INSERT OR IGNORE INTO meta VALUES ('data_version', '0'), ('last_write_at', NULL)")
        if not self.scalar("SELECT value FROM meta WHERE key = 'instance'"):
            cur.execute("INSERT OR REPLACE INTO meta VALUES ('instance', $v)", {"v": uuid.uuid4().hex[:12]})
