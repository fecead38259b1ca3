"""Issue 16, item 10: reads let pending writes go first (dashboard/readgate.py) and wall screens keep the previous
view meanwhile (dashboard/wall/callbacks.py Views); figures in bench/write_under_reads.py. Liveness and the write API
are never held back."""

from __future__ import annotations

import datetime as dt
import json
import threading
import time
import urllib.request

import pytest
from dash.exceptions import PreventUpdate

from dashboard.wall import callbacks, layout
from queries.service import Metrics
from queries.writes import upsert
from settings import Settings
from tests.conftest import HENAN, frame, message
from tests.security import dash_requests as D


def test_a_read_waits_for_the_pending_write_and_sees_it(store, serve):
    server = serve(store, read_yield_ms=10_000, clock="2021-06-30T12:00:00")
    assert server.get("/api/v1/summary", {"period": "month"})[1]["messages"] == 0
    release, inside = threading.Event(), threading.Event()

    def slow_write():
        with store.write() as cur:
            cur.execute("SELECT 1")
            inside.set()
            release.wait(30)

    holder = threading.Thread(target=slow_write)
    holder.start()
    assert inside.wait(10)
    # a real write queues behind it: writes stay pending until both are done
    writer = threading.Thread(
        target=lambda: upsert(store, "messages", frame([message("w1", "2021-06-01 10:00:00", province=HENAN)]))
    )
    writer.start()
    deadline = time.monotonic() + 10
    while store._writes < 2 and time.monotonic() < deadline:
        time.sleep(0.01)
    result = {}
    reader = threading.Thread(target=lambda: result.update(r=server.get("/api/v1/summary", {"period": "month"})))
    reader.start()
    reader.join(1.0)
    assert reader.is_alive()  # held back while the write is pending
    with urllib.request.urlopen(server.url + "/healthz", timeout=5) as response:  # liveness is never held
        assert response.status == 200
    release.set()
    holder.join(30)
    writer.join(30)
    reader.join(30)
    assert result["r"][0] == 200 and result["r"][1]["messages"] == 1  # it read after the write


def test_a_read_is_held_back_at_most_the_yield_time(store, serve):
    server = serve(store, read_yield_ms=200)
    with store.write():
        began = time.monotonic()
        status, _ = server.get("/api/v1/meta")
        waited = time.monotonic() - began
    assert status == 200 and 0.15 <= waited < 10


def test_what_the_gate_holds_back():
    from dashboard.readgate import gated

    assert gated("/_dash-update-component") and gated("/wall/_dash-update-component")
    assert gated("/api/v1/summary") and gated("/api/v1/feed")
    for path in ("/api/v1/ingest/messages", "/healthz", "/_dash-layout", "/assets/wall.js", "/analyst"):
        assert not gated(path), path


# -- a wall screen during writes: the previous view, at once (dashboard/wall/callbacks.py Views) --------------------
TODAY = dt.date(2021, 6, 30)


def _wall(store, monkeypatch, lag_seconds: float):
    """Views with one message of today shown, then a second committed (its view not built yet); the builds counted."""
    upsert(store, "messages", frame([message("a1", "2021-06-30 09:00:00", province=HENAN)]))
    views = callbacks.Views(Metrics(store), "/geo/x.json", lag_seconds=lag_seconds)
    config = layout.kiosk_options("?period=today", Settings())
    state = callbacks.refresh(views, config, None, 0, TODAY)[-1]
    upsert(store, "messages", frame([message("a2", "2021-06-30 10:00:00", province=HENAN)]))
    builds = []
    build = callbacks.build_view
    monkeypatch.setattr(callbacks, "build_view", lambda *a, **k: builds.append(1) or build(*a, **k))
    return views, config, state, builds


def test_a_screen_keeps_the_previous_view_while_a_write_is_pending(store, monkeypatch):
    views, config, state, builds = _wall(store, monkeypatch, lag_seconds=3600)
    shown = views.peek(state["token"])
    metric = state["metric"]
    with store.writing():  # a write request is being parsed or written
        with pytest.raises(PreventUpdate):  # the screen keeps its picture: nothing computed
            callbacks.refresh(views, config, state, 0, TODAY)
        token, view = views.get("today", "zh", metric, TODAY)  # a new screen gets it too, without waiting
    assert builds == [] and token == state["token"] and view is shown
    assert view["meta"]["version"] != store.data_version and view["kpi"]["today_messages"] == 1  # as of its version
    # the writes done, the next tick builds the new version's view
    callbacks.refresh(views, config, state, 0, TODAY)
    token, view = views.get("today", "zh", metric, TODAY)
    assert builds == [1] and view["meta"]["version"] == store.data_version and view["kpi"]["today_messages"] == 2


def test_a_view_superseded_longer_than_the_lag_is_built_again(store, monkeypatch):
    views, config, state, builds = _wall(store, monkeypatch, lag_seconds=5)
    monkeypatch.setattr(store, "superseded_for", lambda version: 6.0)  # the shown version: replaced 6 s ago
    with store.writing():
        token, view = views.get("today", "zh", state["metric"], TODAY)
    assert builds == [1] and token != state["token"] and view["kpi"]["today_messages"] == 2


def test_how_long_a_data_version_has_been_superseded(store):
    first = store.data_version
    assert store.superseded_for(first) == 0.0  # current
    upsert(store, "messages", frame([message("s1", "2021-06-30 09:00:00", province=HENAN)]))
    since = store.superseded_for(first)
    assert 0.0 <= since < float("inf") and store.superseded_for(first) >= since
    assert store.superseded_for(store.data_version) == 0.0
    assert store.superseded_for("another-file:1") == float("inf")


def test_a_wall_tick_during_a_pending_write_is_not_held_at_the_door(store, serve):
    """Over HTTP: the read gate lets the wall's refresh through (it gates its own builds), so a screen's tick during
    a write is answered from the view it shows (204) instead of waiting for the writes (here up to 10 minutes)."""
    upsert(store, "messages", frame([message("h1", "2021-06-30 09:00:00", province=HENAN)]))
    server = serve(store, read_yield_ms=600_000, read_lag_ms=600_000, clock="2021-06-30T12:00:00")
    dep = D.callback_of(D.dependencies(server.url), "wall-kpi.data")
    config = layout.kiosk_options("?period=today", Settings())

    def tick(n: int, state) -> tuple[int, bytes]:
        values = {"wall-config.data": config, "wall-state.data": state, "wall-tick.n_intervals": n}
        return D.post(server.url, D.body(dep, values, "wall-tick.n_intervals"))

    status, raw = tick(1, None)
    assert status == 200
    state = json.loads(raw)["response"]["wall-state"]["data"]
    upsert(store, "messages", frame([message("h2", "2021-06-30 10:00:00", province=HENAN)]))
    with store.writing():
        assert tick(2, state)[0] == 204
    status, raw = tick(3, state)
    assert status == 200 and store.data_version in raw.decode()
