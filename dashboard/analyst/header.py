"""The analyst page's frame: the period label, which view is shown, the footer, the briefing links, the
failure message and the copy-link button."""

from __future__ import annotations

import datetime as dt
from urllib.parse import urlencode

from dash import Dash, Input, Output, State, clientside_callback, html

from dashboard import i18n
from dashboard.analyst import ids
from dashboard.analyst import labels as L
from dashboard.analyst import state as S
from dashboard.analyst.panels import error_output, guard
from queries import provinces as province_ref
from queries.service import Metrics
from settings import Settings


def area_label(provinces: tuple[str, ...], lang: str) -> str:
    if not provinces:
        return L.t("national", lang)
    names = province_ref.names(lang)
    out = []
    for value in provinces:
        if value in province_ref.REGIONS:
            out.append(province_ref.REGIONS_EN[value] if lang == "en" else f"{value}地区")
        else:
            out.append(names[province_ref.resolve(value)])
    return ("、" if lang != "en" else ", ").join(out)


def brief_hrefs(state: S.State, today: dt.date, path: str) -> tuple[str, str]:
    """The briefing of the view's period: national, or the province drilled into or the only one chosen."""
    start, end = S.period_dates(state, today)
    single = province_ref.resolve(state.provinces[0]) if len(state.provinces) == 1 else None  # not a region
    province = state.drill or single
    query = [("period", f"{start.isoformat()}:{end.isoformat()}")] + ([("province", str(province))] if province else [])
    return tuple(f"{path}?{urlencode([*query, ('format', fmt)])}" for fmt in ("pdf", "docx"))


def period_label(state: S.State, today: dt.date, *, side: str = "a") -> str:
    lang = state.lang
    if side == "b":
        start, end = S.b_period_dates(state, today)
        name = L.t("b_same_last_year", lang) if not state.b_period else L.period_name(state.b_period, lang)
    else:
        start, end = S.period_dates(state, today)
        name = L.period_name(state.period, lang)
    return L.t("period_label", lang, name=name, range=i18n.range_text(start, end, lang))


# the page's views (state.view) and the compare modes' controls: shown one at a time
VIEWS = {
    "overview": ids.OVERVIEW,
    "drill": ids.DRILL,
    "compare": ids.COMPARE,
    "supervision": ids.SUPERVISION,
    "hot": ids.HOT,
}
COMPARE_BOXES = {"period": ids.B_PERIOD_BOX, "province": ids.B_PROVINCES_BOX}


def frame(state: S.State, today: dt.date, version) -> list:
    """The period label, each view's style, the footer and each compare box's style."""
    f = S.filters(state, today)
    lang = state.lang
    prev = f.previous
    label = [
        html.Span(period_label(state, today), className="period-main"),
        html.Span(f"{L.t('yoy_short', lang)} {i18n.range_text(prev.start, prev.end, lang)}", className="period-prev"),
    ]
    census = province_ref.census_year(f.end)
    footer = L.t("footer", lang, census=L.census_name(census, lang), version=version)
    mode = state.compare or "period"
    return [
        label,
        *[_shown(view == state.view) for view in VIEWS],
        footer,
        *[_shown(box == mode) for box in COMPARE_BOXES],
    ]


def _shown(show: bool) -> dict:
    return {} if show else {"display": "none"}


def register(app: Dash, metrics: Metrics, settings: Settings) -> None:
    @app.callback(
        Output(ids.PERIOD_LABEL, "children"),
        *[Output(view_id, "style") for view_id in VIEWS.values()],
        Output(ids.FOOTER, "children"),
        *[Output(box_id, "style") for box_id in COMPARE_BOXES.values()],
        error_output(),
        Input(ids.STATE, "data"),
        prevent_initial_call=True,
    )
    @guard("header")
    def header(data):
        return frame(S.State.from_dict(data), settings.now().date(), metrics.data_version)

    @app.callback(
        Output(ids.BRIEF_PDF, "href"),
        Output(ids.BRIEF_DOCX, "href"),
        error_output(),
        Input(ids.STATE, "data"),
        prevent_initial_call=True,
    )
    @guard("brief_links")
    def brief_links(data):
        return brief_hrefs(S.State.from_dict(data), settings.now().date(), app.get_relative_path("/api/v1/brief"))

    @app.callback(Output(ids.ERROR_TEXT, "children"), Input(ids.ERROR, "data"), State(ids.STATE, "data"))
    def error_text(errors, data):
        if not isinstance(errors, dict) or not any(errors.values()):
            return ""
        return L.t("error", S.State.from_dict(data).lang)

    clientside_callback(
        "function (n, label) { return window.liuyanAnalyst ? window.liuyanAnalyst.copy(n, label) : label; }",
        Output(ids.COPY, "children"),
        Input(ids.COPY, "n_clicks"),
        State(ids.COPY, "children"),
        prevent_initial_call=True,
    )
