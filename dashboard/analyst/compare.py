"""Compare: two periods of one area, or two areas in one period, side by side."""

from __future__ import annotations

from dash import Dash, Input, Output, html
from dash.exceptions import PreventUpdate

from dashboard.analyst import ids, tables
from dashboard.analyst import labels as L
from dashboard.analyst import state as S
from dashboard.analyst.header import area_label, period_label
from dashboard.analyst.panels import categories_figure, error_output, guard
from queries.service import Metrics
from settings import Settings


def side_labels(state: S.State, today) -> tuple[str, str]:
    """What sides A and B are: two periods of one area, or two areas in one period."""
    if state.compare == "period":
        area = area_label(state.provinces, state.lang)
        return f"{period_label(state, today)} · {area}", f"{period_label(state, today, side='b')} · {area}"
    period = period_label(state, today)
    return tuple(f"{area_label(areas, state.lang)} · {period}" for areas in (state.provinces, state.b_provinces))


def register(app: Dash, metrics: Metrics, settings: Settings, build) -> None:
    """`build(name, state)`: the tables (dashboard/analyst/grids.py)."""

    @app.callback(
        Output(ids.COMPARE_LABELS, "children"),
        Output(ids.COMPARE_TITLE_A, "children"),
        Output(ids.COMPARE_TITLE_B, "children"),
        *tables.grid_outputs("compare_metrics", "compare_categories"),
        Output(ids.COMPARE_FIG_A, "figure"),
        Output(ids.COMPARE_FIG_B, "figure"),
        error_output(),
        Input(ids.STATE, "data"),
        prevent_initial_call=True,
    )
    @guard("compare")
    def compare_view(data):
        state = S.State.from_dict(data)
        if state.view != "compare":
            raise PreventUpdate
        today = settings.now().date()
        lang = state.lang
        fa, fb = S.filters(state, today), S.filters(state, today, side="b")
        label_a, label_b = side_labels(state, today)
        metric_table = build("compare_metrics", state)
        cats_a, cats_b = metrics.by_category(fa), metrics.by_category(fb)
        category_table = build("compare_categories", state)
        labels = [
            html.Div([html.B(L.t("side_a", lang)), html.Span(label_a)], className="side side-a"),
            html.Div([html.B(L.t("side_b", lang)), html.Span(label_b)], className="side side-b"),
        ]
        return (
            labels,
            f"{L.t('side_a', lang)} · {label_a}",
            f"{L.t('side_b', lang)} · {label_b}",
            *tables.grid_values(metric_table, category_table),
            categories_figure(cats_a, lang),
            categories_figure(cats_b, lang),
        )
