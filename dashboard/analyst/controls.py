"""The analyst page's controls and its state (a pure reducer, no data access): the state after a control
changed (`apply_control`), and every control's value for a state (`controls`).

Values arrive as the browser sent them (any JSON): a value of the wrong shape changes nothing.
"""

from __future__ import annotations

import datetime as dt

from dashboard import figures, i18n
from dashboard.analyst import labels as L
from dashboard.analyst import state as S
from dashboard.params import MAX_TEXT, MAX_VALUES, BadParameter, parse_date
from queries import provinces as province_ref

# the controls whose value is a list (checked by _values); every other value is a text or nothing (_one)
MULTI_VALUED = ("provinces", "categories", "types", "urgent", "b_provinces")


def _date(value) -> dt.date | None:
    """A date from a date picker, None unless the API would accept it."""
    if not value:
        return None
    try:
        return parse_date("date", str(value)[:10])
    except BadParameter:
        return None


def _values(value) -> list:
    """A multi-select's value as sent by the browser: a list of texts and numbers (anything else: empty)."""
    if not isinstance(value, list):
        return []
    return [v for v in value[:MAX_VALUES] if isinstance(v, (str, int, float)) and not isinstance(v, bool)]


def _one(value) -> str | None:
    """A single control value: a text (numbers as text), else None."""
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        return None
    return str(value)


def _object(value) -> dict:
    return value if isinstance(value, dict) else {}


def _areas(values) -> tuple[str, ...]:
    out = []
    for value in _values(values):
        area = S.canonical_area(value)
        if area and area not in out:
            out.append(area)
    return tuple(out)


def _texts(values, known: list[str] | None) -> tuple[str, ...]:
    out = []
    for value in _values(values):
        value = str(value).strip()
        if value and len(value) <= MAX_TEXT and (known is None or value in known) and value not in out:
            out.append(value)
    return tuple(out)


def apply_control(prev: S.State, trigger: str, v: dict, today: dt.date, known: dict | None) -> S.State:
    """The state after the user changed control `trigger` (v: every control's current value, as the browser
    sent it: any JSON; a value of the wrong shape changes nothing)."""
    change: dict = {}
    v = {key: value if key in MULTI_VALUED or key in ("map_click", "cell") else _one(value) for key, value in v.items()}
    if trigger == "reset":
        return S.State(lang=prev.lang)
    if trigger == "period":
        change = _period_change(
            v["period"], v["d_start"], v["d_end"], lambda: S.period_dates(prev, today), ("period", "start", "end")
        )
    elif trigger in ("d_start", "d_end"):
        change = _custom_range(v["d_start"], v["d_end"], ("period", "start", "end"))
    elif trigger == "provinces":
        change = {"provinces": _areas(v["provinces"])}
    elif trigger == "categories":
        change = {"categories": _texts(v["categories"], (known or {}).get("category"))}
    elif trigger == "types":
        change = {"types": _texts(v["types"], (known or {}).get("msg_type"))}
    elif trigger == "urgent":
        change = {"urgent": bool(v["urgent"])}
    elif trigger == "tab":
        if v["tab"] in S.TABS:
            change = {"tab": v["tab"], "compare": None, "drill": None}
        elif v["tab"] == "overview":
            change = {"compare": None, "drill": None, "tab": None}
        else:
            change = {"compare": prev.compare or "period", "drill": None, "tab": None}
    elif trigger == "metric" and v["metric"] in figures.MAP_METRICS:
        change = {"metric": v["metric"]}
    elif trigger == "granularity" and v["granularity"] in ("day", "week", "month"):
        change = {"granularity": v["granularity"]}
    elif trigger == "map_click":
        points = _object(v["map_click"]).get("points")
        code = _clicked_province(points if isinstance(points, list) else [])
        if code:
            change = {"drill": code, "compare": None, "tab": None}
    elif trigger == "cell":
        cell = _object(v["cell"])
        code = province_ref.resolve(_one(cell.get("rowId")))
        if code and cell.get("colId") in ("province", "rank", "adcode"):
            change = {"drill": code, "compare": None, "tab": None}
    elif trigger == "back":
        change = {"drill": None}
    elif trigger == "drill_select":
        code = province_ref.resolve(v["drill_select"])
        if code and prev.drill:
            change = {"drill": code}
    elif trigger == "mode" and v["mode"] in S.COMPARE_MODES and prev.compare:
        change = {"compare": v["mode"]}
    elif trigger == "b_period":
        keys = ("b_period", "b_start", "b_end")
        if v["b_period"] == "last_year":
            change = dict.fromkeys(keys)
        else:
            change = _period_change(
                v["b_period"], v["b_start"], v["b_end"], lambda: S.b_period_dates(prev, today), keys
            )
    elif trigger in ("b_start", "b_end"):
        change = _custom_range(v["b_start"], v["b_end"], ("b_period", "b_start", "b_end"))
    elif trigger == "b_provinces":
        change = {"b_provinces": _areas(v["b_provinces"])}
    return S.with_changes(prev, **change) if change else prev


def _custom_range(raw_start, raw_end, keys: tuple[str, str, str]) -> dict:
    """A custom period from two date pickers, or no change while the range is incomplete or reversed."""
    start, end = _date(raw_start), _date(raw_end)
    if start and end and start <= end:
        return dict(zip(keys, ("custom", start.isoformat(), end.isoformat()), strict=True))
    return {}


def _period_change(choice, raw_start, raw_end, current_dates, keys: tuple[str, str, str]) -> dict:
    """A preset, or "custom" starting from the pickers (else from the dates shown now)."""
    if choice == "custom":
        change = _custom_range(raw_start, raw_end, keys)
        if not change:
            start, end = current_dates()
            change = dict(zip(keys, ("custom", start.isoformat(), end.isoformat()), strict=True))
        return change
    if choice in S.ALL_PERIODS:
        return dict(zip(keys, (choice, None, None), strict=True))
    return {}


def _clicked_province(points: list) -> int | None:
    for point in points[:MAX_VALUES]:
        code = province_ref.resolve(_one(_object(point).get("location")))
        if code:
            return code
    return None


def controls(state: S.State, today: dt.date, known: dict | None) -> dict:
    """Every control's value for a state."""
    start, end = S.period_dates(state, today)
    b_start, b_end = S.b_period_dates(state, today)
    lang = state.lang
    known = known or {"category": [], "msg_type": []}
    # The dropdown's search indexes every substring of each option's value: a value longer than a filter
    # accepts (MAX_TEXT) could not be chosen anyway, and a 10,000-character one froze the page for minutes.
    categories = [c for c in dict.fromkeys([*known.get("category", []), *state.categories]) if len(c) <= MAX_TEXT]
    types = [t for t in dict.fromkeys([*known.get("msg_type", []), *state.types]) if len(t) <= MAX_TEXT]
    return {
        "period": state.period,
        "d_start": start.isoformat(),
        "d_end": end.isoformat(),
        "provinces": list(state.provinces),
        "category_options": [{"label": L.short(i18n.category(c, lang)), "value": c} for c in categories],
        "categories": list(state.categories),
        "type_options": [{"label": L.short(i18n.msg_type(t, lang)), "value": t} for t in types],
        "types": list(state.types),
        "urgent": ["urgent"] if state.urgent else [],
        "tab": state.tab if state.tab in S.TABS else "compare" if state.compare else "overview",
        "metric": state.metric,
        "granularity": S.granularity(state, today),
        "map_click": None,
        "cell": None,
        "drill_select": state.drill,
        "mode": state.compare or "period",
        "b_period": state.b_period or "last_year",
        "b_start": b_start.isoformat(),
        "b_end": b_end.isoformat(),
        "b_provinces": list(state.b_provinces),
    }
