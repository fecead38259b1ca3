"""Compute once per key, whatever the number of concurrent askers: the shared-result mechanism of the services
(metrics, insight). Concurrent misses for one key wait for the first to finish instead of computing again."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


class KeyLocks:
    """One lock per key, the most recent `kept` keys (a key's lock is only needed while its value is computed)."""

    def __init__(self, kept: int = 4000):
        self.kept = kept
        self._locks: OrderedDict[str, threading.Lock] = OrderedDict()
        self._guard = threading.Lock()

    def lock(self, key: str) -> threading.Lock:
        with self._guard:
            lock = self._locks.get(key)
            if lock is None:
                lock = self._locks[key] = threading.Lock()
                while len(self._locks) > self.kept:
                    self._locks.popitem(last=False)
            return lock


class Once:
    """Values in a cachelib cache, each computed once per key (None is never cached: it means missing)."""

    def __init__(self, cache, timeout: int, kept_locks: int = 4000):
        self.cache = cache
        self.timeout = timeout
        self.locks = KeyLocks(kept_locks)

    def get(self, key: str, compute: Callable[[], T]) -> T:
        value = self.cache.get(key)
        if value is not None:
            return value
        with self.locks.lock(key):
            value = self.cache.get(key)
            if value is None:
                value = compute()
                self.cache.set(key, value, timeout=self.timeout)
        return value
