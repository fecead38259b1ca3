"""The drill-down into one province: KPI cards, trend, domains, cities, units and overdue messages (four
callbacks, so that the parts arrive as they are ready)."""

from __future__ import annotations

from dash import Dash, Input, Output
from dash.exceptions import PreventUpdate

from dashboard.analyst import ids, tables
from dashboard.analyst import labels as L
from dashboard.analyst import state as S
from dashboard.analyst.grids import SLOW_MIN_ANSWERED
from dashboard.analyst.kpis import kpi_cards
from dashboard.analyst.panels import categories_figure, error_output, guard, trend_figure
from queries import provinces as province_ref
from queries.service import Metrics
from settings import Settings


def register(app: Dash, metrics: Metrics, settings: Settings, build) -> None:
    """`build(name, state)`: the tables (dashboard/analyst/grids.py)."""
    overdue_days = int(settings.overdue_days)

    def drill_state(data):
        state = S.State.from_dict(data)
        if state.view != "drill":
            raise PreventUpdate
        return state, S.drill_filters(state, settings.now().date())

    @app.callback(
        Output(ids.DRILL_TITLE, "children"),
        Output(ids.DRILL_KPIS, "children"),
        error_output(),
        Input(ids.STATE, "data"),
        prevent_initial_call=True,
    )
    @guard("drill_kpis")
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
        error_output(),
        Input(ids.STATE, "data"),
        prevent_initial_call=True,
    )
    @guard("drill_charts")
    def drill_charts(data):
        state, f = drill_state(data)
        lang = state.lang
        granularity = S.granularity(state, settings.now().date())
        trend = trend_figure(metrics.trend(f, granularity), lang, granularity, f.start, f.end)
        cats = categories_figure(metrics.by_category(f), lang)
        cities = build("cities", state)
        return trend, cats, *tables.grid_values(cities)

    @app.callback(
        Output(ids.SLOW_NOTE, "children"),
        *tables.grid_outputs("top_units", "slow_units"),
        error_output(),
        Input(ids.STATE, "data"),
        prevent_initial_call=True,
    )
    @guard("drill_units")
    def drill_units(data):
        state, _ = drill_state(data)
        note = L.t("slow_units_note", state.lang, n=SLOW_MIN_ANSWERED)
        return note, *tables.grid_values(build("top_units", state), build("slow_units", state))

    @app.callback(
        Output(ids.OVERDUE_NOTE, "children"),
        *tables.grid_outputs("overdue"),
        error_output(),
        Input(ids.STATE, "data"),
        prevent_initial_call=True,
    )
    @guard("drill_overdue")
    def drill_overdue(data):
        state, f = drill_state(data)
        lang = state.lang
        now = settings.now().replace(second=0)
        table = build("overdue", state)
        count = metrics.overdue_count(f, now, overdue_days)
        note = L.t("overdue_note", lang, days=overdue_days, count=f"{count:,}", shown=len(table.rows))
        return note, *tables.grid_values(table)
