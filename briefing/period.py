"""Briefing periods: the last complete week, month or quarter before today, or explicit dates. The period before
it (环比) is the metrics' own (`queries.periods.Filters.before`)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from queries.periods import period_before

KINDS = ("week", "month", "quarter")
MAX_DAYS = 366


@dataclass(frozen=True)
class BriefPeriod:
    kind: str  # week, month, quarter or custom
    start: dt.date
    end: dt.date

    @property
    def before(self) -> tuple[dt.date, dt.date]:
        return period_before(self.start, self.end)

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1


def resolve(spec: str, today: dt.date) -> BriefPeriod:
    """`week`, `month`, `quarter` (the last complete one before today) or `START:END` (YYYY-MM-DD, inclusive)."""
    spec = (spec or "").strip()
    if spec == "week":
        end = today - dt.timedelta(days=today.weekday() + 1)
        start = end - dt.timedelta(days=6)
        return BriefPeriod("week", start, end)
    if spec == "month":
        end = today.replace(day=1) - dt.timedelta(days=1)
        return BriefPeriod("month", end.replace(day=1), end)
    if spec == "quarter":
        first_of_this = dt.date(today.year, 3 * ((today.month - 1) // 3) + 1, 1)
        end = first_of_this - dt.timedelta(days=1)
        return BriefPeriod("quarter", dt.date(end.year, end.month - 2, 1), end)
    first, sep, last = spec.partition(":")
    try:
        start, end = dt.date.fromisoformat(first), dt.date.fromisoformat(last)
    except ValueError:
        raise ValueError(f"period {spec!r}: expected week, month, quarter or START:END (YYYY-MM-DD)") from None
    if not sep or start > end:
        raise ValueError(f"period {spec!r}: START must not be after END")
    if (end - start).days + 1 > MAX_DAYS:
        raise ValueError(f"period {spec!r}: at most {MAX_DAYS} days")
    return BriefPeriod("custom", start, end)
