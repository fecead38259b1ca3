"""URL <-> controls <-> STATE: one callback keeps the page's link, its filter controls and its state in step.

A new URL (first load, a pasted link, back/forward) sets the controls; a changed control writes a new URL (a
history entry). The state follows from either (dashboard/analyst/controls.py); invalid link parameters are
dropped and named in a message.
"""

from __future__ import annotations

import logging

from dash import Dash, Input, Output, State, callback_context, html, no_update

from dashboard import i18n
from dashboard.analyst import controls as C
from dashboard.analyst import ids
from dashboard.analyst import labels as L
from dashboard.analyst import state as S
from settings import Settings

log = logging.getLogger(__name__)

# (key, component id, property) of the controls the sync both reads and sets: the link, and each filter.
SYNCED = [
    ("search", ids.URL, "search"),
    ("period", ids.PERIOD, "value"),
    ("d_start", ids.DATES, "start_date"),
    ("d_end", ids.DATES, "end_date"),
    ("provinces", ids.PROVINCES, "value"),
    ("categories", ids.CATEGORIES, "value"),
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
# what it only sets (the state, messages, the language link, the choices offered) and the buttons it only reads
SYNC_OUTPUTS = SYNCED + [
    ("state", ids.STATE, "data"),
    ("problems", ids.PROBLEMS, "children"),
    ("lang_href", ids.LANG_LINK, "href"),
    ("category_options", ids.CATEGORIES, "options"),
    ("type_options", ids.TYPES, "options"),
]
SYNC_INPUTS = SYNCED + [("reset", ids.RESET, "n_clicks"), ("back", ids.BACK, "n_clicks")]

# the controls a changed control may move (the others keep what the user chose)
FOLLOWING = (
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
)


def problems_message(problems: list[S.Problem], lang: str):
    if not problems:
        return []
    sep = "：" if lang != "en" else ": "
    items = [html.Li([html.Code(p.parameter), f" = “{p.value}”{sep}{L.reason(p.reason, lang)}"]) for p in problems]
    return [html.Strong(L.t("bad_param", lang)), html.Ul(items)]


def lang_href(state: S.State, pathname: str = "") -> str:
    other = S.with_changes(state, lang="en" if state.lang != "en" else "zh")
    return (pathname or "") + (S.to_search(other) or "?")


def register(app: Dash, settings: Settings, known_values) -> None:
    """`known_values()`: the domains and message types to offer (None: unavailable)."""

    @app.callback(
        [Output(c, p) for _, c, p in SYNC_OUTPUTS],
        [Input(c, p) for _, c, p in SYNC_INPUTS],
        State(ids.STATE, "data"),
        State(ids.URL, "pathname"),
    )
    def sync(*args):
        try:
            values = dict(zip([k for k, _, _ in SYNC_INPUTS], args[: len(SYNC_INPUTS)], strict=True))
            current, pathname = args[len(SYNC_INPUTS) :]
            out = outputs(values, current, pathname, settings.now().date(), known_values(), _trigger_key())
        except Exception:
            # inputs no control sends (a crafted request): keep the page, say so in its own words
            log.exception("analyst sync failed")
            out = {key: no_update for key, _, _ in SYNC_OUTPUTS}
            out["problems"] = [html.Strong(L.t("error", i18n.DEFAULT_LANG))]
        return [out[key] for key, _, _ in SYNC_OUTPUTS]


def outputs(values: dict, current, pathname, today, known: dict | None, trigger: str | None) -> dict:
    """Every SYNC_OUTPUTS value (no_update: unchanged) after the input `trigger` changed (None: first call)."""
    pathname = pathname if isinstance(pathname, str) else ""
    values["search"] = values["search"] if isinstance(values["search"], str) else ""
    out = {key: no_update for key, _, _ in SYNC_OUTPUTS}
    if trigger in (None, "search"):
        state, problems = S.parse(values["search"], today, known)
        out.update(C.controls(state, today, known))
        # a clean link of the state shown is the one written for it, reported back by the location (a slow page):
        # the message about the ignored parameters of the link it replaced stays
        if problems or trigger is None or current is None or state != S.State.from_dict(current):
            out["problems"] = problems_message(problems, state.lang)
    else:
        before = S.State.from_dict(current)
        state = C.apply_control(before, trigger, values, today, known)
        new_controls = C.controls(state, today, known)
        out.update({key: new_controls[key] for key in FOLLOWING})
        if trigger == "reset":
            out.update(new_controls)
        search = S.to_search(state)
        if search != (values["search"] or ""):
            out["search"] = search or "?"
        # a control that reports back the value the state gave it (a slow page) changes nothing: the message about
        # the link's ignored parameters stays until the user changes something
        out["problems"] = [] if state != before or trigger in ("reset", "back") else no_update
    out["state"] = state.to_dict()
    out["lang_href"] = lang_href(state, pathname)
    return out


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
