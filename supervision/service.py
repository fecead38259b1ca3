"""Cached supervision results, keyed on the data version like every other metric (queries/service.py)."""

from __future__ import annotations

import datetime as dt

import pandas as pd

from queries.periods import Filters
from queries.service import Metrics
from settings import Settings
from supervision import aging, dissatisfaction, features, ideas, league, quality, unit_page
from supervision.common import province_names


def _quality(store, f: Filters) -> dict:
    flag_frame = quality.flags(store, f)
    by_province = quality.shares(flag_frame, "province")
    by_province.insert(1, "province_name", province_names(by_province["province"]))
    return {
        "totals": quality.totals(flag_frame),
        "units": quality.shares(flag_frame.dropna(subset=["unit"]), "unit"),
        "provinces": by_province,
        "top_texts": quality.top_texts(store, flag_frame),
    }


class Supervision:
    """The supervision screens' and API's results, one computation per data version and question."""

    def __init__(self, metrics: Metrics, settings: Settings):
        self.metrics = metrics
        self.settings = settings
        features.upgrade(metrics.store)  # before any answer is cached (it moves the data version)

    def now(self) -> dt.datetime:
        """The app's clock to the minute (ages are whole days; a cached answer serves the minute)."""
        return self.settings.now().replace(second=0)

    def league(self, f: Filters, min_rated: int | None = None) -> pd.DataFrame:
        min_rated = self.settings.min_rated if min_rated is None else int(min_rated)
        return self.metrics.cached("sv_league", league.league, f, int(self.settings.on_time_days), min_rated)

    def quality(self, f: Filters) -> dict:
        return self.metrics.cached("sv_quality", _quality, f)

    def aging(self, f: Filters, limit: int = 50) -> dict:
        return self.metrics.cached("sv_aging", aging.report, f, self.now(), limit)

    def dissatisfaction(self, f: Filters, limit: int = 200) -> dict:
        return self.metrics.cached("sv_dissatisfaction", dissatisfaction.report, f, self.now(), limit)

    def ideas(self, f: Filters, limit: int = 20) -> dict:
        return self.metrics.cached("sv_ideas", ideas.report, f, limit)

    def unit(self, f: Filters, unit: str, province: int) -> dict:
        return self.metrics.cached("sv_unit", unit_page.detail, f, unit, int(province), int(self.settings.on_time_days))
