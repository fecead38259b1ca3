"""Freed memory given back to the system between the stages of a long analysis.

A year's stages (reading the corpus, grouping it, testing surges) each allocate a few hundred MB and free most of
it. The Arrow pool keeps freed blocks for reuse, and glibc's allocator keeps the freed chunks of its heap (arrays of
a few MB land there once a larger one was freed): the next stage's allocations then sit on top of the last one's
leftovers, and the process's peak is their sum (about 0.15 GB more for a year).
"""

from __future__ import annotations

import ctypes
import ctypes.util

import pyarrow as pa


def _trim():
    """glibc's malloc_trim (None elsewhere: another C library returns memory its own way)."""
    name = ctypes.util.find_library("c")
    function = getattr(ctypes.CDLL(name), "malloc_trim", None) if name else None
    if function is not None:
        function.argtypes, function.restype = [ctypes.c_size_t], ctypes.c_int
    return function


_MALLOC_TRIM = _trim()


def give_back() -> None:
    """Return what the Arrow pool and the C heap hold freed (a few ms)."""
    pa.default_memory_pool().release_unused()
    if _MALLOC_TRIM is not None:
        _MALLOC_TRIM(0)
