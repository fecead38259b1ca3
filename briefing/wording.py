"""How numbers read in a briefing: Chinese phrases for counts, rates, changes and dates (no raw field names)."""

from __future__ import annotations

import datetime as dt
import math

from briefing.period import BriefPeriod

KIND_NAMES = {"week": "本周报", "month": "月报", "quarter": "季报", "custom": "专题简报"}


def missing(value) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def count(value) -> str:
    return "—" if missing(value) else f"{int(value):,}"


def percent(value, digits: int = 1) -> str:
    return "—" if missing(value) else f"{value * 100:.{digits}f}%"


def hours(value) -> str:
    if missing(value):
        return "—"
    return f"{value:.1f} 小时" if value < 72 else f"{value / 24:.1f} 天"


def change(value, kind: str = "同比") -> str:
    """同比增长 3.2% / 环比下降 1.1% / 同比持平; 'no base' when the earlier value was 0."""
    if missing(value):
        return f"{kind}无可比数据"
    if abs(value) < 0.0005:
        return f"{kind}持平"
    return f"{kind}{'增长' if value > 0 else '下降'} {abs(value) * 100:.1f}%"


def points(now, before, kind: str = "环比") -> str:
    """A rate's change in percentage points."""
    if missing(now) or missing(before):
        return f"{kind}无可比数据"
    diff = (now - before) * 100
    if abs(diff) < 0.05:
        return f"{kind}持平"
    return f"{kind}{'上升' if diff > 0 else '下降'} {abs(diff):.1f} 个百分点"


def day(value: dt.date) -> str:
    return f"{value.year}年{value.month}月{value.day}日"


def span(start: dt.date, end: dt.date) -> str:
    if start == end:
        return day(start)
    if start.year == end.year:
        return f"{day(start)}至{end.month}月{end.day}日"
    return f"{day(start)}至{day(end)}"


def before_name(period: BriefPeriod) -> str:
    return {"week": "上周", "month": "上月", "quarter": "上季度"}.get(period.kind, "上一周期")
