"""The analyst's KPI cards: value, unit, YoY and 环比 of each metric, in the catalog's order (queries/catalog.py)."""

from __future__ import annotations

from dash import html

from dashboard import i18n
from dashboard.analyst import ids
from dashboard.analyst import labels as L
from queries import catalog
from queries import metrics as metric_fns


def _kpi(name: str) -> tuple[str, str, str, str | None]:
    fmt, change, unit = catalog.shown(name)
    return (name, fmt, change, f"unit_{unit}" if unit else None)


# KPI cards: (name, number format, kind of change, unit label key), in the catalog's order
KPI_CARDS = [_kpi(name) for name in catalog.ANALYST_KPIS]


def _change(summary: dict, other: dict, name: str, kind: str, change_kind: str, suffix: str, lang: str):
    """(change, text) of a KPI against the other period (`suffix` _yoy or _pop names the API's growth field)."""
    value, before = summary.get(name), other.get(name)
    if change_kind == "yoy":
        if f"{name}{suffix}" in summary:
            change = summary[f"{name}{suffix}"]
        else:
            change = None if value is None or before is None else metric_fns.yoy(value, before)
        return change, L.fmt_yoy(change)
    change = None if value is None or before is None else value - before
    return change, (L.fmt_pp(change, lang) if change_kind == "pp" else L.fmt_hours_diff(change, lang))


def kpi_cards(prefix: str, summary: dict, previous: dict, lang: str, before: dict | None = None) -> list:
    """The KPI cards with YoY (against `previous`, the summary a year earlier) and 环比 (against `before`)."""
    census = int(summary["census_year"])
    cards = []
    for name, kind, change_kind, unit_key in KPI_CARDS:
        value = summary.get(name)
        unit = i18n.t(unit_key, lang) if unit_key else ""
        number = [html.Span(L.fmt(kind, value), id=ids.kpi_value(prefix, name), className="akpi-value")]
        if unit:
            number.append(html.Span(unit, className="akpi-unit"))
        tip = L.definition(name, lang, census) + " " + L.definition("yoy", lang)
        rows = []
        others = [("yoy", previous, "_yoy", ids.kpi_yoy(prefix, name), "vs_last_year")]
        if before is not None:
            others.append(("pop", before, "_pop", ids.kpi_pop(prefix, name), "vs_before"))
            tip += " " + L.definition("pop", lang)
        for short, other, suffix, element_id, versus in others:
            change, text = _change(summary, other, name, kind, change_kind, suffix, lang)
            direction = "" if change is None else "up" if change > 0 else "down" if change < 0 else ""
            rows.append(
                html.Div(
                    className="akpi-yoy-row",
                    children=[
                        html.Span(L.t(f"{short}_short", lang), className="akpi-yoy-label"),
                        html.Span(text, id=element_id, className=f"akpi-yoy {direction}".strip()),
                        html.Span(L.t(versus, lang, value=L.fmt(kind, other.get(name))), className="akpi-prev"),
                    ],
                )
            )
        cards.append(
            html.Div(
                className="akpi",
                children=[
                    html.Div(
                        className="akpi-label",
                        children=[
                            html.Span(L.metric_name(name, lang)),
                            html.Span("i", className="tip", tabIndex=0, **{"data-tip": tip, "aria-label": tip}),
                        ],
                    ),
                    html.Div(number, className="akpi-number"),
                    *rows,
                ],
            )
        )
    return cards
