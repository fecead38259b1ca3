"""What every panel callback of the analyst page shares: the failure guard and the figures' finish.

A panel that fails keeps its last picture, logs, and reports the failure in the ERROR store (the page shows a
short message, never a trace).
"""

from __future__ import annotations

import datetime as dt
import functools
import logging

import plotly.graph_objects as go
from dash import Output, Patch, callback_context, no_update
from dash.exceptions import PreventUpdate

from dashboard import figures
from dashboard.analyst import ids
from dashboard.theme import WALL as THEME

log = logging.getLogger(__name__)

PANEL_BG = "#0b1d3f"  # assets/analyst.css --panel (figures export as PNG on this background)
CATEGORY_BARS = 10


def error_output() -> Output:
    """The ERROR store as one more output of a guarded callback (every panel writes its own key)."""
    return Output(ids.ERROR, "data", allow_duplicate=True)


def guard(name: str):
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


def categories_figure(frame, lang: str):
    return finish(figures.categories(frame, THEME, lang, top=CATEGORY_BARS))
