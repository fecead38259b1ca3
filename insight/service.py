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
from dataclasses import replace

import pandas as pd
from cachelib import SimpleCache

from insight import corpus as corpus_mod
from insight import hotwords, issues, repeats, surges, words_store
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
        # reference period -> (its corpus, the weights learnt from it)
        self._weights: OrderedDict[Filters, tuple[corpus_mod.Corpus, issues.Weights]] = OrderedDict()
        self._counted: OrderedDict[Filters, tuple[corpus_mod.Corpus, Counter]] = OrderedDict()  # hot words' counts
        self._once = Once(self.cache, timeout, kept_locks=1000)
        self._guard = threading.Lock()

    # -- owned state ---------------------------------------------------------------------------------------------
    @property
    def segmenter(self) -> Segmenter:
        with self._segmenter_guard:
            if self._segmenter is None:
                self._segmenter = Segmenter(place_names(), words_store.unit_names(self.store))
            return self._segmenter

    def _cached(self, name: str, compute, *args):
        return self._once.get(repr((name, self.store.data_version, args)), lambda: compute(*args))

    def corpus(self, f: Filters, start: dt.date | None = None, end: dt.date | None = None) -> corpus_mod.Corpus:
        """A period's messages with words at the current data version; the last few periods asked are kept, and a
        period asked again after a write is built from its earlier corpus (only the messages that changed are read)."""
        version, period = self.store.data_version, (f, start, end)
        with self._once.locks.lock(repr(("corpus", period))):
            with self._guard:
                found = self._corpora.get(period)
            if found is not None and found[0] == version:
                return found[1]
            report = None
            if self.progress is not None:
                label = f"{start or f.start}..{end or f.end}"

                def report(done, label=label):
                    self.progress(label, done)

            previous = found[1] if found is not None else None
            built = corpus_mod.load(self.store, lambda: self.segmenter, f, start, end, report, previous)
            with self._guard:
                self._corpora[period] = (version, built)
                self._corpora.move_to_end(period)
                while len(self._corpora) > CORPORA_KEPT:
                    self._corpora.popitem(last=False)
            return built

    # -- methods -------------------------------------------------------------------------------------------------
    def hot_words(self, f: Filters, limit: int = 20) -> dict:
        return self._cached("hot_words", self._hot_words, f, limit)

    def _hot_words(self, f: Filters, limit: int) -> dict:
        length = f.end - f.start
        before = replace(f, start=f.start - length - dt.timedelta(days=1), end=f.start - dt.timedelta(days=1))
        (now, n_now), (prev, n_before) = self._frequencies(f), self._frequencies(before)
        return {
            "start": f.start.isoformat(),
            "end": f.end.isoformat(),
            "previous_start": before.start.isoformat(),
            "previous_end": before.end.isoformat(),
            "messages": n_now,
            "previous_messages": n_before,
            "words": hotwords.rising(now, n_now, prev, n_before, limit),
            "frequent": hotwords.frequent(now, prev, limit),
        }

    def _frequencies(self, f: Filters) -> tuple[Counter, int]:
        """Messages holding each term in `f`'s period, and the messages; kept while its corpus is unchanged (the
        previous period's after a write inside this one), updated with the messages that changed after a write."""
        period = self.corpus(f)
        with self._guard:
            known = self._counted.get(f)
        if known is not None and known[0] is period:
            return known[1], len(period)
        if known is None:
            counted = hotwords.document_frequency(hotwords.terms(period))
        else:  # the earlier counts, less the messages gone or changed, plus the new ones
            added, gone = corpus_mod.changes(known[0], period)
            counted = known[1].copy()
            less = hotwords.document_frequency(hotwords.terms(corpus_mod.rows(known[0], gone)))
            more = hotwords.document_frequency(hotwords.terms(corpus_mod.rows(period, added)))
            counted.subtract(less)
            counted.update(more)
            for word in less.keys() - more.keys():
                if counted[word] <= 0:
                    del counted[word]
        with self._guard:
            self._counted[f] = (period, counted)
            self._counted.move_to_end(f)
            while len(self._counted) > CORPORA_KEPT:
                self._counted.popitem(last=False)
        return counted, len(period)

    def hot_issues(self, f: Filters, limit: int = 50) -> dict:
        found = self._cached("hot_issues", self._hot_issues, f)
        return {**found, "issues": found["issues"][:limit]}

    def _hot_issues(self, f: Filters) -> dict:
        return {"start": f.start.isoformat(), "end": f.end.isoformat(), "issues": self.grouping(f).ranked()}

    def grouping(self, f: Filters) -> issues.Grouping:
        """The hot-issue grouping of `f` at the current data version: updated from the last one of `f` when the
        term weights are the same (only the blocks a write touched are grouped again), else grouped whole."""
        period = self.corpus(f)
        weights = self.weights(f)
        with self._guard:
            previous = self._groupings.get(f)
        if weights is not None and previous is not None and previous.weights is weights:
            built = issues.update(previous, period)
        else:
            built = issues.group(period, weights or issues.Weights.learn(issues.features(period)))
        with self._guard:
            self._groupings[f] = built
            self._groupings.move_to_end(f)
            while len(self._groupings) > GROUPINGS_KEPT:
                self._groupings.popitem(last=False)
        return built

    def weights(self, f: Filters) -> issues.Weights | None:
        """Term weights learnt from the REFERENCE_DAYS before `f` nationally; None when they hold too few messages.
        The same object while the reference corpus is unchanged (a write inside the period leaves it)."""
        period = Filters(f.start - dt.timedelta(days=REFERENCE_DAYS), f.start - dt.timedelta(days=1))
        reference = self.corpus(period)
        if len(reference) < REFERENCE_MIN:
            return None
        with self._guard:
            known = self._weights.get(period)
        if known is not None and known[0] is reference:
            return known[1]
        learnt = issues.Weights.learn(issues.features(reference))
        with self._guard:
            self._weights[period] = (reference, learnt)
            self._weights.move_to_end(period)
            while len(self._weights) > GROUPINGS_KEPT:
                self._weights.popitem(last=False)
        return learnt

    def alerts(self, f: Filters) -> dict:
        return self._cached("alerts", self._alerts, f)

    def _alerts(self, f: Filters) -> dict:
        today = self.clock().date()
        counts = corpus_mod.daily_counts(self.store, f, f.start - dt.timedelta(weeks=surges.BASELINE_WEEKS), f.end)
        episodes = surges.detect(counts, f.start, f.end, today)
        if episodes:
            found = self.hot_issues(f, limit=10_000)["issues"]
            period = self.corpus(f)
            names = province_ref.names()
            for alert in episodes:
                alert["province"] = names.get(alert["province_code"], str(alert["province_code"]))
                alert["top_words"] = self._episode_words(period, alert)
                alert["issue_ids"] = [i["id"] for i in found if _inside(i, alert)][:20]
        return {"start": f.start.isoformat(), "end": f.end.isoformat(), "alerts": episodes}

    def _episode_words(self, period: corpus_mod.Corpus, alert: dict) -> list[str]:
        frame = period.frame
        mask = (
            (frame["province"] == alert["province_code"])
            & (frame["category"] == alert["category"])
            & (frame["day"] >= pd.Timestamp(alert["start"]))
            & (frame["day"] <= pd.Timestamp(alert["last_day"]))
        )
        if alert["city"]:
            mask &= frame["city"] == alert["city"]
        counts = hotwords.document_frequency(period.words[i] for i in mask.to_numpy().nonzero()[0])
        return [mask_text(w, 20) for w, _ in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:TOP_WORDS]]

    def repeats(self, f: Filters) -> dict:
        return self._cached("repeats", self._repeats, f)

    def _repeats(self, f: Filters) -> dict:
        lookback = self.corpus(f, f.start - dt.timedelta(days=repeats.WINDOW_DAYS), f.end)
        return {"start": f.start.isoformat(), "end": f.end.isoformat(), **repeats.find(lookback, f.start, f.end)}


def _inside(issue: dict, alert: dict) -> bool:
    """An issue explains a surge when it is of the same series and has messages during the surge."""
    return (
        issue["province_code"] == alert["province_code"]
        and issue["category"] == alert["category"]
        and (not alert["city"] or issue["city"] == alert["city"])
        and issue["first"] <= alert["last_day"]
        and issue["last"] >= alert["start"]
    )
