"""The live simulator (ingest/simulate.py): rhythm, causality, gap fill, restarts, where it may run, standalone mode.

Real DuckDB files throughout: a small demo history (2026-02-20 .. Tuesday 2026-03-10 12:00) is generated once
per module and copied for each test. Expected rates are recomputed here from the demo's public rate functions
(daily_rate x hourly share), not taken from the simulator.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import shutil
import signal
import subprocess
import time
import urllib.request
from dataclasses import replace
from functools import partial
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from ingest import demo
from ingest import simulate as sim
from ingest.forward import RemoteWriter
from queries.db import Store
from queries.periods import beijing_now
from queries.writes import upsert
from settings import Settings
from tests.conftest import free_port, start_server_process, stderr_of

DEMO_START = dt.date(2026, 2, 20)
DEMO_UNTIL = dt.datetime(2026, 3, 10, 12, 0)  # a Tuesday
SEED = 7


class FakeClock:
    """An injectable clock: naive Beijing time that only moves when told to."""

    def __init__(self, now: dt.datetime):
        self.now = now

    def __call__(self) -> dt.datetime:
        return self.now

    def tick(self, seconds: float) -> dt.datetime:
        self.now += dt.timedelta(seconds=seconds)
        return self.now


@pytest.fixture(scope="module")
def small_demo(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("simdemo") / "demo.duckdb"
    store = Store(path)
    demo.generate(store, seed=SEED, start=DEMO_START, now=DEMO_UNTIL)
    store.cursor().execute("CHECKPOINT")
    store.close()
    return path


@pytest.fixture
def demo_store(small_demo, tmp_path):
    path = tmp_path / "demo.duckdb"
    shutil.copy(small_demo, path)
    store = Store(path)
    yield store
    store.close()


def expected_messages(start: dt.datetime, end: dt.datetime) -> float:
    """Mean count of messages in [start, end) from the demo's daily rate and hourly weights, minute by minute."""
    weights = demo.hourly_weights()
    total, t = 0.0, start
    while t < end:
        step = min(dt.timedelta(minutes=1), end - t)
        rate = float(demo.daily_rate(np.datetime64(t.date(), "D")))
        total += rate * weights[t.hour] * step.total_seconds() / 3600
        t += step
    return total


def run_ticks(simulator: sim.Simulator, clock: FakeClock, seconds: float, tick: float) -> None:
    end = clock.now + dt.timedelta(seconds=seconds)
    while clock.now < end:
        clock.tick(tick)
        simulator.advance()


def count(store: Store, sql: str, params=None) -> int:
    return int(store.scalar(sql, params))


# -- rhythm ---------------------------------------------------------------------------
def test_daytime_hour_at_speed_1_has_the_national_rate_and_the_night_far_less(store):
    clock = FakeClock(dt.datetime(2026, 3, 11, 10, 0))  # a Wednesday, 10-11 h
    simulator = sim.Simulator(partial(upsert, store), seed=SEED, clock=clock)
    simulator.start_at(clock.now)
    run_ticks(simulator, clock, 3600, tick=60)
    day = count(
        store,
        "SELECT count(*) FROM messages WHERE created_at >= '2026-03-11 10:00' AND created_at < '2026-03-11 11:00'",
    )
    mean = expected_messages(dt.datetime(2026, 3, 11, 10), dt.datetime(2026, 3, 11, 11))
    assert 120 < mean < 300  # ~2,500 a day: one message every ~20 s
    assert abs(day - mean) <= 4 * math.sqrt(mean), (day, mean)
    assert day == count(store, "SELECT count(*) FROM messages")  # nothing outside the hour

    night_clock = FakeClock(dt.datetime(2026, 3, 12, 3, 0))
    night_store = Store(Path(store.path).with_name("night.duckdb"))
    try:
        night_sim = sim.Simulator(partial(upsert, night_store), seed=SEED, clock=night_clock)
        night_sim.start_at(night_clock.now)
        run_ticks(night_sim, night_clock, 3600, tick=60)
        night = count(night_store, "SELECT count(*) FROM messages")
    finally:
        night_store.close()
    night_mean = expected_messages(dt.datetime(2026, 3, 12, 3), dt.datetime(2026, 3, 12, 4))
    assert night_mean < mean / 15
    assert night <= night_mean + 4 * math.sqrt(night_mean) + 1
    assert night < day / 8


def test_speed_multiplies_the_arrival_rate(store):
    clock = FakeClock(dt.datetime(2026, 3, 11, 15, 0))
    simulator = sim.Simulator(partial(upsert, store), seed=SEED, speed=8, clock=clock)
    simulator.start_at(clock.now)
    run_ticks(simulator, clock, 900, tick=15)
    n = count(store, "SELECT count(*) FROM messages")
    mean = 8 * expected_messages(dt.datetime(2026, 3, 11, 15), dt.datetime(2026, 3, 11, 15, 15))
    assert abs(n - mean) <= 4 * math.sqrt(mean), (n, mean)


def test_rhythm_inverse_and_delay_distribution_helpers():
    rhythm = sim.message_rhythm()
    t = np.array([sim.epoch(dt.datetime(2026, 3, 11, h, 17, 3)) for h in range(24)])
    assert np.all(np.abs(rhythm.inverse(rhythm(t)) - t) <= 1)
    day = sim.epoch(dt.datetime(2026, 3, 11))
    assert rhythm(day + 86_400) - rhythm(day) == pytest.approx(float(demo.daily_rate(np.datetime64("2026-03-11"))))
    hours = np.array([0.5, 5, 56, 500])
    assert np.allclose(sim.lognormal_isf(sim.lognormal_sf(hours, 56, 1.25), 56, 1.25), hours, rtol=1e-5)
    assert sim.lognormal_sf(56, 56, 1.25) == pytest.approx(0.5, abs=1e-6)
    clock = sim.business_clock()  # office hours, mean rate 1
    year = sim.epoch(dt.datetime(2026, 1, 1))
    assert (clock(year + 365 * 86_400) - clock(year)) / (365 * 86_400) == pytest.approx(1.0, abs=0.02)
    assert clock(day + 11 * 3600) - clock(day + 10 * 3600) > 10 * (clock(day + 4 * 3600) - clock(day + 3 * 3600))


# -- causality ---------------------------------------------------------------------------
def check_consistency(store: Store, now: dt.datetime) -> None:
    """Replies only to existing messages and never before them; nothing in the future."""
    assert count(store, "SELECT count(*) FROM held_replies") == 0
    assert count(store, "SELECT count(*) FROM replies r ANTI JOIN messages m USING (message_id)") == 0
    assert (
        count(
            store, "SELECT count(*) FROM replies r JOIN messages m USING (message_id) WHERE r.replied_at < m.created_at"
        )
        == 0
    )
    assert (
        count(
            store,
            "SELECT count(*) FROM evaluations e JOIN messages m USING (message_id) "
            "WHERE m.first_reply_at IS NULL OR e.rated_at < m.first_reply_at",
        )
        == 0
    )
    for table, column in (
        ("messages", "created_at"),
        ("replies", "replied_at"),
        ("evaluations", "rated_at"),
        ("units", "joined_at"),
        ("leaders", "joined_at"),
    ):
        latest = store.scalar(f"SELECT max({column}) FROM {table}")
        assert latest is None or latest <= now, table
    # derived columns kept by the write path
    assert (
        count(
            store,
            "SELECT count(*) FROM messages m JOIN (SELECT message_id, min(replied_at) AS f, "
            "count(*) AS n FROM replies GROUP BY ALL) r USING (message_id) "
            "WHERE m.first_reply_at <> r.f OR m.reply_count <> r.n",
        )
        == 0
    )


def test_live_replies_only_to_existing_messages_never_before_them_never_in_the_future(demo_store):
    clock = FakeClock(DEMO_UNTIL)
    simulator = sim.Simulator(partial(upsert, demo_store), seed=SEED, speed=40, clock=clock, store=demo_store)
    assert simulator.until == sim.epoch(DEMO_UNTIL)
    run_ticks(simulator, clock, 1200, tick=60)
    check_consistency(demo_store, clock.now)
    simulated = count(demo_store, "SELECT count(*) FROM replies WHERE reply_id LIKE 'S%'")
    assert simulated == simulator.totals.counts["replies"] > 50
    # both the demo's waiting messages and the simulator's own ones get replies
    assert count(demo_store, "SELECT count(*) FROM replies WHERE reply_id LIKE 'S%' AND message_id LIKE 'M%'") > 0
    assert count(demo_store, "SELECT count(*) FROM replies WHERE reply_id LIKE 'S%' AND message_id LIKE 'S%'") > 0
    assert (
        count(demo_store, "SELECT count(*) FROM messages WHERE message_id LIKE 'S%'")
        == simulator.totals.counts["messages"]
    )
    assert simulator.totals.status_changes > 0
    # live messages and replies come with text like the history's; status re-writes keep it
    texts = demo_store.df(
        "SELECT m.title, t.content, t.location FROM messages m JOIN message_texts t USING (message_id) "
        "WHERE m.message_id LIKE 'S%'"
    )
    assert len(texts) == simulator.totals.counts["messages"]
    assert texts["content"].str.len().min() >= 60 and not texts["content"].str.contains(r"\{").any()
    assert texts.apply(lambda r: r["location"] in r["content"], axis=1).mean() > 0.9
    assert count(demo_store, "SELECT count(*) FROM reply_texts WHERE reply_id LIKE 'S%' AND content LIKE '%您好%'") > 0
    assert (
        count(
            demo_store,
            "SELECT count(*) FROM messages WHERE message_id LIKE 'S%' AND created_at < $t",
            {"t": DEMO_UNTIL},
        )
        == 0
    )


# -- gap fill -----------------------------------------------------------------------------
GAP_NOW = dt.datetime(2026, 3, 13, 10, 0)  # Friday: Wednesday and Thursday are whole gap days


def test_gap_fill_of_three_days_looks_like_normal_days(demo_store):
    clock = FakeClock(GAP_NOW)
    simulator = sim.Simulator(partial(upsert, demo_store), seed=SEED, clock=clock, store=demo_store)
    filled = simulator.fill_gap()
    check_consistency(demo_store, GAP_NOW)
    assert demo_store.meta("sim_until") == GAP_NOW.isoformat()
    days = dict(
        demo_store.rows(
            "SELECT strftime(created_at, '%Y-%m-%d') AS day, count(*) FROM messages "
            "WHERE created_at >= '2026-03-10' GROUP BY 1"
        )
    )
    for day in ("2026-03-10", "2026-03-11", "2026-03-12"):  # 10th: half demo, half simulated
        rate = float(demo.daily_rate(np.datetime64(day)))
        assert abs(days[day] - rate) < 0.1 * rate, (day, days, rate)
    friday = expected_messages(dt.datetime(2026, 3, 13), GAP_NOW)
    assert abs(days["2026-03-13"] - friday) <= 4 * math.sqrt(friday) + 5
    assert filled.counts["messages"] == count(demo_store, "SELECT count(*) FROM messages WHERE message_id LIKE 'S%'")

    # no gap: every daytime hour has messages, and no quiet spell longer than two hours
    hours = demo_store.df(
        "SELECT date_trunc('hour', created_at) AS h, count(*) AS n FROM messages "
        "WHERE created_at >= '2026-03-10 07:00' GROUP BY 1"
    )
    hours = set(hours["h"].dt.to_pydatetime())
    t = dt.datetime(2026, 3, 10, 7)
    while t < dt.datetime(2026, 3, 13, 9):
        if t.hour >= 7:
            assert t in hours, t
        t += dt.timedelta(hours=1)
    longest = demo_store.scalar(
        "SELECT max(d) FROM (SELECT created_at - lag(created_at) OVER (ORDER BY created_at) "
        "AS d FROM messages WHERE created_at >= '2026-03-09')"
    )
    assert longest < dt.timedelta(hours=2)

    # messages waiting before the pause get their replies; whole days have a normal reply volume
    assert (
        count(
            demo_store,
            "SELECT count(*) FROM messages WHERE created_at < $u AND first_reply_at >= $u",
            {"u": DEMO_UNTIL},
        )
        > 1500
    )
    for day in ("2026-03-11", "2026-03-12"):
        replies = count(demo_store, "SELECT count(*) FROM messages WHERE first_reply_at::DATE = $d", {"d": day})
        assert 0.6 < replies / days[day] < 1.5
    satisfied = demo_store.scalar("SELECT avg(verdict::INT) FROM evaluations WHERE rated_at >= $u", {"u": DEMO_UNTIL})
    assert 0.77 < satisfied < 0.89
    evaluations = count(demo_store, "SELECT count(*) FROM evaluations WHERE rated_at >= $u", {"u": DEMO_UNTIL})
    assert evaluations == filled.counts["evaluations"] > 500
    # new messages waiting now: a good part are 办理中 (source status), the rest 待回复
    share = demo_store.scalar(
        "SELECT avg(coalesce(source_status = '办理中', false)::INT) FROM messages "
        "WHERE message_id LIKE 'S%' AND first_reply_at IS NULL"
    )
    assert 0.15 < share < 0.6
    assert count(demo_store, "SELECT count(*) FROM units WHERE unit_id LIKE 'S%'") == filled.counts["units"] > 0


def test_second_start_after_gap_fill_adds_nothing_for_the_same_now(demo_store):
    clock = FakeClock(GAP_NOW - dt.timedelta(days=1))
    first = sim.Simulator(partial(upsert, demo_store), seed=SEED, clock=clock, store=demo_store)
    first.fill_gap()
    tables = ("messages", "replies", "evaluations", "units", "leaders")
    before = {t: count(demo_store, f"SELECT count(*) FROM {t}") for t in tables}
    version = demo_store.data_version
    settings = replace(Settings(), db=demo_store.path, simulate=True, seed=SEED)
    again = sim.start_in_process(demo_store, settings, clock=clock, progress=False, tick_seconds=0.05)
    try:
        assert again is not None and again.until == sim.epoch(clock.now)
        time.sleep(0.3)  # live ticks, the clock does not move
    finally:
        again.stop()
    assert {t: count(demo_store, f"SELECT count(*) FROM {t}") for t in tables} == before
    assert demo_store.data_version == version
    # and a later start continues where the first stopped: no overlap, no id collision
    clock.tick(3600 * 5)
    later = sim.Simulator(partial(upsert, demo_store), seed=SEED, clock=clock, store=demo_store)
    assert later.until == sim.epoch(GAP_NOW - dt.timedelta(days=1))
    later.fill_gap()
    check_consistency(demo_store, clock.now)
    assert count(demo_store, "SELECT count(*) FROM messages") > before["messages"]


def test_resume_point_is_after_the_last_simulated_event_when_sim_until_was_not_saved(demo_store):
    clock = FakeClock(DEMO_UNTIL)
    simulator = sim.Simulator(partial(upsert, demo_store), seed=SEED, clock=clock, store=demo_store)
    run_ticks(simulator, clock, 600, tick=30)  # live ticks; sim_until saved at most once a minute
    # every simulated event counts: messages, replies, evaluations, new units and leaders
    last = demo_store.scalar(
        "SELECT max(t) FROM (SELECT max(created_at) t FROM messages UNION ALL SELECT max(replied_at) FROM replies"
        " UNION ALL SELECT max(rated_at) FROM evaluations UNION ALL SELECT max(joined_at) FROM units"
        " UNION ALL SELECT max(joined_at) FROM leaders)"
    )
    saved = dt.datetime.fromisoformat(demo_store.meta("sim_until") or demo_store.meta("demo_until"))
    assert sim.resume_point(demo_store) == max(sim.epoch(saved), sim.epoch(last) + 1)
    assert sim.resume_point(demo_store) > sim.epoch(DEMO_UNTIL)


def test_deterministic_given_seed_and_clock(small_demo, tmp_path):
    results = []
    for name in ("a", "b"):
        path = tmp_path / f"{name}.duckdb"
        shutil.copy(small_demo, path)
        store = Store(path)
        try:
            clock = FakeClock(DEMO_UNTIL + dt.timedelta(hours=20))
            simulator = sim.Simulator(partial(upsert, store), seed=SEED, speed=3, clock=clock, store=store)
            simulator.fill_gap()
            simulator.live_since = simulator.until
            run_ticks(simulator, clock, 120, tick=20)
            results.append(
                {
                    "messages": store.df(
                        "SELECT * FROM messages WHERE message_id LIKE 'S%' OR source_status IS NOT NULL "
                        "OR first_reply_at >= $u ORDER BY message_id",
                        {"u": DEMO_UNTIL},
                    ),
                    "replies": store.df("SELECT * FROM replies WHERE reply_id LIKE 'S%' ORDER BY reply_id"),
                    "evaluations": store.df(
                        "SELECT * FROM evaluations WHERE rated_at >= $u ORDER BY message_id", {"u": DEMO_UNTIL}
                    ),
                    "units": store.df("SELECT * FROM units WHERE unit_id LIKE 'S%' ORDER BY unit_id"),
                }
            )
        finally:
            store.close()
    for kind in results[0]:
        pd.testing.assert_frame_equal(results[0][kind], results[1][kind], obj=kind)
    assert len(results[0]["replies"]) > 1000


# -- where it runs -------------------------------------------------------------------------
def test_never_runs_on_a_database_without_the_demo_or_with_imported_data(store, demo_store, tmp_path):
    settings = replace(Settings(), simulate=True, seed=SEED)
    assert sim.start_in_process(store, settings) is None  # empty, not a demo
    assert not sim.may_simulate(store)
    with pytest.raises(ValueError):
        sim.resume_point(store)
    assert sim.start_in_process(demo_store, replace(settings, simulate=False)) is None
    assert sim.may_simulate(demo_store)

    from ingest.importer import import_files

    path = tmp_path / "m.csv"
    path.write_text("message_id,created_at,province\nx1,2026-03-10 11:00:00,河南\n", encoding="utf-8")
    assert import_files(demo_store, "messages", [path]).ok
    assert demo_store.meta("imported") == "1" and not sim.may_simulate(demo_store)
    version = demo_store.data_version
    assert sim.start_in_process(demo_store, settings) is None
    assert demo_store.data_version == version
    sim.mark_imported(store)  # not a demo: nothing written
    assert store.meta("imported") is None


def test_live_thread_stops_when_outside_data_arrives_through_the_write_api(demo_store, serve):
    clock = FakeClock(DEMO_UNTIL)
    simulator = sim.Simulator(
        partial(upsert, demo_store), seed=SEED, speed=50, clock=clock, store=demo_store, tick_seconds=0.02
    )
    server = serve(demo_store, ingest_token="secret-token")
    simulator.start()
    try:
        deadline = time.time() + 20
        while simulator.totals.counts["messages"] < 3 and time.time() < deadline:
            clock.tick(5)
            time.sleep(0.05)
        assert simulator.totals.counts["messages"] >= 3
        status, body = server.post(
            "/api/v1/ingest/messages",
            json.dumps([{"message_id": "outside-1", "created_at": "2026-03-10 11:00:00", "province": "河南"}]),
            token="secret-token",
        )
        assert status == 200 and body["written"] == 1
        deadline = time.time() + 10
        while simulator.running and time.time() < deadline:
            clock.tick(5)
            time.sleep(0.05)
        assert not simulator.running
    finally:
        simulator.stop()
    assert demo_store.meta("imported") == "1"
    assert sim.start_in_process(demo_store, replace(Settings(), simulate=True)) is None


# -- standalone: through a server's write API ------------------------------------------------
def test_standalone_mode_posts_through_a_real_server(store, serve):
    server = serve(store, ingest_token="tok-123")
    clock = FakeClock(dt.datetime(2026, 3, 11, 9, 0))
    simulator = sim.Simulator(RemoteWriter(server.url, "tok-123"), seed=SEED, speed=30, clock=clock, prefix="X")
    simulator.start_at(clock.now)
    simulator.live_since = simulator.until
    run_ticks(simulator, clock, 1200, tick=60)
    totals = simulator.totals.counts
    assert totals["messages"] > 500 and totals["replies"] > 10
    assert count(store, "SELECT count(*) FROM messages WHERE message_id LIKE 'X%'") == totals["messages"]
    assert count(store, "SELECT count(*) FROM replies WHERE reply_id LIKE 'X%'") == totals["replies"]
    assert count(store, "SELECT count(*) FROM evaluations") == totals["evaluations"]
    check_consistency(store, clock.now)
    assert simulator.totals.rejected == 0
    assert not sim.may_simulate(store)  # posting does not make it a demo database


def test_standalone_command_line(store, serve):
    server = serve(store, ingest_token="tok-cli")
    assert (
        sim.main(
            [
                "--url",
                server.url,
                "--token",
                "tok-cli",
                "--speed",
                "3000",
                "--duration",
                "2.5",
                "--tick",
                "0.5",
                "--prefix",
                "Y",
            ]
        )
        == 0
    )
    assert count(store, "SELECT count(*) FROM messages WHERE message_id LIKE 'Y%'") > 0
    assert store.scalar("SELECT max(created_at) FROM messages") <= beijing_now()
    with pytest.raises(SystemExit):  # a token is required
        sim.main(["--url", server.url, "--token", ""])


# -- `python app.py` ---------------------------------------------------------------------------
def _start_app(db: Path, port: int, **env) -> subprocess.Popen:
    return start_server_process(db, port, timeout=180, LIUYAN_SIMULATE="1", **env)


def _meta(port: int) -> dict:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1/meta", timeout=30) as response:
        return json.loads(response.read())


def _messages_since(port: int, day: dt.date) -> int:
    """Messages created from `day` on (through the next day: the run may cross midnight)."""
    end = day + dt.timedelta(days=1)
    url = f"http://127.0.0.1:{port}/api/v1/summary?start={day.isoformat()}&end={end.isoformat()}"
    with urllib.request.urlopen(url, timeout=30) as response:
        return json.loads(response.read())["messages"]


def test_app_fills_the_gap_then_simulates_live_and_stops_cleanly(tmp_path):
    now = beijing_now()
    db = tmp_path / "live.duckdb"
    store = Store(db)
    demo.generate(store, seed=SEED, start=(now - dt.timedelta(days=8)).date(), now=now - dt.timedelta(hours=3))
    store.close()
    port = free_port()
    proc = _start_app(db, port, LIUYAN_SIM_SPEED="200")
    try:
        first = _meta(port)
        assert first["demo"] is True
        # live writes: wait for a new message, not just any write (at night a reply may come first)
        before = _messages_since(port, now.date())
        deadline = time.time() + 90
        while _messages_since(port, now.date()) == before and time.time() < deadline:
            time.sleep(0.5)
        assert _meta(port)["data_version"] != first["data_version"]
        assert _messages_since(port, now.date()) > before
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(60)
        except subprocess.TimeoutExpired:
            proc.kill()
            raise
    log = stderr_of(proc)
    assert "filled the 3.0 h" in log and "live at speed 200" in log, log
    store = Store(db)
    try:
        stopped = beijing_now()
        check_consistency(store, stopped)
        saved = dt.datetime.fromisoformat(store.meta("sim_until"))
        assert now <= saved <= stopped  # saved at the clean stop
        assert (
            count(store, "SELECT count(*) FROM messages WHERE message_id LIKE 'S%' AND created_at >= $t", {"t": now})
            > 0
        )
        gap = count(
            store,
            "SELECT count(*) FROM messages WHERE created_at >= $a AND created_at < $b",
            {"a": now - dt.timedelta(hours=3), "b": now},
        )
        assert gap > 0.5 * expected_messages(now - dt.timedelta(hours=3), now) > 0
    finally:
        store.close()


def test_app_does_not_simulate_on_an_empty_database(tmp_path):
    db = tmp_path / "empty.duckdb"
    Store(db).close()
    port = free_port()
    proc = _start_app(db, port, LIUYAN_SIM_SPEED="1000")
    try:
        first = _meta(port)
        assert first["demo"] is False
        time.sleep(3)
        assert _meta(port)["data_version"] == first["data_version"]
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(60)
    assert "simulator" not in stderr_of(proc)
    store = Store(db)
    try:
        assert store.is_empty() and store.meta("sim_until") is None
    finally:
        store.close()
