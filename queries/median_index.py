"""Exact medians of first-reply hours from an in-memory index of every delay: any period, any provinces and
domains, without sorting the period's values.

The delays of roll_delays are grouped by (province, domain) and, within a group, split into BINS ranges of
value (edges: quantiles of all delays), each range's values stored in day order. A cumulative count per
(group, range, day) gives how many of a period's values lie in each range without reading them; the median's
range follows from those counts, and only that range's values of the period (one contiguous slice per group)
are read and partially ordered. The result equals DuckDB's quantile_cont(hours, 0.5).

Days whose delays changed after the index was built (a revision in roll_delay_revisions above the newest it
saw) are read from the table instead of the index; past MAX_STALE_DAYS such days the index is built again.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from queries.sql import template

if TYPE_CHECKING:
    from queries.db import Store
    from queries.periods import Filters

BINS = 8  # ranges per group: the cumulative counts cost groups x BINS x days int32
MAX_STALE_DAYS = 31
DIMENSIONS = ("province", "category")  # groupings the index answers (and None: one median)
_EPOCH = dt.date(1970, 1, 1)
_MIN, _MAX = dt.date(1, 1, 1), dt.date(9999, 12, 31)


@dataclass(frozen=True)
class DelayIndex:
    first: int  # day number (days since 1970-01-01) of day index 0
    days: int  # days covered
    edges: np.ndarray  # inner bin edges (a value v is in bin searchsorted(edges, v, "right"))
    province: np.ndarray  # per group
    category: np.ndarray  # per group (object)
    cum: np.ndarray  # (groups, bins, days + 1) int32: values of the group and bin on the days before
    start: np.ndarray  # (groups, bins) int64: where the group and bin's values begin in `hours`
    hours: np.ndarray  # float64, ordered by group, bin, day
    revision: int  # the newest revision of the delays it holds

    @property
    def bins(self) -> int:
        return len(self.edges) + 1

    def groups(self, f: Filters) -> np.ndarray:
        """Indices of the groups that the filters select."""
        keep = np.ones(len(self.province), bool)
        if f.provinces:
            keep &= np.isin(self.province, np.array(f.provinces, np.int64))
        if f.categories:
            keep &= np.isin(self.category, np.array(f.categories, object))
        return np.flatnonzero(keep)


# floats of sorted bins kept at most, least recently used first out: 2 M (16 MB), or a quarter of the index's values
# if more (a 50 M store's screen sorts about 4 M values per new data version: kept, a wall's metrics after a write
# cost 88 ms of CPU instead of 210)
SORTED_VALUES = 2_000_000
SORTED_SHARE = 4


class IndexHolder:
    """The Store's delay index (built on first use, dropped by `clear`) and the sorted values of the bins that
    recent medians read (`sorted_bin`)."""

    def __init__(self):
        self.value: DelayIndex | None = None
        self.lock = threading.Lock()
        self._sorted: OrderedDict[tuple, tuple[DelayIndex, np.ndarray]] = OrderedDict()
        self._held = 0
        self._guard = threading.Lock()

    def adopt(self, other: IndexHolder) -> None:
        """Take over `other`'s index and sorted bins (another Store on a later state of the same file: the days
        revised since the index was built are read from the file, `current`)."""
        with other.lock:
            value = other.value
        with other._guard:
            kept, held = OrderedDict(other._sorted), other._held
        with self.lock:
            self.value = value
        with self._guard:
            self._sorted, self._held = kept, held

    def clear(self) -> None:
        with self.lock:
            self.value = None
        with self._guard:
            self._sorted.clear()
            self._held = 0

    def sorted_bin(self, index: DelayIndex, groups: np.ndarray, runs, b: int) -> np.ndarray:
        """The values of bin `b` of the groups on the runs' days, sorted: kept while the index and the runs hold
        (a live write changes only the newest day, which the runs leave out), so that the median of the next data
        version merges the few newest values into them instead of reading and ordering the bin again."""
        key = (id(index), groups.tobytes(), tuple(runs), b)
        with self._guard:
            kept = self._sorted.get(key)
            if kept is not None and kept[0] is index:
                self._sorted.move_to_end(key)
                return kept[1]
        values = np.sort(_read(index, groups, runs, b))
        with self._guard:
            old = self._sorted.pop(key, None)
            self._held += len(values) - (len(old[1]) if old is not None else 0)
            self._sorted[key] = (index, values)
            kept = max(SORTED_VALUES, len(index.hours) // SORTED_SHARE)
            while self._held > kept and len(self._sorted) > 1:
                self._held -= len(self._sorted.popitem(last=False)[1][1])
        return values


def answers(f: Filters, dimension: str | None) -> bool:
    """Whether the index answers this question (its groups carry provinces and domains only)."""
    return not f.types and not f.urgent_only and (dimension is None or dimension in DIMENSIONS)


def build(store: Store) -> DelayIndex:
    revision, groups, edges, rows = _read_delays(store)
    hours = np.asarray(rows["hours"], np.float64)
    day = np.asarray(rows["day"], np.int64)
    first = int(day.min()) if len(day) else 0
    days = int(day.max()) - first + 1 if len(day) else 1
    size, bins = len(groups["g"]), len(edges) + 1
    slot = np.asarray(rows["g"], np.int64) * bins + np.searchsorted(edges, hours, side="right")
    # order by slot (group, bin), then day: two stable sorts of small integers (radix sorts in numpy)
    small = np.int16 if max(size * bins, days) < 2**15 else np.int32
    order = np.argsort((day - first).astype(small), kind="stable")
    order = order[np.argsort(slot.astype(small)[order], kind="stable")]
    hours = hours[order]
    key = slot * days + (day - first)
    counts = np.bincount(key, minlength=size * bins * days).reshape(size * bins, days)
    cum = np.zeros((size * bins, days + 1), np.int32)
    np.cumsum(counts, axis=1, out=cum[:, 1:])
    del counts, key
    totals = cum[:, -1].astype(np.int64)
    return DelayIndex(
        first=first,
        days=days,
        edges=edges,
        province=np.asarray(groups["province"], np.int64),
        category=np.asarray(groups["category"], object),
        cum=cum.reshape(size, bins, days + 1),
        start=(np.cumsum(totals) - totals).reshape(size, bins),
        hours=hours,
        revision=int(revision),
    )


def _read_delays(store: Store):
    """(revision, groups, edges, rows) read in one transaction: the group numbers of delay_groups and of
    indexed_delays agree (a write between two statements could add a group and shift the numbers after it), and
    the revision is that of the delays read."""
    cur = store.cursor()
    cur.execute("BEGIN TRANSACTION")
    try:
        revision = cur.execute(template("volume", "delay_revision"), {"start": _MIN, "stop": _MAX}).fetchall()[0][0]
        groups = cur.execute(template("volume", "delay_groups")).fetchnumpy()
        edges = cur.execute(template("volume", "delay_edges"), {"bins": BINS}).fetchall()[0][0]
        rows = cur.execute(template("volume", "indexed_delays")).fetchnumpy()
    finally:
        cur.execute("COMMIT")
    return revision, groups, np.unique(np.asarray(edges or [], np.float64)), rows


def _stale(store: Store, index: DelayIndex) -> np.ndarray:
    """Sorted day numbers whose delays changed since the index was built: a change gives its days a revision
    above every earlier one, so those above the newest the index saw (one query per data version)."""

    def compute():
        days = store.cursor().execute(template("volume", "days_revised_after"), {"rev": index.revision}).fetchall()
        return np.array(sorted((d - _EPOCH).days for (d,) in days), np.int64)

    return store.memo.get(store.data_version, "stale_delay_days", (id(index), index.revision), compute)


def current(store: Store) -> tuple[DelayIndex, np.ndarray]:
    """The Store's index (built now if missing or too far behind) and its changed days."""
    holder = store.medians.index
    with holder.lock:
        index = holder.value
        stale = None if index is None else _stale(store, index)
        if index is None or len(stale) > MAX_STALE_DAYS:
            index = holder.value = build(store)
            stale = _stale(store, index)
    return index, stale


def medians(store: Store, f: Filters, dimension: str | None):
    """As medians.exact: the median of the period (dimension None) or {value of `dimension`: median}."""
    index, stale = current(store)
    lo, hi = (f.start - _EPOCH).days, (f.end - _EPOCH).days + 1
    changed = stale[(stale >= lo) & (stale < hi)]
    runs = _runs(lo - index.first, hi - index.first, changed - index.first, index.days)
    groups = index.groups(f)
    counts = np.zeros((len(groups), index.bins), np.int64)
    for a, b in runs:
        counts += index.cum[groups, :, b] - index.cum[groups, :, a]
    tail = _tail(store, f, changed, index) if len(changed) else None
    if dimension is None:
        keys = np.zeros(len(groups), np.int64)
        tail_keys = None if tail is None else np.zeros(len(tail[0]), np.int64)
    else:
        keys = (index.province if dimension == "province" else index.category)[groups]
        tail_keys = None if tail is None else tail[0 if dimension == "province" else 1]
    out = {}
    for key in _unique(keys, tail_keys):
        mine = groups[keys == key]
        per_bin = counts[keys == key].sum(axis=0)
        values, bins = (np.empty(0), np.empty(0, np.int64)) if tail is None else _tail_of(tail, tail_keys == key)
        per_bin = per_bin + np.bincount(bins, minlength=index.bins)
        value = _median(store.medians.index, index, mine, runs, per_bin, values, bins)
        if value is not None:
            out[key.item() if isinstance(key, np.generic) else key] = value
    return out.get(0) if dimension is None else out


def _unique(keys: np.ndarray, tail_keys) -> list:
    seen = dict.fromkeys(keys.tolist())
    if tail_keys is not None:
        seen.update(dict.fromkeys(tail_keys.tolist()))
    return list(seen)


def _runs(lo: int, hi: int, changed: np.ndarray, days: int) -> list[tuple[int, int]]:
    """Day-index ranges [a, b) of [lo, hi) inside the index, without the changed days."""
    out, a = [], max(lo, 0)
    for d in [*changed.tolist(), hi]:
        b = min(d, days)
        if b > a:
            out.append((a, b))
        a = max(a, d + 1)
    return out


def _tail(store: Store, f: Filters, changed: np.ndarray, index: DelayIndex):
    """(province, category, hours, bin) of the changed days' delays that the filters select, read from the table
    (once per data version and days: every median of a screen shares them)."""

    def fetch():
        days = [_EPOCH + dt.timedelta(days=int(d)) for d in changed]
        rows = (
            store.cursor()
            .execute(template("volume", "delays_of_days"), {"days": days, "first": days[0], "last": days[-1]})
            .fetchnumpy()
        )
        hours = np.asarray(rows["hours"], np.float64)
        return (
            np.asarray(rows["province"], np.int64),
            np.asarray(rows["category"], object),
            hours,
            np.searchsorted(index.edges, hours, side="right"),
        )

    key = (id(index), index.revision, tuple(changed.tolist()))
    tail = store.memo.get(store.data_version, "delay_tail", key, fetch)
    keep = np.ones(len(tail[2]), bool)
    if f.provinces:
        keep &= np.isin(tail[0], np.array(f.provinces, np.int64))
    if f.categories:
        keep &= np.isin(tail[1], np.array(f.categories, object))
    return tuple(column[keep] for column in tail)


def _tail_of(tail, keep: np.ndarray):
    return tail[2][keep], tail[3][keep]


def _median(
    holder: IndexHolder, index: DelayIndex, groups: np.ndarray, runs, per_bin: np.ndarray, tail_values, tail_bins
):
    """quantile_cont(0.5) of the groups' values on the runs' days and the tail values (`per_bin`: their count
    per bin): only the bins holding the middle positions are read (sorted once, `IndexHolder.sorted_bin`)."""
    n = int(per_bin.sum())
    if n == 0:
        return None
    below = np.concatenate([[0], np.cumsum(per_bin)])  # values in the bins before each bin
    rn = (n - 1) * 0.5
    ranks = sorted({int(np.floor(rn)), int(np.ceil(rn))})
    found = {}
    for b in sorted({int(np.searchsorted(below, k, side="right")) - 1 for k in ranks}):
        mine = [k - int(below[b]) for k in ranks if below[b] <= k < below[b + 1]]
        base, tail = holder.sorted_bin(index, groups, runs, b), np.sort(tail_values[tail_bins == b])
        # position r of the union lies in base[r - len(tail) : r + 1] or the tail: the base values before that
        # range are below it
        first = max(0, mine[0] - len(tail))
        merged = np.sort(np.concatenate([base[first : mine[-1] + 1], tail]))
        found.update({k: float(merged[k - int(below[b]) - first]) for k in ranks if below[b] <= k < below[b + 1]})
    lo = found[ranks[0]]
    return lo if len(ranks) == 1 else lo + (found[ranks[1]] - lo) * (rn - ranks[0])


def _read(index: DelayIndex, groups: np.ndarray, runs, b: int) -> np.ndarray:
    """The values of bin `b` of the groups on the runs' days: one slice per group and run."""
    a = np.array([r[0] for r in runs], np.int64)
    c = np.array([r[1] for r in runs], np.int64)
    base = index.start[groups, b][:, None]
    cum = index.cum[groups, b]
    starts = (base + cum[:, a]).ravel()
    stops = (base + cum[:, c]).ravel()
    if len(starts) <= 64:  # a few slices (one province's groups): cheaper one by one
        parts = [index.hours[lo:hi] for lo, hi in zip(starts.tolist(), stops.tolist(), strict=True) if hi > lo]
        return np.concatenate(parts) if parts else np.empty(0)
    lengths = stops - starts
    total = int(lengths.sum())
    if total == 0:
        return np.empty(0)
    # many slices, gathered at once: position i is its slice's start plus its place within the slice
    shift = np.repeat(starts - (np.cumsum(lengths) - lengths), lengths)
    return index.hours[shift + np.arange(total)]
