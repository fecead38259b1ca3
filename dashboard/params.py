"""Turn request or URL parameters into a Filters value, naming the parameter that is wrong."""

from __future__ import annotations

import datetime as dt
import re

from queries import provinces as province_ref
from queries.periods import GRANULARITIES, PRESETS, Filters, beijing_now, preset

_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
EARLIEST = dt.date(2000, 1, 1)
LATEST = dt.date(2100, 12, 31)
MAX_VALUES = 50  # values of one list parameter (province, category, msg_type)
MAX_TEXT = 40
# Longest period per trend granularity, in days: 3 years of days, 10 years of weeks, any allowed period of months.
MAX_PERIOD_DAYS = {"day": 366 * 3, "week": 7 * 522, "month": (LATEST - EARLIEST).days + 1}


class BadParameter(ValueError):
    def __init__(self, name: str, message: str):
        super().__init__(f"{name}: {message}")
        self.name = name
        self.message = message


def parse_date(name: str, raw: str) -> dt.date:
    raw = raw.strip()
    if not _DATE.match(raw):
        raise BadParameter(name, f"expected a date YYYY-MM-DD, got {raw[:30]!r}")
    try:
        day = dt.date.fromisoformat(raw)
    except ValueError:
        raise BadParameter(name, f"{raw!r} is not a calendar date") from None
    if not EARLIEST <= day <= LATEST:
        raise BadParameter(name, f"{raw} is outside {EARLIEST}..{LATEST}")
    return day


def parse_provinces(values: list[str], name: str = "province") -> tuple[int, ...]:
    """Adcodes of provinces and region groups (at most MAX_VALUES values), each once, in order."""
    if len(values) > MAX_VALUES:
        raise BadParameter(name, f"at most {MAX_VALUES} values")
    codes = []
    for raw in values:
        if raw in province_ref.REGIONS or raw in province_ref.REGIONS_EN.values():
            region = next(k for k, v in province_ref.REGIONS_EN.items() if raw in (k, v))
            codes.extend(province_ref.by_region(region))
            continue
        code = province_ref.resolve(raw)
        if code is None:
            raise BadParameter(name, f"unknown province {str(raw)[:30]!r}")
        codes.append(code)
    return tuple(dict.fromkeys(codes))


def parse_texts(name: str, values: list[str]) -> tuple[str, ...]:
    if len(values) > MAX_VALUES:
        raise BadParameter(name, f"at most {MAX_VALUES} values")
    out = []
    for raw in values:
        value = raw.strip()
        if not value or len(value) > MAX_TEXT:
            raise BadParameter(name, f"values must be 1–{MAX_TEXT} characters")
        out.append(value)
    return tuple(out)


def parse_bool(name: str, raw: str | None) -> bool:
    if raw is None or raw == "":
        return False
    lowered = raw.strip().lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off"):
        return False
    raise BadParameter(name, f"expected true or false, got {raw[:20]!r}")


def filters_from_args(args, today: dt.date | None = None) -> Filters:
    """Filters from a MultiDict-like (`get`, `getlist`): start, end or period, province, category, msg_type, urgent."""
    today = today or beijing_now().date()
    period = args.get("period")
    if period:
        if period not in PRESETS:
            raise BadParameter("period", f"expected one of {', '.join(PRESETS)}")
        start, end = preset(period, today)
    else:
        start, end = dt.date(today.year, 1, 1), today
    if args.get("start"):
        start = parse_date("start", args.get("start"))
    if args.get("end"):
        end = parse_date("end", args.get("end"))
    if start > end:
        raise BadParameter("start", f"start {start} is after end {end}")
    return Filters(
        start=start,
        end=end,
        provinces=parse_provinces(args.getlist("province")),
        categories=parse_texts("category", args.getlist("category")),
        types=parse_texts("msg_type", args.getlist("msg_type")),
        urgent_only=parse_bool("urgent", args.get("urgent")),
    )


def granularity_from_args(args, f: Filters | None = None, default: str = "day") -> str:
    """The trend's granularity; with `f`, also checks that the period is not too long for it."""
    value = args.get("granularity") or default
    if value not in GRANULARITIES:
        raise BadParameter("granularity", f"expected one of {', '.join(GRANULARITIES)}")
    if f is not None and not fits(f.start, f.end, value):
        raise BadParameter(
            "granularity", f"a {value} trend covers at most {MAX_PERIOD_DAYS[value]} days; choose a coarser one"
        )
    return value


def fits(start: dt.date, end: dt.date, granularity: str) -> bool:
    """Whether a trend of `granularity` may cover start..end (bounded response size)."""
    return (end - start).days + 1 <= MAX_PERIOD_DAYS[granularity]
