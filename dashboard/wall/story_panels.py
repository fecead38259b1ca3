"""The story panels' contents (hot issues, surges, red and black lists) as JSON-ready Dash components: pure
functions of a story (dashboard/wall/story.py). Text goes in as text children (never HTML)."""

from __future__ import annotations

import json

from dash import html
from plotly.utils import PlotlyJSONEncoder

from dashboard import i18n


def _json(children: list) -> list:
    return json.loads(json.dumps(children, cls=PlotlyJSONEncoder))


def _empty(text: str) -> list:
    return _json([html.Div(text, className="story-empty")])


def _row(item: dict, lead, title: str, sub: str, kind: str = "", tail=None) -> html.Div:
    """One story line: a lead (rank or ratio), a title over a sub-line, an optional tail; new items glow."""
    children = [lead, html.Div([html.Div(title, className="story-title"), html.Div(sub, className="story-sub")],
                               className="story-main")]  # fmt: skip
    return html.Div(
        className=f"story-row{kind}" + (" story-new" if item.get("new") else ""),
        children=children if tail is None else [*children, tail],
    )


def issues(story: dict | None, lang: str) -> list:
    if story is None:
        return _empty(i18n.t("story_waiting", lang))
    if not story["issues"]:
        return _empty(i18n.t("story_no_issues", lang))
    return _json(
        [
            _row(
                item,
                html.Span(f"{n}", className="story-rank"),
                item["title"],
                f"{item['place']} · {item['messages']:,} {i18n.t('story_messages', lang)}",
                tail=html.Span(f"{item['heat']:.1f}", className="story-heat", title=i18n.t("story_heat", lang)),
            )
            for n, item in enumerate(story["issues"], 1)
        ]
    )


def alerts(story: dict | None, lang: str) -> list:
    if story is None:
        return _empty(i18n.t("story_waiting", lang))
    if not story["alerts"]:
        return _empty(i18n.t("story_no_alerts", lang))
    return _json(
        [
            _row(
                item,
                html.Span(f"×{item['ratio']:.1f}", className="story-ratio"),
                f"{item['place']} · {i18n.category(item['category'], lang)}",
                i18n.t("story_since", lang, day=item["since"]) + (f" · {item['cause']}" if item["cause"] else ""),
                kind=" story-alert",
            )
            for item in story["alerts"]
        ]
    )


def units(story: dict | None, lang: str) -> list:
    if story is None:
        return _empty(i18n.t("story_waiting", lang))
    if not story["best"] and not story["worst"]:
        return _empty(i18n.t("story_no_units", lang))
    columns = []
    for part, key in (("best", "story_best"), ("worst", "story_worst")):
        lines = [
            html.Div(
                className="unit-line",
                children=[
                    html.Span(item["unit"], className="unit-name"),
                    html.Span("—" if item["score"] is None else f"{item['score']:.1f}", className="unit-score"),
                ],
            )
            for item in story[part]
        ]
        columns.append(
            html.Div([html.Div(i18n.t(key, lang), className=f"unit-head {part}"), *lines], className="unit-col")
        )
    return _json([html.Div(columns, className="unit-lists")])
