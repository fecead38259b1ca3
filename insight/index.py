"""Features stored per record soon after it is written, in the background: the generic indexer analyses plug into.

A `Kind` says which records of a time window lack (current) features, how to compute them (a pure module-level
function, run in a worker process) and how to save them (one write transaction). The `Indexer` (owned by the
app's serve) fills every kind newest first over the last `text_index_days`, one batch at a time, computing in ONE
spawned worker process so that the serving process never holds the GIL for long (walls tick every few seconds),
and saving in the serving process (the one owner of the database file). It idles when nothing is missing and
looks again when the store's data version changes. Readers compute what is still missing themselves (`fill`),
so that a result is complete whether or not the indexer got there first.
"""

from __future__ import annotations

import datetime as dt
import logging
import multiprocessing
import os
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass

import pandas as pd

from queries.db import Store
from settings import Settings

log = logging.getLogger(__name__)

BATCH = 2000  # records per worker call: under a second of segmentation, so close() is prompt
CHUNK_DAYS = 7  # the window is looked at a week at a time
IDLE_SECONDS = 5.0  # look at the newest week again after this long, if the data version changed
SWEEP_SECONDS = 3600.0  # look at the whole window again this often
RETRY_SECONDS = 60.0  # after a failed batch
WORKER_NICE = 10  # the worker yields the CPU to the server's requests
PARENT_CHECK_SECONDS = 2.0
# Live writes are indexed after a lull in the writes of LULL_SECONDS (at the latest LULL_MAX_SECONDS after they
# changed the data): during a burst of writes the indexer's reads and saves would take the writers' share of the
# cores and of the write lock; later, one larger batch costs less than many small ones.
LULL_SECONDS = 2.0
LULL_MAX_SECONDS = 30.0
# Readers computing what is missing themselves (`fill_many`): from this many rows, worker processes (one per core)
# do it; below, starting them (about two seconds: imports, jieba's dictionary) costs more than it saves.
PARALLEL_FROM = 6000
WHOLE = 2**62  # `missing`'s row limit for a whole week


@dataclass(frozen=True)
class Kind:
    name: str
    # rows of [start, stop) lacking (current) features, newest first, at most n
    missing: Callable[[Store, dt.datetime, dt.datetime, int], pd.DataFrame]
    # pure, module-level (picklable): runs in the worker process
    compute: Callable[[pd.DataFrame], pd.DataFrame]
    # upsert in one write transaction
    save: Callable[[Store, pd.DataFrame], None]
    # what the worker needs before its first compute: worker_init(store) -> (module-level function, its arguments),
    # called in the serving process; the function runs once in the worker (e.g. loads a dictionary)
    worker_init: Callable[[Store], tuple[Callable, tuple]] | None = None
    # what `save` needs ready, made by the indexer's thread before its first pass (a serving process's first live
    # write then does not make it: e.g. the words' codes, 0.4 s at 580 k words)
    warm: Callable[[Store], None] | None = None


def fill(store: Store, kind: Kind, frame: pd.DataFrame, compute=None) -> pd.DataFrame:
    """The features of `frame` (rows as `kind.missing` returns them), computed in this process and saved unless the
    store is read-only (a snapshot: the features are then used, not kept)."""
    result = (compute or kind.compute)(frame)
    if not store.read_only:
        kind.save(store, result)
    return result


def fill_many(
    store: Store, kind: Kind, batches: Iterable[pd.DataFrame], workers: int | None = None, collect: bool = False
) -> tuple[int, list[pd.DataFrame]]:
    """`fill` of every batch (disjoint frames as `kind.missing` returns them, read lazily), computed in `workers`
    spawned processes (default: one per core) while this process reads the next batches and saves what comes back,
    so that a reader facing a store nothing has indexed yet (a fresh demo, a file no server has served) uses every
    core and leaves the GIL to the server's other threads. Returns the rows computed and, with `collect`, the
    computed frames (in the order they finished)."""
    workers = workers or os.cpu_count() or 1
    inits = [kind.worker_init(store)] if kind.worker_init is not None else []
    done, kept = 0, []

    def finish(futures) -> None:
        nonlocal done
        for future in futures:
            result = future.result()
            if not store.read_only:
                kind.save(store, result)
            done += len(result)
            if collect:
                kept.append(result)

    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(workers, mp_context=context, initializer=_init_worker, initargs=(inits, 0)) as pool:
        pending: set[Future] = set()
        for frame in batches:
            if frame.empty:
                continue
            pending.add(pool.submit(kind.compute, frame))
            if len(pending) > 2 * workers:  # a bounded queue: batches are read as fast as they are computed
                finished, pending = wait(pending, return_when=FIRST_COMPLETED)
                finish(finished)
        finish(wait(pending)[0])
    return done, kept


def batches(store: Store, kind: Kind, start: dt.datetime, stop: dt.datetime, size: int = BATCH, days: int = CHUNK_DAYS):
    """The rows of [start, stop) lacking `kind`'s features, newest first, in batches of at most `size` for
    `fill_many`, read `days` at a time (each read whole, so that no batch is read again while another is being
    computed; a read joining texts scans them, so few long reads cost less than many short ones)."""
    while stop > start:
        since = max(start, stop - dt.timedelta(days=days))
        yield from pieces(kind.missing(store, since, stop, WHOLE), size)
        stop = since


def pieces(frame: pd.DataFrame, size: int = BATCH) -> list[pd.DataFrame]:
    """The frame in batches of at most `size` rows (attrs kept: a kind's compute may read them)."""
    out = []
    for lo in range(0, len(frame), size):
        piece = frame.iloc[lo : lo + size]
        piece.attrs = dict(frame.attrs)
        out.append(piece)
    return out


def _init_worker(inits: list[tuple[Callable, tuple]], nice: int = WORKER_NICE) -> None:
    if nice:
        os.nice(nice)
    threading.Thread(target=_exit_with_parent, args=(os.getppid(),), daemon=True).start()
    for function, args in inits:
        function(*args)


def _exit_with_parent(parent: int) -> None:
    """The worker ends when the serving process is gone (killed without closing the indexer): an idle worker
    would otherwise wait on its queue forever."""
    while os.getppid() == parent:
        time.sleep(PARENT_CHECK_SECONDS)
    os._exit(0)


class Indexer:
    """The background filler of every kind (see the module docstring): start() after the app is built, close()
    before the store is closed."""

    def __init__(self, store: Store, kinds: list[Kind], settings: Settings):
        self.store = store
        self.kinds = list(kinds)
        self.settings = settings
        self.batch = BATCH
        self.indexed = 0  # records computed since start (the bench reads it)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._pool: ProcessPoolExecutor | None = None
        self._idle = threading.Event()  # set once a full pass over the window has run to its end

    def start(self) -> Indexer:
        self._thread = threading.Thread(target=self._run, name="text-index", daemon=True)
        self._thread.start()
        return self

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None

    stop = close  # serve() stops its parts with stop()

    def window(self) -> tuple[dt.datetime, dt.datetime]:
        now = self.settings.now()
        # up to a day ahead: records may be timed a little after now (max_future_minutes)
        return now - dt.timedelta(days=self.settings.text_index_days), now + dt.timedelta(days=1)

    def chunks(self, full: bool) -> list[tuple[dt.datetime, dt.datetime]]:
        """The window in CHUNK_DAYS pieces, newest first (`full=False`: the newest only, where live writes land).
        A kind's `missing` over a short window is cheap, over the whole one it reads every record's text."""
        start, stop = self.window()
        out = []
        while stop > start and (full or not out):
            out.append((max(start, stop - dt.timedelta(days=CHUNK_DAYS)), stop))
            stop = out[-1][0]
        return out

    def idle(self, timeout: float) -> bool:
        """Wait until a full pass found nothing left to do (True) or `timeout` seconds passed (False)."""
        return self._idle.wait(timeout)

    def _run(self) -> None:
        seen, swept = None, None
        try:
            self._warm()
            while not self._stop.is_set():
                version = self.store.data_version
                # the newest chunk when the data changed; every chunk at start and every SWEEP_SECONDS (an old
                # message whose text a re-import changed; reading it would find it stale and segment it anyway)
                full = swept is None or time.monotonic() - swept >= SWEEP_SECONDS
                if not full and version == seen:
                    self._stop.wait(IDLE_SECONDS)
                    continue
                if not full:
                    self._lull()
                    version = self.store.data_version  # the writes of the lull's wait are filled too
                try:
                    done = self._fill(self.chunks(full))
                except Exception:
                    if self._stop.is_set():
                        return
                    log.exception("text index: a batch failed; trying again in %.0f s", RETRY_SECONDS)
                    self._stop.wait(RETRY_SECONDS)
                    continue
                if not done:  # closing
                    return
                seen = version
                if full:
                    swept = time.monotonic()
                    self._idle.set()
        finally:
            if self._pool is not None:
                self._pool.shutdown(wait=True, cancel_futures=True)
                self._pool = None

    def _warm(self) -> None:
        if self.store.read_only:
            return
        for kind in self.kinds:
            if kind.warm is not None:
                try:
                    kind.warm(self.store)
                except Exception:  # a save makes it when it needs it
                    log.exception("text index: warming %s failed", kind.name)

    def _lull(self) -> None:
        """Wait for a lull in the writes (at most LULL_MAX_SECONDS), stopping at once when closing."""
        deadline = time.monotonic() + LULL_MAX_SECONDS
        while not self._stop.is_set() and (left := deadline - time.monotonic()) > 0:
            if self.store.quiet_writes(LULL_SECONDS, min(PARENT_CHECK_SECONDS, left)):
                return

    def _fill(self, chunks) -> bool:
        """Every kind's missing records in `chunks`, batch by batch; False when closing interrupted it."""
        for start, stop in chunks:
            for kind in self.kinds:
                while True:
                    if self._stop.is_set():
                        return False
                    frame = kind.missing(self.store, start, stop, self.batch)
                    if frame.empty:
                        break
                    result = self._compute(kind, frame)
                    if result is None:
                        return False
                    kind.save(self.store, result)
                    self.indexed += len(frame)
        return True

    def _compute(self, kind: Kind, frame: pd.DataFrame) -> pd.DataFrame | None:
        if self._pool is None:
            inits = [k.worker_init(self.store) for k in self.kinds if k.worker_init is not None]
            self._pool = ProcessPoolExecutor(
                max_workers=1,
                mp_context=multiprocessing.get_context("spawn"),
                initializer=_init_worker,
                initargs=(inits,),
            )
        try:
            future: Future = self._pool.submit(kind.compute, frame)
            while not self._stop.is_set():
                try:
                    return future.result(timeout=0.2)
                except TimeoutError:
                    continue
        except BrokenProcessPool:
            # the worker died (killed, out of memory): a broken pool refuses every later batch, so the next try
            # starts a new worker
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None
            raise
        future.cancel()
        return None
