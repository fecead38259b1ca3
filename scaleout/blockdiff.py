"""Block deltas between two states of one DuckDB file: what a snapshot ships instead of the whole file.

A DuckDB file is a 12 KiB header (the main header and two database headers, rewritten by every checkpoint)
followed by fixed-size blocks. A checkpoint writes changed data into new or freed blocks and leaves the others
as they are (3,000 new messages changed 13 of 15,770 blocks of a 3.9 GB file here), so the blocks whose
content differs from the last snapshot's are the whole difference. Each block is fingerprinted by an XXH3
hash of its bytes next to the checksum DuckDB keeps in its first 8 bytes. That checksum alone is not enough: it XORs
one hash per 8-byte word, so it does not see words change places, and a checkpoint that packs the same small
segments into a block in another order kept it (a web file patched on it alone was corrupt).

Delta file: MAGIC, one JSON line {"size", "block_size", "blocks": [index, ...]}, the header, then each
listed block in order. Applying it to a copy of the previous state gives the new state byte for byte.
"""

from __future__ import annotations

import json
import mmap
import os
import subprocess
import sys
from pathlib import Path

import xxhash

HEADER = 3 * 4096  # DuckDB's main header and its two database headers
CHECKSUM = 8  # every block starts with DuckDB's checksum of its content
MAGIC = b"LIUYAN-BLOCK-DELTA-1\n"
SUM = CHECKSUM + 8  # bytes of one block's fingerprint (with its XXH3)


class LayoutError(ValueError):
    """The file is not laid out as header + whole blocks (another DuckDB storage format): copy it whole."""


def block_count(size: int, block_size: int) -> int:
    if size < HEADER or (size - HEADER) % block_size:
        raise LayoutError(f"file of {size} bytes is not a {HEADER}-byte header and blocks of {block_size}")
    return (size - HEADER) // block_size


def checksums(path: Path, block_size: int, size: int | None = None) -> list[bytes]:
    """The fingerprint of every block of the file's first `size` bytes (all by default; they must not change
    meanwhile): DuckDB's checksum and a 64-bit XXH3 of the block, which sees the order of its bytes. Reads them
    all, from the page cache (XXH3: 0.05 s of CPU per GiB here; zlib's CRC-32 took 0.3 s)."""
    with open(path, "rb") as f:
        size = os.fstat(f.fileno()).st_size if size is None else size
        count = block_count(size, block_size)
        if not count:
            return []
        sums = []
        with mmap.mmap(f.fileno(), size, access=mmap.ACCESS_READ) as mapped, memoryview(mapped) as view:
            for i in range(count):
                with view[HEADER + i * block_size : HEADER + (i + 1) * block_size] as block:
                    sums.append(bytes(block[:CHECKSUM]) + xxhash.xxh3_64_digest(block))
        return sums


def checksums_apart(path: Path, block_size: int, size: int, copy_to: Path | None = None) -> list[bytes]:
    """`checksums` in a child process at a low CPU priority, after copying the `size` bytes to `copy_to`
    there too when given. In a thread, the loop over the blocks (12,000 at 3 GiB) keeps the GIL, and a write
    on another thread waited for the switch interval (5 ms) each time it took the GIL back after a statement;
    at the same priority, the copy and the hashing took CPU from the writes on a busy machine."""
    count = block_count(size, block_size)
    command = [sys.executable, __file__, str(path), str(block_size), str(size)] + ([str(copy_to)] if copy_to else [])
    child = subprocess.run(command, capture_output=True, check=False)
    if child.returncode:
        raise RuntimeError(f"block fingerprints of {path} failed: {child.stderr.decode(errors='replace')[-500:]}")
    out = child.stdout
    if len(out) != SUM * count:
        raise RuntimeError(f"block fingerprints of {path}: {len(out)} bytes from the child, not {SUM * count}")
    return [out[i : i + SUM] for i in range(0, len(out), SUM)]


def changed(before: list[bytes], now: list[bytes]) -> list[int]:
    """Blocks whose checksum differs, and the blocks the file grew by."""
    return [i for i, sum_ in enumerate(now) if i >= len(before) or before[i] != sum_]


def write(source: Path, blocks: list[int], block_size: int, target: Path, size: int | None = None) -> int:
    """Write the delta of `blocks` of `source` (of its first `size` bytes: all by default) to `target`; returns
    its size in bytes."""
    size = os.path.getsize(source) if size is None else size
    head = json.dumps({"size": size, "block_size": block_size, "blocks": blocks}).encode() + b"\n"
    with open(source, "rb") as src, open(target, "wb") as out:
        out.write(MAGIC + head)
        out.write(src.read(HEADER))
        for index in blocks:
            src.seek(HEADER + index * block_size)
            out.write(src.read(block_size))
    return os.path.getsize(target)


def apply(delta, target: Path) -> None:
    """Apply a delta (a binary stream) to `target`, a copy of the state the delta was made from."""
    if delta.readline() != MAGIC:
        raise ValueError("not a block delta")
    head = json.loads(delta.readline())
    block_size = int(head["block_size"])
    with open(target, "r+b") as out:
        out.write(_exactly(delta, HEADER))
        for index in head["blocks"]:
            out.seek(HEADER + int(index) * block_size)
            out.write(_exactly(delta, block_size))
        out.truncate(int(head["size"]))


def _exactly(stream, n: int) -> bytes:
    data = stream.read(n)
    if len(data) != n:
        raise ValueError(f"block delta cut short: {len(data)} of {n} bytes")
    return data


def copy_prefix(source: Path, target: Path, size: int) -> int:
    """Copy the first `size` bytes of `source` to `target`, in the kernel where it can (the GIL is free meanwhile
    either way)."""
    with open(source, "rb") as src, open(target, "wb") as out:
        left = size
        while left:
            try:
                done = os.copy_file_range(src.fileno(), out.fileno(), min(left, 1 << 26))
            except OSError:  # not between these file systems: through a buffer
                done = out.write(src.read(min(left, 1 << 23)))
            if not done:
                raise ValueError(f"{source} ends {left} bytes short of {size}")
            left -= done
    return size


def _child(path: str, block_size: str, size: str, copy_to: str | None = None) -> None:
    """checksums_apart's child: copies when asked, then writes the fingerprints one after the other to stdout."""
    # the writes first, but not starved: at 19 (a 64th of a busy core's share) a 3 GB file's 0.5 s of
    # fingerprinting took 90 s under load and no web process saw a new snapshot meanwhile
    os.nice(10)
    if copy_to:
        copy_prefix(Path(path), Path(copy_to), int(size))
    sys.stdout.buffer.write(b"".join(checksums(Path(path), int(block_size), int(size))))


if __name__ == "__main__":
    _child(*sys.argv[1:])
