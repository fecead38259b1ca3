"""The analyst page's whole state, held in the URL's query string (no data access).

    /analyst?period=quarter&province=河南&category=城建&drill=河南
    /analyst?start=2021-01-01&end=2021-06-30&compare=province&province=河南&b_province=四川&lang=en

Filters use the JSON API's parameter names and meaning (dashboard/params.py
parses them), so a view and `/api/v1/...?<same parameters>` show the same
numbers. The page adds: `lang`, `granularity`, `metric` (map metric), `drill`
(a province), `compare=period|province` with `b_period` / `b_start` / `b_end`
(the second period) or `b_province` (the second area).

`parse` never raises: every invalid value is dropped and reported as a
Problem (parameter, value, reason) that the page shows as a message.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass, field, replace
from urllib.parse import parse_qsl, urlencode

from werkzeug.datastructures import MultiDict

from dashboard import figures, i18n
from dashboard.params import (
    MAX_TEXT,
    MAX_VALUES,
    BadParameter,
    filters_from_args,
    fits,
    parse_bool,
    parse_date,
)
from queries import provinces as province_ref
from queries.periods import GRANULARITIES, Filters, preset, year_earlier

# The presets the page offers, in order (the API also knows "year", a rolling year, accepted in links).
PERIODS = ("today", "week", "month", "quarter", "h1", "ytd", "last30", "last12m")
ALL_PERIODS = PERIODS + ("year",)
DEFAULT_PERIOD = "ytd"
DEFAULT_METRIC = "messages_per_10k"
COMPARE_MODES = ("period", "province")
REGIONS = province_ref.REGIONS
KNOWN_PARAMS = {
    "lang",
    "period",
    "start",
    "end",
    "province",
    "category",
    "msg_type",
    "urgent",
    "granularity",
    "metric",
    "drill",
    "compare",
    "b_period",
    "b_start",
    "b_end",
    "b_province",
    "tab",
}
TABS = ("supervision", "hot")  # views chosen by `tab=`; overview, drill and compare follow from drill/compare
SHOW_VALUE = 40
MAX_FIELDS = 500  # query fields of a link that are read (the rest are reported)
MAX_SEARCH = 20_000  # characters of a link's query string that are read


@dataclass(frozen=True)
class Problem:
    parameter: str
    value: str
    reason: str  # a key of labels.REASONS


@dataclass(frozen=True)
class State:
    lang: str = i18n.DEFAULT_LANG
    period: str = DEFAULT_PERIOD  # a preset, or "custom" with start/end
    start: str | None = None  # ISO dates, custom periods only
    end: str | None = None
    provinces: tuple[str, ...] = ()  # canonical: short province names and region names
    categories: tuple[str, ...] = ()
    types: tuple[str, ...] = ()
    urgent: bool = False
    granularity: str | None = None  # None: chosen from the period's length
    metric: str = DEFAULT_METRIC
    drill: int | None = None  # adcode of the drilled-down province
    compare: str | None = None  # None, "period" or "province"
    b_period: str | None = None  # None: same dates a year earlier; a preset; or "custom"
    b_start: str | None = None
    b_end: str | None = None
    b_provinces: tuple[str, ...] = field(default=())
    tab: str | None = None  # "supervision" (督办), "hot" (热点) or None

    # -- views -----------------------------------------------------------------------------------------------------
    @property
    def view(self) -> str:
        if self.tab in TABS:
            return self.tab
        if self.compare:
            return "compare"
        return "drill" if self.drill else "overview"

    def to_dict(self) -> dict:
        out = asdict(self)
        for key in ("provinces", "categories", "types", "b_provinces"):
            out[key] = list(out[key])
        return out

    @classmethod
    def from_dict(cls, data) -> State:
        """The state in the page's STATE store. The browser sends it back with every callback, so each
        field is checked as a link's parameter would be; an invalid one takes its default."""
        if not isinstance(data, dict):
            return cls()

        def choice(key: str, allowed, default=None):
            value = data.get(key)
            return value if isinstance(value, str) and value in allowed else default

        period, start, end = _stored_period(data, "period", "start", "end", DEFAULT_PERIOD)
        b_period, b_start, b_end = _stored_period(data, "b_period", "b_start", "b_end", None)
        drill = data.get("drill")
        return cls(
            lang=choice("lang", i18n.LANGS, i18n.DEFAULT_LANG),
            period=period,
            start=start,
            end=end,
            provinces=_stored_list(data.get("provinces"), canonical_area),
            categories=_stored_list(data.get("categories"), _short_text),
            types=_stored_list(data.get("types"), _short_text),
            urgent=data.get("urgent") is True,
            granularity=choice("granularity", GRANULARITIES),
            metric=choice("metric", figures.MAP_METRICS, DEFAULT_METRIC),
            drill=drill if isinstance(drill, int) and drill in province_ref.names() else None,
            compare=choice("compare", COMPARE_MODES),
            b_period=b_period,
            b_start=b_start,
            b_end=b_end,
            b_provinces=_stored_list(data.get("b_provinces"), canonical_area),
            tab=choice("tab", TABS),
        )


def _short_text(value: str) -> str | None:
    value = value.strip()
    return value if 0 < len(value) <= MAX_TEXT else None


def _stored_list(values, check) -> tuple[str, ...]:
    """Up to MAX_VALUES distinct valid texts of a stored list (anything but a list of texts: empty)."""
    if not isinstance(values, list):
        return ()
    out: list[str] = []
    for value in values[:MAX_VALUES]:
        value = check(value) if isinstance(value, str) else None
        if value and value not in out:
            out.append(value)
    return tuple(out)


def _stored_date(value) -> str | None:
    if not isinstance(value, str):
        return None
    try:
        return parse_date("date", value).isoformat()
    except BadParameter:
        return None


def _stored_period(data: dict, name: str, start_name: str, end_name: str, default):
    period = data.get(name)
    if period == "custom":
        start, end = _stored_date(data.get(start_name)), _stored_date(data.get(end_name))
        if start and end and start <= end:
            return "custom", start, end
        return default, None, None
    return (period if isinstance(period, str) and period in ALL_PERIODS else default), None, None


# -- periods -------------------------------------------------------------------------------------------------------
def period_dates(state: State, today: dt.date) -> tuple[dt.date, dt.date]:
    if state.period == "custom" and state.start and state.end:
        return dt.date.fromisoformat(state.start), dt.date.fromisoformat(state.end)
    return preset(state.period if state.period in ALL_PERIODS else DEFAULT_PERIOD, today)


def b_period_dates(state: State, today: dt.date) -> tuple[dt.date, dt.date]:
    """The second period of a period comparison (default: the same dates a year earlier)."""
    if state.b_period == "custom" and state.b_start and state.b_end:
        return dt.date.fromisoformat(state.b_start), dt.date.fromisoformat(state.b_end)
    if state.b_period in ALL_PERIODS:
        return preset(state.b_period, today)
    start, end = period_dates(state, today)
    return year_earlier(start), year_earlier(end)


def granularity(state: State, today: dt.date) -> str:
    """The chosen granularity, made coarser when the period is too long for it (as the API bounds it)."""
    start, end = period_dates(state, today)
    if state.granularity in GRANULARITIES:
        choices = GRANULARITIES[GRANULARITIES.index(state.granularity) :]
        return next((g for g in choices if fits(start, end, g)), GRANULARITIES[-1])
    days = (end - start).days + 1
    return "day" if days <= 92 else "week" if days <= 200 else "month"


# -- the API's parameters ----------------------------------------------------------------------------------------
def api_params(
    state: State, today: dt.date, *, side: str = "a", provinces: tuple[str, ...] | None = None
) -> list[tuple[str, str]]:
    """The JSON API query of this view's filters (side "b": the comparison's second side)."""
    if side == "b" and state.compare == "period":
        start, end = b_period_dates(state, today)
    else:
        start, end = period_dates(state, today)
    params = [("start", start.isoformat()), ("end", end.isoformat())]
    if provinces is None:
        provinces = state.b_provinces if side == "b" and state.compare == "province" else state.provinces
    params += [("province", p) for p in provinces]
    params += [("category", c) for c in state.categories]
    params += [("msg_type", t) for t in state.types]
    if state.urgent:
        params.append(("urgent", "true"))
    return params


def filters(state: State, today: dt.date, *, side: str = "a") -> Filters:
    """The metric Filters of this view, parsed exactly as the JSON API parses the same parameters."""
    return filters_from_args(MultiDict(api_params(state, today, side=side)), today)


def drill_filters(state: State, today: dt.date) -> Filters:
    return filters_from_args(MultiDict(api_params(state, today, provinces=(str(state.drill),))), today)


# -- URL <-> state -------------------------------------------------------------------------------------------------
def to_search(state: State) -> str:
    """Canonical query string of a state ('' for the default view)."""
    q: list[tuple[str, str]] = []
    if state.lang != i18n.DEFAULT_LANG:
        q.append(("lang", state.lang))
    if state.period == "custom" and state.start and state.end:
        q += [("start", state.start), ("end", state.end)]
    elif state.period != DEFAULT_PERIOD:
        q.append(("period", state.period))
    q += [("province", p) for p in state.provinces]
    q += [("category", c) for c in state.categories]
    q += [("msg_type", t) for t in state.types]
    if state.urgent:
        q.append(("urgent", "1"))
    if state.granularity:
        q.append(("granularity", state.granularity))
    if state.metric != DEFAULT_METRIC:
        q.append(("metric", state.metric))
    if state.tab in TABS:
        q.append(("tab", state.tab))
    if state.drill and not state.compare:
        q.append(("drill", province_ref.names()[state.drill]))
    if state.compare:
        q.append(("compare", state.compare))
        if state.compare == "period":
            if state.b_period == "custom" and state.b_start and state.b_end:
                q += [("b_start", state.b_start), ("b_end", state.b_end)]
            elif state.b_period:
                q.append(("b_period", state.b_period))
        else:
            q += [("b_province", p) for p in state.b_provinces]
    return "?" + urlencode(q) if q else ""


def canonical_area(value: str) -> str | None:
    """A province (any spelling) as its short name, a region (zh or en) as its Chinese name; None if unknown."""
    raw = str(value).strip()
    for zh, en in province_ref.REGIONS_EN.items():
        if raw in (zh, en) or raw.lower() == en.lower():
            return zh
    code = province_ref.resolve(raw)
    return province_ref.names()[code] if code else None


def _show(value: str) -> str:
    value = " ".join(str(value).split())
    return value if len(value) <= SHOW_VALUE else value[: SHOW_VALUE - 1] + "…"


def parse(search: str | None, today: dt.date, known: dict[str, list[str]] | None = None) -> tuple[State, list[Problem]]:
    """State of a query string; invalid values are dropped and reported (never raises).

    `known` lists the domains and types present in the data ({"category": [...],
    "msg_type": [...]}); values outside it are reported as unknown.
    """
    problems: list[Problem] = []

    def bad(name: str, value, why: str) -> None:
        problems.append(Problem(name, _show(value), why))

    search = search if isinstance(search, str) else ""
    fields = search[:MAX_SEARCH].lstrip("?").split("&")
    if len(search) > MAX_SEARCH or len(fields) > MAX_FIELDS:
        # the first fields are read; parse_qsl's own bound raises instead
        bad("?", f"{len(fields)}", "too_many")
    pairs = parse_qsl("&".join(fields[:MAX_FIELDS]), keep_blank_values=True)
    args = MultiDict(pairs)

    for name in dict.fromkeys(k for k, _ in pairs):
        if name not in KNOWN_PARAMS:
            bad(name, args.get(name, ""), "unknown")

    def first(name: str) -> str | None:
        value = args.get(name)
        return value.strip() if isinstance(value, str) and value.strip() else None

    lang = first("lang")
    if lang is not None and lang not in i18n.LANGS:
        bad("lang", lang, "choice")
    lang = i18n.lang_or_default(lang)

    period, start, end = _period(first, "period", "start", "end", bad, DEFAULT_PERIOD, today)
    b_period, b_start, b_end = _period(first, "b_period", "b_start", "b_end", bad, None, today)

    provinces = _areas(args.getlist("province"), "province", bad)
    b_provinces = _areas(args.getlist("b_province"), "b_province", bad)
    categories = _texts(args.getlist("category"), "category", bad, (known or {}).get("category"))
    types = _texts(args.getlist("msg_type"), "msg_type", bad, (known or {}).get("msg_type"))

    urgent = False
    if first("urgent") is not None:
        try:
            urgent = parse_bool("urgent", first("urgent"))
        except BadParameter:
            bad("urgent", first("urgent"), "bool")

    gran = first("granularity")
    if gran is not None and gran not in GRANULARITIES:
        bad("granularity", gran, "choice")
        gran = None

    metric = first("metric") or DEFAULT_METRIC
    if metric not in figures.MAP_METRICS:
        bad("metric", metric, "choice")
        metric = DEFAULT_METRIC

    drill = None
    if first("drill") is not None:
        drill = province_ref.resolve(first("drill"))
        if drill is None:
            bad("drill", first("drill"), "province")

    compare = first("compare")
    if compare is not None and compare not in COMPARE_MODES:
        bad("compare", compare, "choice")
        compare = None

    tab = first("tab")
    if tab is not None and tab not in TABS:
        bad("tab", tab, "choice")
        tab = None
    if tab:
        compare = drill = None

    state = State(
        lang=lang,
        period=period,
        start=start,
        end=end,
        provinces=provinces,
        categories=categories,
        types=types,
        urgent=urgent,
        granularity=gran,
        metric=metric,
        drill=None if compare else drill,
        compare=compare,
        tab=tab,
        b_period=b_period,
        b_start=b_start,
        b_end=b_end,
        b_provinces=b_provinces,
    )
    return state, problems


def _period(first, name: str, start_name: str, end_name: str, bad, default, today: dt.date):
    """(period, start, end) from a preset name and/or explicit dates, reporting invalid values."""
    period = first(name)
    if period is not None and period not in ALL_PERIODS and period != "custom":
        bad(name, period, "period")
        period = None
    dates = {}
    for key in (start_name, end_name):
        raw = first(key)
        if raw is None:
            continue
        try:
            dates[key] = parse_date(key, raw)
        except BadParameter:
            bad(key, raw, "date")
    if not dates:
        return (period if period not in (None, "custom") else default), None, None
    # Explicit dates make a custom period; a missing side comes from the preset (as the API does).
    base = period if period in ALL_PERIODS else (default or DEFAULT_PERIOD)
    low, high = preset(base, today)
    start, end = dates.get(start_name, low), dates.get(end_name, high)
    if start > end:
        culprit = start_name if start_name in dates else end_name
        bad(culprit, first(culprit), "order")
        return (period if period in ALL_PERIODS else default), None, None
    return "custom", start.isoformat(), end.isoformat()


def _areas(values: list[str], name: str, bad) -> tuple[str, ...]:
    out: list[str] = []
    for raw in values[:MAX_VALUES]:
        if not raw.strip():
            continue
        area = canonical_area(raw)
        if area is None:
            bad(name, raw, "province")
        elif area not in out:
            out.append(area)
    if len(values) > MAX_VALUES:
        bad(name, f"{len(values)}", "too_many")
    return tuple(out)


def _texts(values: list[str], name: str, bad, known: list[str] | None) -> tuple[str, ...]:
    out: list[str] = []
    for raw in values[:MAX_VALUES]:
        value = raw.strip()
        if not value:
            continue
        if len(value) > MAX_TEXT:
            bad(name, raw, "text")
        elif known is not None and value not in known:
            bad(name, raw, name)
        elif value not in out:
            out.append(value)
    if len(values) > MAX_VALUES:
        bad(name, f"{len(values)}", "too_many")
    return tuple(out)


def with_changes(state: State, **changes) -> State:
    return replace(state, **changes)
