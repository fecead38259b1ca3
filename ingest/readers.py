"""Read record files (CSV, JSON Lines, Parquet) into raw DataFrames, in bounded chunks.

Every chunk is a `RawChunk`: a DataFrame of raw values (column names trimmed and
lower-cased, otherwise as in the source) plus `_row`, the position users see:

* CSV: the physical line number (header = line 1, first record = line 2),
  exact also when quoted values span several lines or blank lines intervene.
  UTF-8 with or without BOM; every value is read as text, an empty value is
  missing. Blank lines, and rows whose every value is empty, are skipped. A row
  with the wrong number of values is a rejection (field "(line)").
* JSON Lines (.jsonl, .ndjson, .json): the line number; blank lines are skipped;
  a line that is not a JSON object is a rejection (field "(line)"). A .json file
  whose first character is "[" is one JSON array instead (read whole; `_row` is
  the 1-based position in the array).
* Parquet: the 1-based row number; values keep their Parquet types.

JSON Lines blocks are parsed by Arrow when clean (with time-like strings kept
as strings), else line by line so that bad lines are pinpointed.

`parse_body(bytes)` reads an in-memory JSON array or JSON Lines body the same way.
"""

from __future__ import annotations

import io
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.json as pajson
import pyarrow.parquet as pq

from queries.writes import Rejection

CHUNK_ROWS = 200_000
CSV_BLOCK_BYTES = 8 << 20
LINE_FIELD = "(line)"
FORMATS = {".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "jsonl", ".parquet": "parquet"}


class ReadError(ValueError):
    """A file (or body) that cannot be read at all: unsupported, not UTF-8, corrupt."""


@dataclass
class RawChunk:
    frame: pd.DataFrame  # raw values + `_row`
    rejections: list[Rejection] = field(default_factory=list)  # rows the reader could not parse

    @property
    def rows(self) -> int:
        """Source rows in this chunk: parsed ones plus unparseable ones."""
        return len(self.frame) + len(self.rejections)


def file_format(path: str | Path) -> str:
    """'csv', 'jsonl' or 'parquet' from the file's extension; ReadError for anything else."""
    suffix = Path(path).suffix.lower()
    if suffix not in FORMATS:
        raise ReadError(
            f"{Path(path).name}: unsupported file type {suffix or '(none)'!r}; "
            "use .csv, .jsonl/.ndjson/.json or .parquet"
        )
    return FORMATS[suffix]


def row_count(path: str | Path) -> int | None:
    """Number of rows when cheaply known (Parquet metadata), else None."""
    if file_format(path) == "parquet":
        try:
            return pq.ParquetFile(path).metadata.num_rows
        except (OSError, pa.ArrowException):
            return None
    return None


def read_chunks(path: str | Path, chunk_rows: int = CHUNK_ROWS) -> Iterator[RawChunk]:
    """Yield the file's records in chunks of about `chunk_rows` rows."""
    fmt = file_format(path)
    if fmt == "csv":
        yield from _csv_chunks(Path(path), chunk_rows)
    elif fmt == "parquet":
        yield from _parquet_chunks(Path(path), chunk_rows)
    else:
        yield from _json_file_chunks(Path(path), chunk_rows)


def parse_body(body: bytes) -> RawChunk:
    """A JSON array of objects, or JSON Lines, held in memory; `_row` is the 1-based position."""
    body = body.removeprefix(b"\xef\xbb\xbf")
    if body.lstrip()[:1] == b"[":
        return _json_array(body)
    # One block, and a chunk size no smaller than its line count: exactly one chunk (none if all blank).
    chunks = list(_jsonl_blocks([body], chunk_rows=len(body) + 1))
    return chunks[0] if chunks else RawChunk(_frame([], []))


# -- helpers -------------------------------------------------------------------


def _normalise_columns(frame: pd.DataFrame) -> pd.DataFrame:
    names = [str(c).strip().lower() for c in frame.columns]
    if names != list(frame.columns):
        frame.columns = names
    if "_row" in frame.columns:  # a source column called _row would clash with ours
        frame = frame.drop(columns=["_row"])
    if frame.columns.duplicated().any():  # keep the first of columns that normalise alike
        frame = frame.loc[:, ~frame.columns.duplicated()]
    return frame


def _frame(records: list[dict], rows: list[int]) -> pd.DataFrame:
    frame = _normalise_columns(pd.DataFrame.from_records(records) if records else pd.DataFrame(index=range(0)))
    frame["_row"] = np.asarray(rows, dtype="int64")
    return frame


# -- Parquet -------------------------------------------------------------------


def _parquet_chunks(path: Path, chunk_rows: int) -> Iterator[RawChunk]:
    try:
        parquet = pq.ParquetFile(path)
    except (OSError, pa.ArrowException) as exc:
        raise ReadError(f"{path.name}: not a readable Parquet file ({exc})") from exc
    start = 1
    try:
        for batch in parquet.iter_batches(batch_size=chunk_rows):
            frame = _normalise_columns(batch.to_pandas(date_as_object=False))
            frame["_row"] = np.arange(start, start + len(frame), dtype="int64")
            start += len(frame)
            yield RawChunk(frame)
    except (OSError, pa.ArrowException) as exc:
        raise ReadError(f"{path.name}: Parquet data unreadable after row {start - 1} ({exc})") from exc


# -- JSON ----------------------------------------------------------------------

JSONL_BYTES_PER_ROW = 256  # JSON Lines are read in blocks of about chunk_rows × this many bytes
_BLANK_LINE = re.compile(rb"\n[ \t\r]*\n")  # anchored on a literal: fast (an ^/$ alternation is 20x slower)


def _json_file_chunks(path: Path, chunk_rows: int) -> Iterator[RawChunk]:
    with open(path, "rb") as f:
        head = f.read(4096).removeprefix(b"\xef\xbb\xbf")
        if head.lstrip()[:1] == b"[":
            f.seek(0)
            yield _json_array(f.read().removeprefix(b"\xef\xbb\xbf"), name=path.name)
            return
        f.seek(0)
        size = min(max(chunk_rows * JSONL_BYTES_PER_ROW, 1 << 16), 64 << 20)
        yield from _jsonl_blocks(_line_blocks(f, size), chunk_rows)


def _line_blocks(f, size: int) -> Iterator[bytes]:
    """The file in blocks of whole lines (BOM removed)."""
    first = True
    while block := f.read(size):
        if not block.endswith(b"\n"):
            block += f.readline()
        if first:
            block, first = block.removeprefix(b"\xef\xbb\xbf"), False
        yield block


def _jsonl_blocks(blocks, chunk_rows: int) -> Iterator[RawChunk]:
    """Parse blocks of JSON Lines: with Arrow when a block is clean, else line by line (bad lines rejected)."""
    start = 1  # line number of the block's first line
    temporal: set[str] = set()
    for block in blocks:
        count = block.count(b"\n") + (0 if block.endswith(b"\n") else 1)
        frame = None
        if not _BLANK_LINE.search(b"\n" + block.removesuffix(b"\n") + b"\n"):
            frame = _arrow_jsonl(block, count, temporal)
        if frame is not None:
            frame["_row"] = np.arange(start, start + count, dtype="int64")
            yield RawChunk(frame)
        else:
            numbered = [(start + i, line) for i, line in enumerate(block.split(b"\n")[:count]) if line.strip()]
            for first in range(0, len(numbered), chunk_rows):
                yield _jsonl_python(numbered[first : first + chunk_rows])
        start += count


def _jsonl_python(numbered: list[tuple[int, bytes]]) -> RawChunk:
    records: list[dict] = []
    rows: list[int] = []
    rejections: list[Rejection] = []
    loads = json.loads
    for number, line in numbered:
        try:
            record = loads(line)
        except ValueError as exc:  # JSONDecodeError and UnicodeDecodeError
            rejections.append(Rejection(number, LINE_FIELD, f"not valid JSON ({_json_problem(exc)})"))
            continue
        if not isinstance(record, dict):
            rejections.append(Rejection(number, LINE_FIELD, f"expected a JSON object, got {type(record).__name__}"))
            continue
        records.append(record)
        rows.append(number)
    return RawChunk(_frame(records, rows), rejections)


def _arrow_jsonl(block: bytes, count: int, temporal: set[str]) -> pd.DataFrame | None:
    """Arrow's JSON reader on a block of `count` lines, or None when the block needs line-by-line treatment.

    Arrow would turn ISO-looking strings into naive UTC timestamps (losing "no
    offset = Beijing"), so such columns are read as the strings they are. Any
    parse problem (a bad line, a column mixing numbers and strings, ...) or a
    line holding several objects returns None.
    """
    options = pajson.ReadOptions(block_size=max(1 << 20, min(len(block) + 1, 1 << 30)))
    try:
        while True:
            parse = pajson.ParseOptions(
                explicit_schema=pa.schema([(name, pa.string()) for name in sorted(temporal)]),
                unexpected_field_behavior="infer",
            )
            table = pajson.read_json(io.BytesIO(block), read_options=options, parse_options=parse)
            found = {f.name for f in table.schema if pa.types.is_temporal(f.type)}
            if not found:
                break
            temporal |= found
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None
    if table.num_rows != count:
        return None
    return _normalise_columns(table.to_pandas())


def _json_problem(exc: ValueError) -> str:
    if isinstance(exc, json.JSONDecodeError):
        return f"{exc.msg} at column {exc.colno}"
    if isinstance(exc, UnicodeDecodeError):
        return "not UTF-8 text"
    return str(exc)


def _json_array(body: bytes, name: str = "body") -> RawChunk:
    try:
        items = json.loads(body)
    except ValueError as exc:
        raise ReadError(f"{name}: not a valid JSON array ({_json_problem(exc)})") from exc
    if not isinstance(items, list):
        raise ReadError(f"{name}: expected a JSON array of objects")
    records, rows, rejections = [], [], []
    for number, item in enumerate(items, start=1):
        if isinstance(item, dict):
            records.append(item)
            rows.append(number)
        else:
            rejections.append(Rejection(number, LINE_FIELD, f"expected a JSON object, got {type(item).__name__}"))
    return RawChunk(_frame(records, rows), rejections)


# -- CSV -----------------------------------------------------------------------


class _CsvLines:
    """Maps parsed CSV records to physical line numbers.

    Arrow numbers records (header = 1, blank lines count, malformed rows count)
    but only reports numbers for malformed rows; parsed records are numbered by
    their position plus the malformed rows before them, and lines by adding the
    newlines inside quoted values of all earlier records.
    """

    def __init__(self, header_newlines: int):
        self.next_base = 2  # record number of the next parsed record, ignoring malformed rows
        self.newlines_before = header_newlines  # newlines inside values of parsed records so far
        self.invalid: list[tuple[int, int, str]] = []  # (record number, newlines, problem) from Arrow
        self.reported = 0  # invalid rows turned into rejections so far

    def handler(self, row) -> str:
        if row.number is None:  # only happens with threaded parsing, which we do not use
            return "error"
        problem = f"expected {row.expected_columns} values, found {row.actual_columns}"
        self.invalid.append((row.number, row.text.count("\n"), problem))
        return "skip"

    def number(self, newlines: np.ndarray) -> tuple[np.ndarray, list[Rejection]]:
        """Line numbers of the next len(newlines) parsed records; rejections of malformed rows before them."""
        n = len(newlines)
        base = self.next_base + np.arange(n, dtype=np.int64)
        self.next_base += n
        inv = np.array([r[0] for r in self.invalid], dtype=np.int64)
        inv_newlines = np.concatenate([[0], np.cumsum([r[1] for r in self.invalid], dtype=np.int64)])
        shifted = inv - np.arange(len(inv), dtype=np.int64)
        records = base + np.searchsorted(shifted, base, side="right")
        cum = np.concatenate([[0], np.cumsum(newlines, dtype=np.int64)])
        lines = records + self.newlines_before + cum[:-1] + inv_newlines[np.searchsorted(inv, records)]
        # Malformed rows that precede the last record of this batch can be numbered now.
        limit = records[-1] if n else None
        rejections = self._report(records, cum, inv, inv_newlines, limit)
        self.newlines_before += int(cum[-1])
        return lines, rejections

    def finish(self) -> list[Rejection]:
        empty = np.zeros(0, dtype=np.int64)
        inv = np.array([r[0] for r in self.invalid], dtype=np.int64)
        inv_newlines = np.concatenate([[0], np.cumsum([r[1] for r in self.invalid], dtype=np.int64)])
        return self._report(empty, np.zeros(1, dtype=np.int64), inv, inv_newlines, None)

    def _report(self, records, cum, inv, inv_newlines, limit) -> list[Rejection]:
        out = []
        while self.reported < len(self.invalid):
            number, _, problem = self.invalid[self.reported]
            if limit is not None and number > limit:
                break
            valid_before = cum[np.searchsorted(records, number)]
            line = number + self.newlines_before + int(valid_before) + int(inv_newlines[self.reported])
            out.append(Rejection(line, LINE_FIELD, problem))
            self.reported += 1
        return out


def _csv_header(path: Path) -> list[str]:
    import csv

    try:
        with open(path, encoding="utf-8-sig", newline="") as f:
            header = next(csv.reader(f), None)
    except UnicodeDecodeError as exc:
        raise ReadError(f"{path.name}: not UTF-8 text (save the file as UTF-8)") from exc
    if not header:
        raise ReadError(f"{path.name}: empty file (a CSV file needs a header row)")
    return header


def _csv_chunks(path: Path, chunk_rows: int) -> Iterator[RawChunk]:
    header = _csv_header(path)
    lines = _CsvLines(sum(h.count("\n") for h in header))
    try:
        # Arrow parses the header too (it may hold quoted newlines); serial parsing numbers malformed rows.
        reader = pacsv.open_csv(
            path,
            read_options=pacsv.ReadOptions(use_threads=False, block_size=CSV_BLOCK_BYTES),
            parse_options=pacsv.ParseOptions(
                newlines_in_values=True, ignore_empty_lines=False, invalid_row_handler=lines.handler
            ),
            convert_options=pacsv.ConvertOptions(
                column_types={h: pa.string() for h in header},
                strings_can_be_null=True,
                null_values=[""],
                quoted_strings_can_be_null=True,
            ),
        )
    except pa.ArrowInvalid as exc:
        raise ReadError(f"{path.name}: {_csv_problem(exc)}") from exc
    pending: list[pa.RecordBatch] = []
    pending_rows = 0
    pending_lines: list[np.ndarray] = []
    pending_rejections: list[Rejection] = []
    while True:
        try:
            batch = reader.read_next_batch()
        except StopIteration:
            break
        except pa.ArrowInvalid as exc:
            raise ReadError(
                f"{path.name}: {_csv_problem(exc)} (near line {lines.next_base + lines.newlines_before})"
            ) from exc
        newlines = np.zeros(batch.num_rows, dtype=np.int64)
        present = np.zeros(batch.num_rows, dtype=bool)
        for column in batch.columns:
            newlines += pc.fill_null(pc.count_substring(column, "\n"), 0).to_numpy(zero_copy_only=False)
            present |= column.is_valid().to_numpy(zero_copy_only=False)
        numbers, rejections = lines.number(newlines)
        pending_rejections += rejections
        if not present.all():  # blank lines (and rows without any value) are skipped
            batch = batch.filter(pa.array(present))
            numbers = numbers[present]
        pending.append(batch)
        pending_lines.append(numbers)
        pending_rows += batch.num_rows
        if pending_rows >= chunk_rows:
            yield _csv_chunk(header, pending, pending_lines, pending_rejections)
            pending, pending_lines, pending_rejections, pending_rows = [], [], [], 0
    pending_rejections += lines.finish()
    if pending or pending_rejections:
        yield _csv_chunk(header, pending, pending_lines, pending_rejections)


def _csv_chunk(header, batches, line_arrays, rejections) -> RawChunk:
    if batches:
        frame = pa.Table.from_batches(batches).to_pandas()
        frame.columns = header
    else:
        frame = pd.DataFrame({h: pd.Series([], dtype="str") for h in header})
    frame = _normalise_columns(frame)
    frame["_row"] = np.concatenate(line_arrays) if line_arrays else np.zeros(0, dtype=np.int64)
    return RawChunk(frame, rejections)


def _csv_problem(exc: Exception) -> str:
    text = str(exc)
    if "UTF8" in text or "utf8" in text.lower():
        return "not UTF-8 text (save the file as UTF-8)"
    return f"cannot parse CSV ({text.splitlines()[0]})"
