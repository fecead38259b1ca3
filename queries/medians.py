"""Exact medians of first-reply hours (equal to DuckDB's quantile_cont) for any period and filters."""

from __future__ import annotations

import datetime as dt
import threading
from collections import OrderedDict
from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa

from queries import median_index
from queries.periods import Filters
from queries.sql import DIMENSIONS, template

if TYPE_CHECKING:
    from queries.db import Store

# A median over a long period reads every first-reply delay of it (one row per answered
# message in roll_delays). Live writes only add to the newest day, so the earlier days'
# delays are kept, per group, as the sorted values around the group's median (positions
# n/2 +- MEDIAN_WINDOW) together with the newest revision of those days
# (roll_delay_revisions, raised in the write's transaction whenever a day is recomputed).
# A later call for the same period checks that revision (one tiny query), reads the newest
# day's delays, and finds the exact order statistics of the union from the window.
MEDIAN_CACHE_MIN_DAYS = 8  # shorter periods: one direct query
MEDIAN_WINDOW = 32_768  # > a day's answered messages per group at 50 M (about 18,000)
USE_INDEX = True  # the delay index (queries/median_index.py) answers what it can; the windows the rest
MEDIAN_CACHE_VALUES = 6_000_000  # floats kept at most (48 MB), least recently used first out


class MedianCache:
    """The median windows of one Store (created with it: `Store.medians`)."""

    def __init__(self):
        self.windows: OrderedDict = OrderedDict()
        self.seen: OrderedDict = OrderedDict()  # keys asked for once (a window is built the second time)
        self.lock = threading.Lock()
        self.held = 0  # floats kept
        self.index = median_index.IndexHolder()  # every delay, for the questions it answers

    def clear(self) -> None:
        with self.lock:
            self.windows.clear()
            self.seen.clear()
            self.held = 0
        self.index.clear()


def _memo(store, name: str, key: tuple, compute):
    return store.memo.get(store.data_version, name, key, compute)


def _current(params: dict) -> dict:
    return {k: v for k, v in params.items() if not k.startswith(("prev_", "before_"))}


def _direct_medians(store: Store, params: dict, dimension: str | None):
    if dimension is None:
        return store.scalar(template("volume", "median_hours"), params)
    return dict(store.rows(template("volume", "median_hours_grouped", dimension=dimension), params))


def _delay_groups(store: Store, f: Filters, start: dt.datetime, stop: dt.datetime, dimension: str | None) -> dict:
    """{group: sorted hours} of the first-reply delays of reply days [start, stop) (group 0 when dimension
    is None). One fetch serves every dimension (all medians of a screen share the newest day's rows)."""
    filters = (f.provinces, f.categories, f.types, f.urgent_only)

    def fetch():
        # Arrow keeps the text columns dictionary-encodable (numpy would build a Python string per value)
        return (
            store.cursor()
            .sql(template("volume", "delay_rows"), params=dict(f.message_filter(), start=start, stop=stop))
            .to_arrow_table()
        )

    def sort():
        rows = fetch()
        hours = rows.column("hours").to_numpy()
        order = np.argsort(hours, kind="stable")
        return rows, order, hours[order]

    def group() -> dict:
        rows, by_hours, hours = _memo(store, "delay_rows", (start, stop, filters), sort)
        if not len(hours):
            return {}
        if dimension is None:
            return {0: hours}
        column = rows.column(DIMENSIONS[dimension]).combine_chunks()
        if pa.types.is_integer(column.type):
            codes, names = column.to_numpy()[by_hours], None
        else:
            encoded = column.dictionary_encode()
            codes = encoded.indices.fill_null(-1).to_numpy()[by_hours]
            names = encoded.dictionary.to_pylist()
        order = np.argsort(codes, kind="stable")  # stable: each group's hours stay sorted
        codes, grouped = codes[order], hours[order]
        bounds = (np.flatnonzero(codes[1:] != codes[:-1]) + 1).tolist()
        out = {}
        for lo, hi in zip([0, *bounds], [*bounds, len(codes)], strict=True):
            code = int(codes[lo])
            out[code if names is None else (None if code < 0 else names[code])] = grouped[lo:hi]
        return out

    return _memo(store, "delay_groups", (start, stop, filters, dimension), group)


def exact(store: Store, f: Filters, dimension: str | None):
    """Median first-reply hours of the period (dimension None: a number or None) or per value of
    `dimension` ({value: hours}): exactly DuckDB's quantile_cont(hours, 0.5)."""
    if USE_INDEX and median_index.answers(f, dimension):
        if store.medians.index.value is not None or (f.end - f.start).days + 1 >= MEDIAN_CACHE_MIN_DAYS:
            return median_index.medians(store, f, dimension)
    params = _current(f.params())
    if (f.end - f.start).days + 1 < MEDIAN_CACHE_MIN_DAYS:
        groups = _delay_groups(store, f, params["start"], params["stop"], dimension)
        result = {k: _union_median(None, v) for k, v in groups.items()}
        return result.get(0) if dimension is None else result
    split = params["stop"] - dt.timedelta(days=1)  # cached days [start, split), fresh day [split, stop)
    rev = _memo(
        store,
        "delay_revision",
        (params["start"], split),
        lambda: store.scalar(template("volume", "delay_revision"), {"start": params["start"], "stop": split}),
    )
    key = (
        store.data_version.split(":")[0],
        store.path,
        dimension,
        params["start"],
        split,
        f.provinces,
        f.categories,
        f.types,
        f.urgent_only,
    )
    earlier = None
    cache = store.medians
    with cache.lock:
        entry = cache.windows.get(key)
        if entry is not None:
            cache.windows.move_to_end(key)
        else:
            earlier = _earlier_window(cache, key)
            if earlier is None and key not in cache.seen:
                # a window costs more than one direct median: keep one only for a period asked for again
                cache.seen[key] = None
                while len(cache.seen) > 4096:
                    cache.seen.popitem(last=False)
                entry = False
    if entry is False:
        return _direct_medians(store, params, dimension)
    if earlier is not None:
        # the same period's window up to an earlier day (the wall after midnight): extended by the days
        # between, if none of its own days changed since
        earlier_split, earlier_rev, windows = earlier
        same = _memo(
            store,
            "delay_revision",
            (params["start"], earlier_split),
            lambda: store.scalar(
                template("volume", "delay_revision"), {"start": params["start"], "stop": earlier_split}
            ),
        )
        if same == earlier_rev:
            entry = (rev, _extend_windows(windows, _delay_groups(store, f, earlier_split, split, dimension)))
            _keep(cache, key, entry)
    fresh = entry is None or entry[0] != rev
    if fresh:
        entry = (rev, _median_windows(store, dict(params, stop=split), dimension))
        _keep(cache, key, entry)
    tails = _delay_groups(store, f, split, params["stop"], dimension)
    while True:
        result = _window_medians(entry[1], tails)
        if result is not None:
            return result.get(0) if dimension is None else result
        if fresh:  # the newest day alone outgrew the window
            return _direct_medians(store, params, dimension)
        # the window drifted off the median (extended over several days): sorted again
        entry, fresh = (rev, _median_windows(store, dict(params, stop=split), dimension)), True
        _keep(cache, key, entry)


def _window_medians(windows: dict, tails: dict) -> dict | None:
    """{group: median} from the windows and the newest day's sorted delays; None when a window misses."""
    result: dict = {}
    for k in list(windows) + [k for k in tails if k not in windows]:
        value = _union_median(windows.get(k), tails.get(k))
        if value is _MISSING_WINDOW:
            return None
        if value is not None:
            result[k] = value
    return result


def _earlier_window(cache: MedianCache, key: tuple):
    """(split, revision, windows) of the cached window of the same period and filters ending earliest
    before key's split day but nearest to it, or None. Called under cache.lock."""
    best = None
    for other, entry in cache.windows.items():
        if other[:4] == key[:4] and other[5:] == key[5:] and other[4] < key[4]:
            if best is None or other[4] > best[0]:
                best = (other[4], entry[0], entry[1])
    return best


def _extend_windows(windows: dict, days: dict) -> dict:
    """Windows over more days: each group's (n, first, values) with that group's sorted delays of the
    added days merged in. The added values below the window's first value move it up; those between
    its first and last value join it; those above change nothing but n (see _union_median)."""
    out = dict(windows)
    for k, added in days.items():
        if k not in windows:
            out[k] = (len(added), 0, added)
            continue
        n, first, values = windows[k]
        below = int(np.searchsorted(added, values[0], side="left"))
        inside = added[below : int(np.searchsorted(added, values[-1], side="right"))]
        out[k] = (n + len(added), first + below, np.sort(np.concatenate([values, inside]), kind="stable"))
    return out


_MISSING_WINDOW = object()


def _median_windows(store: Store, params: dict, dimension: str | None) -> dict:
    """{group: (n, first position, sorted values around the median)} of the delays in params' days."""
    cur = store.cursor().execute(
        template("volume", "median_window", dimension=dimension), dict(params, width=MEDIAN_WINDOW)
    )
    data = cur.fetchnumpy()
    out = {}
    keys = data["key"]
    if isinstance(keys, np.ma.MaskedArray):
        mask = np.ma.getmaskarray(keys)
        keys = keys.data.astype(object)
        keys[mask] = None
    if not len(keys):
        return out
    bounds = (np.flatnonzero(keys[1:] != keys[:-1]) + 1).tolist()
    for lo, hi in zip([0, *bounds], [*bounds, len(keys)], strict=True):
        key = keys[lo]
        out[key.item() if isinstance(key, np.generic) else key] = (
            int(data["n"][lo]),
            int(data["i"][lo]),
            np.ascontiguousarray(data["hours"][lo:hi], dtype="float64"),
        )
    return out


def _keep(cache: MedianCache, key, entry) -> None:
    size = sum(len(w[2]) for w in entry[1].values())
    with cache.lock:
        old = cache.windows.pop(key, None)
        if old is not None:
            cache.held -= sum(len(w[2]) for w in old[1].values())
        cache.windows[key] = entry
        cache.held += size
        while cache.held > MEDIAN_CACHE_VALUES and len(cache.windows) > 1:
            _, dropped = cache.windows.popitem(last=False)
            cache.held -= sum(len(w[2]) for w in dropped[1].values())


def _union_median(window, tail):
    """quantile_cont(0.5) of the union of a window's group (n values, `values` sorted from position
    `first`) and the sorted `tail`; None when both are empty."""
    n_a, first, values = window if window is not None else (0, 0, np.empty(0))
    tail = tail if tail is not None else np.empty(0)
    n = n_a + len(tail)
    if n == 0:
        return None
    rn = (n - 1) * 0.5
    lo_k, hi_k = int(np.floor(rn)), int(np.ceil(rn))
    # union positions < start hold only window values below position start; positions > hi_k none needed
    start = max(0, lo_k - len(tail))
    stop = min(n_a, hi_k + 1)
    if start < first or stop > first + len(values):
        return _MISSING_WINDOW
    merged = np.sort(np.concatenate([values[start - first : max(stop, start) - first], tail]), kind="stable")
    lo, hi = float(merged[lo_k - start]), float(merged[hi_k - start])
    return lo if lo_k == hi_k else lo + (hi - lo) * (rn - lo_k)
