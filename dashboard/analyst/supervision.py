"""The analyst workspace's 督办 (supervision) tab: tables and callbacks over supervision/service.py.

The tab follows the page's filters and URL (`tab=supervision`); its grids download like every other table
(dashboard/analyst/export.py picks them up by their ids). Text is masked by the supervision modules.
"""

from __future__ import annotations

import logging

import pandas as pd
from dash import Dash, Input, Output, State, no_update
from dash.exceptions import PreventUpdate

from dashboard import figures, i18n
from dashboard.analyst import ids
from dashboard.analyst import labels as L
from dashboard.analyst import state as S
from dashboard.analyst.tables import Column, Table, clicked_row, grid_outputs, grid_values, records
from dashboard.theme import WALL as THEME
from settings import Settings
from supervision import aging as aging_mod
from supervision import league
from supervision.service import Supervision

log = logging.getLogger(__name__)

ZH_EN = {
    "unit": ("单位", "Unit"),
    "province_name": ("省份", "Province"),
    "answered": ("回复件数", "Answered"),
    "on_time_rate": ("按时回复率", "On time"),
    "median_reply_hours": ("回复用时中位数（小时）", "Median reply (h)"),
    "rated": ("评价数", "Rated"),
    "satisfaction_rate": ("满意率", "Satisfied"),
    "satisfaction_adjusted": ("满意率（收缩）", "Satisfied (shrunk)"),
    "repeat_rate": ("重复诉求率", "Repeat rate"),
    "boilerplate_rate": ("套话率", "Boilerplate"),
    "score": ("综合得分", "Score"),
    "rank": ("排名", "Rank"),
    "bucket": ("账龄", "Age"),
    "waiting": ("待回复", "Waiting"),
    "in_progress": ("办理中", "In progress"),
    "total": ("合计", "Total"),
    "oldest_days": ("最长等待（天）", "Oldest (days)"),
    "created_at": ("留言时间", "Posted"),
    "age_days": ("已等待（天）", "Waiting (days)"),
    "addressee": ("留言对象", "Addressed to"),
    "city": ("城市", "City"),
    "category": ("领域", "Domain"),
    "title": ("标题", "Title"),
    "content": ("内容", "Text"),
    "status": ("状态", "Status"),
    "reason": ("原因", "Reason"),
    "count": ("条数", "Count"),
    "share": ("占比", "Share"),
    "low": ("低评价", "Low ratings"),
    "rated_at": ("评价时间", "Rated"),
    "comment": ("追评", "Follow-up words"),
    "reasons": ("原因", "Reasons"),
    "text": ("回复文本", "Reply text"),
    "replies": ("回复数", "Replies"),
    "messages": ("留言数", "Messages"),
    "units": ("单位", "Units"),
    "boilerplate": ("套话", "Boilerplate"),
    "addresses_rate": ("回应诉求率", "Addresses the message"),
    "action_rate": ("说明措施率", "Says what was done"),
    "legal_rate": ("说明依据率", "Cites a basis"),
    "likes": ("点赞", "Likes"),
    "similar": ("同类建言", "Others saying the same"),
    "adopted": ("已采纳", "Adopted"),
    "list": ("榜单", "List"),
    "first_reply_at": ("首次回复", "First reply"),
    "reply_hours": ("回复用时（小时）", "Reply time (h)"),
    "lowest_score": ("最低分", "Lowest score"),
}
ZH_EN.update(figures.AGING_LABELS)  # the age buckets' headers
REASON_NAMES = {
    "not_solved": ("问题未解决", "Not solved"),
    "slow": ("办理太慢", "Too slow"),
    "attitude": ("态度问题", "Attitude"),
    "not_addressed": ("答非所问", "Not addressed"),
    "other": ("其他/未说明", "Other / not said"),
}


ZH_EN.update(REASON_NAMES)  # per-reason count columns


def _h(field: str, lang: str) -> str:
    return ZH_EN[field][1 if lang == "en" else 0]


def _columns(specs: list[tuple[str, str, int]], lang: str, pinned: int = 0) -> list[Column]:
    return [Column(f, _h(f, lang), kind, None, width=w, pinned=i < pinned) for i, (f, kind, w) in enumerate(specs)]


LEAGUE = [
    ("rank", "int", 70),
    ("unit", "text", 200),
    ("province_name", "text", 80),
    ("answered", "int", 90),
    ("on_time_rate", "pct", 100),
    ("median_reply_hours", "hours", 130),
    ("rated", "int", 80),
    ("satisfaction_rate", "pct", 90),
    ("satisfaction_adjusted", "pct", 110),
    ("repeat_rate", "pct", 100),
    ("boilerplate_rate", "pct", 90),
    ("score", "float", 90),
]


LEAGUE_ROWS = 1000  # ranked units first, then the most answered; the API gives every unit


def league_table(frame: pd.DataFrame, name: str, lang: str) -> Table:
    columns = _columns(LEAGUE, lang, pinned=2) + [Column("province", "adcode", "text", hidden=True)]
    return Table(name, columns, records(league.shown(frame.head(LEAGUE_ROWS)), [c.field for c in columns]))


def lists_table(frame: pd.DataFrame, which: str, lang: str, n: int = 15) -> Table:
    """Best or worst `n` ranked units of each province (league.lists), in one table (province, position)."""
    parts = [item[which] for item in league.lists(frame, n)]
    chosen = pd.concat(parts, ignore_index=True) if parts else league.shown(frame.head(0))
    columns = _columns(LEAGUE, lang, pinned=2)
    columns = [columns[2], columns[1], columns[0]] + columns[3:]
    return Table(f"sv_{which}", columns, records(chosen, [c.field for c in columns]))


def _frame_table(frame: pd.DataFrame, name: str, specs: list[tuple[str, str, int]], lang: str) -> Table:
    columns = _columns(specs, lang, pinned=1)
    return Table(name, columns, records(frame, [c.field for c in columns]))


DOWNLOADS = {  # table -> the view group that builds it (dashboard/analyst/callbacks.py build_table asks here)
    "sv_league": "league",
    "sv_best": "league",
    "sv_worst": "league",
    "sv_aging_provinces": "aging",
    "sv_oldest": "aging",
    "sv_reasons": "dissatisfaction",
    "sv_low_units": "dissatisfaction",
    "sv_pool": "dissatisfaction",
    "sv_boiler_texts": "texts",
    "sv_quality_units": "texts",
    "sv_ideas": "texts",
}


def register(app: Dash, supervision: Supervision, settings: Settings):
    """The tab's callbacks; returns build(name, state) -> Table for its downloads."""

    @app.callback(
        Output("analyst-sv_league-note", "children"),
        *grid_outputs("sv_league", "sv_best", "sv_worst"),
        Input(ids.STATE, "data"),
        prevent_initial_call=True,
    )
    def league_view(data):
        state = S.State.from_dict(data)
        if state.view != "supervision":
            return [no_update] * 7
        extras, made = league_tables(state)
        return extras + grid_values(*made)

    def league_tables(state: S.State):
        lang = state.lang
        frame = supervision.league(S.filters(state, settings.now().date()))
        note = L.t("sv_league_note", lang, min_rated=settings.min_rated, days=settings.on_time_days)
        return [note], [
            league_table(frame, "sv_league", lang),
            lists_table(frame, "best", lang),
            lists_table(frame, "worst", lang),
        ]

    @app.callback(
        Output(ids.SV_UNIT_FIG, "figure"),
        Output("analyst-sv_unit-note", "children"),
        *grid_outputs("sv_unit_slowest", "sv_unit_low"),
        Input(ids.grid("sv_league"), "cellClicked"),
        State(ids.grid("sv_league"), "virtualRowData"),
        State(ids.STATE, "data"),
        prevent_initial_call=True,
    )
    def unit_view(cell, rows, data):
        state = S.State.from_dict(data)
        lang = state.lang
        row = clicked_row(cell, rows)
        if row is None:
            return [no_update] * 6
        result = supervision.unit(S.filters(state, settings.now().date()), row["unit"], int(row["province"]))
        note = L.t(
            "sv_unit_note", lang, unit=result["unit"], province=row["province_name"], answered=result["answered"]
        )
        specs = [
            ("created_at", "datetime", 160),
            ("first_reply_at", "datetime", 160),
            ("reply_hours", "hours", 110),
            ("category", "text", 80),
            ("title", "text", 260),
        ]
        return [
            figures.unit_trend(result["trend"], THEME, lang),
            note,
            *grid_values(
                _frame_table(result["slowest"], "sv_unit_slowest", specs, lang),
                _frame_table(
                    result["lowest_rated"],
                    "sv_unit_low",
                    [*specs[:1], ("lowest_score", "int", 80), ("title", "text", 220), ("comment", "text", 260)],
                    lang,
                ),
            ),
        ]

    @app.callback(
        Output(ids.SV_AGING_FIG, "figure"),
        Output("analyst-sv_aging-note", "children"),
        *grid_outputs("sv_aging_provinces", "sv_oldest"),
        Input(ids.STATE, "data"),
        prevent_initial_call=True,
    )
    def aging_view(data):
        state = S.State.from_dict(data)
        if state.view != "supervision":
            return [no_update] * 6
        extras, made = aging_tables(state)
        return extras + grid_values(*made)

    def aging_tables(state: S.State):
        lang = state.lang
        result = supervision.aging(S.filters(state, settings.now().date()))
        note = L.t(
            "sv_aging_note",
            lang,
            now=str(result["now"])[:16],
            waiting=f"{result['waiting']:,}",
            in_progress=f"{result['in_progress']:,}",
        )
        bucket_specs = [(b, "int", 80) for b in aging_mod.BUCKET_KEYS]
        provinces = result["provinces"].copy()
        oldest = result["oldest"].copy()
        oldest["status"] = [i18n.status(str(s), lang) for s in oldest["status"]]
        oldest["category"] = [i18n.category(str(c), lang) for c in oldest["category"]]
        return [figures.aging(result["buckets"], THEME, lang), note], [
            _frame_table(
                provinces,
                "sv_aging_provinces",
                [("province_name", "text", 80), *bucket_specs, ("in_progress", "int", 80), ("total", "int", 80)],
                lang,
            ),
            _frame_table(
                oldest,
                "sv_oldest",
                [
                    ("created_at", "datetime", 160),
                    ("age_days", "int", 90),
                    ("province_name", "text", 70),
                    ("city", "text", 90),
                    ("addressee", "text", 120),
                    ("category", "text", 70),
                    ("status", "text", 70),
                    ("title", "text", 240),
                    ("content", "text", 300),
                ],
                lang,
            ),
        ]

    @app.callback(
        *grid_outputs("sv_reasons", "sv_low_units", "sv_pool"),
        Input(ids.STATE, "data"),
        prevent_initial_call=True,
    )
    def dissatisfaction_view(data):
        state = S.State.from_dict(data)
        if state.view != "supervision":
            return [no_update] * 6
        _, made = dissatisfaction_tables(state)
        return grid_values(*made)

    def dissatisfaction_tables(state: S.State):
        lang = state.lang
        result = supervision.dissatisfaction(S.filters(state, settings.now().date()))
        reasons = result["reasons"].copy()
        reasons["reason"] = [REASON_NAMES[r][1 if lang == "en" else 0] for r in reasons["reason"]]
        pool = result["pool"].copy()
        pool["reasons"] = ["、".join(REASON_NAMES[r][1 if lang == "en" else 0] for r in rs) for rs in pool["reasons"]]
        return [], [
            _frame_table(
                reasons, "sv_reasons", [("reason", "text", 140), ("count", "int", 80), ("share", "pct", 80)], lang
            ),
            _frame_table(
                result["units"],
                "sv_low_units",
                [("unit", "text", 200), ("low", "int", 80), ("not_solved", "int", 80)],
                lang,
            ),
            _frame_table(
                pool,
                "sv_pool",
                [
                    ("rated_at", "datetime", 160),
                    ("province_name", "text", 70),
                    ("unit", "text", 160),
                    ("title", "text", 220),
                    ("comment", "text", 300),
                    ("reasons", "text", 140),
                ],
                lang,
            ),
        ]

    @app.callback(
        Output("analyst-sv_boiler_texts-note", "children"),
        Output("analyst-sv_ideas-note", "children"),
        *grid_outputs("sv_boiler_texts", "sv_quality_units", "sv_ideas"),
        Input(ids.STATE, "data"),
        prevent_initial_call=True,
    )
    def texts_view(data):
        state = S.State.from_dict(data)
        if state.view != "supervision":
            return [no_update] * 8
        extras, made = text_tables(state)
        return extras + grid_values(*made)

    def text_tables(state: S.State):
        lang = state.lang
        f = S.filters(state, settings.now().date())
        q = supervision.quality(f)
        totals = q["totals"]
        top = q["top_texts"].copy()
        top["units"] = ["、".join(u) for u in top["units"]]
        ideas = supervision.ideas(f)
        by_likes = ideas["by_likes"].copy()
        by_likes["adopted"] = ["✓" if a else "" for a in by_likes["adopted"]]
        return [
            L.t(
                "sv_quality_note",
                lang,
                replies=f"{totals['replies']:,}",
                boilerplate=f"{totals['boilerplate']:,}",
                unaddressed=f"{totals['replies'] - totals['addresses']:,}",
            ),
            L.t("sv_ideas_note", lang, n=f"{ideas['suggestions']:,}", adopted=f"{ideas['adopted_count']:,}"),
        ], [
            _frame_table(
                top,
                "sv_boiler_texts",
                [("text", "text", 320), ("replies", "int", 80), ("messages", "int", 80), ("units", "text", 200)],
                lang,
            ),
            _frame_table(
                q["units"],
                "sv_quality_units",
                [
                    ("unit", "text", 180),
                    ("replies", "int", 80),
                    ("boilerplate_rate", "pct", 80),
                    ("addresses_rate", "pct", 90),
                    ("action_rate", "pct", 90),
                    ("legal_rate", "pct", 90),
                ],
                lang,
            ),
            _frame_table(
                by_likes,
                "sv_ideas",
                [
                    ("title", "text", 280),
                    ("province_name", "text", 70),
                    ("city", "text", 90),
                    ("likes", "int", 70),
                    ("similar", "int", 90),
                    ("adopted", "text", 70),
                    ("unit", "text", 160),
                ],
                lang,
            ),
        ]

    groups = {
        "league": league_tables,
        "aging": aging_tables,
        "dissatisfaction": dissatisfaction_tables,
        "texts": text_tables,
    }

    def build(name: str, state: S.State) -> Table:
        if state.view != "supervision" or name not in DOWNLOADS:
            raise PreventUpdate
        _, made = groups[DOWNLOADS[name]](state)
        return next(t for t in made if t.name == name)

    return build
