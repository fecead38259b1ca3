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

Untrusted JSON never reaches a parser that can crash the process (Arrow's JSON
reader segfaults on a block whose first line is `null` and overflows its stack on
deep nesting; it also builds a column per distinct key, so 20,000 distinct keys
in a 240 KB body cost minutes and gigabytes). Arrow only reads a block whose
every line is verified to be one flat object (one "{" opening it, one "}"
closing it, no brackets), under the key set of a small sample (any other key
sends the block to Python) and is checked for valid UTF-8 afterwards. Anything
else is read line by line with Python's json after a bracket-depth scan: a line
nested deeper than MAX_DEPTH, holding more than MAX_FIELDS keys, adding a key
beyond MAX_COLUMNS distinct ones, or holding text that is not valid Unicode is a
rejection (field "(line)"). Nested values inside a row are the validator's
rejection, naming the field.

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


MAX_DEPTH = 20  # a record is a flat object; deeper nesting is refused before json parses it
MAX_FIELDS = 200  # keys of one record
MAX_COLUMNS = 500  # distinct keys in one chunk (each becomes a column of every row)
SAMPLE_LINES = 1000  # lines whose keys and types Arrow infers before reading the whole block
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89abcdefABCDEF]|\xed[\xa0-\xbf]")  # escaped, or encoded raw (CESU-8)
_MARKS = np.zeros(256, dtype=bool)  # the bytes the nesting scan looks at: quote, backslash, brackets
_MARKS[list(b'"\\{}[]')] = True


def _nesting(data: bytes) -> int:
    """Deepest bracket nesting outside JSON strings, by a linear vectorised scan (no parser, no recursion)."""
    raw = np.frombuffer(data, dtype=np.uint8)
    marks = np.flatnonzero(_MARKS[raw])
    if not len(marks):
        return 0
    chars = raw[marks]
    index = np.arange(len(marks))
    backslash = chars == ord("\\")
    # A quote is escaped when an odd run of adjacent backslashes ends right before it.
    adjacent = np.concatenate([[False], np.diff(marks) == 1])
    follows_backslash = adjacent & np.concatenate([[False], backslash[:-1]])
    run_start = np.maximum.accumulate(np.where(backslash & ~follows_backslash, index, 0))
    run_length = np.concatenate([[0], (index - run_start + 1)[:-1]])  # of the run ending just before each mark
    escaped = follows_backslash & (run_length % 2 == 1)
    quote = (chars == ord('"')) & ~escaped
    inside = (np.cumsum(quote) - quote) % 2 == 1  # after an opening quote, before its closing one
    opening = ((chars == ord("{")) | (chars == ord("["))) & ~inside
    closing = ((chars == ord("}")) | (chars == ord("]"))) & ~inside
    depth = np.cumsum(opening.astype(np.int64) - closing.astype(np.int64))
    return int(depth.max(initial=0))


class _Records:
    """Checks parsed JSON values one by one and collects the records a frame is built from."""

    def __init__(self):
        self.records: list[dict] = []
        self.rows: list[int] = []
        self.rejections: list[Rejection] = []
        self.keys: set[str] = set()

    def reject(self, number: int, reason: str) -> None:
        self.rejections.append(Rejection(number, LINE_FIELD, reason))

    def add(self, number: int, record, check_text: bool) -> None:
        if not isinstance(record, dict):
            self.reject(number, f"expected a JSON object, got {_json_type(record)}")
        elif len(record) > MAX_FIELDS:
            self.reject(number, f"more than {MAX_FIELDS} fields in one record")
        elif check_text and not _encodable(record):
            self.reject(number, "text is not valid Unicode (an unpaired surrogate escape such as \\ud800)")
        elif len(self.keys) + len(record) > MAX_COLUMNS and len(self.keys | record.keys()) > MAX_COLUMNS:
            self.reject(number, f"the input uses more than {MAX_COLUMNS} distinct field names")
        else:
            self.keys.update(record)
            self.records.append(record)
            self.rows.append(number)

    def chunk(self) -> RawChunk:
        return RawChunk(_frame(self.records, self.rows), self.rejections)


def _json_type(value) -> str:
    return {dict: "an object", list: "an array", str: "text", bool: "true/false", type(None): "null"}.get(
        type(value), "a number"
    )


def _encodable(record: dict) -> bool:
    try:
        json.dumps(record, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _jsonl_python(numbered: list[tuple[int, bytes]]) -> RawChunk:
    out = _Records()
    loads = json.loads
    for number, line in numbered:
        if line.count(b"{") + line.count(b"[") > 1 and _nesting(line) > MAX_DEPTH:
            out.reject(number, f"nested deeper than {MAX_DEPTH} levels")
            continue
        try:
            record = loads(line)
        except (ValueError, RecursionError) as exc:  # JSONDecodeError, UnicodeDecodeError, too many digits
            out.reject(number, f"not valid JSON ({_json_problem(exc)})")
            continue
        out.add(number, record, check_text=_SURROGATE_ESCAPE.search(line) is not None)
    return out.chunk()


def _flat_lines(block: bytes, count: int) -> bool:
    """Every one of the block's `count` (non-blank) lines is "{" ... "}" with no other bracket anywhere:
    flat objects (or broken JSON, which Arrow reports) and nothing that can crash Arrow's reader."""
    if b"[" in block or b"]" in block or block.count(b"{") != count or block.count(b"}") != count:
        return False
    starts = block.count(b"\n{") + block.startswith(b"{")
    ends = block.count(b"}\n") + block.count(b"}\r\n") + block.endswith(b"}") + block.endswith(b"}\r")
    return starts == count and ends == count


def _arrow_jsonl(block: bytes, count: int, temporal: set[str]) -> pd.DataFrame | None:
    """Arrow's JSON reader on a block of `count` lines, or None when the block needs line-by-line treatment.

    Only blocks of flat objects are read, under the keys and types Arrow infers from
    the first SAMPLE_LINES lines (at most MAX_COLUMNS keys): a line with another key,
    a type change or a parse problem returns None, as do a line holding several
    objects and text that is not UTF-8. Arrow would turn ISO-looking strings into
    naive UTC timestamps (losing "no offset = Beijing"), so such columns, and
    columns only null in the sample, are read as strings.
    """
    if not _flat_lines(block, count):
        return None
    sample = b"\n".join(block.split(b"\n", SAMPLE_LINES)[:SAMPLE_LINES])
    try:
        inferred = pajson.read_json(io.BytesIO(sample), read_options=_read_options(sample)).schema
        if len(inferred) > MAX_COLUMNS:
            return None
        temporal |= {f.name for f in inferred if pa.types.is_temporal(f.type)}
        schema = pa.schema(
            [(f.name, pa.string() if f.name in temporal or pa.types.is_null(f.type) else f.type) for f in inferred]
        )
        parse = pajson.ParseOptions(explicit_schema=schema, unexpected_field_behavior="error")
        table = pajson.read_json(io.BytesIO(block), read_options=_read_options(block), parse_options=parse)
        table.validate(full=True)  # Arrow's JSON reader passes invalid UTF-8 through
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None
    if table.num_rows != count:
        return None
    return _normalise_columns(table.to_pandas())


def _read_options(data: bytes) -> pajson.ReadOptions:
    return pajson.ReadOptions(block_size=max(1 << 20, min(len(data) + 1, 1 << 30)))


def _json_problem(exc: ValueError) -> str:
    if isinstance(exc, json.JSONDecodeError):
        return f"{exc.msg} at column {exc.colno}"
    if isinstance(exc, UnicodeDecodeError):
        return "not UTF-8 text"
    if isinstance(exc, RecursionError):
        return "nested too deeply"
    return str(exc)


def _json_array(body: bytes, name: str = "body") -> RawChunk:
    if _nesting(body) > MAX_DEPTH + 1:
        raise ReadError(f"{name}: nested deeper than {MAX_DEPTH} levels")
    try:
        items = json.loads(body)
    except (ValueError, RecursionError) as exc:
        raise ReadError(f"{name}: not a valid JSON array ({_json_problem(exc)})") from exc
    if not isinstance(items, list):
        raise ReadError(f"{name}: expected a JSON array of objects")
    out = _Records()
    check_text = _SURROGATE_ESCAPE.search(body) is not None
    for number, item in enumerate(items, start=1):
        out.add(number, item, check_text)
    return out.chunk()


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
