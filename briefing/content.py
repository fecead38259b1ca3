"""What a briefing says, gathered from the same cached service the JSON API answers from (so its numbers are
the API's numbers for the same filters). Pure data: no wording, no rendering."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import pandas as pd

from briefing.period import BriefPeriod
from queries import provinces as province_ref
from queries.periods import Filters

# Optional sections, filled by the insight and supervision services when the app has them:
# name -> callable(Filters) -> list of dicts shaped as the matching API endpoint's items.
SECTION_NAMES = ("hot_issues", "alerts", "units_best", "units_worst", "good_ideas")
Sections = dict[str, Callable[[Filters], list[dict]]]
SECTION_WORKERS = 3


@dataclass
class Brief:
    period: BriefPeriod
    province: int | None
    generated_at: dt.datetime
    summary: dict
    before: dict  # the summary of the period before (环比)
    provinces: pd.DataFrame  # queries.metrics.by_province, or the province's cities when one is chosen
    trend: pd.DataFrame
    categories: pd.DataFrame
    sections: dict[str, list[dict]] = field(default_factory=dict)

    @property
    def place(self) -> str:
        return province_ref.names()[self.province] if self.province else "全国"

    def pop(self, key: str):
        """环比 of a count, as the API gives it (None without a base)."""
        return self.summary.get(f"{key}_pop")


def gather(
    metrics,
    period: BriefPeriod,
    province: int | None,
    now: dt.datetime,
    sections: Sections | None = None,
    meanwhile: Callable[[Brief], object] | None = None,
) -> Brief:
    """`metrics` is queries.service.Metrics (the API's cached service). `meanwhile(brief)`, when given, is called
    with the numbers (no sections yet) while the sections are computed: the charts, which show only numbers, are
    drawn then (a Chromium start and its drawing, seconds) instead of after the slow sections."""
    provinces = (province,) if province else ()
    f = Filters(period.start, period.end, provinces=provinces)
    before = f.before
    granularity = "day" if period.days <= 92 else "week"
    wanted = {name: compute for name, compute in (sections or {}).items() if name in SECTION_NAMES}
    summary = metrics.summary(f)  # first: a scoped service refuses a province the reader may not see
    # text analysis (jieba, in Python) and the league (SQL, which releases the GIL) overlap on two cores
    with ThreadPoolExecutor(max_workers=SECTION_WORKERS) as pool:
        running = {name: pool.submit(compute, f) for name, compute in wanted.items()}
        numbers = Brief(
            period=period,
            province=province,
            generated_at=now,
            summary=summary,
            before=metrics.summary(before),
            provinces=metrics.by_city(f) if province else metrics.by_province(f),
            trend=metrics.trend(f, granularity),
            categories=metrics.by_category(f),
        )
        if meanwhile is not None:
            meanwhile(numbers)
        numbers.sections = {name: list(future.result()) for name, future in running.items()}
    return numbers
