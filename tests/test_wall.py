"""The wall display (route "/") in a real headless Chromium against the real server (waitress in a thread).

One server and one browser per module. Outside hosts are black-holed in the
browser (--host-resolver-rules) and every request the page makes is read back
from Chrome's performance log. Screenshots go to tests/screenshots/.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import os
import shutil
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import pytest
from dash import Patch, no_update
from dash.exceptions import PreventUpdate

from dashboard import figures, geo, ids
from dashboard.theme import WALL
from dashboard.wall import callbacks, kpis, layout
from queries import provinces as province_ref
from queries.db import Store
from queries.periods import beijing_now
from queries.writes import upsert
from settings import Settings
from tests.conftest import LiveServer

SCREENSHOTS = Path(__file__).parent / "screenshots"
INTERVAL = 1.0  # refresh interval used by the browser tests (seconds)
CHROMIUM = (
    os.environ.get("CHROME_BIN")
    or shutil.which("chromium")
    or shutil.which("chromium-browser")
    or shutil.which("google-chrome")
)
CHROMEDRIVER = os.environ.get("CHROMEDRIVER") or shutil.which("chromedriver")


# -- synthetic data written through the app's own write path ------------------------------------------------------
def _frame(rows: dict) -> pd.DataFrame:
    out = pd.DataFrame(rows)
    out.insert(0, "_row", np.arange(2, len(out) + 2))
    return out


def synthetic_history(store: Store, now: dt.datetime, n: int = 40_000, seed: int = 7) -> None:
    """About two years of messages up to `now` (Beijing), replies, evaluations, units and leaders."""
    rng = np.random.default_rng(seed)
    ref = province_ref.table()
    weights = ref["census_2020"].to_numpy(float)
    weights[ref["adcode"].to_numpy() == 410000] *= 3  # Henan leads, as on the real board
    codes = ref["adcode"].to_numpy()
    start = pd.Timestamp(now) - pd.Timedelta(days=760)
    span = (pd.Timestamp(now) - start).total_seconds() - 60
    created = start + pd.to_timedelta(np.sort(rng.random(n)) * span, unit="s")
    province = rng.choice(codes, n, p=weights / weights.sum())
    names = province_ref.names()
    messages = _frame(
        {
            "message_id": [f"w{i:06d}" for i in range(n)],
            "created_at": created,
            "province": province,
            "city": [f"{names[c]}测试市" for c in province],
            "district": None,
            "addressee": None,
            "category": rng.choice(["城建", "企业", "就业", "交通", "教育", "政务", "环保", "治安", "医疗", "其他"], n),
            "msg_type": rng.choice(["投诉/求助", "咨询", "建言", "感谢"], n, p=[0.77, 0.14, 0.08, 0.01]),
            "title": rng.choice(
                ["小区供暖问题反映", "道路积水求助", "入学政策咨询 13912345678", "<b>增设公交线路</b>建议"], n
            ),
            "is_urgent": rng.random(n) < 0.05,
            "source_status": None,
        }
    )
    delay = pd.to_timedelta(rng.lognormal(3.0, 1.0, n), unit="h")
    replied = messages["created_at"] + delay
    answered = (replied < pd.Timestamp(now)) & (rng.random(n) < 0.9)
    replies = _frame(
        {
            "reply_id": "r" + messages["message_id"],
            "message_id": messages["message_id"],
            "replied_at": replied,
            "unit": "测试市人民政府",
        }
    ).loc[answered]
    rated = replies.sample(frac=0.3, random_state=seed)
    rated_at = (rated["replied_at"] + pd.Timedelta(hours=3)).clip(upper=pd.Timestamp(now))
    evaluations = _frame(
        {
            "message_id": rated["message_id"].to_numpy(),
            "rated_at": rated_at.to_numpy(),
            "satisfied": rng.random(len(rated)) < 0.83,
        }
    )
    for column in ("score_resolution", "score_attitude", "score_speed"):
        evaluations[column] = pd.array([None] * len(evaluations), dtype="Int8")
    m = 1500
    joined = start + pd.to_timedelta(np.sort(rng.random(m)) * span, unit="s")
    units = _frame(
        {
            "unit_id": [f"u{i}" for i in range(m)],
            "name": "测试单位",
            "province": rng.choice(codes, m),
            "level": "市级",
            "joined_at": joined,
        }
    )
    leaders = _frame(
        {
            "leader_id": [f"l{i}" for i in range(m // 5)],
            "name": "某市市长",
            "province": rng.choice(codes, m // 5),
            "level": "市级",
            "joined_at": joined[::5],
        }
    )
    for kind, batch in (
        ("messages", messages),
        ("replies", replies),
        ("evaluations", evaluations),
        ("units", units),
        ("leaders", leaders),
    ):
        result = upsert(store, kind, batch)
        assert not result.rejected, (kind, result.rejected[:3])


def new_messages(store: Store, count: int, tag: str) -> None:
    now = beijing_now()
    messages = _frame(
        {
            "message_id": [f"{tag}{i}" for i in range(count)],
            "created_at": [pd.Timestamp(now) - pd.Timedelta(seconds=5 + i) for i in range(count)],
            "province": [410000] * count,
            "city": ["郑州市"] * count,
            "district": None,
            "addressee": None,
            "category": ["城建"] * count,
            "msg_type": ["投诉/求助"] * count,
            "title": [f"新留言{tag}{i}" for i in range(count)],
            "is_urgent": [False] * count,
            "source_status": None,
        }
    )
    assert not upsert(store, "messages", messages).rejected
    replies = _frame(
        {
            "reply_id": [f"{tag}r{i}" for i in range(count // 2)],
            "message_id": [f"{tag}{i}" for i in range(count // 2)],
            "replied_at": [pd.Timestamp(now) - pd.Timedelta(seconds=1)] * (count // 2),
            "unit": "郑州市",
        }
    )
    assert not upsert(store, "replies", replies).rejected


# -- fixtures -----------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def wall_store(tmp_path_factory):
    store = Store(tmp_path_factory.mktemp("wall") / "wall.duckdb")
    synthetic_history(store, beijing_now())
    yield store
    store.close()


@pytest.fixture(scope="module")
def wall_server(wall_store):
    settings = replace(Settings(), db=wall_store.path, simulate=False, refresh_seconds=INTERVAL, rotate_seconds=0)
    server = LiveServer(wall_store, settings)
    yield server
    server.close()


@pytest.fixture(scope="module")
def browser():
    if not CHROMIUM or not CHROMEDRIVER:
        pytest.skip("chromium and chromedriver are needed (installed by .ci/run)")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in (
        "--headless=new",
        "--no-sandbox",
        "--disable-dev-shm-usage",
        "--disable-gpu",
        "--window-size=1920,1080",
        "--force-device-scale-factor=1",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1, EXCLUDE localhost",
    ):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_script_timeout(30)
    yield driver
    driver.quit()


def resize(driver, width: int, height: int) -> None:
    driver.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride",
        {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False},
    )


def wait_for(predicate, timeout: float = 20.0, step: float = 0.1, message: str = "condition"):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = predicate()
        if last:
            return last
        time.sleep(step)
    raise AssertionError(f"timed out waiting for {message} (last: {last!r})")


def requests_made(driver) -> list[dict]:
    """Network events since the last call: url, and for finished requests the encoded bytes."""
    out, by_id = [], {}
    for entry in driver.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        params = message.get("params", {})
        if message["method"] == "Network.requestWillBeSent":
            item = {"url": params["request"]["url"], "bytes": None, "id": params["requestId"]}
            by_id[params["requestId"]] = item
            out.append(item)
        elif message["method"] == "Network.loadingFinished" and params.get("requestId") in by_id:
            by_id[params["requestId"]]["bytes"] = params.get("encodedDataLength")
    return out


PAINTED = """
const ids = arguments[0];
const kpi = document.getElementById(ids.kpi);
const map = document.querySelector('#' + ids.map + ' .js-plotly-plot');
if (!kpi || !map || !map._fullData || map._fullData.length < 3) return false;
if (kpi.textContent === '—' || kpi._anim) return false;
return document.querySelectorAll('#' + ids.map + ' path.choroplethlocation').length > 60;
"""


def open_wall(driver, server, query: str = "", width: int = 1920, height: int = 1080) -> float:
    resize(driver, width, height)
    driver.get_log("browser")
    driver.get_log("performance")
    began = time.monotonic()
    driver.get(f"{server.url}/{query}")
    try:
        wait_for(
            lambda: driver.execute_script(PAINTED, {"kpi": ids.kpi_value("messages"), "map": ids.MAP}),
            timeout=40,
            message="first full paint",
        )
    except AssertionError:
        screenshot(driver, "failed-first-paint.png")
        raise AssertionError(f"no first paint; console: {driver.get_log('browser')}") from None
    return time.monotonic() - began


def kpi_text(driver, name: str) -> str:
    return driver.execute_script("return document.getElementById(arguments[0]).textContent", ids.kpi_value(name))


def kpi_target(driver, name: str):
    return driver.execute_script("return document.getElementById(arguments[0])._target", ids.kpi_value(name))


def fmt_int(value) -> str:
    return f"{value:,}"


def fmt_pct(value) -> str:
    return "—" if value is None else f"{value * 100:.1f}%"


def screenshot(driver, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / name
    driver.save_screenshot(str(path))
    return path


LAYOUT_PROBLEMS = """
const problems = [];
const doc = document.documentElement;
if (doc.scrollWidth > window.innerWidth + 1 || doc.scrollHeight > window.innerHeight + 1) {
  problems.push('scrollbars ' + doc.scrollWidth + 'x' + doc.scrollHeight);
}
// Text must not be clipped: single-line labels fit their boxes.
for (const el of document.querySelectorAll('.kpi-label, .kpi-number, .panel-title, .header-title h1, .clock-row,'
                                         + ' .period-row, .kpi-yoy-row')) {
  if (el.scrollWidth > el.clientWidth + 1) problems.push('clipped: ' + el.className + ' ' + el.textContent);
}
// Cards and panels must not overlap one another.
const boxes = [...document.querySelectorAll('.panel, .kpi')].map(el => [el, el.getBoundingClientRect()]);
for (let i = 0; i < boxes.length; i++) for (let j = i + 1; j < boxes.length; j++) {
  const [a, ra] = boxes[i], [b, rb] = boxes[j];
  const w = Math.min(ra.right, rb.right) - Math.max(ra.left, rb.left);
  const h = Math.min(ra.bottom, rb.bottom) - Math.max(ra.top, rb.top);
  if (w > 1 && h > 1) problems.push('overlap: ' + a.className + ' / ' + b.className);
}
// The canvas fits the window (uniform scale, letterboxed).
const wall = document.getElementById(arguments[0]).getBoundingClientRect();
if (wall.left < -1 || wall.top < -1 || wall.right > window.innerWidth + 1 || wall.bottom > window.innerHeight + 1) {
  problems.push('canvas outside the window');
}
if (Math.abs(wall.width / wall.height - 16 / 9) > 0.01) problems.push('canvas not 16:9');
return problems;
"""


# -- browser tests ---------------------------------------------------------------------------------------------------
def test_loads_offline_without_console_errors(browser, wall_server):
    open_wall(browser, wall_server, "?interval=1")
    time.sleep(2.5)  # a few refresh ticks
    errors = [e for e in browser.get_log("browser") if e["level"] in ("SEVERE", "ERROR")]
    assert errors == []
    urls = [r["url"] for r in requests_made(browser)]
    assert urls, "no requests recorded"
    outside = [u for u in urls if not u.startswith(wall_server.url) and not u.startswith(("data:", "blob:"))]
    assert outside == []
    # the map's geometry comes from the server, once, at its immutable URL
    assert sum(geo.url_path() in u for u in urls) == 1


def test_map_has_34_regions_and_maritime_line(browser, wall_server):
    open_wall(browser, wall_server)
    traces = browser.execute_script(
        """
        const gd = document.querySelector('#' + arguments[0] + ' .js-plotly-plot');
        return [...gd.querySelectorAll('.geo')].map(g => [...g.querySelectorAll('.choroplethlayer .trace')]
            .map(t => t.querySelectorAll('path.choroplethlocation').length));
    """,
        ids.MAP,
    )
    main, inset = traces
    assert main[figures.MAP_BASE_TRACE] == 34  # every provincial-level region, incl. Taiwan, HK, Macao
    assert main[figures.MAP_DATA_TRACE] == 31  # the metric on the 31 provinces
    assert main[figures.MAP_MARITIME_TRACE] == 1  # the maritime boundary line
    assert inset == [34, 1]  # 南海诸岛 inset with the line
    located = browser.execute_script(
        """
        const gd = document.querySelector('#' + arguments[0] + ' .js-plotly-plot');
        return gd._fullData.filter(t => t.type === 'choropleth').map(t => [t.locations.length, t.geojson]);
    """,
        ids.MAP,
    )
    assert len(located) == 5
    assert all(url == geo.url_path() for _, url in located)  # a URL, never geometry inside the figure
    labels = browser.execute_script(
        """
        return [...document.querySelectorAll('#' + arguments[0] + ' .trace.scattergeo text')].map(t => t.textContent);
    """,
        ids.MAP,
    )
    assert len(labels) == figures.MAP_LABELS and labels[0].startswith("河南")


def test_kpis_equal_the_api(browser, wall_server):
    open_wall(browser, wall_server, "?period=ytd")
    status, ytd = wall_server.get("/api/v1/summary", {"period": "ytd"})
    assert status == 200
    _, today = wall_server.get("/api/v1/summary", {"period": "today"})
    expected = {
        "today_messages": fmt_int(today["messages"]),
        "today_replies": fmt_int(today["replies"]),
        "today_pending": fmt_int(today["pending"]),
        "today_median_reply_hours": "—"
        if today["median_reply_hours"] is None
        else f"{today['median_reply_hours']:.1f}",
        "messages": fmt_int(ytd["messages"]),
        "replies": fmt_int(ytd["replies"]),
        "reply_ratio": fmt_pct(ytd["reply_ratio"]),
        "median_reply_hours": f"{ytd['median_reply_hours']:.1f}",
        "satisfaction_rate": fmt_pct(ytd["satisfaction_rate"]),
        "new_units": fmt_int(ytd["new_units"]),
        "new_leaders": fmt_int(ytd["new_leaders"]),
    }
    wait_for(lambda: {k: kpi_text(browser, k) for k in expected} == expected, timeout=10, message=f"KPIs {expected}")
    for name in ("messages", "replies", "new_units", "new_leaders"):  # the cards with a YoY line
        value = ytd[f"{name}_yoy"]
        text = browser.execute_script("return document.getElementById(arguments[0]).textContent", ids.kpi_yoy(name))
        if value is None:
            assert text == "—"
        else:
            arrow = "▲" if value > 0.0005 else "▼" if value < -0.0005 else "—"
            assert text == f"{arrow} {abs(value) * 100:.1f}%"
    period = browser.find_element("id", ids.HEADER_PERIOD).text
    assert ytd["start"][:4] in period and "本年累计" in period
    assert "数据更新于" in browser.find_element("id", ids.HEADER_FRESHNESS).text
    # No new data for a while: the freshness label turns amber, then red (thresholds from settings).
    settings = Settings()
    for age, level in (
        (settings.stale_amber_seconds + 5, "stale-amber"),
        (settings.stale_red_seconds + 5, "stale-red"),
        (0, "fresh"),
    ):
        browser.execute_script("window.liuyanWall.updatedAt = Date.now() - 1000 * arguments[0];", age)
        wait_for(
            lambda level=level: browser.find_element("id", ids.HEADER_FRESHNESS).get_attribute("data-level") == level,
            timeout=3,
            message=level,
        )


def test_new_records_show_within_two_intervals_without_reload(browser, wall_server, wall_store):
    interval = 2.0
    open_wall(browser, wall_server, f"?period=today&interval={interval:g}")
    browser.execute_script("window.__sameDocument = true;")
    requests_made(browser)
    written = time.monotonic()
    new_messages(wall_store, 6, tag=f"live{time.time_ns()}")
    _, today = wall_server.get("/api/v1/summary", {"period": "today"})
    wait_for(
        lambda: kpi_target(browser, "today_messages") == today["messages"],
        timeout=2 * interval + 0.5 - (time.monotonic() - written),
        step=0.05,
        message="new count on screen within two intervals of the write",
    )
    wait_for(
        lambda: kpi_text(browser, "today_messages") == fmt_int(today["messages"]),
        timeout=3,
        message="rolling number settles",
    )
    assert kpi_text(browser, "messages") == fmt_int(today["messages"])
    assert browser.execute_script("return window.__sameDocument === true")  # no reload happened
    feed = browser.find_element("id", ids.FEED_LIST).text
    assert "新留言live" in feed
    # Only what changed was sent: no figure or geometry resent with the new counts.
    ticks = [r for r in requests_made(browser) if "_dash-update-component" in r["url"] and r["bytes"]]
    assert ticks and max(r["bytes"] for r in ticks) < 12_000


def test_screenshots_without_overlap(browser, wall_server):
    open_wall(browser, wall_server, "?period=ytd")
    time.sleep(1.8)  # rolling numbers settle
    # The same screen on other walls: the canvas rescales as the window changes, no reload needed.
    for width, height, name in (
        (1920, 1080, "wall-1920x1080.png"),
        (3840, 2160, "wall-3840x2160.png"),
        (1366, 768, "wall-1366x768.png"),
        (5760, 1080, "wall-5760x1080.png"),
        (2560, 1440, "wall-2560x1440.png"),
    ):
        resize(browser, width, height)
        time.sleep(0.5)
        problems = browser.execute_script(LAYOUT_PROBLEMS, ids.WALL)
        assert problems == [], (name, problems)
        assert screenshot(browser, name).stat().st_size > 50_000
    open_wall(browser, wall_server, "?lang=en&metric=reply_ratio&period=month")
    time.sleep(1.8)
    assert browser.execute_script(LAYOUT_PROBLEMS, ids.WALL) == []
    assert "Message Board" in browser.find_element("css selector", ".header-title h1").text
    assert "Replies / messages" in browser.find_element("id", ids.RANKING_TITLE).text
    screenshot(browser, "wall-en-1920x1080.png")


def test_map_rotates_among_its_metrics(browser, wall_server):
    open_wall(browser, wall_server, f"?rotate={layout.MIN_ROTATE}&interval=1")
    title = browser.find_element("id", ids.RANKING_TITLE)
    seen = [title.text]
    for _ in range(2):
        wait_for(lambda: title.text != seen[-1], timeout=layout.MIN_ROTATE + 4, message="next map metric")
        seen.append(title.text)
    cycle = ["每万人留言数", "每万人回复数", "回复/留言比"]
    start = cycle.index(seen[0])  # a slow first paint may already have seen a rotation
    assert seen == [cycle[(start + i) % 3] for i in range(3)]
    colorbar = browser.execute_script(
        """
        const gd = document.querySelector('#' + arguments[0] + ' .js-plotly-plot');
        return [gd._fullData[arguments[1]].colorbar.title.text, gd.querySelectorAll('path.choroplethlocation').length];
    """,
        ids.MAP,
        figures.MAP_DATA_TRACE,
    )
    assert seen[-1] in colorbar[0] and colorbar[1] > 60


def test_server_error_keeps_the_picture_and_shows_indicator(browser, wall_server):
    open_wall(browser, wall_server, "?interval=1")
    before = kpi_text(browser, "messages")
    views = wall_server.app.server.extensions["liuyan"]["wall_views"]
    original = views.get

    def broken(*args, **kwargs):
        raise RuntimeError("database unavailable")

    views.get = broken
    try:
        wait_for(
            lambda: browser.find_element("id", ids.HEADER_STATUS).get_attribute("data-state") == "error",
            timeout=5,
            message="error indicator",
        )
        assert kpi_text(browser, "messages") == before
        assert browser.execute_script(PAINTED, {"kpi": ids.kpi_value("messages"), "map": ids.MAP})
    finally:
        views.get = original
    wait_for(
        lambda: browser.find_element("id", ids.HEADER_STATUS).get_attribute("data-state") == "live",
        timeout=5,
        message="indicator back to live",
    )


def test_recovers_after_server_restart(browser, wall_store, wall_server):
    open_wall(browser, wall_server, "?interval=1&period=today")
    browser.execute_script("window.__sameDocument = true;")
    wall_server.close()
    wait_for(
        lambda: browser.find_element("id", ids.HEADER_STATUS).get_attribute("data-state") == "offline",
        timeout=6,
        message="offline indicator",
    )
    assert kpi_text(browser, "messages") != "—"  # last good picture kept
    new_messages(wall_store, 3, tag=f"restart{time.time_ns()}")
    from waitress.server import create_server

    restarted = create_server(wall_server.app.server, host="127.0.0.1", port=wall_server.port, threads=4)
    wall_server._server = restarted
    import threading

    threading.Thread(target=wall_server._run, daemon=True).start()
    _, today = wall_server.get("/api/v1/summary", {"period": "today"})
    wait_for(
        lambda: browser.find_element("id", ids.HEADER_STATUS).get_attribute("data-state") == "live",
        timeout=8,
        message="live again",
    )
    wait_for(
        lambda: kpi_target(browser, "today_messages") == today["messages"],
        timeout=5,
        message="new numbers after restart",
    )


# -- without a browser ----------------------------------------------------------------------------------------------
def test_kiosk_options():
    settings = Settings()
    opts = layout.kiosk_options("?period=h1&metric=replies_per_10k&rotate=0&interval=5&lang=en", settings)
    assert (opts["period"], opts["metric"], opts["rotate"], opts["interval"], opts["lang"]) == (
        "h1",
        "replies_per_10k",
        0,
        5.0,
        "en",
    )
    bad = layout.kiosk_options("?period=decade&metric=x&rotate=abc&interval=-3&lang=fr", settings)
    assert (bad["period"], bad["metric"], bad["rotate"], bad["interval"], bad["lang"]) == (
        "ytd",
        "messages_per_10k",
        settings.rotate_seconds,
        layout.MIN_INTERVAL,
        "zh",
    )
    assert layout.kiosk_options("?rotate=2&interval=nan", settings)["rotate"] == layout.MIN_ROTATE
    assert layout.kiosk_options("", settings)["interval"] == settings.refresh_seconds


def test_kpi_cards_follow_the_catalog():
    """The cards' ids, formats and YoY lines as the wall showed them when written by hand; a metric only the
    catalog declares gets its card (label, format, no YoY for a rate) without a line in the wall's code."""
    found = {}

    def walk(node):
        if isinstance(node, (list, tuple)):
            for child in node:
                walk(child)
        elif hasattr(node, "to_plotly_json"):
            props = node.to_plotly_json()["props"]
            if str(props.get("id", "")).startswith("kpi-"):
                found[props["id"]] = props.get("data-format")
            walk(props.get("children"))

    walk(layout.build(layout.kiosk_options("", Settings())))
    assert found == {
        "kpi-today-messages": "int",
        "kpi-today-pending": "int",
        "kpi-today-replies": "int",
        "kpi-today-median-reply-hours": "hours",
        "kpi-messages": "int",
        "kpi-messages-yoy": None,
        "kpi-replies": "int",
        "kpi-replies-yoy": None,
        "kpi-reply-ratio": "pct",
        "kpi-median-reply-hours": "hours",
        "kpi-satisfaction-rate": "pct",
        "kpi-new-units": "int",
        "kpi-new-units-yoy": None,
        "kpi-new-leaders": "int",
        "kpi-new-leaders-yoy": None,
    }
    card = kpis.Card("reply_24h_rate")
    assert (card.label("zh"), card.label("en"), card.fmt, card.yoy, card.big) == (
        "24小时回复率",
        "Answered within 24 h",
        "pct",
        False,
        False,
    )
    period = {"messages": 10, "messages_yoy": 0.25, "replies": 7, "replies_yoy": None, "pending": 3}
    period |= {"reply_ratio": 0.7, "median_reply_hours": 5.0, "satisfaction_rate": 0.9}
    period |= {"new_units": 2, "new_units_yoy": 1.0, "new_leaders": 1, "new_leaders_yoy": -0.5}
    today = {"messages": 4, "replies": 2, "pending": 1, "median_reply_hours": 1.5}
    assert kpis.values(period, today) == {
        "today_messages": 4,
        "today_replies": 2,
        "today_pending": 1,
        "today_median_reply_hours": 1.5,
        "messages": 10,
        "messages_yoy": 0.25,
        "replies": 7,
        "replies_yoy": None,
        "reply_ratio": 0.7,
        "median_reply_hours": 5.0,
        "satisfaction_rate": 0.9,
        "new_units": 2,
        "new_units_yoy": 1.0,
        "new_leaders": 1,
        "new_leaders_yoy": -0.5,
    }


def test_patch_sends_only_changed_leaves():
    old = {"data": [{"z": [1, 2, 3, 4], "name": "a"}, {"z": [0]}], "layout": {"title": "t"}}
    new = {"data": [{"z": [1, 2, 9, 4], "name": "a"}, {"z": [0]}], "layout": {"title": "t"}}
    patch = callbacks.patch_for(old, new)
    assert isinstance(patch, Patch)
    ops = patch.to_plotly_json()["operations"]
    assert ops == [{"operation": "Assign", "location": ["data", 0, "z", 2], "params": {"value": 9}}]
    assert callbacks.patch_for(old, old) is no_update
    assert callbacks.patch_for(None, new) is new
    shrink = callbacks.patch_for({"a": 1, "b": 2}, {"a": 1}).to_plotly_json()["operations"]
    assert shrink == [{"operation": "Delete", "location": ["b"], "params": {}}]


def test_refresh_is_shared_and_quiet_when_nothing_changed(wall_store):
    metrics = __import__("queries.service", fromlist=["Metrics"]).Metrics(wall_store)
    views = callbacks.Views(metrics, "/geo/x.json")
    config = layout.kiosk_options("?period=month", Settings())
    first = callbacks.refresh(views, config, None, 0)
    state = first[-1]
    assert all(not isinstance(v, Patch) for v in first[:-1])  # first paint: whole values
    with pytest.raises(PreventUpdate):
        callbacks.refresh(views, config, state, 0)
    rotated = callbacks.refresh(views, config | {"rotate": 20}, state, 1)
    changed = {
        key for (key, _, _), value in zip(callbacks.OUTPUTS, rotated[:-1], strict=True) if value is not no_update
    }
    assert {"map", "ranking", "metric_label"} <= changed and "kpi" not in changed and "trend_day" not in changed
    map_ops = rotated[[k for k, _, _ in callbacks.OUTPUTS].index("map")].to_plotly_json()["operations"]
    assert all("geojson" not in op["location"] for op in map_ops)


def test_feed_is_masked_text(store):
    """The wall's feed items come from the masked feed (queries.feed.latest_*): personal data is gone, markup
    stays text."""
    from queries.feed import latest_messages, latest_replies
    from queries.periods import Filters
    from queries.writes import upsert
    from tests.conftest import frame, message, reply

    title = "张先生<script>x</script>电话13812345678"
    upsert(store, "messages", frame([message("m1", "2026-01-02 10:00:00", city="郑州市") | {"title": title}]))
    upsert(store, "replies", frame([reply("q1", "m1", "2026-01-02 10:00:00", unit="李女士 0371-12345678")]))
    f = Filters(dt.date(2026, 1, 1), dt.date(2026, 1, 2))
    messages, replies = latest_messages(store, f), latest_replies(store, f)
    feed = callbacks.feed_items(messages, replies, "zh", dt.date(2026, 1, 2))
    assert [key[0] for key in feed["order"]] == ["r", "m"]  # same time: replies first, then messages
    item = feed["items"][feed["order"][1]]
    assert {k: item[k] for k in ("k", "t", "p", "c", "y")} == {
        "k": "m",
        "t": "10:00:00",
        "p": "河南 · 郑州市",
        "c": "城建",
        "y": "投诉/求助",
    }
    shown = " ".join(str(v) for i in feed["items"].values() for v in i.values())
    for secret in ("张先生", "13812345678", "李女士", "12345678"):
        assert secret not in shown, secret
    assert "<script>x</script>" in item["s"]  # kept as text (never parsed as markup, below)
    # the browser inserts these with textContent: assets/wall.js never assigns innerHTML
    script = (Path(__file__).parents[1] / "assets" / "wall.js").read_text(encoding="utf-8")
    assert "innerHTML" not in script and "insertAdjacentHTML" not in script


def test_geojson_is_simplified_once_and_complete(tmp_path, monkeypatch):
    data = geo.geojson()
    features = {f["id"]: f for f in data["features"]}
    assert len(features) == 35 and geo.MARITIME_ID in features
    assert {int(k) for k in features if k != geo.MARITIME_ID} == set(geo.region_codes())
    assert len(geo.region_codes()) == 34
    assert features["710000"]["properties"]["no_data"] is True
    # The South China Sea islands belong to Hainan and reach far south.
    lats = [pt[1] for poly in features["460000"]["geometry"]["coordinates"] for ring in poly for pt in ring]
    assert min(lats) < 5
    size = geo.cached_file().stat().st_size
    assert size < 1_200_000


def test_figures_are_pure_and_use_the_url(wall_store):
    from queries.periods import Filters
    from queries.service import Metrics

    metrics = Metrics(wall_store)
    today = beijing_now().date()
    frame = metrics.by_province(Filters(today.replace(month=1, day=1), today))
    fig = figures.china_map(
        frame, "reply_ratio", WALL, "en", "/geo/a.json", subtitle="x", label_points=geo.label_points()
    )
    assert [t["geojson"] for t in fig["data"] if t["type"] == "choropleth"] == ["/geo/a.json"] * 5
    assert fig["data"][figures.MAP_LABEL_TRACE]["type"] == "scattergeo"
    assert len(json.dumps(fig)) < 20_000
    go.Figure(fig)  # every property is one plotly knows (validated here, not on the wall's hot path)
    values = [v for v in fig["data"][figures.MAP_DATA_TRACE]["z"] if v is not None]
    assert all(0 <= v <= 2 for v in values) and not any(math.isnan(v) for v in values)
    top = figures.ranking(frame, "messages_per_10k", WALL, "zh")
    assert list(top["data"][0]["y"])[0].startswith("1  河南")


def test_breakdowns_show_data_values_exactly():
    frame = pd.DataFrame(
        {"category": [*"ABCDEFGHIJ", "其他"], "messages": [100, 90, 80, 70, 60, 50, 40, 30, 20, 10, 5]}
    )
    bars = go.Figure(figures.categories(frame, WALL, "zh")).data[0]
    # the seven largest exactly as the API gives them, then the rest summed under a label that is no data value
    assert list(bars.y) == [*"ABCDEFG", "其余4类"] and list(bars.x) == [100, 90, 80, 70, 60, 50, 40, 65]
    ring = go.Figure(figures.types(pd.DataFrame({"msg_type": ["咨询", "建言"], "messages": [3, 1]}), WALL, "en")).data[
        0
    ]
    assert list(ring.values) == [3, 1] and ring.labels[0].startswith("Enquiry")
