"""A memo per data version, owned by the Store (created and dropped with it).

Several metrics of one screen read the same rows (every median of a period reads the same newest
delays; both feeds one statement). One fetch per data version serves them all; a concurrent miss
waits for the first.
"""

from __future__ import annotations

import threading
from collections import OrderedDict


class Memo:
    SIZE = 64  # entries kept, least recently used first out

    def __init__(self, size: int = SIZE):
        self.size = size
        self._values: OrderedDict = OrderedDict()
        self._locks: dict = {}
        self._guard = threading.Lock()

    def get(self, version: str, name: str, key: tuple, compute):
        """compute() once per (data version, name, key)."""
        full = (version, name, key)
        with self._guard:
            if full in self._values:
                self._values.move_to_end(full)
                return self._values[full]
            lock = self._locks.setdefault(full, threading.Lock())
        with lock:
            with self._guard:
                if full in self._values:
                    return self._values[full]
            try:
                value = compute()
                with self._guard:
                    self._values[full] = value
                    while len(self._values) > self.size:
                        self._values.popitem(last=False)
            finally:
                with self._guard:
                    self._locks.pop(full, None)
        return value

    def find(self, version: str, name: str, test):
        """A kept value of (data version, name) whose key passes `test` (the newest first), else None."""
        with self._guard:
            for full in reversed(self._values):
                if full[0] == version and full[1] == name and test(full[2]):
                    self._values.move_to_end(full)
                    return self._values[full]
        return None

    def clear(self) -> None:
        with self._guard:
            self._values.clear()
