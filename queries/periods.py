"""Periods and filters: inclusive Beijing calendar dates, and the same dates a year earlier."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace
from zoneinfo import ZoneInfo

BEIJING = ZoneInfo("Asia/Shanghai")
GRANULARITIES = ("day", "week", "month")


def beijing_now() -> dt.datetime:
    """Current Beijing wall-clock time, naive (as stored)."""
    return dt.datetime.now(BEIJING).replace(tzinfo=None, microsecond=0)


def year_earlier(day: dt.date) -> dt.date:
    """Same calendar date one year earlier; 29 February maps to 28 February."""
    if day.month == 2 and day.day == 29:
        return dt.date(day.year - 1, 2, 28)
    return day.replace(year=day.year - 1)


@dataclass(frozen=True)
class Filters:
    """A period (inclusive dates) and the message filters; empty tuples mean all."""

    start: dt.date
    end: dt.date
    provinces: tuple[int, ...] = ()
    categories: tuple[str, ...] = ()
    types: tuple[str, ...] = ()
    urgent_only: bool = False

    def __post_init__(self):
        if self.start > self.end:
            raise ValueError("start is after end")
        # Canonical order so equal filters share one cache entry.
        object.__setattr__(self, "provinces", tuple(sorted({int(p) for p in self.provinces})))
        object.__setattr__(self, "categories", tuple(sorted({str(c) for c in self.categories})))
        object.__setattr__(self, "types", tuple(sorted({str(t) for t in self.types})))
        object.__setattr__(self, "urgent_only", bool(self.urgent_only))

    @property
    def previous(self) -> Filters:
        """The same calendar dates a year earlier (YoY)."""
        return replace(self, start=year_earlier(self.start), end=year_earlier(self.end))

    @property
    def before(self) -> Filters:
        """The period before (环比): the previous calendar month, quarter or year when the period is a whole one,
        else the days of the same number ending the day before start."""
        start, end = period_before(self.start, self.end)
        return replace(self, start=start, end=end)

    def params(self) -> dict:
        """Bound parameters shared by the metric queries (half-open timestamp bounds)."""
        prev, before = self.previous, self.before
        return {
            "start": _midnight(self.start),
            "stop": _midnight(self.end + dt.timedelta(days=1)),
            "prev_start": _midnight(prev.start),
            "prev_stop": _midnight(prev.end + dt.timedelta(days=1)),
            "before_start": _midnight(before.start),
            "before_stop": _midnight(before.end + dt.timedelta(days=1)),
            "provinces": list(self.provinces),
            "categories": list(self.categories),
            "types": list(self.types),
            "urgent_only": self.urgent_only,
        }

    def message_filter(self) -> dict:
        return {k: v for k, v in self.params().items() if k in ("provinces", "categories", "types", "urgent_only")}


def _month_start(months: int) -> dt.date:
    """The first day of month number `months` (year * 12 + month - 1)."""
    return dt.date(months // 12, months % 12 + 1, 1)


def period_before(start: dt.date, end: dt.date) -> tuple[dt.date, dt.date]:
    """The 环比 period of [start, end]: a whole calendar year, quarter or month gives the previous one (years
    first: a whole year is also four whole quarters); any other period the same number of days just before."""
    months = start.year * 12 + start.month - 1
    after = end + dt.timedelta(days=1)
    span = (after.year * 12 + after.month - 1) - months
    if start.day == 1 and after.day == 1:
        if span == 12 and start.month == 1:
            return dt.date(start.year - 1, 1, 1), dt.date(start.year - 1, 12, 31)
        if span in (1, 3) and (span == 1 or start.month % 3 == 1):
            return _month_start(months - span), start - dt.timedelta(days=1)
    length = (end - start).days + 1
    return start - dt.timedelta(days=length), start - dt.timedelta(days=1)


def _midnight(day: dt.date) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day)


def preset(name: str, today: dt.date) -> tuple[dt.date, dt.date]:
    """Named periods used by the screens (all end today unless complete)."""
    if name == "today":
        return today, today
    if name == "week":
        return today - dt.timedelta(days=today.weekday()), today
    if name == "month":
        return today.replace(day=1), today
    if name == "quarter":
        return dt.date(today.year, 3 * ((today.month - 1) // 3) + 1, 1), today
    if name == "ytd":
        return dt.date(today.year, 1, 1), today
    if name == "year":  # rolling year: the last 365/366 days up to today
        return year_earlier(today) + dt.timedelta(days=1), today
    if name == "h1":
        return dt.date(today.year, 1, 1), min(today, dt.date(today.year, 6, 30))
    if name == "last30":
        return today - dt.timedelta(days=29), today
    if name == "last12m":
        first = dt.date(today.year - 1, today.month, 1)
        return (first.replace(month=first.month + 1) if first.month < 12 else dt.date(today.year, 1, 1)), today
    raise ValueError(f"unknown period {name!r}")


PRESETS = ("today", "week", "month", "quarter", "h1", "ytd", "year", "last30", "last12m")
