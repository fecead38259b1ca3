"""The drill-down's message list: a search box, the newest matching messages, and the message clicked with its
replies and evaluation. It reads through the same service calls as GET /api/v1/messages and
/api/v1/messages/<id> (queries/messages.py), so the list is the API's for the drilled province and filters; the
text arrives masked, and Dash renders it as text (never as markup)."""

from __future__ import annotations

from dash import ALL, Dash, Input, Output, State, callback_context, dcc, html
from dash.exceptions import PreventUpdate

from dashboard import i18n
from dashboard.analyst import ids
from dashboard.analyst import labels as L
from dashboard.analyst import state as S
from queries.messages import terms
from queries.service import Metrics
from settings import Settings

LIST_ROWS = 20
MAX_WORDS = 10
SNIPPET = 60


def body(lang: str) -> html.Div:
    """The panel's body (the drill-down frames it: dashboard/analyst/layout.py)."""
    search = dcc.Input(
        id=ids.MSG_SEARCH,
        type="search",
        debounce=True,
        placeholder=L.t("msg_search_ph", lang),
        className="msg-search",
        maxLength=200,
    )
    return html.Div(
        className="msg-box",
        children=[
            html.Div([search, html.Div(id=ids.MSG_LIST, className="msg-list")], className="msg-left"),
            html.Div(L.t("msg_pick", lang), id=ids.MSG_DETAIL, className="msg-detail"),
        ],
    )


def _kinds(row: dict, lang: str) -> str:
    """Domain, type and status in the page's language."""
    return " · ".join(
        (i18n.category(row["category"], lang), i18n.msg_type(row["msg_type"], lang), i18n.status(row["status"], lang))
    )


def item(row: dict, lang: str, item_type: str = ids.MSG_ITEM) -> html.Button:
    """One listed message, a button whose id is {"type": item_type, "id": message_id} (the 热点 tab's own type)."""
    when = str(row["created_at"])[:16]
    place = " ".join(x for x in (row.get("city"), row.get("district")) if isinstance(x, str) and x)
    snippet = row["content"] or ""
    snippet = snippet if len(snippet) <= SNIPPET else snippet[: SNIPPET - 1] + "…"
    return html.Button(
        id={"type": item_type, "id": row["message_id"]},
        className="msg-item",
        n_clicks=0,
        children=[
            html.Div(row["title"] or "—", className="msg-title"),
            html.Div(f"{when} · {place} · {_kinds(row, lang)}", className="msg-meta"),
            html.Div(snippet, className="msg-snippet"),
        ],
    )


def detail(message: dict, lang: str) -> list:
    """The message read: its text, its replies in time order and its evaluation."""
    place = " ".join(x for x in (message.get("city"), message.get("district")) if isinstance(x, str) and x)
    parts = [
        html.H3(message["title"] or "—", className="msg-detail-title"),
        html.Div(
            f"{str(message['created_at'])[:16]} · {place} · {_kinds(message, lang)} · "
            f"{L.t('msg_likes', lang, n=message['likes'])}",
            className="msg-meta",
        ),
        html.P(message["content"], className="msg-content"),
        html.H4(L.t("msg_replies", lang), className="msg-sub"),
    ]
    if not message["replies"]:
        parts.append(html.P(L.t("msg_no_reply", lang), className="msg-meta"))
    for reply in message["replies"]:
        parts.append(
            html.Div(
                className="msg-reply",
                children=[
                    html.Div(f"{reply['unit'] or '—'} · {str(reply['replied_at'])[:16]}", className="msg-meta"),
                    html.P(reply["content"], className="msg-content"),
                ],
            )
        )
    evaluation = message["evaluation"]
    if evaluation is not None:
        verdict = evaluation["satisfied"]
        word = "" if verdict is None else L.t("msg_satisfied" if verdict else "msg_unsatisfied", lang)
        parts.append(html.H4(L.t("msg_evaluation", lang), className="msg-sub"))
        parts.append(html.Div(f"{word} · {str(evaluation['rated_at'])[:16]}", className="msg-meta"))
        if evaluation["comment"]:
            parts.append(html.P(evaluation["comment"], className="msg-content"))
    return parts


def register(app: Dash, metrics: Metrics, settings: Settings) -> None:
    @app.callback(
        Output(ids.MSG_LIST, "children"),
        Output(ids.MSG_NOTE, "children"),
        Output(ids.MSG_DETAIL, "children", allow_duplicate=True),
        Input(ids.STATE, "data"),
        Input(ids.MSG_SEARCH, "value"),
        prevent_initial_call=True,
    )
    def message_list(data, q):
        state = S.State.from_dict(data)
        if state.view != "drill":
            raise PreventUpdate
        f = S.drill_filters(state, settings.now().date())
        words = tuple(terms(q)[:MAX_WORDS])
        frame, total = metrics.messages(f, words, LIST_ROWS, 0)
        rows = frame.to_dict("records")
        lang = state.lang
        items = [item(row, lang) for row in rows] or [html.P(L.t("msg_none", lang), className="msg-meta")]
        return items, L.t("msg_note", lang, total=f"{total:,}", shown=len(rows)), L.t("msg_pick", lang)

    register_reader(app, metrics, ids.MSG_ITEM, Output(ids.MSG_DETAIL, "children"))


def register_reader(app: Dash, metrics: Metrics, item_type: str, output: Output) -> None:
    """A click on a listed message (an `item` of `item_type`) shows it read (`detail`) in `output`."""

    @app.callback(
        output,
        Input({"type": item_type, "id": ALL}, "n_clicks"),
        State(ids.STATE, "data"),
        prevent_initial_call=True,
    )
    def read_message(clicks, data):
        trigger = callback_context.triggered_id
        if not isinstance(trigger, dict) or not any(clicks):
            raise PreventUpdate
        lang = S.State.from_dict(data).lang
        message = metrics.message(str(trigger["id"]))
        return L.t("msg_none", lang) if message is None else detail(message, lang)
