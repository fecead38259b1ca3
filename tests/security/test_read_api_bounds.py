"""Issue 16, item 9: cheap requests that cost much. Every list is bounded, a trend's length by its granularity,
and the wall's view cache keys only on allowed values."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import replace

import pytest
from dash.exceptions import PreventUpdate

from dashboard.params import MAX_PERIOD_DAYS, MAX_VALUES
from dashboard.wall import callbacks, layout
from queries.db import Store
from queries.service import Metrics
from queries.writes import upsert
from settings import Settings
from tests.conftest import HENAN, frame, message
from tests.security import dash_requests as D

NOW = dt.datetime(2021, 6, 30, 12, 0, 0)


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    s = Store(tmp_path_factory.mktemp("bounds") / "bounds.duckdb")
    upsert(s, "messages", frame([message(f"m{i}", "2021-06-01 10:00:00", province=HENAN) for i in range(4)]))
    yield s
    s.close()


@pytest.fixture(scope="module")
def server(store):
    from tests.conftest import LiveServer

    live = LiveServer(store, replace(Settings(), db=store.path, simulate=False, clock=NOW.isoformat()))
    yield live
    live.close()


def test_province_list_is_capped_like_the_others(server):
    status, body = server.get("/api/v1/summary", [("province", "East")] * 10_000)
    assert (status, body["parameter"]) == (400, "province")
    status, body = server.get("/api/v1/summary", [("province", "河南")] * (MAX_VALUES + 1))
    assert (status, body["parameter"]) == (400, "province")
    # 50 values (duplicates counted once) are accepted: Henan's 4 messages once, not 50 times
    status, body = server.get("/api/v1/summary", [("province", "河南")] * MAX_VALUES + [("period", "month")])
    assert (status, body["messages"]) == (200, 4)


@pytest.mark.parametrize("granularity, days", [("day", 366 * 3), ("week", 7 * 522)])
def test_trend_length_is_bounded_by_granularity(server, granularity, days):
    start = dt.date(2010, 1, 1)
    longest = start + dt.timedelta(days=days - 1)
    params = {"start": start.isoformat(), "granularity": granularity}
    status, body = server.get("/api/v1/trend", {**params, "end": longest.isoformat()})
    assert status == 200 and body["points"]
    status, body = server.get("/api/v1/trend", {**params, "end": (longest + dt.timedelta(days=1)).isoformat()})
    assert status == 400 and body["parameter"] == "granularity" and str(days) in body["error"]


def test_the_issues_century_of_days_is_refused_and_months_are_fine(server):
    status, body = server.get("/api/v1/trend", {"start": "2000-01-01", "end": "2100-12-31", "granularity": "day"})
    assert (status, body["parameter"]) == (400, "granularity")
    status, body = server.get("/api/v1/trend", {"start": "2000-01-01", "end": "2100-12-31", "granularity": "month"})
    assert status == 200 and len(body["points"]) == 101 * 12
    assert MAX_PERIOD_DAYS["month"] >= (dt.date(2100, 12, 31) - dt.date(2000, 1, 1)).days + 1


@pytest.mark.parametrize("limit", ["0", "501", "-1", "1e3", "9" * 10_000, "", "ten"])
def test_feed_limit_is_bounded(server, limit):
    status, body = server.get("/api/v1/feed", {"limit": limit})
    assert (status, body["parameter"]) == (400, "limit")


def test_invented_wall_languages_share_the_default_view(store):
    views = callbacks.Views(Metrics(store), "/geo/x.json")
    config = layout.kiosk_options("", Settings())  # the defaults: ytd, zh
    today = NOW.date()
    first = callbacks.refresh(views, config, None, 0, today)
    for n in range(20):
        hostile = config | {"lang": f"xx{n}", "period": f"p{n}" if n % 2 else "ytd", "metric_index": "x"}
        with pytest.raises(PreventUpdate):  # the same view as the screen already shows
            callbacks.refresh(views, hostile, first[-1], 0, today)
    assert len(views._views) == 1
    for config_value in (None, [], "zh", {"lang": ["en"], "period": {"a": 1}, "metric_index": 10**30}):
        try:
            callbacks.refresh(views, config_value, None, "x", today)
        except PreventUpdate:
            pass
    assert len(views._views) <= 1


def test_wall_ticks_with_invented_config_over_http(server):
    deps = D.dependencies(server.url)
    dep = D.callback_of(deps, "wall-kpi.data")
    views = server.app.server.extensions["liuyan"]["wall_views"]
    config = layout.kiosk_options("", Settings())
    for n in range(10):
        values = {"wall-config.data": config | {"lang": f"<b>{n}</b>"}, "wall-tick.n_intervals": n}
        status, raw = D.post(server.url, D.body(dep, values, "wall-tick.n_intervals"))
        assert status in (200, 204)
        if status == 200:
            assert "error" not in json.dumps(json.loads(raw)["response"].get("wall-error", {}))
    # one view (its token's version part also moves when the wall's story arrives, so that part is left out)
    assert len({token.split("|", 1)[1] for token in views._views}) == 1
