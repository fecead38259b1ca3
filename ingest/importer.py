"""Import record files into the store: read in chunks, validate, upsert (one transaction per chunk).

CLI: `import KIND FILE...` (see `main`). Exit status: 0 every row accepted,
1 some row (or file) rejected — accepted rows are kept either way —, 2 usage
error (unknown kind, missing file, unsupported file type), 3 the database is
held by another process (the running server).
"""

from __future__ import annotations

import argparse
import queue
import sys
import threading
import time
from collections import Counter
from contextlib import ExitStack
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

from ingest.readers import CHUNK_ROWS, RawChunk, ReadError, file_format, read_chunks, row_count
from ingest.simulate import mark_imported
from ingest.validate import latest_time, validate
from queries import writes
from queries.db import DatabaseLocked, Store
from queries.writes import KINDS, prepare, upsert

FILE_FIELD = "(file)"
MAX_DETAILS = 100_000  # rejections kept in full; the rest are only counted
# Rows per chunk by kind (default CHUNK_ROWS): a reply row is small and each chunk's transaction costs a commit, so
# replies go in larger chunks (about a tenth less CPU per million than 200,000-row chunks).
KIND_CHUNK_ROWS = {"replies": 500_000}
EXIT_OK, EXIT_REJECTED, EXIT_USAGE, EXIT_LOCKED = 0, 1, 2, 3


@dataclass
class FileRejection:
    file: str
    line: int  # source line/row (0: the whole file)
    field: str
    reason: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {self.field}: {self.reason}"


@dataclass
class ImportReport:
    kind: str
    files: list[str] = field(default_factory=list)
    rows_read: int = 0  # source rows, including unparseable ones
    rejected_rows: int = 0  # distinct rows rejected (by the reader, the validator or the database)
    written: int = 0  # rows stored (for replies: linked to their message)
    held: int = 0  # replies stored but held until their message arrives
    linked: int = 0  # held replies linked by this import (messages)
    duplicates: int = 0  # rows superseded by a later row with the same id in the same chunk
    failed_files: int = 0  # files that could not be read (to the end)
    rejections: list[FileRejection] = field(default_factory=list)  # first MAX_DETAILS
    rejections_total: int = 0
    by_field: Counter = field(default_factory=Counter)
    seconds: float = 0.0
    timings: Counter = field(default_factory=Counter)  # seconds spent reading, validating, writing

    @property
    def accepted(self) -> int:
        return self.rows_read - self.rejected_rows

    @property
    def ok(self) -> bool:
        return self.rejections_total == 0

    def _reject(self, file: str, line: int, field_name: str, reason: str, limit: int) -> None:
        self.rejections_total += 1
        self.by_field[field_name] += 1
        if len(self.rejections) < limit:
            self.rejections.append(FileRejection(file, line, field_name, reason))


def import_files(
    store,
    kind: str,
    paths,
    *,
    progress: bool = False,
    chunk_rows: int | None = None,
    max_details: int = MAX_DETAILS,
    latest=None,
) -> ImportReport:
    """Import every file of `paths` (all of record kind `kind`) into `store`.

    `store` is a Store, or any callable `(kind, accepted) -> WriteResult` such as
    ingest.forward.RemoteWriter, which sends the rows to a running server.

    Each chunk is validated then written by `queries.writes.upsert` in its own
    transaction, so a file that fails half-way keeps its earlier chunks. Unreadable
    files become a rejection with line 0 and field "(file)". From its first bulk chunk (writes.BULK_ROWS rows) on, a
    local store's rollups are not kept per chunk: the days the import changed are rebuilt from the rows once it ends
    (`Store.deferred_rollups`); a small import into a large database keeps the increments (cheaper than a rebuild of
    the days it touches). Times after `latest`
    (naive Beijing; default: now plus the default allowed minutes) are rejected.
    """
    if kind not in KINDS:
        raise ValueError(f"unknown kind {kind!r}; expected one of {', '.join(KINDS)}")
    chunk_rows = chunk_rows or KIND_CHUNK_ROWS.get(kind, CHUNK_ROWS)
    write = partial(upsert, store) if isinstance(store, Store) else store
    if isinstance(store, Store):
        mark_imported(store)  # outside data: a demo database is no longer simulated
    report = ImportReport(kind)
    started = time.perf_counter()
    with ExitStack() as deferral:
        bar = _progress_bar(progress)
        try:
            for path in paths:
                path = Path(path)
                name = str(path)
                report.files.append(name)
                if bar is not None:
                    bar.set_description(path.name)
                    total = row_count(path)
                    bar.reset(total=total)
                try:
                    for chunk, accepted, rejections, prepared in _validated(
                        kind, path, chunk_rows, report.timings, local=isinstance(store, Store), latest=latest
                    ):
                        if (
                            isinstance(store, Store)
                            and not store.appends.deferred
                            and len(accepted) >= writes.BULK_ROWS
                        ):
                            # a bulk import: the rollups of the days it changes are rebuilt once at its end
                            deferral.enter_context(store.deferred_rollups())
                        _import_chunk(write, kind, name, chunk, accepted, rejections, report, max_details, prepared)
                        if bar is not None:
                            bar.update(chunk.rows)
                except ReadError as exc:
                    report.failed_files += 1
                    report._reject(name, 0, FILE_FIELD, str(exc), max_details)
                except OSError as exc:
                    report.failed_files += 1
                    report._reject(name, 0, FILE_FIELD, f"cannot read ({exc.strerror or exc})", max_details)
        finally:
            if bar is not None:
                bar.close()
        written = time.perf_counter()
    report.timings["rollups"] += time.perf_counter() - written
    report.seconds = time.perf_counter() - started
    return report


def _validated(kind: str, path: Path, chunk_rows: int, timings: Counter, local: bool = True, latest=None):
    """Read and validate the file's chunks one ahead, in a thread, while the caller writes the previous one
    (DuckDB works without the GIL): reading and validating overlap writing on a multi-core machine. For a
    local store the thread also does the write's preparation that needs no database (`writes.prepare`)."""
    chunks = _quick_start(read_chunks(path, chunk_rows))
    ahead: queue.Queue = queue.Queue(maxsize=1)
    stop = threading.Event()

    def produce() -> None:
        try:
            while not stop.is_set():
                started = time.perf_counter()
                chunk = next(chunks, None)
                read = time.perf_counter()
                timings["read"] += read - started
                if chunk is None:
                    break
                accepted, rejections = validate(kind, chunk.frame, latest=latest)
                validated = time.perf_counter()
                timings["validate"] += validated - read
                prepared = prepare(kind, accepted) if local else None
                timings["prepare"] += time.perf_counter() - validated
                ahead.put((chunk, accepted, rejections, prepared))
            ahead.put(None)
        except BaseException as exc:  # handed to the caller (ReadError, OSError, ...)
            ahead.put(exc)

    worker = threading.Thread(target=produce, name="import-reader", daemon=True)
    worker.start()
    try:
        while True:
            item = ahead.get()
            if item is None:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        while worker.is_alive():  # unblock a producer waiting to put, then let it finish
            try:
                ahead.get_nowait()
            except queue.Empty:
                pass
            worker.join(timeout=0.05)


# The first chunk is split: its first rows are written while the rest is validated (the pipeline fills sooner).
FIRST_PART_ROWS = 25_000


def _quick_start(chunks):
    for i, chunk in enumerate(chunks):
        if i == 0 and len(chunk.frame) > 2 * FIRST_PART_ROWS:
            yield RawChunk(chunk.frame.iloc[:FIRST_PART_ROWS], chunk.rejections)  # reader rejections counted once
            yield RawChunk(chunk.frame.iloc[FIRST_PART_ROWS:])
        else:
            yield chunk


def _import_chunk(
    write, kind, name, chunk, accepted, rejections, report: ImportReport, limit: int, prepared=None
) -> None:
    report.rows_read += chunk.rows
    problems = chunk.rejections + rejections
    report.duplicates += len(chunk.frame) - len({r.row for r in rejections}) - len(accepted)
    if not accepted.empty:
        started = time.perf_counter()
        result = write(kind, accepted, prepared=prepared) if prepared is not None else write(kind, accepted)
        report.timings["write"] += time.perf_counter() - started
        problems += result.rejected
        report.written += result.written
        report.held += result.held
        report.linked += result.linked
    problems.sort(key=lambda r: r.row)  # stable: a row's fields stay in contract order
    report.rejected_rows += len({r.row for r in problems})
    for r in problems:
        report._reject(name, r.row, r.field, r.reason, limit)


def _progress_bar(enabled: bool):
    if not enabled:
        return None
    from tqdm import tqdm

    return tqdm(unit=" rows", unit_scale=True, file=sys.stderr, dynamic_ncols=True, leave=True)


def format_report(report: ImportReport, details: int = 20) -> str:
    """A short terminal summary: counts, rejections by field, the first `details` rejections."""
    rate = report.rows_read / report.seconds if report.seconds > 0 else 0.0
    files = len(report.files)
    lines = [
        f"{report.kind}: {report.rows_read:,} rows read from {files} file{'s' if files != 1 else ''} "
        f"in {report.seconds:.1f} s ({rate:,.0f} rows/s)",
        f"  accepted {report.accepted:,}, written {report.written:,}"
        + (f", held {report.held:,} (message not known yet)" if report.held else "")
        + (f", linked {report.linked:,} held replies" if report.linked else "")
        + (f", {report.duplicates:,} superseded by a later row with the same id" if report.duplicates else ""),
    ]
    if report.ok:
        lines.append("  every row accepted")
        return "\n".join(lines)
    lines.append(
        f"  rejected {report.rejected_rows:,} rows ({report.rejections_total:,} problems"
        + (
            f", {report.failed_files} unreadable file{'s' if report.failed_files != 1 else ''}"
            if report.failed_files
            else ""
        )
        + ")"
    )
    lines.append("  problems by field: " + ", ".join(f"{f} {n:,}" for f, n in report.by_field.most_common()))
    shown = report.rejections[:details]
    lines += [f"  {r}" for r in shown]
    if report.rejections_total > len(shown):
        lines.append(f"  … and {report.rejections_total - len(shown):,} more")
    return "\n".join(lines)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="liuyan-screen import",
        description="Import record files (CSV with header, JSON Lines, Parquet; one record kind per file). "
        "Re-importing a record with the same id updates it.",
        epilog="Exit status: 0 every row accepted; 1 some rows rejected (accepted rows are kept); "
        "2 usage error; 3 the database is held by the running server.",
    )
    parser.add_argument("kind", choices=KINDS, help="record kind of every file")
    parser.add_argument("files", nargs="+", metavar="FILE", help=".csv, .jsonl/.ndjson/.json or .parquet")
    parser.add_argument("--db", help="database file (default: settings / LIUYAN_DB)")
    return parser


def main(argv, settings) -> int:
    """`import KIND FILE...`; `argv` are the arguments after the subcommand name."""
    argv = list(argv)
    if argv[:1] == ["import"]:
        argv = argv[1:]
    try:
        args = _parser().parse_args(argv)
    except SystemExit as exc:  # argparse: --help (0) or a usage error (2)
        return EXIT_OK if exc.code in (0, None) else EXIT_USAGE
    problems = []
    for name in args.files:
        path = Path(name)
        if not path.is_file():
            problems.append(f"{name}: no such file")
            continue
        try:
            file_format(path)
        except ReadError as exc:
            problems.append(str(exc))
    if problems:
        for problem in problems:
            print(f"import: {problem}", file=sys.stderr)
        return EXIT_USAGE
    db = args.db or settings.db
    try:
        store = Store(db, settings)
    except DatabaseLocked:
        return _forward(args, settings, db)
    try:
        report = import_files(store, args.kind, args.files, progress=sys.stderr.isatty(), latest=latest_time(settings))
    finally:
        store.close()
    print(format_report(report))
    return EXIT_OK if report.ok else EXIT_REJECTED


def _forward(args, settings, db) -> int:
    """The server holds the database: send the rows through its write API instead."""
    from ingest.forward import RemoteError, RemoteWriter

    if not settings.ingest_token:
        print(
            f"import: the database {db} is held by another process (the running server?).\n"
            "  Set LIUYAN_INGEST_TOKEN to the server's write token to send the rows through its write API,\n"
            "  or stop the server and import again.",
            file=sys.stderr,
        )
        return EXIT_LOCKED
    writer = RemoteWriter(f"http://{settings.host}:{settings.port}", settings.ingest_token)
    print(f"import: {db} is held by the running server; sending rows to {writer.base_url}", file=sys.stderr)
    try:
        report = import_files(writer, args.kind, args.files, progress=sys.stderr.isatty(), latest=latest_time(settings))
    except RemoteError as exc:
        print(f"import: {exc}", file=sys.stderr)
        return EXIT_LOCKED
    print(format_report(report))
    return EXIT_OK if report.ok else EXIT_REJECTED
