"""Briefing periods: the last complete week, month or quarter before today, or explicit dates; and the period
before it for 环比 (the previous week, calendar month or quarter; for explicit dates, the same number of days
ending the day before the start)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

KINDS = ("week", "month", "quarter")
MAX_DAYS = 366


@dataclass(frozen=True)
class BriefPeriod:
    kind: str  # week, month, quarter or custom
    start: dt.date
    end: dt.date
    before_start: dt.date
    before_end: dt.date

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1


def resolve(spec: str, today: dt.date) -> BriefPeriod:
    """`week`, `month`, `quarter` (the last complete one before today) or `START:END` (YYYY-MM-DD, inclusive)."""
    spec = (spec or "").strip()
    if spec == "week":
        end = today - dt.timedelta(days=today.weekday() + 1)
        start = end - dt.timedelta(days=6)
        return BriefPeriod("week", start, end, start - dt.timedelta(days=7), start - dt.timedelta(days=1))
    if spec == "month":
        end = today.replace(day=1) - dt.timedelta(days=1)
        start = end.replace(day=1)
        before_end = start - dt.timedelta(days=1)
        return BriefPeriod("month", start, end, before_end.replace(day=1), before_end)
    if spec == "quarter":
        first_of_this = dt.date(today.year, 3 * ((today.month - 1) // 3) + 1, 1)
        end = first_of_this - dt.timedelta(days=1)
        start = _quarter_start(end)
        before_end = start - dt.timedelta(days=1)
        return BriefPeriod("quarter", start, end, _quarter_start(before_end), before_end)
    first, sep, last = spec.partition(":")
    try:
        start, end = dt.date.fromisoformat(first), dt.date.fromisoformat(last)
    except ValueError:
        raise ValueError(f"period {spec!r}: expected week, month, quarter or START:END (YYYY-MM-DD)") from None
    if not sep or start > end:
        raise ValueError(f"period {spec!r}: START must not be after END")
    if (end - start).days + 1 > MAX_DAYS:
        raise ValueError(f"period {spec!r}: at most {MAX_DAYS} days")
    length = end - start
    before_end = start - dt.timedelta(days=1)
    return BriefPeriod("custom", start, end, before_end - length, before_end)


def _quarter_start(day: dt.date) -> dt.date:
    return dt.date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)
