"""The wall's live behaviour: one refresh callback that sends only what changed.

Each screen remembers (in the WALL_STATE store) the token of the view it
shows: data version, period, language, map metric and Beijing date. On every
tick the server builds (or takes from a small shared cache) the view for the
current token and, when it differs from the screen's, sends a `dash.Patch`
per output holding only the changed leaves — a tick where only counts moved
sends only those numbers; an unchanged tick answers 204 (PreventUpdate).
A view is computed once per token for any number of screens.

A failing refresh keeps the last good picture: `on_error` sends nothing but a
marker to the WALL_ERROR store, which assets/wall.js turns into a discreet
indicator.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import threading
import time
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor

import pandas as pd
from dash import ClientsideFunction, Dash, Input, Output, Patch, State, no_update
from dash.exceptions import PreventUpdate

from dashboard import figures, geo, i18n, ids
from dashboard.auth import access
from dashboard.city_geo import CityMaps
from dashboard.theme import WALL as THEME
from dashboard.theme import Theme
from dashboard.wall import kpis, layout, story_panels
from dashboard.wall.story import Story
from queries import provinces as province_ref
from queries.periods import PRESETS, Filters, beijing_now, preset
from queries.service import Metrics
from settings import Settings

log = logging.getLogger(__name__)

FEED_SIZE = 24
FEED_TITLE_CHARS = 80
MAX_TOKEN = 200
LULL_SECONDS = 2.0  # the story's analysis starts after writes paused this long (or its interval passed)
_BACKGROUND = ThreadPoolExecutor(max_workers=2, thread_name_prefix="wall-view")

# Order of the refresh callback's outputs: view key -> (component id, property).
OUTPUTS: list[tuple[str, str, str]] = [
    ("kpi", ids.WALL_KPI, "data"),
    ("feed", ids.WALL_FEED, "data"),
    ("meta", ids.WALL_META, "data"),
    ("period", ids.HEADER_PERIOD, "children"),
    ("metric_label", ids.RANKING_TITLE, "children"),
    ("ranking_head", ids.RANKING_HEAD, "children"),
    ("map_head", ids.MAP_HEAD, "children"),
    ("map_title", ids.MAP_TITLE, "children"),
    ("map", ids.MAP, "figure"),
    ("ranking", ids.RANKING, "figure"),
    ("trend_day", ids.TREND_DAY, "figure"),
    ("categories", ids.CATEGORIES, "figure"),
    ("story_issues", ids.STORY_ISSUES, "children"),
    ("story_alerts", ids.STORY_ALERTS, "children"),
    ("story_units", ids.STORY_UNITS, "children"),
]


# -- the view of one screen ----------------------------------------------------------------------------------------
def _figure_json(fig: dict) -> dict:
    """A figure dict as the browser receives it (JSON types only: tuples become lists)."""
    return json.loads(json.dumps(fig))


def _value(value):
    if value is None:
        return None
    if isinstance(value, float):
        return None if value != value else round(value, 6)
    return value


def _feed_time(stamp, today) -> str:
    stamp = pd.Timestamp(stamp)
    return stamp.strftime("%H:%M:%S") if stamp.date() == today else stamp.strftime("%m-%d %H:%M")


def _short(text: str, limit: int) -> str:
    """Text cut to `limit` characters with "…" (the feed shows one line per item)."""
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _place(row, lang: str) -> str:
    province = row.get("province_name_en") if lang == "en" else row.get("province_name")
    province = province if isinstance(province, str) else ""
    city = row.get("city") if isinstance(row.get("city"), str) else ""
    if not city or lang == "en" or city.startswith(province):
        return province or city
    return f"{province} · {city}"


def feed_items(messages: list[dict], replies: list[dict], lang: str, today, size: int = FEED_SIZE) -> dict:
    """Newest messages and first replies (queries.feed.latest_records), newest first: {"order": [key...], "items":
    {key: item}}.

    Items carry only public fields (time, place, domain, type, masked title); the
    browser inserts them as text (no HTML).
    """
    rows = []
    for kind, records, column in (("m", messages, "created_at"), ("r", replies, "replied_at")):
        for row in records:
            rows.append((pd.Timestamp(row[column]), kind, row))
    rows.sort(key=lambda r: (r[0], r[1], str(r[2]["message_id"])), reverse=True)
    order, items = [], {}
    for stamp, kind, row in rows[:size]:
        key = kind + hashlib.blake2b(str(row["message_id"]).encode(), digest_size=5).hexdigest()
        order.append(key)
        items[key] = {
            "k": kind,
            "t": _feed_time(stamp, today),
            "p": _short(_place(row, lang), 24),
            "c": _short(i18n.category(str(row.get("category") or ""), lang), figures.LABEL_CHARS),
            "y": _short(i18n.msg_type(str(row.get("msg_type") or ""), lang), figures.LABEL_CHARS),
            "s": _short(str(row.get("title") or ""), FEED_TITLE_CHARS),
        }
    return {"order": order, "items": items}


def build_view(
    metrics: Metrics,
    *,
    period: str,
    lang: str,
    metric: str,
    today,
    geojson_url: str,
    theme: Theme = THEME,
    province: int | None = None,
    city_maps: CityMaps | None = None,
    story: dict | None = None,
) -> dict:
    """Everything one screen shows, as JSON-ready values keyed like OUTPUTS: the nation, or one province
    (its numbers, its cities on the map and in the ranking, its trends, domains and feed)."""
    scope = (province,) if province else ()
    f = Filters(*preset(period, today), provinces=scope)
    today_f = Filters(today, today, provinces=scope)
    # the feeds' and the domains' statements run on the other core while this thread reads the rollups (DuckDB
    # releases the GIL)
    feeds = _BACKGROUND.submit(metrics.latest_records, f, FEED_SIZE)
    domains = _BACKGROUND.submit(metrics.by_category, f)
    summary = metrics.summary(f)
    today_summary = summary if f == today_f else metrics.summary(today_f)
    census_year = int(summary["census_year"])
    period_name = i18n.period_name(period, lang)
    kpi = {k: _value(v) for k, v in kpis.values(summary, today_summary).items()}
    if province and city_maps is not None:
        place = province_ref.names(lang)[province]
        cities = metrics.by_city(f)
        heads = (i18n.t("city_ranking_title", lang), i18n.t("city_map_title", lang, province=place))
        label = i18n.t("city_messages", lang)
        map_title = f"{label} · {period_name}"
        the_map = figures.city_map(cities, theme, lang, city_maps.url(province), place, city_maps.cities(province))
        the_ranking = figures.city_ranking(cities, theme, lang)
    else:
        place = i18n.t("nationwide", lang)
        heads = (i18n.t("ranking_title", lang), i18n.t("map_title", lang))
        provinces = metrics.by_province(f)
        label = figures.metric_label(metric, lang)
        map_title = f"{label} · {period_name}"
        subtitle = f"{period_name} · {i18n.t('census', lang, year=census_year)}"
        the_map = figures.china_map(
            provinces, metric, theme, lang, geojson_url, subtitle=subtitle, label_points=geo.label_points()
        )
        the_ranking = figures.ranking(provinces, metric, theme, lang)
    feed = feed_items(*feeds.result(), lang, today)
    return {
        "kpi": kpi,
        "feed": feed,
        "meta": {
            "updated_at": metrics.store.last_write_at,
            "version": metrics.data_version,
            "start": f.start.isoformat(),
            "end": f.end.isoformat(),
            "census_year": census_year,
            "province": province,
        },
        "period": f"{place} · {period_name} · {i18n.range_text(f.start, f.end, lang)}",
        "metric_label": label,
        "ranking_head": heads[0],
        "map_head": heads[1],
        "map_title": map_title,
        "map": _figure_json(the_map),
        "ranking": _figure_json(the_ranking),
        "trend_day": _figure_json(
            figures.trend(metrics.trend(Filters(*preset("last30", today), provinces=scope), "day"), theme, lang)
        ),
        "categories": _figure_json(figures.categories(domains.result(), theme, lang)),
        "story_issues": story_panels.issues(story, lang),
        "story_alerts": story_panels.alerts(story, lang),
        "story_units": story_panels.units(story, lang),
    }


# -- diffs ----------------------------------------------------------------------------------------------------------
def patch_for(old, new):
    """What to send to turn `old` into `new`: no_update, a Patch of the changed leaves, or `new` itself."""
    if old is None:
        return new
    if old == new:
        return no_update
    if isinstance(old, dict) and isinstance(new, dict):
        patch = Patch()
        _diff_dict(patch, old, new)
        return patch
    return new


def _diff_dict(patch: Patch, old: dict, new: dict) -> None:
    for key, value in new.items():
        if key not in old:
            patch[key] = value
        elif old[key] != value:
            _diff_value(patch, key, old[key], value)
    for key in old:
        if key not in new:
            del patch[key]


def _diff_value(patch: Patch, key, old, new) -> None:
    if isinstance(old, dict) and isinstance(new, dict):
        _diff_dict(patch[key], old, new)
    elif isinstance(old, list) and isinstance(new, list) and len(old) == len(new) and old:
        changed = [i for i in range(len(old)) if old[i] != new[i]]
        nested = all(isinstance(old[i], (dict, list)) and type(old[i]) is type(new[i]) for i in changed)
        if nested or len(changed) * 2 <= len(old):
            for i in changed:
                _diff_value(patch[key], i, old[i], new[i])
        else:
            patch[key] = new
    else:
        patch[key] = new


# -- shared cache of views -------------------------------------------------------------------------------------------
class Views:
    """Views by token, computed once per token however many screens ask (LRU).

    Writes first: while a write is pending, a screen whose view of the new data version is not built yet gets the
    newest view built for the same choices, if its data version was superseded at most `lag_seconds` ago (the
    screen shows an answer that is a little late, and says which version it is for); only an older one is built
    again, inside `gate` (which lets pending writes go first and bounds the builds running at once)."""

    def __init__(
        self,
        metrics: Metrics,
        geojson_url: str,
        size: int = 256,
        theme: Theme = THEME,
        city_maps=None,
        story=None,
        lag_seconds: float = 0.0,
        gate=None,
    ):
        self.metrics = metrics
        self.geojson_url = geojson_url
        self.city_maps = city_maps
        self.story = story  # dashboard.wall.story.Story, or None (no story panels' contents)
        self.theme = theme
        self.size = size
        self.lag_seconds = lag_seconds
        self.gate = gate  # gate() -> context manager around a build (dashboard.readgate.ReadGate.hold), or None
        self._views: OrderedDict[str, dict] = OrderedDict()
        self._patches: OrderedDict[tuple, list] = OrderedDict()
        self._latest: OrderedDict[tuple, str] = OrderedDict()  # a screen's choices -> token of the newest view built
        self._guard = threading.Lock()
        self._locks: dict[str, threading.Lock] = {}

    def stamp(self) -> str:
        """What every view's token depends on besides its own choices and the day: data and story versions."""
        story = f"~{self.story.stamp()}" if self.story is not None else ""
        return f"{self.metrics.data_version}{story}"

    def token(self, period: str, lang: str, metric: str, today, province: int | None = None) -> str:
        # a province view has no map metric: one token (and view) per province whatever the rotation
        metric = "cities" if province else metric
        version = self.metrics.data_version
        if self.story is not None:  # a new story (surge, hot issue, league) is a new view too
            version = f"{version}~{self.story.get(province)[0]}"
        return "|".join((version, period, lang, metric, today.isoformat(), str(province or "")))

    def peek(self, token) -> dict | None:
        if not isinstance(token, str) or len(token) > MAX_TOKEN:
            return None
        with self._guard:
            return self._views.get(token)

    def previous(self, token: str) -> tuple[str, dict] | None:
        """The newest view built for the choices of `token` while writes are pending, if its data version was
        superseded at most `lag_seconds` ago; else None (build the view of `token`)."""
        store = self.metrics.store
        if self.lag_seconds <= 0 or not store.writes_pending:
            return None
        with self._guard:
            latest = self._latest.get(_choices(token))
        view = self.peek(latest)
        if view is None or store.superseded_for(_data_version(latest)) > self.lag_seconds:
            return None
        return latest, view

    def get(
        self, period: str, lang: str, metric: str, today, wait: bool = True, province: int | None = None
    ) -> tuple[str, dict]:
        """The view of the current token, built once (or the previous one while writes are pending: `previous`).
        While another request builds it, `wait=False` raises PreventUpdate at once (a screen that shows a picture
        keeps it and asks again next tick) instead of holding a server thread until the build is done."""
        token = self.token(period, lang, metric, today, province)
        view = self.peek(token)
        if view is not None:
            return token, view
        previous = self.previous(token)
        if previous is not None:
            return previous
        with self._guard:
            lock = self._locks.setdefault(token, threading.Lock())
        if not lock.acquire(blocking=wait):
            raise PreventUpdate
        try:
            view = self.peek(token)
            if view is None:
                with self.gate() if self.gate is not None else contextlib.nullcontext():
                    view = self._build(period, lang, metric, today, province)
                self._keep(token, view)
        finally:
            lock.release()
            with self._guard:
                self._locks.pop(token, None)
        return token, view

    def _build(self, period: str, lang: str, metric: str, today, province: int | None) -> dict:
        # A write landing mid-build is caught by the next tick (its token differs).
        return build_view(
            self.metrics,
            period=period,
            lang=lang,
            metric=metric,
            today=today,
            geojson_url=self.geojson_url,
            theme=self.theme,
            province=province,
            city_maps=self.city_maps,
            story=self.story.get(province)[1] if self.story is not None else None,
        )

    def _keep(self, token: str, view: dict) -> None:
        choices = _choices(token)
        with self._guard:
            self._views[token] = view
            self._views.move_to_end(token)
            while len(self._views) > self.size:
                self._views.popitem(last=False)
            latest = self._latest.get(choices)
            if latest is None or _version_number(token) >= _version_number(latest):
                self._latest[choices] = token
                self._latest.move_to_end(choices)
                while len(self._latest) > self.size:
                    self._latest.popitem(last=False)

    def patches(self, old_token: str | None, old: dict | None, token: str, view: dict) -> list:
        """The values that turn the view of `old_token` into `view`, per output; computed once for all
        the screens that show the same old view (after a write, every screen asks for the same diff)."""
        key = (old_token, token)
        with self._guard:
            values = self._patches.get(key)
        if values is None:
            values = [patch_for(old.get(k) if old else None, view[k]) for k, _, _ in OUTPUTS]
            with self._guard:
                self._patches[key] = values
                while len(self._patches) > self.size:
                    self._patches.popitem(last=False)
        return values


def _data_version(token: str) -> str:
    """The data version a view's token is for (`Views.token`: data version, then `~story`, then the choices)."""
    return token.split("|", 1)[0].split("~", 1)[0]


def _version_number(token: str) -> int:
    number = _data_version(token).rpartition(":")[2]
    return int(number) if number.isdigit() else -1


def _choices(token: str) -> tuple[str, ...]:
    """A screen's choices in a view's token: everything but the versions."""
    return tuple(token.split("|")[1:])


# -- registration ----------------------------------------------------------------------------------------------------
def _count(value) -> int:
    """A small non-negative counter from the browser (anything else counts as 0)."""
    return value if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 10**9 else 0


def metric_at(config: dict, rotations: int | None) -> str:
    names = list(figures.MAP_METRICS)
    index = _count(config.get("metric_index", 0))
    if config.get("rotate"):
        index += _count(rotations)
    return names[index % len(names)]


def screen_config(config) -> dict | None:
    """The refresh's view choices from the screen's config store, normalised to the allow-lists: the store
    comes from the browser, and an invented period or language must neither fail the tick nor add a view
    (each distinct token is a view build and a cache entry that could push real screens out)."""
    if not isinstance(config, dict):
        return None
    period = config.get("period")
    return {
        "period": period if isinstance(period, str) and period in PRESETS else layout.DEFAULT_PERIOD,
        "lang": i18n.lang_or_default(config.get("lang") if isinstance(config.get("lang"), str) else None),
        "metric_index": _count(config.get("metric_index", 0)),
        "rotate": bool(config.get("rotate")),
        "province": _province(config.get("province")),
        "carousel": _count(config.get("carousel")),
        "carousel_provinces": [
            code for code in map(_province, _list(config.get("carousel_provinces"))) if code is not None
        ],
    }


def _province(value) -> int | None:
    """A known province's adcode from the config store (anything else: the national view)."""
    return value if isinstance(value, int) and not isinstance(value, bool) and value in province_ref.names() else None


def _list(value) -> list:
    return value[: len(province_ref.codes())] if isinstance(value, list) else []


def province_at(config: dict, steps: int | None) -> int | None:
    """The province a screen shows now: its carousel's current step, else its home province (None: national)."""
    home = config.get("province")
    carousel = config.get("carousel_provinces") or []
    if not config.get("carousel") or not carousel:
        return home
    stops = [*carousel, home]  # the home view (national, or the province wall's own) between rounds
    return stops[_count(steps) % len(stops)]


def refresh(
    views: Views, config: dict, state: dict | None, rotations: int | None, today=None, steps: int | None = None
):
    """The refresh tick: (values for OUTPUTS..., new state). Raises PreventUpdate when nothing changed."""
    config = screen_config(config)
    if config is None:
        raise PreventUpdate
    today = today or beijing_now().date()
    metric = metric_at(config, rotations)
    province = province_at(config, steps)
    old_token = state.get("token") if isinstance(state, dict) else None
    old = views.peek(old_token)
    # a screen showing a picture does not wait for a view another request is building (perf note: queries owner)
    token, view = views.get(config["period"], config["lang"], metric, today, wait=old is None, province=province)
    if old_token == token:
        raise PreventUpdate
    return (*views.patches(old_token if old else None, old, token, view), {"token": token, "metric": metric})


def register(app: Dash, metrics: Metrics, settings: Settings, views: Views | None = None) -> Views:
    """Wire the wall into `app` (its layout comes from dashboard.wall.layout.build via the router)."""
    geo.register(app.server)
    city_maps = CityMaps()
    city_maps.register(app.server, app.get_relative_path("/"))
    if views is None:
        extensions = app.server.extensions.get("liuyan", {})
        story = None
        if extensions.get("insight") is not None and extensions.get("supervision") is not None:
            story = Story(
                extensions["insight"],
                extensions["supervision"],
                settings.now,
                settings.story_seconds,
                lull=lambda timeout: metrics.store.quiet_writes(LULL_SECONDS, timeout),
            )
        gate = extensions.get("read_gate")
        views = Views(
            metrics,
            app.get_relative_path(geo.url_path()),
            city_maps=city_maps,
            story=story,
            lag_seconds=settings.read_lag_ms / 1000,
            gate=gate.hold if gate is not None else None,
        )
    app.server.extensions.setdefault("liuyan", {})["wall_views"] = views
    outputs = [Output(component, prop) for _, component, prop in OUTPUTS]

    def failed(exc: Exception):
        log.exception("wall refresh failed", exc_info=exc)
        return (*[no_update] * len(OUTPUTS), no_update, {"t": time.time(), "error": type(exc).__name__})

    @app.callback(
        *outputs,
        Output(ids.WALL_STATE, "data"),
        Output(ids.WALL_ERROR, "data"),
        Input(ids.WALL_TICK, "n_intervals"),
        Input(ids.WALL_ROTATE, "n_intervals"),
        Input(ids.WALL_CAROUSEL, "n_intervals"),
        State(ids.WALL_CONFIG, "data"),
        State(ids.WALL_STATE, "data"),
        on_error=failed,
    )
    def wall_refresh(_tick, rotations, steps, config, state):
        config = access.wall_scope(config, access.current())  # the store comes from the browser
        return (*refresh(views, config, state, rotations, settings.now().date(), steps), no_update)

    namespace = "liuyanWall"
    app.clientside_callback(
        ClientsideFunction(namespace, "init"), Output(ids.WALL_SINK, "data"), Input(ids.WALL_CONFIG, "data")
    )
    app.clientside_callback(
        ClientsideFunction(namespace, "kpi"), Input(ids.WALL_KPI, "data"), State(ids.WALL_CONFIG, "data")
    )
    app.clientside_callback(
        ClientsideFunction(namespace, "feed"), Input(ids.WALL_FEED, "data"), State(ids.WALL_CONFIG, "data")
    )
    app.clientside_callback(
        ClientsideFunction(namespace, "meta"), Input(ids.WALL_META, "data"), State(ids.WALL_CONFIG, "data")
    )
    app.clientside_callback(ClientsideFunction(namespace, "error"), Input(ids.WALL_ERROR, "data"))
    app.clientside_callback(ClientsideFunction(namespace, "state"), Input(ids.WALL_STATE, "data"))
    return views
