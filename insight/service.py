"""The insight service: owner of the segmenter and of the insight results, shared by the API and every screen.

Results are keyed on the store's data version and the filters (as queries.service.Metrics does), so every
request for one view shares one computation per data version; concurrent misses for one key wait for the
first. Words are read from the words index (insight/words_store.py, filled in the background by
insight/index.py); the segmenter (jieba's dictionary, about a second to load) is built on first use, once per
service, for the few messages the index lacks (just written), so after a live write only these are segmented.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections import Counter, OrderedDict
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd
from cachelib import SimpleCache

from insight import corpus as corpus_mod
from insight import hotwords, issues, memory, repeats, surges, words_store
from insight.segment import Segmenter, place_names
from queries import provinces as province_ref
from queries.db import Store
from queries.masking import mask_text
from queries.once import Once
from queries.periods import Filters, beijing_now

CORPORA_KEPT = 4
GROUPINGS_KEPT = 4
TOP_WORDS = 5
# Hot issues weigh terms by their document frequency among the messages of the REFERENCE_DAYS before the period
# (nationally: what is common on the board), so that a live write inside the period moves no weight and the
# grouping is updated block by block; with fewer than REFERENCE_MIN messages there (a young board) the period's
# own frequencies are used and every change regroups the period.
REFERENCE_DAYS = 31
REFERENCE_MIN = 1000
DAY = dt.timedelta(days=1)
# A reference that is not kept is counted this many days at a time: a 50 M board's month read at once held about
# 0.5 GB more at the peak; each part costs a scan of the text tables (about 2.4 CPU-s at 50 M: 8-day parts, 7 more)
REFERENCE_PART_DAYS = 16
DETECT_ROWS = 250_000  # daily counts tested a province at a time beyond this many rows (a year's: about 530,000)


class Insight:
    def __init__(self, store: Store, cache=None, timeout: int = 3600, clock=None, progress=None):
        self.store = store
        self.cache = cache if cache is not None else SimpleCache(threshold=500, default_timeout=timeout)
        self.timeout = timeout
        self.clock = clock or beijing_now
        self.progress = progress  # progress(label, done, total) while a period's messages are segmented
        self._segmenter: Segmenter | None = None
        self._segmenter_guard = threading.Lock()
        self._corpora: OrderedDict[tuple, tuple[str, corpus_mod.Corpus]] = OrderedDict()  # period -> (version, corpus)
        self._groupings: OrderedDict[Filters, issues.Grouping] = OrderedDict()  # filters -> last hot-issue grouping
        # reference period -> (the data version they hold at, its words_mark, the weights learnt from it or None: too
        # few messages)
        self._weights: OrderedDict[Filters, tuple[str, tuple, issues.Weights | None]] = OrderedDict()
        self._counted: OrderedDict[Filters, tuple[corpus_mod.Corpus, hotwords.Counts]] = OrderedDict()  # hot words'
        self._daily: OrderedDict[tuple, tuple[str, _Daily]] = OrderedDict()  # surges' counts: (version, counts)
        self._detected: OrderedDict[tuple, tuple[_Daily, list[dict]]] = OrderedDict()  # (filters, today) -> surges
        # filters -> (corpus, {surge: its top words}) of the last alerts
        self._surge_words: OrderedDict[Filters, tuple[corpus_mod.Corpus, dict]] = OrderedDict()
        self._once = Once(self.cache, timeout, kept_locks=1000)
        self._guard = threading.Lock()

    # -- owned state ---------------------------------------------------------------------------------------------
    @property
    def segmenter(self) -> Segmenter:
        with self._segmenter_guard:
            if self._segmenter is None:
                self._segmenter = Segmenter(place_names(), words_store.unit_names(self.store))
            return self._segmenter

    def _keep(self, cache: OrderedDict, key, value, kept: int) -> None:
        """Remember `value` as the newest of `cache`, which keeps its `kept` newest entries."""
        with self._guard:
            cache[key] = value
            cache.move_to_end(key)
            while len(cache) > kept:
                cache.popitem(last=False)

    def _cached(self, name: str, compute, *args):
        return self._once.get(repr((name, self.store.data_version, args)), lambda: compute(*args))

    def corpus(
        self, f: Filters, start: dt.date | None = None, end: dt.date | None = None, keep: bool = True
    ) -> corpus_mod.Corpus:
        """A period's messages with words at the current data version; the last few periods asked are kept, and a
        period asked again after a write is built from its earlier corpus (only the messages that changed are read:
        those of the days the writes since touched, when the store knows them). `keep=False`: a period not kept
        already is read without being kept (read once for figures that are kept instead)."""
        version, period = self.store.data_version, (f, start, end)
        with self._once.locks.lock(repr(("corpus", period))):
            with self._guard:
                found = self._corpora.get(period)
            if found is not None and found[0] == version:
                return found[1]
            previous, days, ids = None, None, None
            if found is not None:
                previous, days, ids = found[1], self.store.changed_days(found[0]), self.store.changed_ids(found[0])
            report = self._report(start or f.start, end or f.end)
            built = corpus_mod.load(self.store, lambda: self.segmenter, f, start, end, report, previous, days, ids)
            if keep or found is not None:
                self._keep(self._corpora, period, (version, built), CORPORA_KEPT)
            return built

    def _report(self, start: dt.date, end: dt.date):
        """progress(done) of the read of start..end, when the service reports progress."""
        if self.progress is None:
            return None
        label = f"{start}..{end}"
        return lambda done: self.progress(label, done)

    # -- methods -------------------------------------------------------------------------------------------------
    def hot_words(self, f: Filters, limit: int = 20) -> dict:
        return self._cached("hot_words", self._hot_words, f, limit)

    def _hot_words(self, f: Filters, limit: int) -> dict:
        before = _previous(f)
        now, prev = self._frequencies(f), self._frequencies(before)
        return {
            "start": f.start.isoformat(),
            "end": f.end.isoformat(),
            "previous_start": before.start.isoformat(),
            "previous_end": before.end.isoformat(),
            "messages": now.messages,
            "previous_messages": prev.messages,
            "words": hotwords.rising(now, prev, limit),
            "frequent": hotwords.frequent(now, prev, limit),
        }

    def _frequencies(self, f: Filters) -> hotwords.Counts:
        """Messages holding each term in `f`'s period, and the messages; kept while its corpus is unchanged (the
        previous period's after a write inside this one), updated with the messages that changed after a write."""
        period = self.corpus(f)
        with self._guard:
            known = self._counted.get(f)
        if known is not None and known[0] is period:
            return known[1]
        if known is None:
            counted = hotwords.counts(period)
        else:  # the earlier counts, less the messages gone or changed, plus the new ones
            added, gone = corpus_mod.changes(known[0], period)
            less = hotwords.document_frequency(hotwords.terms(corpus_mod.rows(known[0], gone)))
            more = hotwords.document_frequency(hotwords.terms(corpus_mod.rows(period, added)))
            counted = known[1].updated(less, more, len(period))
        self._keep(self._counted, f, (period, counted), CORPORA_KEPT)
        return counted

    def hot_issues(self, f: Filters, limit: int = 50) -> dict:
        found = self._cached("hot_issues", self._hot_issues, f)
        return {**found, "issues": found["issues"][:limit]}

    def _hot_issues(self, f: Filters) -> dict:
        return {"start": f.start.isoformat(), "end": f.end.isoformat(), "issues": self.grouping(f).ranked()}

    def grouping(self, f: Filters) -> issues.Grouping:
        """The hot-issue grouping of `f` at the current data version: updated from the last one of `f` when the
        term weights are the same (only the blocks a write touched are grouped again), else grouped whole."""
        self._index_ahead(f)
        weights = self.weights(f)  # first: its reference read (when not kept) does not sit on the period's corpus
        period = self.corpus(f)
        with self._guard:
            previous = self._groupings.get(f)
        if weights is not None and previous is not None and previous.weights is weights:
            if previous.corpus is period:
                return previous  # nothing written since
            built = issues.update(previous, period)
        else:
            own = weights or issues.Weights.counted(len(period), issues.feature_frequency(period))
            built = issues.group(period, own)
        self._keep(self._groupings, f, built, GROUPINGS_KEPT)
        return built

    def weights(self, f: Filters) -> issues.Weights | None:
        """Term weights learnt from the REFERENCE_DAYS before `f` nationally; None when they hold too few messages.
        They are the same object while no write since touched a day of the reference (a write inside the period
        leaves it), or while what the reference's words are made of is the same (corpus.words_mark: a reply to one of
        its messages); else learnt again from the reference's corpus. That corpus is kept with the others only when
        `f`'s hot words compare `f` with the same window (a month of the whole board); else it is read a part at a
        time and let go once counted (the wall's week and fortnight: two months' messages, about 0.5 GB on a 50 M
        board, would be kept for weights that are themselves kept)."""
        period = _reference(f)
        with self._once.locks.lock(repr(("weights", period))):
            version = self.store.data_version
            with self._guard:
                known = self._weights.get(period)
            if known is not None and (known[0] == version or self._untouched(known[0], period)):
                self._keep(self._weights, period, (version, *known[1:]), GROUPINGS_KEPT)
                return known[2]
            mark = corpus_mod.words_mark(self.store, period)
            if known is not None and known[1] == mark:
                self._keep(self._weights, period, (version, *known[1:]), GROUPINGS_KEPT)
                return known[2]
            messages, counted = self._reference_frequency(period, keep=_previous(f) == period)
            learnt = issues.Weights.counted(messages, counted) if messages >= REFERENCE_MIN else None
            self._keep(self._weights, period, (version, mark, learnt), GROUPINGS_KEPT)
            return learnt

    def _index_ahead(self, f: Filters) -> None:
        """Before `f` and its reference are first read: their missing words segmented at once (corpus.index_ahead),
        when the store can keep them (a snapshot's corpora segment what they lack and keep nothing)."""
        reference = _reference(f)
        with self._guard:
            known = any(period[0] in (f, reference) for period in self._corpora)
        if known or self.store.read_only:
            return
        midnight = dt.time()
        windows = [
            (dt.datetime.combine(p.start, midnight), dt.datetime.combine(p.end, midnight) + DAY) for p in (f, reference)
        ]
        corpus_mod.index_ahead(self.store, windows)

    def _reference_frequency(self, period: Filters, keep: bool) -> tuple[int, Counter]:
        """(messages, messages holding each term of issues.features) of a reference period: counted over its corpus
        when kept already or to be kept (`keep`); else read and counted REFERENCE_PART_DAYS at a time, each part let
        go once counted (the counts of disjoint days add up)."""
        with self._guard:
            kept = (period, None, None) in self._corpora
        if keep or kept:
            reference = self.corpus(period)
            return len(reference), issues.feature_frequency(reference)
        messages, counted, start = 0, Counter(), period.start
        while start <= period.end:
            end = min(start + dt.timedelta(days=REFERENCE_PART_DAYS - 1), period.end)
            part = self.corpus(replace(period, start=start, end=end), keep=False)
            messages += len(part)
            counted.update(issues.feature_frequency(part))
            del part
            memory.give_back()  # the part's columns: the next part, and the grouping after, do not sit on them
            start = end + dt.timedelta(days=1)
        return messages, counted

    def _untouched(self, since: str, period: Filters) -> bool:
        """No write after data version `since` changed a message created in `period` (False when not known)."""
        days = self.store.changed_days(since)
        return days is not None and not any(period.start <= d <= period.end for d in days)

    def alerts(self, f: Filters) -> dict:
        return self._cached("alerts", self._alerts, f)

    def _alerts(self, f: Filters) -> dict:
        episodes = [dict(e) for e in self.surges(f, self.clock().date())]
        if episodes:
            found = self.hot_issues(f, limit=10_000)["issues"]
            period = self.corpus(f)
            names = province_ref.names()
            words = self._words_of_surges(f, period, episodes)
            series: dict[tuple, list[dict]] = {}  # the issues of each province x domain, by heat
            for issue in found:
                series.setdefault((issue["province_code"], issue["category"]), []).append(issue)
            for alert in episodes:
                alert["province"] = names.get(alert["province_code"], str(alert["province_code"]))
                alert["top_words"] = words[_surge_key(alert)]
                same = series.get((alert["province_code"], alert["category"]), [])
                alert["issue_ids"] = [i["id"] for i in same if _inside(i, alert)][:20]
        return {"start": f.start.isoformat(), "end": f.end.isoformat(), "alerts": episodes}

    def surges(self, f: Filters, today: dt.date) -> list[dict]:
        """The surge episodes of `f` (surges.detect; not to be changed). A domain's expected level rests on its
        province's other domains, so every domain is tested and `f`'s kept (one result for any domain filter);
        after a write the provinces whose counts it changed are tested again, the others' episodes kept."""
        whole = replace(f, categories=())
        daily = self.daily_counts(whole, f.start - dt.timedelta(weeks=surges.BASELINE_WEEKS), f.end)
        key = (whole, today)
        with self._guard:
            known = self._detected.get(key)
        if known is not None and known[0] is daily:
            found = known[1]
        else:
            if known is not None and daily.base is known[0]:
                provinces = {p for p, _ in daily.changed}
                counts = daily.frame[daily.frame["province"].isin(provinces)]
                kept = [e for e in known[1] if e["province_code"] not in provinces]
                found = surges.ordered(kept + _detect(counts, f.start, f.end, today))
            else:
                found = _detect(daily.frame, f.start, f.end, today)
            self._keep(self._detected, key, (daily, found), CORPORA_KEPT)
        return [e for e in found if not f.categories or e["category"] in f.categories]

    def daily_counts(self, f: Filters, start: dt.date, end: dt.date) -> _Daily:
        """Messages per day x province x city x domain of start..end (corpus.daily_counts), kept for the last few
        periods asked; after a write only the days it touched are counted again."""
        version, key = self.store.data_version, (f, start, end)
        with self._guard:
            found = self._daily.get(key)
        if found is not None and found[0] == version:
            return found[1]
        days = self.store.changed_days(found[0]) if found is not None else None
        if days is None:
            counts = _Daily(corpus_mod.daily_counts(self.store, f, start, end))
        else:
            inside = sorted(d for d in days if start <= d <= end)
            counts = found[1]
            if inside:
                first, last = inside[0], inside[-1]
                counts = _recount(counts, corpus_mod.daily_counts(self.store, f, first, last), first, last)
        self._keep(self._daily, key, (version, counts), CORPORA_KEPT)
        return counts

    def _words_of_surges(self, f: Filters, period: corpus_mod.Corpus, episodes: list[dict]) -> dict:
        """{surge: its top words}; a surge's words of the last alerts are kept when the corpus they came from is
        `period`'s base and none of the messages that changed between them is of the surge's series and days."""
        with self._guard:
            known = self._surge_words.get(f)
        kept: dict = {}
        if known is not None and known[0] is period:
            kept = known[1]
        elif known is not None and period.edit is not None and period.edit.base is known[0]:
            columns = ["province", "category", "city", "day"]
            changed = pd.concat(
                [period.frame.iloc[period.edit.added()][columns], known[0].frame.iloc[period.edit.gone()][columns]]
            )
            touched = list(changed.itertuples(index=False))
            kept = {key: words for key, words in known[1].items() if not any(_in_surge(row, key) for row in touched)}
        words = {}
        for alert in episodes:
            key = _surge_key(alert)
            words[key] = kept[key] if key in kept else self._episode_words(period, alert)
        self._keep(self._surge_words, f, (period, words), CORPORA_KEPT)
        return words

    def _episode_words(self, period: corpus_mod.Corpus, alert: dict) -> list[str]:
        # the corpus is ordered by creation: the surge's days are one run of its rows
        lo, hi = period.days(dt.date.fromisoformat(alert["start"]), dt.date.fromisoformat(alert["last_day"]))
        frame = period.frame.iloc[lo:hi]
        mask = (frame["province"] == alert["province_code"]) & (frame["category"] == alert["category"])
        if alert["city"]:
            mask &= frame["city"] == alert["city"]
        counts = hotwords.document_frequency(period.words_at(lo + mask.to_numpy().nonzero()[0]))
        return [mask_text(w, 20) for w, _ in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:TOP_WORDS]]

    def bodies(self, ids: list[str], chars: int = 200) -> dict[str, tuple[str, str]]:
        """{message id: (title, body start)} of `ids`: the text of a few members, read when shown."""
        return corpus_mod.bodies(self.store, ids, chars)

    def repeats(self, f: Filters) -> dict:
        return self._cached("repeats", self._repeats, f)

    def _repeats(self, f: Filters) -> dict:
        lookback = self.corpus(f, f.start - dt.timedelta(days=repeats.WINDOW_DAYS), f.end)
        return {"start": f.start.isoformat(), "end": f.end.isoformat(), **repeats.find(lookback, f.start, f.end)}


def _reference(f: Filters) -> Filters:
    """The period whose messages weigh the terms of `f`'s hot issues: the REFERENCE_DAYS before it, nationally."""
    return Filters(f.start - dt.timedelta(days=REFERENCE_DAYS), f.start - DAY)


def _previous(f: Filters) -> Filters:
    """The period the hot words of `f` compare it with: as long, ending the day before it, with the same filters."""
    return replace(f, start=f.start - (f.end - f.start) - DAY, end=f.start - DAY)


def _detect(counts: pd.DataFrame, start: dt.date, end: dt.date, today: dt.date) -> list[dict]:
    """surges.detect a province at a time when the counts are many (a province's series and reference volumes are its
    own, so the episodes are the same): its day matrices are then a province's, not the country's (about 0.2 GB for a
    year); a month's are tested at once (31 tests cost a tenth of a second more)."""
    if len(counts) <= DETECT_ROWS:
        return surges.detect(counts, start, end, today)
    province = counts["province"].to_numpy()
    order = np.argsort(province, kind="stable")
    found = []
    for rows in np.split(order, np.flatnonzero(np.diff(province[order])) + 1) if len(order) else []:
        found += surges.detect(counts.iloc[rows], start, end, today)
    return surges.ordered(found)


def _surge_key(alert: dict) -> tuple:
    return alert["province_code"], alert["category"], alert["city"], alert["start"], alert["last_day"]


def _in_surge(row, key: tuple) -> bool:
    """A message (province, category, city, day) is of a surge's series and days (its words come from such)."""
    province, category, city, start, last = key
    return (
        row.province == province
        and row.category == category
        and (not city or row.city == city)
        and start <= row.day.date().isoformat() <= last
    )


@dataclass
class _Daily:
    """Daily counts of a period (corpus.daily_counts); when made from `base` by counting some days again, `changed`
    holds the (province, domain) pairs whose counts differ from it."""

    frame: pd.DataFrame
    base: _Daily | None = None
    changed: frozenset = frozenset()


_COUNT_KEYS = ["day", "province", "city", "category"]


def _recount(old: _Daily, fresh: pd.DataFrame, first: dt.date, last: dt.date) -> _Daily:
    """`old` with the days first..last replaced by `fresh`, their counts read again."""
    frame = old.frame
    day = frame["day"].to_numpy().astype("datetime64[D]")
    inside = (day >= np.datetime64(first, "D")) & (day <= np.datetime64(last, "D"))
    before, after = (_by_key(part) for part in (frame[inside], fresh))
    changed = frozenset((k[1], k[3]) for k in before.keys() | after.keys() if before.get(k, 0) != after.get(k, 0))
    old.base = None  # one step is kept (as corpus.Edit)
    return _Daily(pd.concat([frame[~inside], fresh], ignore_index=True), old, changed)


def _by_key(counts: pd.DataFrame) -> dict:
    """{(day, province, city, domain): messages} of daily counts (a few days' rows)."""
    day = counts["day"].to_numpy().astype("datetime64[D]").tolist()
    keys = zip(day, *(counts[c].tolist() for c in _COUNT_KEYS[1:]), strict=True)
    return dict(zip(keys, counts["messages"].tolist(), strict=True))


def _inside(issue: dict, alert: dict) -> bool:
    """An issue explains a surge when it is of the same series and has messages during the surge."""
    return (
        issue["province_code"] == alert["province_code"]
        and issue["category"] == alert["category"]
        and (not alert["city"] or issue["city"] == alert["city"])
        and issue["first"] <= alert["last_day"]
        and issue["last"] >= alert["start"]
    )
