"""Downloads of the analyst's tables (CSV, xlsx).

The browser names only the table, the format and the grid's sort (read from the grid); the rows are the
server's, from the same query as the table on screen (never rows or columns sent by the client).
"""

from __future__ import annotations

import logging

from dash import ALL, Dash, Input, Output, State, clientside_callback
from dash.exceptions import PreventUpdate

from dashboard.analyst import export, ids
from dashboard.analyst import state as S
from settings import Settings

log = logging.getLogger(__name__)


def register(app: Dash, settings: Settings, build) -> None:
    """`build(name, state)`: the tables (dashboard/analyst/grids.py)."""
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
            table = build(name, state)
            return export.download(table, fmt, sort, state, settings.now().date())
        except PreventUpdate:
            raise
        except Exception:
            log.exception("analyst download failed")
            raise PreventUpdate from None
