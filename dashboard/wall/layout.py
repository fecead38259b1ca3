"""The wall's layout: a 1920x1080 canvas of empty panels. Never touches data.

Numbers, figures and the feed arrive from dashboard/wall/callbacks.py; the
canvas is scaled to the window by assets/wall.js (uniform scale, letterboxed).
Kiosk options come from the URL: period, metric, rotate, interval, lang.
"""

from __future__ import annotations

from urllib.parse import parse_qs

from dash import dcc, html

from dashboard import figures, geo, i18n, ids
from dashboard.theme import WALL as THEME
from dashboard.wall import kpis
from queries import provinces as province_ref
from queries.periods import PRESETS
from settings import Settings

DEFAULT_PERIOD = "ytd"
METRIC_ALIASES = {
    "messages": "messages_per_10k",
    "replies": "replies_per_10k",
    "ratio": "reply_ratio",
    "per10k": "messages_per_10k",
}
MIN_INTERVAL, MAX_INTERVAL = 1.0, 3600.0
MIN_ROTATE = 5
MIN_CAROUSEL = 10
GRAPH_CONFIG = {
    "displayModeBar": False,
    "displaylogo": False,
    "scrollZoom": False,
    "doubleClick": False,
    "showTips": False,
    "responsive": True,
}


def kiosk_options(search: str | None, settings: Settings) -> dict:
    """Options of one screen from its URL query; a bad value falls back to the default (kiosks never break)."""
    query = parse_qs((search or "").lstrip("?"), keep_blank_values=False)

    def first(name: str) -> str | None:
        values = query.get(name)
        return values[0].strip() if values else None

    period = first("period")
    period = period if period in PRESETS else DEFAULT_PERIOD
    metric = first("metric")
    metric = METRIC_ALIASES.get(metric, metric)
    metric = metric if metric in figures.MAP_METRICS else "messages_per_10k"
    rotate = _number(first("rotate"), settings.rotate_seconds)
    rotate = 0 if rotate <= 0 else max(MIN_ROTATE, int(rotate))
    interval = min(MAX_INTERVAL, max(MIN_INTERVAL, _number(first("interval"), settings.refresh_seconds)))
    lang = i18n.lang_or_default(first("lang"))
    province = _province(first("province"))
    carousel = _number(first("carousel"), 0)
    carousel = 0 if carousel <= 0 else max(MIN_CAROUSEL, int(min(carousel, MAX_INTERVAL)))
    listed = [_province(p) for p in (first("carousel_provinces") or "").split(",") if p.strip()]
    listed = list(dict.fromkeys(p for p in listed if p and p != province))
    return {
        "province": province,
        "carousel": carousel,
        # the given provinces, else every province (in adcode order)
        "carousel_provinces": (listed or [p for p in province_ref.codes() if p != province]) if carousel else [],
        "period": period,
        "metric": metric,
        "metric_index": list(figures.MAP_METRICS).index(metric),
        "rotate": rotate,
        "interval": interval,
        "lang": lang,
        "stale_amber": settings.stale_amber_seconds,
        "stale_red": settings.stale_red_seconds,
        "reload_hours": settings.reload_hours,
        "geojson_url": geojson_url(),
        # For assets/wall.js: where to render, and its labels.
        "ids": {
            "kpi": kpis.VALUE_IDS,
            "yoy": kpis.YOY_IDS,
            "feed": ids.FEED_LIST,
            "clock": ids.HEADER_CLOCK,
            "date": ids.HEADER_DATE,
            "freshness": ids.HEADER_FRESHNESS,
            "status": ids.HEADER_STATUS,
            "wall": ids.WALL,
            "map": ids.MAP,
        },
        "labels": i18n.client_labels(lang),
    }


def _province(raw: str | None) -> int | None:
    """A province from an adcode or a name (河南, 河南省, Henan); anything else: None (the national view)."""
    if not raw:
        return None
    return province_ref.resolve(raw.strip()[:20])


def geojson_url() -> str:
    """The map's GeoJSON URL under the app's path prefix (outside a Dash app: the bare path)."""
    try:
        from dash import get_relative_path

        return get_relative_path(geo.url_path())
    except Exception:  # no app registered (unit tests)
        return geo.url_path()


def _number(raw: str | None, default: float) -> float:
    if raw is None or raw == "":
        return float(default)
    try:
        value = float(raw)
    except ValueError:
        return float(default)
    return value if value == value and abs(value) != float("inf") else float(default)


# -- building blocks ---------------------------------------------------------------------------------------------
def _panel(
    title: str, body, *, class_name: str = "", subtitle_id: str | None = None, extra=None, title_id: str | None = None
) -> html.Div:
    head = [html.Span(title, className="panel-title", **({"id": title_id} if title_id else {}))]
    if subtitle_id:
        head.append(html.Span(id=subtitle_id, className="panel-subtitle"))
    if extra is not None:
        head.append(extra)
    return html.Div(
        className=f"panel {class_name}".strip(),
        children=[
            html.Div(head, className="panel-head"),
            html.Div(body, className="panel-body"),
        ],
    )


def _graph(graph_id: str) -> dcc.Graph:
    return dcc.Graph(
        id=graph_id,
        figure=figures.empty(THEME),
        config=GRAPH_CONFIG,
        className="graph",
        style={"width": "100%", "height": "100%"},
    )


ACCENTS = {"messages": "accent-cyan", "replies": "accent-gold"}  # theme.accent / accent2: messages / replies


def _kpi(card: kpis.Card, lang: str) -> html.Div:
    label = html.Div(card.label(lang), className="kpi-label")
    children = [label, html.Div(_kpi_number(card, lang), className="kpi-number")]
    if card.yoy:
        children.append(_yoy_row(card, lang))
    if card.sub:
        children.append(_sub_row(card.sub, lang))
    size = "big" if card.big else "small"
    accent = ACCENTS.get(card.metric, "") if card.big else ""
    return html.Div(children, className=f"kpi kpi-{size} {accent}".strip())


def _yoy_row(card: kpis.Card, lang: str) -> html.Div:
    return html.Div(
        className="kpi-yoy-row",
        children=[
            html.Span(i18n.t("yoy", lang), className="kpi-yoy-label"),
            html.Span("—", id=ids.kpi_yoy(card.key), className="kpi-yoy"),
        ],
    )


def _sub_row(sub: kpis.Card, lang: str) -> html.Div:
    """A second metric on a card's last line."""
    row = [
        html.Span(sub.label(lang), className="kpi-yoy-label"),
        html.Span("—", id=ids.kpi_value(sub.key), className="kpi-sub", **{"data-format": sub.fmt}),
    ]
    if sub.unit_key and i18n.t(sub.unit_key, lang):
        row.append(html.Span(i18n.t(sub.unit_key, lang), className="kpi-yoy-label"))
    return html.Div(row, className="kpi-yoy-row")


def _kpi_number(card: kpis.Card, lang: str) -> list:
    number = [html.Span("—", id=ids.kpi_value(card.key), className="kpi-value", **{"data-format": card.fmt})]
    unit = i18n.t(card.unit_key, lang) if card.unit_key else ""
    if unit:
        number.append(html.Span(unit, className="kpi-unit"))
    return number


def _header(config: dict) -> html.Div:
    lang = config["lang"]
    return html.Div(
        className="wall-header",
        children=[
            html.Div(
                className="header-side header-left",
                children=[
                    html.Div(
                        [
                            html.Span(i18n.t("beijing_time", lang), className="clock-label"),
                            html.Span("--:--:--", id=ids.HEADER_CLOCK, className="clock"),
                        ],
                        className="clock-row",
                    ),
                    html.Div(id=ids.HEADER_DATE, className="header-date"),
                ],
            ),
            html.Div(
                className="header-title",
                children=[
                    html.H1(i18n.t("title", lang)),
                    html.Div(i18n.t("subtitle", lang), className="header-subtitle"),
                ],
            ),
            html.Div(
                className="header-side header-right",
                children=[
                    html.Div(
                        [
                            html.Span(i18n.t("period", lang), className="period-label"),
                            html.Span(id=ids.HEADER_PERIOD, className="period-value"),
                        ],
                        className="period-row",
                    ),
                    html.Div(
                        [
                            html.Span(id=ids.HEADER_FRESHNESS, className="freshness"),
                            html.Span(id=ids.HEADER_STATUS, className="status"),
                        ],
                        className="fresh-row",
                    ),
                ],
            ),
        ],
    )


def build(config: dict) -> html.Div:
    lang = config["lang"]
    left = html.Div(
        className="col col-left",
        children=[
            _panel(
                i18n.t("ranking_title", lang),
                _graph(ids.RANKING),
                class_name="panel-ranking",
                subtitle_id=ids.RANKING_TITLE,
                title_id=ids.RANKING_HEAD,
            ),
            _panel(i18n.t("categories", lang), _graph(ids.CATEGORIES), class_name="panel-categories"),
            _panel(
                i18n.t("story_issues", lang),
                html.Div(id=ids.STORY_ISSUES, className="story-list"),
                class_name="panel-story panel-issues",
            ),
        ],
    )
    centre = html.Div(
        className="col col-centre",
        children=[
            html.Div(
                className="kpi-row kpi-row-big",
                children=[_kpi(card, lang) for card in kpis.CARDS if card.big],
            ),
            _panel(
                i18n.t("map_title", lang),
                _graph(ids.MAP),
                class_name="panel-map",
                subtitle_id=ids.MAP_TITLE,
                title_id=ids.MAP_HEAD,
            ),
            html.Div(
                className="kpi-row kpi-row-small",
                children=[_kpi(card, lang) for card in kpis.CARDS if not card.big],
            ),
        ],
    )
    right = html.Div(
        className="col col-right",
        children=[
            _panel(i18n.t("trend_day", lang), _graph(ids.TREND_DAY), class_name="panel-trend"),
            _panel(
                i18n.t("story_alerts", lang),
                html.Div(id=ids.STORY_ALERTS, className="story-list"),
                class_name="panel-story panel-alerts",
            ),
            _panel(
                i18n.t("story_units", lang),
                html.Div(id=ids.STORY_UNITS, className="story-list"),
                class_name="panel-story panel-units",
            ),
            _panel(
                i18n.t("feed", lang),
                html.Div(id=ids.FEED_LIST, className="feed-list"),
                class_name="panel-feed",
                extra=html.Span(className="live-dot"),
            ),
        ],
    )
    interval_ms = int(config["interval"] * 1000)
    rotate_ms = int(config["rotate"] * 1000) or 3_600_000
    html_lang = "zh-CN" if lang == "zh" else "en"
    return html.Div(
        id=ids.WALL_VIEWPORT,
        className=f"wall-viewport lang-{lang}",
        lang=html_lang,
        children=[
            dcc.Store(id=ids.WALL_CONFIG, data=config),
            dcc.Store(id=ids.WALL_STATE),
            dcc.Store(id=ids.WALL_KPI),
            dcc.Store(id=ids.WALL_FEED),
            dcc.Store(id=ids.WALL_META),
            dcc.Store(id=ids.WALL_ERROR),
            dcc.Store(id=ids.WALL_SINK),
            dcc.Interval(id=ids.WALL_TICK, interval=interval_ms, n_intervals=0),
            dcc.Interval(id=ids.WALL_ROTATE, interval=rotate_ms, n_intervals=0, disabled=not config["rotate"]),
            dcc.Interval(
                id=ids.WALL_CAROUSEL,
                interval=int(config.get("carousel") or 3600) * 1000,
                n_intervals=0,
                disabled=not config.get("carousel"),
            ),
            html.Div(
                id=ids.WALL,
                className="wall",
                children=[
                    _header(config),
                    html.Div(className="wall-body", children=[left, centre, right]),
                ],
            ),
        ],
    )


def placeholder(text: str) -> html.Div:
    return html.Div(text, className="placeholder")
