"""The analyst's tables as the view shows them: one builder serves the grids and their downloads."""

from __future__ import annotations

from dash.exceptions import PreventUpdate

from dashboard.analyst import state as S
from dashboard.analyst import tables
from queries import drill as drill_queries
from queries.service import Metrics
from settings import Settings

TOP_UNITS = 20
SLOW_UNITS = 20
SLOW_MIN_ANSWERED = 10
OVERDUE_ROWS = 50


def builder(metrics: Metrics, settings: Settings, more_tables=None):
    """build(name, state) -> Table: the table `name` as the view `state` shows it (PreventUpdate: the view has
    no such table). `more_tables(name, state)`: the tables of other tabs (the 督办 and 热点 tabs')."""

    def build(name: str, state: S.State) -> tables.Table:
        view = VIEWS.get(state.view)
        if view is not None and name in view[0]:
            return view[1](metrics, settings, name, state)
        if more_tables is not None:
            return more_tables(name, state)
        raise PreventUpdate

    return build


def _overview(metrics: Metrics, settings: Settings, name: str, state: S.State) -> tables.Table:
    f = S.filters(state, settings.now().date())
    if name == "ranking":
        return tables.ranking(metrics.by_province(f), state.metric, state.lang)
    return tables.cross(metrics.cross(f), state.lang)


def _drill(metrics: Metrics, settings: Settings, name: str, state: S.State) -> tables.Table:
    f = S.drill_filters(state, settings.now().date())
    lang, overdue_days = state.lang, int(settings.overdue_days)
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


def _compare(metrics: Metrics, settings: Settings, name: str, state: S.State) -> tables.Table:
    today = settings.now().date()
    fa, fb = S.filters(state, today), S.filters(state, today, side="b")
    if name == "compare_categories":
        return tables.compare_categories(metrics.by_category(fa), metrics.by_category(fb), state.lang)
    a, b = metrics.summary(fa), metrics.summary(fb)
    return tables.compare_metrics(a, b, state.lang, int(a["census_year"]), int(b["census_year"]))


# view -> (its tables, their builder)
VIEWS = {
    "overview": (("ranking", "cross"), _overview),
    "drill": (("cities", "top_units", "slow_units", "overdue"), _drill),
    "compare": (("compare_metrics", "compare_categories"), _compare),
}
