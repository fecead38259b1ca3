"""The analyst workspace's behaviour: URL <-> filters, panels, drill-down, compare, downloads.

One callback (`sync`) keeps the URL, the filter controls and the STATE store in
step: a new URL (first load, a pasted link, back/forward) sets the controls;
a changed control writes a new URL (a history entry). Every panel is drawn
from STATE alone, through the cached metric service (queries/service.py), so
a link reproduces the view and the numbers are the JSON API's for the same
parameters (dashboard/analyst/state.api_params).

A panel that fails keeps its last picture and shows a short message (never a
trace); invalid link parameters are dropped and named in a message.
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
from urllib.parse import urlencode

import plotly.graph_objects as go
from dash import ALL, Dash, Input, Output, Patch, State, callback_context, clientside_callback, html, no_update
from dash.exceptions import PreventUpdate

from dashboard import figures, geo, i18n
from dashboard.analyst import controls as C
from dashboard.analyst import export, ids, layout, tables
from dashboard.analyst import labels as L
from dashboard.analyst import messages as message_list
from dashboard.analyst import state as S
from dashboard.theme import WALL as THEME
from queries import catalog
from queries import drill as drill_queries
from queries import metrics as metric_fns
from queries import provinces as province_ref
from queries.service import Metrics
from settings import Settings

log = logging.getLogger(__name__)

PANEL_BG = "#0b1d3f"  # assets/analyst.css --panel (figures export as PNG on this background)
TOP_UNITS = 20
SLOW_UNITS = 20
SLOW_MIN_ANSWERED = 10
OVERDUE_ROWS = 50
CATEGORY_BARS = 10

# (name, format, kind of year-on-year change) of the KPI cards, in order.
# KPI cards: (name, number format, kind of change, unit label key), in the catalog's order (queries/catalog.py).
_OTHER_KPIS = {
    "median_reply_hours": ("hours", "hours", "unit_hours"),
    "messages_per_10k": ("per10k", "yoy", None),
    "replies_per_10k": ("per10k", "yoy", None),
    "new_units": ("int", "yoy", "unit_units"),
    "new_leaders": ("int", "yoy", "unit_people"),
}


def _kpi(name: str) -> tuple[str, str, str, str | None]:
    if name in catalog.COUNT:
        count = catalog.COUNT[name]
        return (name, count.fmt, "yoy", f"unit_{count.unit}" if count.unit else None)
    if name in catalog.RATE:
        return (name, catalog.RATE[name].fmt, "pp", None)
    return (name, *_OTHER_KPIS[name])


KPI_CARDS = [_kpi(name) for name in catalog.ANALYST_KPIS]

# sync: (key, component id, property) of its outputs, in order.
SYNC_OUTPUTS = [
    ("search", ids.URL, "search"),
    ("state", ids.STATE, "data"),
    ("problems", ids.PROBLEMS, "children"),
    ("lang_href", ids.LANG_LINK, "href"),
    ("period", ids.PERIOD, "value"),
    ("d_start", ids.DATES, "start_date"),
    ("d_end", ids.DATES, "end_date"),
    ("provinces", ids.PROVINCES, "value"),
    ("category_options", ids.CATEGORIES, "options"),
    ("categories", ids.CATEGORIES, "value"),
    ("type_options", ids.TYPES, "options"),
    ("types", ids.TYPES, "value"),
    ("urgent", ids.URGENT, "value"),
    ("tab", ids.TABS, "value"),
    ("metric", ids.METRIC, "value"),
    ("granularity", ids.GRANULARITY, "value"),
    ("map_click", ids.MAP, "clickData"),
    ("cell", ids.grid("ranking"), "cellClicked"),
    ("drill_select", ids.DRILL_SELECT, "value"),
    ("mode", ids.COMPARE_MODE, "value"),
    ("b_period", ids.B_PERIOD, "value"),
    ("b_start", ids.B_DATES, "start_date"),
    ("b_end", ids.B_DATES, "end_date"),
    ("b_provinces", ids.B_PROVINCES, "value"),
]
SYNC_INPUTS = [
    ("search", ids.URL, "search"),
    ("period", ids.PERIOD, "value"),
    ("d_start", ids.DATES, "start_date"),
    ("d_end", ids.DATES, "end_date"),
    ("provinces", ids.PROVINCES, "value"),
    ("categories", ids.CATEGORIES, "value"),
    ("types", ids.TYPES, "value"),
    ("urgent", ids.URGENT, "value"),
    ("reset", ids.RESET, "n_clicks"),
    ("tab", ids.TABS, "value"),
    ("metric", ids.METRIC, "value"),
    ("granularity", ids.GRANULARITY, "value"),
    ("map_click", ids.MAP, "clickData"),
    ("cell", ids.grid("ranking"), "cellClicked"),
    ("back", ids.BACK, "n_clicks"),
    ("drill_select", ids.DRILL_SELECT, "value"),
    ("mode", ids.COMPARE_MODE, "value"),
    ("b_period", ids.B_PERIOD, "value"),
    ("b_start", ids.B_DATES, "start_date"),
    ("b_end", ids.B_DATES, "end_date"),
    ("b_provinces", ids.B_PROVINCES, "value"),
]


def problems_message(problems: list[S.Problem], lang: str):
    if not problems:
        return []
    sep = "：" if lang != "en" else ": "
    items = [html.Li([html.Code(p.parameter), f" = “{p.value}”{sep}{L.reason(p.reason, lang)}"]) for p in problems]
    return [html.Strong(L.t("bad_param", lang)), html.Ul(items)]


def lang_href(state: S.State, pathname: str = "") -> str:
    other = S.with_changes(state, lang="en" if state.lang != "en" else "zh")
    return (pathname or "") + (S.to_search(other) or "?")


# -- figures -----------------------------------------------------------------------------------------------------------
def finish(spec):
    """The page's background behind a figure (also in its PNG download)."""
    fig = spec if isinstance(spec, go.Figure) else go.Figure(spec)
    fig.update_layout(paper_bgcolor=PANEL_BG)
    return fig


def trend_figure(points, lang: str, granularity: str, start: dt.date, end: dt.date):
    fig = go.Figure(figures.trend(points, THEME, lang, granularity))
    n = len(points)
    years = start.year != end.year
    if granularity == "month":
        if n > 14:
            fig.update_xaxes(dtick="M3" if n <= 40 else "M12", tickformat="%Y-%m")
        elif years:
            fig.update_xaxes(tickformat="%Y-%m")
    elif n > 12:
        fig.layout.xaxis.dtick = None
        fig.update_xaxes(nticks=10, tickformat="%Y-%m-%d" if years else ("%d %b" if lang == "en" else "%-m/%-d"))
    fig.update_layout(margin=dict(l=8, r=12, t=34, b=8))
    return finish(fig)


def map_figure(provinces, metric: str, lang: str, subtitle: str):
    url = layout.geojson_url()
    fig = figures.china_map(provinces, metric, THEME, lang, url, subtitle=subtitle)
    return finish(fig)


# -- KPI cards --------------------------------------------------------------------------------------------------------
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


# -- labels -----------------------------------------------------------------------------------------------------------
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


# -- registration --------------------------------------------------------------------------------------------------
def _guard(name: str):
    """Run a panel callback; on failure keep the panel, log, and report the failure in the ERROR store."""

    def wrap(fn):
        @functools.wraps(fn)
        def run(*args):
            errors = Patch()
            try:
                result = fn(*args)
            except PreventUpdate:
                raise
            except Exception:
                log.exception("analyst panel %s failed", name)
                errors[name] = True
                n = len(callback_context.outputs_list) - 1
                return [no_update] * n + [errors]
            errors[name] = None
            return list(result) + [errors]

        return run

    return wrap


def register(app: Dash, metrics: Metrics, settings: Settings, more_tables=None) -> None:
    """`more_tables(name, state)`: the tables of other tabs, for their downloads (the 督办 and 热点 tabs')."""
    geo.register(app.server)
    message_list.register(app, metrics, settings)
    overdue_days = int(settings.overdue_days)
    error_output = Output(ids.ERROR, "data", allow_duplicate=True)

    def known_values() -> dict | None:
        try:
            return metrics.dimension_values()
        except Exception:
            log.exception("analyst: domain and type lists unavailable")
            return None

    # -- tables: one builder for the grids and their downloads ----------------------------------------------------
    def build_table(name: str, state: S.State) -> tables.Table:
        """The table `name` as the view `state` shows it (PreventUpdate: the view has no such table)."""
        today = settings.now().date()
        lang = state.lang
        if state.view == "overview" and name in ("ranking", "cross"):
            f = S.filters(state, today)
            if name == "ranking":
                return tables.ranking(metrics.by_province(f), state.metric, lang)
            return tables.cross(metrics.cross(f), lang)
        if state.view == "drill" and name in ("cities", "top_units", "slow_units", "overdue"):
            f = S.drill_filters(state, today)
            if name == "cities":
                return tables.cities(metrics.by_city(f), lang)
            if name == "overdue":
                now = settings.now().replace(second=0)
                return tables.overdue(metrics.overdue(f, now, overdue_days, OVERDUE_ROWS), lang, overdue_days)
            units = metrics.units(f, overdue_days)
            chosen = (
                drill_queries.top_units(units, TOP_UNITS)
                if name == "top_units"
                else drill_queries.slowest_units(units, SLOW_UNITS, SLOW_MIN_ANSWERED)
            )
            return tables.units(chosen, name, lang, overdue_days)
        if state.view == "compare" and name in ("compare_metrics", "compare_categories"):
            fa, fb = S.filters(state, today), S.filters(state, today, side="b")
            if name == "compare_categories":
                return tables.compare_categories(metrics.by_category(fa), metrics.by_category(fb), lang)
            a, b = metrics.summary(fa), metrics.summary(fb)
            return tables.compare_metrics(a, b, lang, int(a["census_year"]), int(b["census_year"]))
        if more_tables is not None:
            return more_tables(name, state)
        raise PreventUpdate

    # -- URL <-> controls <-> STATE -------------------------------------------------------------------------------
    @app.callback(
        [Output(c, p) for _, c, p in SYNC_OUTPUTS],
        [Input(c, p) for _, c, p in SYNC_INPUTS],
        State(ids.STATE, "data"),
        State(ids.URL, "pathname"),
    )
    def sync(*args):
        try:
            return _sync(*args)
        except Exception:
            # inputs no control sends (a crafted request): keep the page, say so in its own words
            log.exception("analyst sync failed")
            out = {key: no_update for key, _, _ in SYNC_OUTPUTS}
            out["problems"] = [html.Strong(L.t("error", i18n.DEFAULT_LANG))]
            return [out[key] for key, _, _ in SYNC_OUTPUTS]

    def _sync(*args):
        values = dict(zip([k for k, _, _ in SYNC_INPUTS], args[: len(SYNC_INPUTS)], strict=True))
        current, pathname = args[len(SYNC_INPUTS) :]
        pathname = pathname if isinstance(pathname, str) else ""
        values["search"] = values["search"] if isinstance(values["search"], str) else ""
        today = settings.now().date()
        known = known_values()
        trigger = _trigger_key()
        out = {key: no_update for key, _, _ in SYNC_OUTPUTS}
        if trigger in (None, "search"):
            state, problems = S.parse(values["search"], today, known)
            out.update(C.controls(state, today, known))
            out["problems"] = problems_message(problems, state.lang)
        else:
            prev = S.State.from_dict(current)
            state = C.apply_control(prev, trigger, values, today, known)
            new_controls = C.controls(state, today, known)
            for key in (
                "period",
                "d_start",
                "d_end",
                "granularity",
                "map_click",
                "cell",
                "tab",
                "drill_select",
                "mode",
                "b_period",
                "b_start",
                "b_end",
            ):
                out[key] = new_controls[key]
            if trigger in ("reset",):
                out.update(new_controls)
            search = S.to_search(state)
            if search != (values["search"] or ""):
                out["search"] = search or "?"
            out["problems"] = []
        out["state"] = state.to_dict()
        out["lang_href"] = lang_href(state, pathname or "")
        return [out[key] for key, _, _ in SYNC_OUTPUTS]

    # -- header, views, footer ------------------------------------------------------------------------------------
    @app.callback(
        Output(ids.PERIOD_LABEL, "children"),
        Output(ids.OVERVIEW, "style"),
        Output(ids.DRILL, "style"),
        Output(ids.COMPARE, "style"),
        Output(ids.SUPERVISION, "style"),
        Output(ids.HOT, "style"),
        Output(ids.FOOTER, "children"),
        Output(ids.B_PERIOD_BOX, "style"),
        Output(ids.B_PROVINCES_BOX, "style"),
        error_output,
        Input(ids.STATE, "data"),
        prevent_initial_call=True,
    )
    @_guard("header")
    def header(data):
        state = S.State.from_dict(data)
        today = settings.now().date()
        f = S.filters(state, today)
        lang = state.lang
        prev = f.previous
        label = [
            html.Span(period_label(state, today), className="period-main"),
            html.Span(
                f"{L.t('yoy_short', lang)} {i18n.range_text(prev.start, prev.end, lang)}", className="period-prev"
            ),
        ]
        show, hide = {}, {"display": "none"}
        view = state.view
        census = province_ref.census_year(f.end)
        footer = L.t("footer", lang, census=L.census_name(census, lang), version=metrics.data_version)
        mode = state.compare or "period"
        return (
            label,
            show if view == "overview" else hide,
            show if view == "drill" else hide,
            show if view == "compare" else hide,
            show if view == "supervision" else hide,
            show if view == "hot" else hide,
            footer,
            show if mode == "period" else hide,
            show if mode == "province" else hide,
        )

    @app.callback(
        Output(ids.BRIEF_PDF, "href"),
        Output(ids.BRIEF_DOCX, "href"),
        error_output,
        Input(ids.STATE, "data"),
        prevent_initial_call=True,
    )
    @_guard("brief_links")
    def brief_links(data):
        return brief_hrefs(S.State.from_dict(data), settings.now().date(), app.get_relative_path("/api/v1/brief"))

    @app.callback(Output(f"{ids.ERROR}-text", "children"), Input(ids.ERROR, "data"), State(ids.STATE, "data"))
    def error_text(errors, data):
        if not isinstance(errors, dict) or not any(errors.values()):
            return ""
        return L.t("error", S.State.from_dict(data).lang)

    # -- overview ---------------------------------------------------------------------------------------------------
    @app.callback(Output(ids.KPIS, "children"), error_output, Input(ids.STATE, "data"), prevent_initial_call=True)
    @_guard("kpis")
    def overview_kpis(data):
        state = S.State.from_dict(data)
        if state.view != "overview":
            raise PreventUpdate
        f = S.filters(state, settings.now().date())
        before = metrics.summary(f.before)
        return (kpi_cards(ids.KPIS, metrics.summary(f), metrics.summary(f.previous), state.lang, before),)

    @app.callback(
        Output(ids.MAP, "figure"),
        Output(ids.grid("ranking"), "columnDefs"),
        Output(ids.grid("ranking"), "rowData"),
        error_output,
        Input(ids.STATE, "data"),
        prevent_initial_call=True,
    )
    @_guard("map")
    def overview_map(data):
        state = S.State.from_dict(data)
        if state.view != "overview":
            raise PreventUpdate
        today = settings.now().date()
        f = S.filters(state, today)
        lang = state.lang
        provinces = metrics.by_province(f)
        census = int(provinces["census_year"].iloc[0]) if len(provinces) else province_ref.census_year(f.end)
        subtitle = f"{L.period_name(state.period, lang)} · {i18n.t('census', lang, year=census)}"
        table = build_table("ranking", state)
        return map_figure(provinces, state.metric, lang, subtitle), tables.column_defs(table), table.rows

    @app.callback(Output(ids.TREND, "figure"), error_output, Input(ids.STATE, "data"), prevent_initial_call=True)
    @_guard("trend")
    def overview_trend(data):
        state = S.State.from_dict(data)
        if state.view != "overview":
            raise PreventUpdate
        today = settings.now().date()
        f = S.filters(state, today)
        granularity = S.granularity(state, today)
        return (trend_figure(metrics.trend(f, granularity), state.lang, granularity, f.start, f.end),)

    @app.callback(
        Output(ids.CATEGORY_FIG, "figure"),
        Output(ids.TYPE_FIG, "figure"),
        Output(ids.grid("cross"), "columnDefs"),
        Output(ids.grid("cross"), "rowData"),
        error_output,
        Input(ids.STATE, "data"),
        prevent_initial_call=True,
    )
    @_guard("breakdown")
    def overview_breakdown(data):
        state = S.State.from_dict(data)
        if state.view != "overview":
            raise PreventUpdate
        f = S.filters(state, settings.now().date())
        lang = state.lang
        table = build_table("cross", state)
        return (
            finish(figures.categories(metrics.by_category(f), THEME, lang, top=CATEGORY_BARS)),
            finish(figures.types(metrics.by_type(f), THEME, lang)),
            tables.column_defs(table),
            table.rows,
        )

    # -- drill-down (four callbacks, so that the parts arrive as they are ready) ------------------------------------
    def drill_state(data):
        state = S.State.from_dict(data)
        if state.view != "drill":
            raise PreventUpdate
        return state, S.drill_filters(state, settings.now().date())

    @app.callback(
        Output(ids.DRILL_TITLE, "children"),
        Output(ids.DRILL_KPIS, "children"),
        error_output,
        Input(ids.STATE, "data"),
        prevent_initial_call=True,
    )
    @_guard("drill_kpis")
    def drill_kpis(data):
        state, f = drill_state(data)
        name = province_ref.names(state.lang)[state.drill]
        return (
            L.t("drill_title", state.lang, name=name),
            kpi_cards(
                ids.DRILL_KPIS, metrics.summary(f), metrics.summary(f.previous), state.lang, metrics.summary(f.before)
            ),
        )

    @app.callback(
        Output(ids.DRILL_TREND, "figure"),
        Output(ids.DRILL_CATEGORY_FIG, "figure"),
        *tables.grid_outputs("cities"),
        error_output,
        Input(ids.STATE, "data"),
        prevent_initial_call=True,
    )
    @_guard("drill_charts")
    def drill_charts(data):
        state, f = drill_state(data)
        lang = state.lang
        granularity = S.granularity(state, settings.now().date())
        trend = trend_figure(metrics.trend(f, granularity), lang, granularity, f.start, f.end)
        cats = finish(figures.categories(metrics.by_category(f), THEME, lang, top=CATEGORY_BARS))
        cities = build_table("cities", state)
        return trend, cats, tables.column_defs(cities), cities.rows

    @app.callback(
        Output("analyst-slow-note", "children"),
        *tables.grid_outputs("top_units", "slow_units"),
        error_output,
        Input(ids.STATE, "data"),
        prevent_initial_call=True,
    )
    @_guard("drill_units")
    def drill_units(data):
        state, f = drill_state(data)
        lang = state.lang
        top, slow = build_table("top_units", state), build_table("slow_units", state)
        return (
            L.t("slow_units_note", lang, n=SLOW_MIN_ANSWERED),
            tables.column_defs(top),
            top.rows,
            tables.column_defs(slow),
            slow.rows,
        )

    @app.callback(
        Output(ids.OVERDUE_NOTE, "children"),
        *tables.grid_outputs("overdue"),
        error_output,
        Input(ids.STATE, "data"),
        prevent_initial_call=True,
    )
    @_guard("drill_overdue")
    def drill_overdue(data):
        state, f = drill_state(data)
        lang = state.lang
        now = settings.now().replace(second=0)
        table = build_table("overdue", state)
        count = metrics.overdue_count(f, now, overdue_days)
        note = L.t("overdue_note", lang, days=overdue_days, count=f"{count:,}", shown=len(table.rows))
        return note, tables.column_defs(table), table.rows

    # -- compare ------------------------------------------------------------------------------------------------------
    @app.callback(
        Output(ids.COMPARE_LABELS, "children"),
        Output("analyst-compare-title-a", "children"),
        Output("analyst-compare-title-b", "children"),
        *[
            Output(ids.grid(name), prop)
            for name in ("compare_metrics", "compare_categories")
            for prop in ("columnDefs", "rowData")
        ],
        Output(ids.COMPARE_FIG_A, "figure"),
        Output(ids.COMPARE_FIG_B, "figure"),
        error_output,
        Input(ids.STATE, "data"),
        prevent_initial_call=True,
    )
    @_guard("compare")
    def compare_view(data):
        state = S.State.from_dict(data)
        if state.view != "compare":
            raise PreventUpdate
        today = settings.now().date()
        lang = state.lang
        fa, fb = S.filters(state, today), S.filters(state, today, side="b")
        if state.compare == "period":
            area = area_label(state.provinces, lang)
            label_a = f"{period_label(state, today)} · {area}"
            label_b = f"{period_label(state, today, side='b')} · {area}"
        else:
            period = period_label(state, today)
            label_a = f"{area_label(state.provinces, lang)} · {period}"
            label_b = f"{area_label(state.b_provinces, lang)} · {period}"
        metric_table = build_table("compare_metrics", state)
        cats_a, cats_b = metrics.by_category(fa), metrics.by_category(fb)
        category_table = build_table("compare_categories", state)
        labels = [
            html.Div([html.B(L.t("side_a", lang)), html.Span(label_a)], className="side side-a"),
            html.Div([html.B(L.t("side_b", lang)), html.Span(label_b)], className="side side-b"),
        ]
        return (
            labels,
            f"{L.t('side_a', lang)} · {label_a}",
            f"{L.t('side_b', lang)} · {label_b}",
            tables.column_defs(metric_table),
            metric_table.rows,
            tables.column_defs(category_table),
            category_table.rows,
            finish(figures.categories(cats_a, THEME, lang, top=CATEGORY_BARS)),
            finish(figures.categories(cats_b, THEME, lang, top=CATEGORY_BARS)),
        )

    # -- downloads ----------------------------------------------------------------------------------------------
    # The browser names only the table, the format and the grid's sort (read from the grid); the rows are
    # the server's, from the same query as the table on screen (never rows or columns sent by the client).
    clientside_callback(
        f"""function (clicks) {{
            const ctx = window.dash_clientside.callback_context;
            const target = ctx.triggered_id;
            if (!target || !ctx.triggered.length || !ctx.triggered[0].value) {{
                return window.dash_clientside.no_update;
            }}
            let sort = [];
            try {{
                const state = dash_ag_grid.getApi({{type: "{ids.GRID}", table: target.table}}).getColumnState();
                sort = state.filter(c => c.sort).sort((a, b) => (a.sortIndex || 0) - (b.sortIndex || 0))
                    .map(c => [c.colId, c.sort]);
            }} catch (e) {{}}
            return {{table: target.table, fmt: target.fmt, sort: sort, at: Date.now()}};
        }}""",
        Output(ids.EXPORT_REQUEST, "data"),
        Input({"type": ids.EXPORT, "table": ALL, "fmt": ALL}, "n_clicks"),
        prevent_initial_call=True,
    )

    @app.callback(
        Output(ids.DOWNLOAD, "data"),
        Input(ids.EXPORT_REQUEST, "data"),
        State(ids.STATE, "data"),
        prevent_initial_call=True,
    )
    def download(wanted, data):
        choice = export.request_of(wanted)
        if choice is None:
            raise PreventUpdate
        name, fmt, sort = choice
        state = S.State.from_dict(data)
        try:
            table = build_table(name, state)
            return export.download(table, fmt, sort, state, settings.now().date())
        except PreventUpdate:
            raise
        except Exception:
            log.exception("analyst download failed")
            raise PreventUpdate from None

    clientside_callback(
        "function (n, label) { return window.liuyanAnalyst ? window.liuyanAnalyst.copy(n, label) : label; }",
        Output(ids.COPY, "children"),
        Input(ids.COPY, "n_clicks"),
        State(ids.COPY, "children"),
        prevent_initial_call=True,
    )


def _trigger_key() -> str | None:
    """The SYNC_INPUTS key of the input that fired the sync callback (None on the first call)."""
    triggered = callback_context.triggered
    if not triggered or triggered[0].get("prop_id", ".") == ".":
        return None
    component = callback_context.triggered_id
    prop = triggered[0]["prop_id"].rsplit(".", 1)[-1]
    for key, cid, cprop in SYNC_INPUTS:
        if cid == component and cprop == prop:
            return key
    return None
