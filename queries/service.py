"""Cached access to the metrics, shared by the JSON API and every screen.

Results are keyed on the store's data version, which changes on each committed
write, so any number of screens polling the same view share one computation
per data version. Concurrent misses for one key wait for the first to finish.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict

from cachelib import SimpleCache

from queries import drill, feed, messages, metrics
from queries.db import Store
from queries.once import Once
from queries.periods import PRESETS, Filters, preset

log = logging.getLogger(__name__)


class Metrics:
    RECENT = 200  # distinct questions remembered, to be answered on a new snapshot before it is switched in

    def __init__(self, store: Store, cache=None, timeout: int = 3600):
        self.store = store
        self.cache = cache if cache is not None else SimpleCache(threshold=2000, default_timeout=timeout)
        self.timeout = timeout
        self._once = Once(self.cache, timeout)
        self._recent: OrderedDict[tuple, object] = OrderedDict()  # (name, args) -> compute, newest last
        self._recent_guard = threading.Lock()

    @property
    def data_version(self) -> str:
        return self.store.data_version

    def _cached(self, name: str, compute, *args):
        with self._recent_guard:
            self._recent[(name, args)] = compute
            self._recent.move_to_end((name, args))
            if len(self._recent) > self.RECENT:
                self._recent.popitem(last=False)
        store = self.store
        return self._once.get(repr((name, store.data_version, args)), lambda: compute(store, *args))

    def warm(self, store: Store, seconds: float) -> int:
        """Answer the recently asked questions on `store`, a snapshot about to replace the current one (newest
        first, for at most `seconds`), so that its first askers find them computed; returns how many."""
        deadline = time.monotonic() + seconds
        with self._recent_guard:
            recent = list(self._recent.items())[::-1]
        done = 0
        for (name, args), compute in recent:
            if time.monotonic() > deadline:
                break
            try:
                self._once.get(repr((name, store.data_version, args)), lambda c=compute, a=args: c(store, *a))
            except Exception:  # the question fails on its own when asked again; the switch must still happen
                log.exception("warming %s on the new snapshot failed", name)
                continue
            done += 1
        return done

    def prime(self, today) -> None:
        """Before the first request on a store nobody asked anything yet (a web process's first snapshot): the
        national figures of every preset period (the first page of most analysts; the first builds the delay index,
        1-4 s at 6 M messages). Asked first by twenty analysts at once, they took 0.4 s each under load."""
        for name in PRESETS:
            f = Filters(*preset(name, today))
            self.summary(f)
            self.province_columns(f)
            self.by_category(f)
            self.by_type(f)

    def cached(self, name: str, compute, *args):
        """compute(store, *args), once per data version and arguments (for the packages built on the store)."""
        return self._cached(name, compute, *args)

    def summary(self, f: Filters) -> dict:
        return self._cached("summary", metrics.summary, f)

    def by_province(self, f: Filters):
        return self._cached("by_province", metrics.by_province, f)

    def province_columns(self, f: Filters) -> dict:
        return self._cached("province_columns", metrics.province_columns, f)

    def trend_columns(self, f: Filters, granularity: str = "day") -> dict:
        return self._cached("trend_columns", metrics.trend_columns, f, granularity)

    def by_category(self, f: Filters):
        return self._cached("by_category", metrics.by_category, f)

    def by_type(self, f: Filters):
        return self._cached("by_type", metrics.by_type, f)

    def by_city(self, f: Filters):
        return self._cached("by_city", metrics.by_city, f)

    def trend(self, f: Filters, granularity: str = "day"):
        return self._cached("trend", metrics.trend, f, granularity)

    def latest_messages(self, f: Filters, limit: int = 30):
        return self._cached("latest_messages", feed.latest_messages, f, limit)

    def latest_replies(self, f: Filters, limit: int = 30):
        return self._cached("latest_replies", feed.latest_replies, f, limit)

    def latest_records(self, f: Filters, limit: int = 30):
        return self._cached("latest_records", feed.latest_records, f, limit)

    def joined_latest(self, f: Filters, table: str, limit: int = 20):
        return self._cached("joined_latest", feed.joined_latest, f, table, limit)

    # -- analyst workspace (queries/drill.py) ------------------------------------------------------------------------
    def units(self, f: Filters, late_days: int = 15):
        return self._cached("units", drill.units, f, late_days)

    def overdue(self, f: Filters, now, overdue_days: int = 15, limit: int = 50):
        return self._cached("overdue", drill.overdue, f, now, overdue_days, limit)

    def overdue_count(self, f: Filters, now, overdue_days: int = 15) -> int:
        return self._cached("overdue_count", drill.overdue_count, f, now, overdue_days)

    def cross(self, f: Filters):
        return self._cached("cross", drill.cross, f)

    def dimension_values(self) -> dict:
        return self._cached("dimension_values", drill.dimension_values)

    # -- messages with their text (queries/messages.py) ---------------------------------------------------------------
    def messages(self, f: Filters, words: tuple[str, ...] = (), limit: int = 20, offset: int = 0):
        return self._cached("messages", messages.search, f, words, limit, offset)

    def messages_by_ids(self, f: Filters, ids: tuple[str, ...]):
        return self._cached("messages_by_ids", messages.by_ids, f, tuple(ids))

    def message(self, message_id: str):
        return self._cached("message", messages.detail, message_id)
