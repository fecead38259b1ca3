"""The analyst workspace's layout (route /analyst): filters, overview, drill-down, compare. Never touches data.

Every number, figure and table arrives from dashboard/analyst/callbacks.py,
driven by the state in the URL (dashboard/analyst/state.py). Labels are
Chinese unless the URL says `lang=en` (switching language reloads the page).
"""

from __future__ import annotations

import datetime as dt

import dash_ag_grid as dag
from dash import dcc, html

from dashboard import figures, geo
from dashboard.analyst import ids
from dashboard.analyst import labels as L
from dashboard.analyst import state as S
from dashboard.analyst.hot import body as hot_body
from dashboard.analyst.messages import body as message_body
from dashboard.params import EARLIEST
from dashboard.theme import WALL as THEME
from queries import provinces as province_ref
from settings import Settings

GRAPH_CONFIG = {
    "displaylogo": False,
    "displayModeBar": True,
    "responsive": True,
    "scrollZoom": False,
    "doubleClick": False,
    "modeBarButtons": [["toImage"]],
}
# AG Grid: the Quartz theme in the page's colours, compact, local fonts.
GRID_THEME = {
    "function": (
        "themeQuartz.withParams({backgroundColor: '#0b1d3f', foregroundColor: '#e6f4ff', accentColor: '#00e5ff', "
        "headerBackgroundColor: '#0f2a57', headerTextColor: '#cfe8ff', oddRowBackgroundColor: '#0d2248', "
        "borderColor: 'rgba(120, 180, 255, 0.22)', chromeBackgroundColor: '#0f2a57', browserColorScheme: 'dark', "
        "fontFamily: 'Noto Sans CJK SC, Noto Sans SC, Microsoft YaHei, sans-serif', fontSize: 13, "
        "headerFontSize: 13, spacing: 5, rowHeight: 30, headerHeight: 34, wrapperBorderRadius: 4})"
    )
}
LOCALE_ZH = {
    "contains": "包含",
    "notContains": "不包含",
    "equals": "等于",
    "notEqual": "不等于",
    "startsWith": "开头是",
    "endsWith": "结尾是",
    "blank": "为空",
    "notBlank": "不为空",
    "lessThan": "小于",
    "greaterThan": "大于",
    "lessThanOrEqual": "小于等于",
    "greaterThanOrEqual": "大于等于",
    "inRange": "介于",
    "inRangeStart": "从",
    "inRangeEnd": "到",
    "filterOoo": "筛选…",
    "andCondition": "且",
    "orCondition": "或",
    "noRowsToShow": "暂无数据",
    "loadingOoo": "加载中…",
    "applyFilter": "应用",
    "resetFilter": "重置",
    "clearFilter": "清除",
    "sortAscending": "升序",
    "sortDescending": "降序",
    "sortUnSort": "取消排序",
    "columnFilter": "列筛选",
    "pinColumn": "固定列",
    "autosizeThisColumn": "自动列宽",
    "autosizeAllColumns": "全部自动列宽",
    "resetColumns": "重置列",
    "page": "页",
    "of": "/",
    "to": "至",
    "more": "更多",
    "ariaFilterValue": "筛选值",
}


def geojson_url() -> str:
    """The map's GeoJSON URL under the app's path prefix (the bare path outside an app)."""
    try:
        from dash import get_relative_path

        return get_relative_path(geo.url_path())
    except Exception:  # no app registered (unit tests)
        return geo.url_path()


def province_options(lang: str) -> list[dict]:
    """Regions first (with their size), then the 31 provinces in adcode order."""
    table = province_ref.table()
    options = []
    for region in S.REGIONS:
        name = province_ref.REGIONS_EN[region] if lang == "en" else region
        n = int((table["region"] == region).sum())
        options.append({"label": L.t("region_group", lang, name=name, n=n), "value": region})
    column = "name_en" if lang == "en" else "name_short"
    for short, label in zip(table["name_short"], table[column], strict=True):
        options.append({"label": label, "value": short})
    return options


def drill_options(lang: str) -> list[dict]:
    names = province_ref.names(lang)
    return [{"label": names[code], "value": code} for code in province_ref.codes()]


def period_options(lang: str) -> list[dict]:
    return [{"label": L.period_name(p, lang), "value": p} for p in S.PERIODS] + [
        {"label": L.t("f_custom", lang), "value": "custom"}
    ]


def _dropdown_labels(lang: str) -> dict:
    if lang == "en":
        return {}
    return {
        "select_all": "全选",
        "deselect_all": "全不选",
        "selected_count": "已选 {num_selected} 项",
        "search": "搜索",
        "clear_search": "清除搜索",
        "clear_selection": "清除选择",
        "no_options_found": "无匹配项",
    }


def graph(graph_id: str, filename: str, class_name: str = "a-graph") -> dcc.Graph:
    config = dict(GRAPH_CONFIG, toImageButtonOptions={"format": "png", "filename": filename, "scale": 2})
    return dcc.Graph(id=graph_id, figure=figures.empty(THEME), config=config, className=class_name)


def grid(table: str, lang: str, height: str = "a-table-md") -> dag.AgGrid:
    options = {
        "theme": GRID_THEME,
        "tooltipShowDelay": 250,
        "tooltipHideDelay": 20000,
        "enableCellTextSelection": True,
        "ensureDomOrder": True,
        "animateRows": False,
        "suppressDragLeaveHidesColumns": True,
    }
    if lang != "en":
        options["localeText"] = LOCALE_ZH
    extra = {"getRowId": "params.data.adcode"} if table == "ranking" else {}
    return dag.AgGrid(
        id=ids.grid(table),
        columnDefs=[],
        rowData=[],
        className=f"a-table {height}",
        defaultColDef={
            "sortable": True,
            "filter": True,
            "resizable": True,
            "floatingFilter": True,
            "suppressHeaderFilterButton": True,
            "wrapHeaderText": True,
            "autoHeaderHeight": True,
        },
        dashGridOptions=options,
        style={"width": "100%"},
        **extra,
    )


def downloads(table: str, lang: str) -> html.Div:
    return html.Div(
        className="downloads",
        title=L.t("download_hint", lang),
        children=[
            html.Button(L.t("csv", lang), id=ids.export(table, "csv"), className="btn btn-small", n_clicks=0),
            html.Button(L.t("xlsx", lang), id=ids.export(table, "xlsx"), className="btn btn-small", n_clicks=0),
        ],
    )


def panel(title, body, *, class_name: str = "", tools=None, note_id: str | None = None, title_id: str | None = None):
    head = [html.H2(title, className="ap-title", id=title_id) if title_id else html.H2(title, className="ap-title")]
    if note_id:
        head.append(html.Span(id=note_id, className="ap-note"))
    if tools is not None:
        head.append(html.Div(tools, className="ap-tools"))
    return html.Section(
        className=f"a-panel {class_name}".strip(),
        children=[
            html.Div(head, className="ap-head"),
            html.Div(body, className="ap-body"),
        ],
    )


def radio(component_id: str, options: list[dict], value, class_name: str = "seg") -> dcc.RadioItems:
    return dcc.RadioItems(
        id=component_id,
        options=options,
        value=value,
        inline=True,
        className=class_name,
        inputClassName="seg-input",
        labelClassName="seg-label",
    )


def _header(lang: str) -> html.Header:
    other = "zh" if lang == "en" else "en"
    return html.Header(
        className="a-header",
        children=[
            html.Div(
                className="a-brand",
                children=[
                    html.Span(L.t("brand", lang), className="a-brand-name"),
                    html.H1(L.t("page_title", lang)),
                ],
            ),
            html.Div(id=ids.PERIOD_LABEL, className="a-period-label"),
            html.Nav(
                className="a-links",
                children=[
                    html.Button(
                        L.t("copy_link", lang),
                        id=ids.COPY,
                        className="btn btn-ghost",
                        n_clicks=0,
                        **{"data-done": L.t("copied", lang)},
                    ),
                    html.A(L.t("brief_pdf", lang), id=ids.BRIEF_PDF, className="btn btn-ghost", download=""),
                    html.A(L.t("brief_docx", lang), id=ids.BRIEF_DOCX, className="btn btn-ghost", download=""),
                    html.A(
                        L.t("lang_switch", lang),
                        id=ids.LANG_LINK,
                        href=f"?lang={other}" if other == "en" else "?",
                        className="btn btn-ghost",
                    ),
                    html.A(L.t("to_wall", lang), href="/" if lang == "zh" else "/?lang=en", className="btn btn-ghost"),
                ],
            ),
        ],
    )


def _filters(state: S.State, lang: str, today: dt.date) -> html.Div:
    start, end = S.period_dates(state, today)
    return html.Div(
        className="a-filters",
        children=[
            html.Div(
                className="f-row",
                children=[
                    html.Label(L.t("f_period", lang), className="f-label"),
                    radio(ids.PERIOD, period_options(lang), state.period),
                    dcc.DatePickerRange(
                        id=ids.DATES,
                        start_date=start.isoformat(),
                        end_date=end.isoformat(),
                        min_date_allowed=EARLIEST.isoformat(),
                        max_date_allowed=today.isoformat(),
                        display_format="YYYY-MM-DD",
                        first_day_of_week=1,
                        updatemode="bothdates",
                        className="f-dates",
                        month_format="YYYY-MM",
                    ),
                ],
            ),
            html.Div(
                className="f-row f-row-selects",
                children=[
                    html.Div(
                        className="f-field f-provinces",
                        children=[
                            html.Label(L.t("f_provinces", lang), className="f-label"),
                            dcc.Dropdown(
                                id=ids.PROVINCES,
                                options=province_options(lang),
                                value=list(state.provinces),
                                multi=True,
                                placeholder=L.t("f_provinces_ph", lang),
                                labels=_dropdown_labels(lang),
                                className="f-dropdown",
                            ),
                        ],
                    ),
                    html.Div(
                        className="f-field",
                        children=[
                            html.Label(L.t("f_categories", lang), className="f-label"),
                            dcc.Dropdown(
                                id=ids.CATEGORIES,
                                options=[],
                                value=list(state.categories),
                                multi=True,
                                placeholder=L.t("f_categories_ph", lang),
                                labels=_dropdown_labels(lang),
                                className="f-dropdown",
                            ),
                        ],
                    ),
                    html.Div(
                        className="f-field",
                        children=[
                            html.Label(L.t("f_types", lang), className="f-label"),
                            dcc.Dropdown(
                                id=ids.TYPES,
                                options=[],
                                value=list(state.types),
                                multi=True,
                                placeholder=L.t("f_types_ph", lang),
                                labels=_dropdown_labels(lang),
                                className="f-dropdown",
                            ),
                        ],
                    ),
                    dcc.Checklist(
                        id=ids.URGENT,
                        options=[{"label": L.t("f_urgent", lang), "value": "urgent"}],
                        value=["urgent"] if state.urgent else [],
                        className="f-urgent",
                        inputClassName="f-check",
                        labelClassName="f-check-label",
                    ),
                    html.Button(L.t("f_reset", lang), id=ids.RESET, className="btn btn-ghost", n_clicks=0),
                ],
            ),
        ],
    )


def _kpi_row(prefix: str) -> html.Div:
    return html.Div(id=prefix, className="akpi-grid")


def _overview(lang: str, state: S.State) -> html.Div:
    metric_options = [{"label": figures.metric_label(m, lang), "value": m} for m in figures.MAP_METRICS]
    granularity_options = [{"label": L.t(f"g_{g}", lang), "value": g} for g in ("day", "week", "month")]
    return html.Div(
        id=ids.OVERVIEW,
        className="a-view",
        children=[
            _kpi_row(ids.KPIS),
            html.Div(
                className="a-grid-2 a-grid-map",
                children=[
                    panel(
                        L.t("map", lang),
                        graph(ids.MAP, "liuyan_map", "a-graph a-graph-map"),
                        class_name="ap-map",
                        tools=radio(ids.METRIC, metric_options, state.metric, "seg seg-small"),
                    ),
                    panel(
                        L.t("ranking_table", lang),
                        grid("ranking", lang, "a-table-tall"),
                        class_name="ap-ranking",
                        tools=downloads("ranking", lang),
                    ),
                ],
            ),
            panel(
                L.t("trend", lang),
                graph(ids.TREND, "liuyan_trend", "a-graph a-graph-trend"),
                class_name="ap-trend",
                tools=radio(ids.GRANULARITY, granularity_options, state.granularity or "day", "seg seg-small"),
            ),
            html.Div(
                className="a-grid-3",
                children=[
                    panel(
                        L.t("by_category", lang), graph(ids.CATEGORY_FIG, "liuyan_categories", "a-graph a-graph-bars")
                    ),
                    panel(L.t("by_type", lang), graph(ids.TYPE_FIG, "liuyan_types", "a-graph a-graph-bars")),
                    panel(L.t("cross_table", lang), grid("cross", lang, "a-table-md"), tools=downloads("cross", lang)),
                ],
            ),
        ],
    )


def _drill(lang: str) -> html.Div:
    return html.Div(
        id=ids.DRILL,
        className="a-view",
        style={"display": "none"},
        children=[
            html.Div(
                className="drill-head",
                children=[
                    html.Button(L.t("back", lang), id=ids.BACK, className="btn btn-primary", n_clicks=0),
                    html.H2(id=ids.DRILL_TITLE, className="drill-title"),
                    html.Div(
                        className="drill-switch",
                        children=[
                            html.Label(L.t("drill_switch", lang), className="f-label"),
                            dcc.Dropdown(
                                id=ids.DRILL_SELECT,
                                options=drill_options(lang),
                                value=None,
                                clearable=False,
                                className="f-dropdown drill-select",
                                labels=_dropdown_labels(lang),
                            ),
                        ],
                    ),
                ],
            ),
            _kpi_row(ids.DRILL_KPIS),
            html.Div(
                className="a-grid-2",
                children=[
                    panel(L.t("trend", lang), graph(ids.DRILL_TREND, "liuyan_province_trend", "a-graph a-graph-trend")),
                    panel(
                        L.t("by_category", lang),
                        graph(ids.DRILL_CATEGORY_FIG, "liuyan_province_categories", "a-graph a-graph-trend"),
                    ),
                ],
            ),
            panel(L.t("cities", lang), grid("cities", lang, "a-table-md"), tools=downloads("cities", lang)),
            html.Div(
                className="a-grid-2 a-grid-wide",
                children=[
                    panel(
                        L.t("top_units", lang),
                        grid("top_units", lang, "a-table-md"),
                        tools=downloads("top_units", lang),
                    ),
                    panel(
                        L.t("slow_units", lang),
                        grid("slow_units", lang, "a-table-md"),
                        tools=downloads("slow_units", lang),
                        note_id=ids.SLOW_NOTE,
                    ),
                ],
            ),
            panel(
                L.t("overdue", lang),
                grid("overdue", lang, "a-table-md"),
                tools=downloads("overdue", lang),
                note_id=ids.OVERDUE_NOTE,
            ),
            panel(L.t("messages", lang), message_body(lang), note_id=ids.MSG_NOTE),
        ],
    )


def _supervision(lang: str) -> html.Div:
    """The 督办 tab: unit league and lists, aging, dissatisfaction, boilerplate replies, good ideas."""

    def table_panel(name: str, height: str = "a-table-md", note: bool = False):
        note_id = f"analyst-{name}-note" if note else None
        return panel(L.t(name, lang), grid(name, lang, height), tools=downloads(name, lang), note_id=note_id)

    def pair(*children):
        return html.Div(className="a-grid-2 a-grid-wide", children=list(children))

    return html.Div(
        id=ids.SUPERVISION,
        className="a-view",
        style={"display": "none"},
        children=[
            table_panel("sv_league", "a-table-lg", note=True),
            panel(
                L.t("sv_unit", lang),
                html.Div(
                    [
                        graph(ids.SV_UNIT_FIG, "liuyan_unit", "a-graph a-graph-trend"),
                        pair(table_panel("sv_unit_slowest"), table_panel("sv_unit_low")),
                    ]
                ),
                note_id="analyst-sv_unit-note",
            ),
            pair(table_panel("sv_best"), table_panel("sv_worst")),
            pair(
                panel(
                    L.t("sv_aging", lang),
                    graph(ids.SV_AGING_FIG, "liuyan_aging", "a-graph a-graph-trend"),
                    note_id="analyst-sv_aging-note",
                ),
                table_panel("sv_aging_provinces"),
            ),
            table_panel("sv_oldest"),
            pair(table_panel("sv_reasons"), table_panel("sv_low_units")),
            table_panel("sv_pool"),
            pair(table_panel("sv_boiler_texts", note=True), table_panel("sv_quality_units")),
            table_panel("sv_ideas", note=True),
        ],
    )


def _compare(lang: str, state: S.State, today: dt.date) -> html.Div:
    b_start, b_end = S.b_period_dates(state, today)
    mode_options = [
        {"label": L.t("compare_period", lang), "value": "period"},
        {"label": L.t("compare_province", lang), "value": "province"},
    ]
    b_period_options = [{"label": L.t("b_same_last_year", lang), "value": "last_year"}] + period_options(lang)
    return html.Div(
        id=ids.COMPARE,
        className="a-view",
        style={"display": "none"},
        children=[
            html.Div(
                className="compare-controls",
                children=[
                    html.Label(L.t("compare_mode", lang), className="f-label"),
                    radio(ids.COMPARE_MODE, mode_options, state.compare or "period"),
                    html.Div(
                        id=ids.B_PERIOD_BOX,
                        className="compare-b",
                        children=[
                            html.Label(L.t("b_period", lang), className="f-label"),
                            radio(ids.B_PERIOD, b_period_options, state.b_period or "last_year", "seg seg-small"),
                            dcc.DatePickerRange(
                                id=ids.B_DATES,
                                start_date=b_start.isoformat(),
                                end_date=b_end.isoformat(),
                                min_date_allowed=EARLIEST.isoformat(),
                                max_date_allowed=today.isoformat(),
                                display_format="YYYY-MM-DD",
                                first_day_of_week=1,
                                updatemode="bothdates",
                                className="f-dates",
                                month_format="YYYY-MM",
                            ),
                        ],
                    ),
                    html.Div(
                        id=ids.B_PROVINCES_BOX,
                        className="compare-b",
                        children=[
                            html.Label(L.t("b_provinces", lang), className="f-label"),
                            dcc.Dropdown(
                                id=ids.B_PROVINCES,
                                options=province_options(lang),
                                value=list(state.b_provinces),
                                multi=True,
                                placeholder=L.t("national", lang),
                                labels=_dropdown_labels(lang),
                                className="f-dropdown",
                            ),
                        ],
                    ),
                ],
            ),
            html.Div(id=ids.COMPARE_LABELS, className="compare-labels"),
            html.Div(
                className="a-grid-2",
                children=[
                    panel(
                        L.t("compare_metrics", lang),
                        grid("compare_metrics", lang, "a-table-md"),
                        tools=downloads("compare_metrics", lang),
                    ),
                    panel(
                        L.t("compare_categories", lang),
                        grid("compare_categories", lang, "a-table-md"),
                        tools=downloads("compare_categories", lang),
                    ),
                ],
            ),
            html.Div(
                className="a-grid-2",
                children=[
                    panel(
                        L.t("side_a", lang),
                        graph(ids.COMPARE_FIG_A, "liuyan_compare_a", "a-graph a-graph-bars"),
                        title_id=ids.COMPARE_TITLE_A,
                    ),
                    panel(
                        L.t("side_b", lang),
                        graph(ids.COMPARE_FIG_B, "liuyan_compare_b", "a-graph a-graph-bars"),
                        title_id=ids.COMPARE_TITLE_B,
                    ),
                ],
            ),
        ],
    )


def build(search: str | None, settings: Settings) -> html.Div:
    today = settings.now().date()
    state, _ = S.parse(search, today)
    lang = state.lang
    tabs = [
        {"label": L.t("tab_overview", lang), "value": "overview"},
        {"label": L.t("tab_compare", lang), "value": "compare"},
        {"label": L.t("tab_supervision", lang), "value": "supervision"},
        {"label": L.t("tab_hot", lang), "value": "hot"},
    ]
    return html.Div(
        id=ids.ROOT,
        className=f"analyst-page lang-{lang}",
        lang="en" if lang == "en" else "zh-CN",
        **{"data-geojson": geojson_url()},
        children=[
            dcc.Location(id=ids.URL, refresh=False),
            dcc.Store(id=ids.STATE, data=state.to_dict()),
            dcc.Store(id=ids.ERROR, data={}),
            dcc.Store(id=ids.EXPORT_REQUEST),
            dcc.Download(id=ids.DOWNLOAD),
            html.Div(className="analyst-canvas", children=_page(state, lang, today, tabs)),
        ],
    )


def _page(state: S.State, lang: str, today: dt.date, tabs: list[dict]) -> list:
    return [
        _header(lang),
        _filters(state, lang, today),
        html.Div(id=ids.PROBLEMS, className="a-problems", role="alert"),
        html.Div(id=ids.ERROR_TEXT, className="a-error", role="alert"),
        html.Div(
            className="a-tabs-row",
            children=[
                radio(ids.TABS, tabs, state.tab or ("compare" if state.compare else "overview"), "seg seg-tabs"),
                html.Span(L.t("drill_hint", lang) + " · " + L.t("png_hint", lang), className="a-hint"),
            ],
        ),
        html.Main(
            className="a-main",
            children=[
                _overview(lang, state),
                _drill(lang),
                _compare(lang, state, today),
                _supervision(lang),
                hot_body(lang, panel, grid, downloads, graph),
            ],
        ),
        html.Footer(id=ids.FOOTER, className="a-footer"),
    ]
