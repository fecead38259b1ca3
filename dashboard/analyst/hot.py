"""The analyst workspace's 热点 (hot) tab: hot issues, surges, hot words and repeat complaints.

Every list is the insight API's for the page's filters (GET /api/v1/hot-issues, alerts, hot-words, repeats with
the parameters of dashboard/analyst/state.api_params): the callbacks call the same service (insight/service.py)
through the request's principal, so a province analyst sees only its province. Text arrives masked from the
service; the messages of a clicked issue are read through queries/messages.py (masked there) and the filters.
The insight is slow on a long period: it is computed only while the tab is shown (`tab=hot`), under a loading
indicator. The lists download like every other table (dashboard/analyst/export.py picks them up by id).
"""

from __future__ import annotations

import pandas as pd
from dash import Dash, Input, Output, State, callback_context, dcc, html
from dash.exceptions import PreventUpdate

from dashboard import figures, i18n
from dashboard.analyst import ids
from dashboard.analyst import labels as L
from dashboard.analyst import state as S
from dashboard.analyst.messages import item as message_item
from dashboard.analyst.messages import register_reader
from dashboard.analyst.panels import error_output, guard
from dashboard.analyst.tables import Column, Table, clicked_row, grid_outputs, grid_values, records
from dashboard.insight_api import MAX_LIMIT
from dashboard.theme import WALL as THEME
from queries import provinces as province_ref
from settings import Settings

ISSUE_ROWS = 50  # the API's default limit
WORD_ROWS = 20
ISSUE_MESSAGES = 50  # messages of a clicked issue listed (its timeline counts all of them)
HIDDEN = {"display": "none"}
LEVELS = {"red": ("红色", "Red"), "orange": ("橙色", "Orange"), "yellow": ("黄色", "Yellow")}

ZH_EN = {
    "rank": ("排名", "Rank"),
    "heat": ("热度", "Heat"),
    "title": ("代表性标题", "Representative title"),
    "keywords": ("关键词", "Key words"),
    "province": ("省份", "Province"),
    "city": ("城市", "City"),
    "place": ("地点", "Place"),
    "category": ("领域", "Domain"),
    "first": ("首次", "First"),
    "last": ("最近", "Last"),
    "messages": ("留言数", "Messages"),
    "likes": ("点赞", "Likes"),
    "replied": ("已回复", "Answered"),
    "id": ("编号", "Id"),
    "level": ("级别", "Level"),
    "start": ("开始", "Start"),
    "end": ("结束", "End"),
    "expected": ("预期", "Expected"),
    "ratio": ("倍数", "Ratio"),
    "top_words": ("主要词语", "Top words"),
    "issues": ("相关热点", "Hot issues"),
    "issue_ids": ("热点编号", "Issue ids"),
    "word": ("词语", "Word"),
    "count": ("本期", "Now"),
    "previous": ("上期", "Before"),
    "change": ("变化", "Change"),
    "score": ("显著性（G²）", "Significance (G²)"),
    "replied_before_repeat": ("再次留言前已回复", "Answered before the repeat"),
    "message_ids": ("留言编号", "Message ids"),
    "key": ("预警键", "Surge key"),
}


def _h(field: str, lang: str) -> str:
    return ZH_EN[field][1 if lang == "en" else 0]


def _table(name: str, rows: list[dict], specs: list[tuple[str, str, int]], lang: str, hidden=()) -> Table:
    columns = [Column(f, _h(f, lang), kind, None, width=w) for f, kind, w in specs]
    columns += [Column(f, _h(f, lang), "text", hidden=True) for f in hidden]
    frame = pd.DataFrame(rows, columns=[c.field for c in columns])
    return Table(name, columns, records(frame, [c.field for c in columns]))


ISSUE_COLUMNS = [
    ("rank", "int", 60),
    ("heat", "float", 70),
    ("title", "text", 240),
    ("keywords", "text", 160),
    ("province", "text", 90),
    ("city", "text", 90),
    ("place", "text", 120),
    ("category", "text", 130),
    ("first", "text", 100),
    ("last", "text", 100),
    ("messages", "int", 80),
    ("likes", "int", 70),
    ("replied", "int", 80),
]


def _named(item: dict, lang: str) -> dict:
    """The province and domain of an insight result in the page's language."""
    province = province_ref.names(lang).get(item["province_code"], item["province"])
    return {"province": province, "category": i18n.category(item["category"], lang)}


def issues_table(issues: list[dict], name: str, lang: str) -> Table:
    """Hot issues as the API gives them, in its order (rank = position); key words joined."""
    rows = [
        {**i, **_named(i, lang), "rank": n, "keywords": "、".join(i["keywords"])} for n, i in enumerate(issues, start=1)
    ]
    table = _table(name, rows, ISSUE_COLUMNS, lang, hidden=("id",))
    if name == "hot_issues":
        table.click = "title"  # a click opens the issue (dashboard/analyst/hot.py issue_view)
    return table


def alert_key(alert: dict) -> str:
    """What tells one surge from another: its series and first day."""
    return f"{alert['province_code']}|{alert['city'] or ''}|{alert['category']}|{alert['start']}"


def alerts_table(alerts: list[dict], lang: str) -> Table:
    en = lang == "en"
    rows = [
        {
            **a,
            **_named(a, lang),
            "city": a["city"] or L.t("hot_whole_province", lang),
            "level": LEVELS.get(a["level"], (a["level"], a["level"]))[1 if en else 0],
            "end": a["end"] or L.t("hot_ongoing", lang),
            "top_words": "、".join(a["top_words"]),
            "issues": len(a["issue_ids"]),
            "issue_ids": " ".join(a["issue_ids"]),
            "key": alert_key(a),
        }
        for a in alerts
    ]
    specs = [
        ("level", "text", 70),
        ("province", "text", 90),
        ("city", "text", 90),
        ("category", "text", 100),
        ("start", "text", 100),
        ("end", "text", 100),
        ("messages", "int", 80),
        ("expected", "float", 80),
        ("ratio", "float", 70),
        ("top_words", "text", 200),
        ("issues", "int", 80),
    ]
    return _table("hot_alerts", rows, specs, lang, hidden=("issue_ids", "key"))


def words_table(words: list[dict], name: str, lang: str) -> Table:
    rows = [{**w, "change": w["count"] - w["previous"]} for w in words]
    specs = [("word", "text", 120), ("count", "int", 70), ("previous", "int", 70), ("change", "int", 70)]
    if name == "hot_words":
        specs.append(("score", "float", 110))
    return _table(name, rows, specs, lang)


def repeats_table(groups: list[dict], lang: str) -> Table:
    rows = [
        {
            **g,
            **_named(g, lang),
            "messages": len(g["message_ids"]),
            "replied_before_repeat": "✓" if g["replied_before_repeat"] else "",
            "message_ids": " ".join(g["message_ids"]),
        }
        for g in groups
    ]
    specs = [
        ("first", "text", 100),
        ("last", "text", 100),
        ("province", "text", 90),
        ("city", "text", 90),
        ("category", "text", 100),
        ("messages", "int", 70),
        ("replied_before_repeat", "text", 130),
        ("message_ids", "text", 260),
    ]
    return _table("hot_repeats", rows, specs, lang)


def timeline(frame: pd.DataFrame) -> pd.DataFrame:
    """Per day from an issue's first message to its last message or reply: new messages, and how many of the
    issue's messages had been answered by then (from the messages' first replies)."""
    if frame.empty:
        return pd.DataFrame({"day": [], "messages": [], "replied": []})
    created = pd.to_datetime(frame["created_at"]).dt.normalize()
    answered = pd.to_datetime(frame["first_reply_at"]).dt.normalize().dropna()
    last = max(created.max(), answered.max()) if len(answered) else created.max()
    days = pd.date_range(created.min(), last, freq="D")
    messages = created.value_counts().reindex(days, fill_value=0)
    replied = answered.value_counts().reindex(days, fill_value=0).cumsum()
    return pd.DataFrame({"day": days.date, "messages": messages.to_numpy(), "replied": replied.to_numpy()})


# The tab's parts are drawn when the page has shown (or re-shown) the tab for a new state: the page's view callback
# answers first, so the tab appears at once with its loading indicators instead of after the slow insight.
SHOWN = (Input(ids.HOT, "style"), State(ids.STATE, "data"))
DOWNLOADS = ("hot_issues", "hot_alerts", "hot_words", "hot_frequent", "hot_repeats")


# -- layout ------------------------------------------------------------------------------------------------------------
def body(lang: str, panel, grid, downloads, graph) -> html.Div:
    """The tab (the page's own panel, grid, download and graph builders: dashboard/analyst/layout.py)."""

    def loading(*children):
        # each part shows its own indicator while its callback runs (the insight takes seconds on a long period)
        return dcc.Loading(
            list(children),
            type="circle",
            color=THEME.accent,
            delay_show=150,
            overlay_style={"visibility": "visible", "opacity": 0.45},
            custom_spinner=html.Div(L.t("hot_loading", lang), className="hot-loading"),
        )

    def table_panel(name: str, height: str = "a-table-md", note_id: str | None = None):
        body = loading(grid(name, lang, height))
        return panel(L.t(name, lang), body, tools=downloads(name, lang), note_id=note_id)

    def pair(*children):
        return html.Div(className="a-grid-2 a-grid-wide", children=list(children))

    issue = panel(
        L.t("hot_issue", lang),
        html.Div(
            [
                loading(graph(ids.HOT_ISSUE_FIG, "liuyan_hot_issue", "a-graph a-graph-trend")),
                html.Div(
                    id=ids.HOT_ISSUE_BOX,
                    className="msg-box",
                    style=HIDDEN,
                    children=[
                        html.Div(id=ids.HOT_ISSUE_LIST, className="msg-list msg-left"),
                        html.Div(L.t("msg_pick", lang), id=ids.HOT_MSG_DETAIL, className="msg-detail"),
                    ],
                ),
            ]
        ),
        note_id=ids.HOT_ISSUE_NOTE,
    )
    alert = panel(
        L.t("hot_alert", lang),
        loading(
            html.Div(
                className="a-grid-2 a-grid-wide",
                children=[
                    graph(ids.HOT_ALERT_FIG, "liuyan_surge", "a-graph a-graph-trend"),
                    html.Div(
                        [
                            html.H3(L.t("hot_alert_issues", lang), className="ap-subtitle"),
                            grid("hot_alert_issues", lang, "a-table-sm"),
                        ]
                    ),
                ],
            )
        ),
        note_id=ids.HOT_ALERT_NOTE,
    )
    return html.Div(
        id=ids.HOT,
        className="a-view",
        style={"display": "none"},
        children=[
            html.Div(id=ids.HOT_NOTE, className="a-hint hot-note"),
            table_panel("hot_issues", "a-table-lg", note_id=ids.HOT_ISSUES_NOTE),
            issue,
            table_panel("hot_alerts", "a-table-sm", note_id=ids.HOT_ALERTS_NOTE),
            alert,
            pair(table_panel("hot_words", note_id=ids.HOT_WORDS_NOTE), table_panel("hot_frequent")),
            table_panel("hot_repeats", note_id=ids.HOT_REPEATS_NOTE),
        ],
    )


# -- callbacks ---------------------------------------------------------------------------------------------------------
def register(app: Dash, insight, metrics, settings: Settings):
    """The tab's callbacks over `insight` and `metrics` as the request's principal sees them (ScopedMetrics);
    returns build(name, state) -> Table for its downloads."""

    def hot_state(data) -> tuple[S.State, object]:
        state = S.State.from_dict(data)
        if state.view != "hot":
            raise PreventUpdate  # the insight is computed only while the tab is shown
        return state, S.filters(state, settings.now().date())

    # -- the lists: one builder for the grids and their downloads --------------------------------------------------
    def issues_list(state, f):
        return issues_table(insight.hot_issues(f, ISSUE_ROWS)["issues"], "hot_issues", state.lang)

    def alerts_list(state, f):
        return alerts_table(insight.alerts(f)["alerts"], state.lang)

    def words_lists(state, f):
        words = insight.hot_words(f, WORD_ROWS)
        return words, [
            words_table(words["words"], "hot_words", state.lang),
            words_table(words["frequent"], "hot_frequent", state.lang),
        ]

    def repeats_list(state, f):
        found = insight.repeats(f)
        return found, repeats_table(found["groups"], state.lang)

    @app.callback(
        Output(ids.HOT_ISSUES_NOTE, "children"),
        *grid_outputs("hot_issues"),
        error_output(),
        *SHOWN,
        prevent_initial_call=True,
    )
    @guard("hot_issues")
    def issues_view(_shown, data):
        state, f = hot_state(data)
        return [L.t("hot_issues_note", state.lang), *grid_values(issues_list(state, f))]

    @app.callback(
        Output(ids.HOT_NOTE, "children"),
        Output(ids.HOT_ALERTS_NOTE, "children"),
        *grid_outputs("hot_alerts"),
        error_output(),
        *SHOWN,
        prevent_initial_call=True,
    )
    @guard("hot_alerts")
    def alerts_view(_shown, data):
        state, f = hot_state(data)
        table = alerts_list(state, f)
        period = L.t("hot_period", state.lang, range=i18n.range_text(f.start, f.end, state.lang))
        return [period, L.t("hot_alerts_note", state.lang, n=len(table.rows)), *grid_values(table)]

    @app.callback(
        Output(ids.HOT_WORDS_NOTE, "children"),
        *grid_outputs("hot_words", "hot_frequent"),
        error_output(),
        *SHOWN,
        prevent_initial_call=True,
    )
    @guard("hot_words")
    def words_view(_shown, data):
        state, f = hot_state(data)
        words, made = words_lists(state, f)
        note = L.t("hot_words_note", state.lang, start=words["previous_start"], end=words["previous_end"])
        return [note, *grid_values(*made)]

    @app.callback(
        Output(ids.HOT_REPEATS_NOTE, "children"),
        *grid_outputs("hot_repeats"),
        error_output(),
        *SHOWN,
        prevent_initial_call=True,
    )
    @guard("hot_repeats")
    def repeats_view(_shown, data):
        state, f = hot_state(data)
        found, table = repeats_list(state, f)
        rate = found["repeat_rate"]
        note = L.t(
            "hot_repeats_note",
            state.lang,
            rate="—" if rate is None else f"{rate:.1%}",
            repeats=f"{found['repeats']:,}",
            messages=f"{found['messages']:,}",
        )
        return [note, *grid_values(table)]

    # -- one issue: its messages, timeline and replies -------------------------------------------------------------
    def find_issue(f, issue_id):
        """The issue by id, from the service (never member ids the browser sends)."""
        return next((i for i in insight.hot_issues(f, MAX_LIMIT)["issues"] if i["id"] == issue_id), None)

    @app.callback(
        Output(ids.HOT_ISSUE_NOTE, "children"),
        Output(ids.HOT_ISSUE_FIG, "figure"),
        Output(ids.HOT_ISSUE_LIST, "children"),
        Output(ids.HOT_ISSUE_BOX, "style"),
        Output(ids.HOT_MSG_DETAIL, "children"),
        error_output(),
        Input(ids.grid("hot_issues"), "cellClicked"),
        *SHOWN,
        State(ids.grid("hot_issues"), "virtualRowData"),
        prevent_initial_call=True,
    )
    @guard("hot_issue")
    def issue_view(cell, _shown, data, rows):
        state, f = hot_state(data)
        lang = state.lang
        row = clicked_row(cell, rows)
        if callback_context.triggered_id != ids.grid("hot_issues") or row is None:
            # a new view: nothing picked yet
            pick = L.t("hot_issue_pick", lang)
            return pick, figures.empty(THEME, pick), [], HIDDEN, L.t("msg_pick", lang)
        issue = find_issue(f, str(row.get("id")))
        if issue is None:
            return L.t("msg_none", lang), figures.empty(THEME), [], HIDDEN, L.t("msg_pick", lang)
        frame = metrics.messages_by_ids(f, tuple(issue["message_ids"]))
        note = L.t(
            "hot_issue_note",
            lang,
            title=issue["title"],
            place=" ".join(x for x in (_named(issue, lang)["province"], issue["city"], issue["place"]) if x),
            messages=issue["messages"],
            replied=issue["replied"],
            first=issue["first"],
            last=issue["last"],
        )
        if len(frame) > ISSUE_MESSAGES:
            note += L.t("hot_issue_shown", lang, shown=ISSUE_MESSAGES)
        items = [message_item(row, lang, ids.HOT_MSG_ITEM) for row in frame.head(ISSUE_MESSAGES).to_dict("records")]
        fig = figures.issue_timeline(timeline(frame), THEME, lang)
        items = items or [html.P(L.t("msg_none", lang), className="msg-meta")]
        return note, fig, items, {}, L.t("msg_pick", lang)

    # issue_view also writes the detail (empty on a new issue)
    register_reader(app, metrics, ids.HOT_MSG_ITEM, Output(ids.HOT_MSG_DETAIL, "children", allow_duplicate=True))

    # -- one surge: actual beside expected, and the hot issues inside it -------------------------------------------
    @app.callback(
        Output(ids.HOT_ALERT_NOTE, "children"),
        Output(ids.HOT_ALERT_FIG, "figure"),
        *grid_outputs("hot_alert_issues"),
        error_output(),
        Input(ids.grid("hot_alerts"), "cellClicked"),
        *SHOWN,
        State(ids.grid("hot_alerts"), "virtualRowData"),
        prevent_initial_call=True,
    )
    @guard("hot_alert")
    def alert_view(cell, _shown, data, rows):
        state, f = hot_state(data)
        lang = state.lang
        alerts = insight.alerts(f)["alerts"]
        chosen = alerts[0] if alerts else None  # a new view shows the first surge
        if callback_context.triggered_id == ids.grid("hot_alerts"):
            row = clicked_row(cell, rows)
            if row is None:
                raise PreventUpdate
            chosen = next((a for a in alerts if alert_key(a) == row.get("key")), None)
        if chosen is None:
            empty = issues_table([], "hot_alert_issues", lang)
            return "", figures.empty(THEME, i18n.t("no_data", lang)), *grid_values(empty)
        named = _named(chosen, lang)
        title = L.t(
            "hot_alert_note",
            lang,
            series=" · ".join(x for x in (named["province"], chosen["city"], named["category"]) if x),
            start=chosen["start"],
            end=chosen["end"] or L.t("hot_ongoing", lang),
            messages=chosen["messages"],
            expected=f"{chosen['expected']:.1f}",
        )
        by_id = {i["id"]: i for i in insight.hot_issues(f, MAX_LIMIT)["issues"]}
        inside = [by_id[i] for i in chosen["issue_ids"] if i in by_id]
        return (
            title,
            figures.surge(chosen["daily"], THEME, lang),
            *grid_values(issues_table(inside, "hot_alert_issues", lang)),
        )

    builders = {
        "hot_issues": issues_list,
        "hot_alerts": alerts_list,
        "hot_words": lambda s, f: words_lists(s, f)[1][0],
        "hot_frequent": lambda s, f: words_lists(s, f)[1][1],
        "hot_repeats": lambda s, f: repeats_list(s, f)[1],
    }

    def build(name: str, state: S.State) -> Table:
        if state.view != "hot" or name not in builders:
            raise PreventUpdate
        return builders[name](state, S.filters(state, settings.now().date()))

    return build
