"""The overview: KPI cards, the map with the province ranking, the trend, and domains and types."""

from __future__ import annotations

from dash import Dash, Input, Output
from dash.exceptions import PreventUpdate

from dashboard import figures, i18n
from dashboard.analyst import ids, layout, tables
from dashboard.analyst import labels as L
from dashboard.analyst import state as S
from dashboard.analyst.kpis import kpi_cards
from dashboard.analyst.panels import categories_figure, error_output, finish, guard, trend_figure
from dashboard.theme import WALL as THEME
from queries import provinces as province_ref
from queries.service import Metrics
from settings import Settings


def map_figure(provinces, metric: str, lang: str, subtitle: str):
    url = layout.geojson_url()
    fig = figures.china_map(provinces, metric, THEME, lang, url, subtitle=subtitle)
    return finish(fig)


def register(app: Dash, metrics: Metrics, settings: Settings, build) -> None:
    """`build(name, state)`: the tables (dashboard/analyst/grids.py)."""

    def overview(data) -> S.State:
        state = S.State.from_dict(data)
        if state.view != "overview":
            raise PreventUpdate
        return state

    @app.callback(Output(ids.KPIS, "children"), error_output(), Input(ids.STATE, "data"), prevent_initial_call=True)
    @guard("kpis")
    def overview_kpis(data):
        state = overview(data)
        f = S.filters(state, settings.now().date())
        before = metrics.summary(f.before)
        return (kpi_cards(ids.KPIS, metrics.summary(f), metrics.summary(f.previous), state.lang, before),)

    @app.callback(
        Output(ids.MAP, "figure"),
        *tables.grid_outputs("ranking"),
        error_output(),
        Input(ids.STATE, "data"),
        prevent_initial_call=True,
    )
    @guard("map")
    def overview_map(data):
        state = overview(data)
        today = settings.now().date()
        f = S.filters(state, today)
        lang = state.lang
        provinces = metrics.by_province(f)
        census = int(provinces["census_year"].iloc[0]) if len(provinces) else province_ref.census_year(f.end)
        subtitle = f"{L.period_name(state.period, lang)} · {i18n.t('census', lang, year=census)}"
        table = build("ranking", state)
        return map_figure(provinces, state.metric, lang, subtitle), *tables.grid_values(table)

    @app.callback(Output(ids.TREND, "figure"), error_output(), Input(ids.STATE, "data"), prevent_initial_call=True)
    @guard("trend")
    def overview_trend(data):
        state = overview(data)
        today = settings.now().date()
        f = S.filters(state, today)
        granularity = S.granularity(state, today)
        return (trend_figure(metrics.trend(f, granularity), state.lang, granularity, f.start, f.end),)

    @app.callback(
        Output(ids.CATEGORY_FIG, "figure"),
        Output(ids.TYPE_FIG, "figure"),
        *tables.grid_outputs("cross"),
        error_output(),
        Input(ids.STATE, "data"),
        prevent_initial_call=True,
    )
    @guard("breakdown")
    def overview_breakdown(data):
        state = overview(data)
        f = S.filters(state, settings.now().date())
        lang = state.lang
        table = build("cross", state)
        return (
            categories_figure(metrics.by_category(f), lang),
            finish(figures.types(metrics.by_type(f), THEME, lang)),
            *tables.grid_values(table),
        )
