"""The analyst workspace (route /analyst) in a real headless Chromium against the real server (waitress in a thread).

One synthetic store, one server and one browser per module. Every panel is
compared with the JSON API for the same filters; downloads are read back from
Chrome's download directory; outside hosts are black-holed and every request
the page makes is read from Chrome's performance log. Screenshots go to
tests/screenshots/.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import math
import os
import shutil
import time
from dataclasses import replace
from pathlib import Path
from urllib.parse import unquote, urlencode

import numpy as np
import pandas as pd
import pytest
from dash import no_update

from dashboard import i18n
from dashboard.analyst import export, tables
from dashboard.analyst import ids as A
from dashboard.analyst import labels as L
from dashboard.analyst import state as S
from dashboard.analyst.sync import SYNC_INPUTS, outputs
from queries import catalog, drill, metrics
from queries import provinces as province_ref
from queries.db import Store
from queries.periods import Filters, preset
from queries.writes import upsert
from settings import Settings
from tests.conftest import LiveServer

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")  # selenium 4.2 on urllib3 2

SCREENSHOTS = Path(__file__).parent / "screenshots"
CHROMIUM = (
    os.environ.get("CHROME_BIN")
    or shutil.which("chromium")
    or shutil.which("chromium-browser")
    or shutil.which("google-chrome")
)
CHROMEDRIVER = os.environ.get("CHROMEDRIVER") or shutil.which("chromedriver")
HENAN, SICHUAN, BEIJING = 410000, 510000, 110000
CATEGORIES = ["城建", "企业", "就业", "交通", "教育", "政务", "环保", "治安", "医疗", "其他"]
TYPES = ["投诉/求助", "咨询", "建言", "感谢"]
HOSTILE_TITLE = "<img src=x onerror=alert(1)>求助"
WAIT = 40
# the app's clock is frozen here: "this month" is then never a day or two old (a month's first days once failed)
FROZEN_NOW = dt.datetime(2026, 11, 26, 12, 0, 0)


# -- synthetic data written through the app's own write path ------------------------------------------------------
def _frame(rows: dict) -> pd.DataFrame:
    out = pd.DataFrame(rows)
    out.insert(0, "_row", np.arange(2, len(out) + 2))
    return out


def synthetic_history(store: Store, now: dt.datetime, n: int = 20_000, seed: int = 11) -> None:
    """About two years up to `now`: cities, replying units, second replies, unanswered messages, evaluations."""
    rng = np.random.default_rng(seed)
    ref = province_ref.table()
    codes = ref["adcode"].to_numpy()
    weights = ref["census_2020"].to_numpy(float)
    weights[codes == HENAN] *= 4
    names = province_ref.names()
    start = pd.Timestamp(now) - pd.Timedelta(days=800)
    span = (pd.Timestamp(now) - start).total_seconds() - 120
    created = start + pd.to_timedelta(np.sort(rng.random(n)) * span, unit="s")
    province = rng.choice(codes, n, p=weights / weights.sum())
    city_pick = rng.integers(0, 4, n)
    cities = [None if k == 3 else f"{names[p]}{'甲乙丙'[k]}市" for p, k in zip(province, city_pick, strict=True)]
    titles = rng.choice(
        ["小区供暖问题反映", "道路积水求助 13912345678", "入学政策咨询", HOSTILE_TITLE], n, p=[0.5, 0.2, 0.28, 0.02]
    )
    messages = _frame(
        {
            "message_id": [f"a{i:06d}" for i in range(n)],
            "created_at": created,
            "province": province,
            "city": cities,
            "district": [f"{c[:-1]}区" if c else None for c in cities],
            "addressee": None,
            "category": rng.choice(CATEGORIES, n),
            "msg_type": rng.choice(TYPES, n, p=[0.7, 0.15, 0.1, 0.05]),
            "title": titles,
            "is_urgent": rng.random(n) < 0.08,
            "source_status": np.where(rng.random(n) < 0.05, "办理中", None),
        }
    )
    delay = pd.to_timedelta(rng.lognormal(3.6, 1.1, n), unit="h")
    replied = messages["created_at"] + delay
    answered = (replied < pd.Timestamp(now)) & (rng.random(n) < 0.88)
    unit_index = rng.integers(0, 7, n)
    units = [None if k == 6 else f"{names[p]}第{k + 1}办理单位" for p, k in zip(province, unit_index, strict=True)]
    replies = _frame(
        {
            "reply_id": "r" + messages["message_id"],
            "message_id": messages["message_id"],
            "replied_at": replied,
            "unit": units,
        }
    ).loc[answered]
    second = replies.sample(frac=0.2, random_state=seed).copy()
    second["reply_id"] = "s" + second["message_id"]
    second["replied_at"] = second["replied_at"] + pd.Timedelta(days=3)
    second["unit"] = "上级督办单位"
    second = second[second["replied_at"] < pd.Timestamp(now)]
    rated = replies.sample(frac=0.35, random_state=seed + 1)
    flags = rng.random(len(rated))
    evaluations = _frame(
        {
            "message_id": rated["message_id"].to_numpy(),
            "rated_at": (rated["replied_at"] + pd.Timedelta(hours=5)).clip(upper=pd.Timestamp(now)).to_numpy(),
            "satisfied": pd.array([None if f < 0.3 else bool(f < 0.85) for f in flags], dtype="boolean"),
        }
    )
    for column in ("score_resolution", "score_attitude", "score_speed"):
        evaluations[column] = pd.array(rng.integers(1, 6, len(rated)), dtype="Int8")
    m = 900
    joined = start + pd.to_timedelta(np.sort(rng.random(m)) * span, unit="s")
    unit_rows = _frame(
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
            "leader_id": [f"l{i}" for i in range(m // 6)],
            "name": "某市市长",
            "province": rng.choice(codes, m // 6),
            "level": "市级",
            "joined_at": joined[::6],
        }
    )
    for kind, batch in (
        ("messages", messages),
        ("replies", replies),
        ("replies", second),
        ("evaluations", evaluations),
        ("units", unit_rows),
        ("leaders", leaders),
    ):
        result = upsert(store, kind, batch)
        assert not result.rejected, (kind, result.rejected[:3])


# -- fixtures -----------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def analyst_store(tmp_path_factory):
    store = Store(tmp_path_factory.mktemp("analyst") / "analyst.duckdb")
    synthetic_history(store, FROZEN_NOW)
    yield store
    store.close()


@pytest.fixture(scope="module")
def server(analyst_store):
    settings = replace(Settings(), db=analyst_store.path, simulate=False, overdue_days=15, clock=FROZEN_NOW.isoformat())
    live = LiveServer(analyst_store, settings)
    yield live
    live.close()


@pytest.fixture(scope="module")
def downloads(tmp_path_factory):
    return tmp_path_factory.mktemp("downloads")


def _driver(download_dir: Path | None = None):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in (
        "--headless=new",
        "--no-sandbox",
        "--disable-dev-shm-usage",
        "--disable-gpu",
        "--window-size=1366,900",
        "--force-device-scale-factor=1",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1, EXCLUDE localhost",
    ):
        options.add_argument(arg)
    if download_dir is not None:
        options.add_experimental_option(
            "prefs", {"download.default_directory": str(download_dir), "download.prompt_for_download": False}
        )
    options.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_script_timeout(60)
    if download_dir is not None:
        driver.execute_cdp_cmd("Page.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(download_dir)})
    return driver


@pytest.fixture(scope="module")
def browser(downloads):
    if not CHROMIUM or not CHROMEDRIVER:
        pytest.skip("chromium and chromedriver are needed (installed by .ci/run)")
    driver = _driver(downloads)
    yield driver
    driver.quit()


def browser_for(download_dir: Path):
    """A Chromium per test (the tabs' tests: each with its own downloads folder), closed after it."""
    if not CHROMIUM or not CHROMEDRIVER:
        pytest.skip("chromium and chromedriver are needed (installed by .ci/run)")
    driver = _driver(download_dir)
    driver.download_dir = download_dir
    yield driver
    driver.quit()


# -- browser helpers ----------------------------------------------------------------------------------------------
def visible(driver, element_id: str) -> bool:
    return driver.execute_script(
        "const e = document.getElementById(arguments[0]); return !!e && e.offsetParent !== null", element_id
    )


def resize(driver, width: int, height: int) -> None:
    driver.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride",
        {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False},
    )


def wait_for(predicate, timeout: float = WAIT, step: float = 0.2, message: str = "condition"):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            last = predicate()
        except Exception as exc:  # the page is between renders
            last = exc
        if last is True or (last and not isinstance(last, Exception)):
            return last
        time.sleep(step)
    raise AssertionError(f"timed out waiting for {message} (last: {last!r})")


SETTLED = """
const root = document.getElementById(arguments[0]);
if (!root || !root.children.length) return false;
return !document.querySelector('[data-dash-is-loading]');
"""


def open_page(driver, server, query: str = "", kpis: str = A.KPIS, width: int = 1366, height: int = 900):
    resize(driver, width, height)
    driver.get_log("browser")
    driver.get(f"{server.url}/analyst{query}")
    wait_for(lambda: driver.execute_script(SETTLED, kpis), message=f"page {query} settled")


def settled(driver, kpis: str = A.KPIS) -> None:
    wait_for(lambda: driver.execute_script(SETTLED, kpis), message="settled")


def text(driver, element_id: str) -> str:
    return driver.execute_script(
        "const e = document.getElementById(arguments[0]); return e ? e.textContent : null;", element_id
    )


GRID_ROWS = """
const api = dash_ag_grid.getApi(arguments[0]);
const rows = [];
api.forEachNodeAfterFilterAndSort(node => rows.push(node.data));
return rows;
"""
GRID_TEXT = """
const api = dash_ag_grid.getApi(arguments[0]);
const columns = api.getColumns().filter(c => c.isVisible()).map(c => c.getColId());
const out = [];
api.forEachNodeAfterFilterAndSort(node => {
  const row = {};
  for (const col of columns) row[col] = api.getCellValue({rowNode: node, colKey: col, useFormatter: true});
  out.push(row);
});
return out;
"""
FIGURE = """
const gd = document.querySelector('#' + arguments[0] + ' .js-plotly-plot');
if (!gd || !gd.data) return null;
return gd.data.map(t => ({name: t.name, x: t.x, y: t.y, z: t.z, locations: t.locations, labels: t.labels,
                          values: t.values}));
"""


def grid_rows(driver, table: str) -> list[dict]:
    return driver.execute_script(GRID_ROWS, A.grid(table))


def grid_text(driver, table: str) -> list[dict]:
    return driver.execute_script(GRID_TEXT, A.grid(table))


def figure(driver, graph_id: str):
    return driver.execute_script(FIGURE, graph_id)


def current_search(driver) -> str:
    return driver.execute_script("return window.location.search")


def click_option(driver, component_id: str, label: str) -> None:
    """Pick `label` in a Dash 4 dropdown (multi: the menu stays open; Escape closes it)."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    driver.find_element(By.ID, component_id).click()
    options = wait_for(
        lambda: driver.find_elements(By.CSS_SELECTOR, ".dash-dropdown-options .dash-dropdown-option"),
        message=f"options of {component_id}",
    )
    for option in options:
        if option.text.strip() == label:
            option.click()
            break
    else:
        raise AssertionError(f"{label!r} not among {[o.text for o in options]}")
    driver.find_element(By.TAG_NAME, "body").send_keys(Keys.ESCAPE)
    time.sleep(0.2)


def click_radio(driver, component_id: str, label: str) -> None:
    from selenium.webdriver.common.by import By

    for option in driver.find_elements(By.CSS_SELECTOR, f"#{component_id} > label"):
        if option.text.strip() == label:
            option.click()
            return
    raise AssertionError(f"no {label!r} in #{component_id}")


def no_console_errors(driver) -> list:
    return [e for e in driver.get_log("browser") if e["level"] in ("SEVERE", "ERROR")]


def requests_made(driver) -> list[str]:
    urls = []
    for entry in driver.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        if message["method"] == "Network.requestWillBeSent":
            urls.append(message["params"]["request"]["url"])
    return urls


def screenshot(driver, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / name
    driver.save_screenshot(str(path))
    return path


# -- what the API says ---------------------------------------------------------------------------------------------
def api(server, path: str, params) -> dict:
    status, body = server.get(path, params)
    assert status == 200, (path, params, body)
    return body


def kpi_texts(driver, prefix: str = A.KPIS) -> dict:
    return {name: text(driver, A.kpi_value(prefix, name)) for name, *_ in KPI_NAMES}


KPI_NAMES = [
    ("messages", "int"),
    ("replies", "int"),
    ("reply_ratio", "pct"),
    ("reply_rate", "pct"),
    ("median_reply_hours", "hours"),
    ("satisfaction_rate", "pct"),
    ("messages_per_10k", "per10k"),
    ("replies_per_10k", "per10k"),
    ("new_units", "int"),
    ("new_leaders", "int"),
]


def expected_kpis(summary: dict) -> dict:
    return {name: L.fmt(kind, summary[name]) for name, kind in KPI_NAMES}


def expected_yoy(summary: dict) -> dict:
    return {name: L.fmt_yoy(summary[f"{name}_yoy"]) for name in ("messages", "replies", "new_units", "new_leaders")}


def overview_matches(driver, server, params) -> bool | str:
    """Every overview panel shows the API's numbers for `params` (a list of (name, value) pairs)."""
    summary = api(server, "/api/v1/summary", params)
    if kpi_texts(driver) != expected_kpis(summary):
        return f"kpis {kpi_texts(driver)} != {expected_kpis(summary)}"
    yoy = {name: text(driver, A.kpi_yoy(A.KPIS, name)) for name in ("messages", "replies", "new_units", "new_leaders")}
    if yoy != expected_yoy(summary):
        return f"yoy {yoy}"
    # map and ranking table: every province of the selection with the API's values
    provinces = {p["adcode"]: p for p in api(server, "/api/v1/provinces", params)["provinces"]}
    rows = grid_rows(driver, "ranking")
    if {int(r["adcode"]) for r in rows} != set(provinces):
        return "ranking provinces"
    for row in rows:
        p = provinces[int(row["adcode"])]
        for field in (
            "messages",
            "replies",
            "messages_per_10k",
            "replies_per_10k",
            "reply_ratio",
            "reply_rate",
            "median_reply_hours",
            "satisfaction_rate",
            "new_units",
            "new_leaders",
            "messages_yoy",
        ):
            if row[field] != p[field]:
                return f"ranking {p['name']} {field} {row[field]} != {p[field]}"
    state_metric = driver.execute_script(
        "return document.querySelector('#' + arguments[0] + ' label.selected input').value", A.METRIC
    )
    map_data = figure(driver, A.MAP)[1]
    want = {str(code): p[state_metric] for code, p in provinces.items()}
    got = dict(zip(map_data["locations"], map_data["z"], strict=True))
    # the map's figure carries values rounded to 5 decimals (dashboard/figures.py)
    if set(got) != set(want) or any(not _close(got[k], want[k], 6e-6) for k in want):
        return f"map values {state_metric} {sorted(got.items())[:3]} {sorted(want.items())[:3]}"
    # trend: every bucket, this year and last
    granularity = driver.execute_script(
        "return document.querySelector('#' + arguments[0] + ' label.selected input').value", A.GRANULARITY
    )
    points = api(server, "/api/v1/trend", list(params) + [("granularity", granularity)])["points"]
    traces = figure(driver, A.TREND)
    for index, column in enumerate(("messages", "replies", "messages_prev", "replies_prev")):
        if [int(v) for v in traces[index]["y"]] != [p[column] for p in points]:
            return f"trend {column}"
    if [str(x)[:10] for x in traces[0]["x"]] != [p["bucket"] for p in points]:
        return "trend buckets"
    # domains and types: charts and the cross table add up to the API
    categories = {c["category"]: c["messages"] for c in api(server, "/api/v1/categories", params)["categories"]}
    types = {t["msg_type"]: t["messages"] for t in api(server, "/api/v1/types", params)["types"]}
    bars = (figure(driver, A.CATEGORY_FIG) or [{"x": [], "y": []}])[0]  # no trace: nothing to show
    if sum(bars["x"]) != sum(categories.values()):
        return "category bars total"
    english = driver.execute_script("return document.getElementById('analyst').classList.contains('lang-en')")
    shown = {i18n.category(k, "en" if english else "zh"): v for k, v in categories.items()}
    for name, value in zip(bars["y"], bars["x"], strict=True):
        if name != i18n.category("其他", "en" if english else "zh") and shown.get(name) != value:
            return f"category bar {name}"
    ring = (figure(driver, A.TYPE_FIG) or [{"values": []}])[0]
    if sorted(ring["values"]) != sorted(v for v in types.values() if v):
        return "type ring"
    cross = grid_rows(driver, "cross")
    if {r["category"]: r["total"] for r in cross} != {k: v for k, v in shown.items() if v}:
        return "cross rows"
    column_sums = {}
    for spec in driver.execute_script("return dash_ag_grid.getApi(arguments[0]).getColumnDefs()", A.grid("cross")):
        if spec["field"][0] == "t" and spec["field"][1:].isdigit():
            column_sums[spec["headerName"]] = sum(r[spec["field"]] for r in cross)
    if column_sums != {i18n.msg_type(k, "en" if english else "zh"): v for k, v in types.items() if v}:
        return "cross columns"
    return True


def _close(a, b, abs_tol: float = 1e-9) -> bool:
    if a is None or b is None:
        return a is None and b is None
    return math.isclose(a, b, rel_tol=1e-9, abs_tol=abs_tol)


def check_overview(driver, server, params, message: str) -> None:
    deadline = time.monotonic() + WAIT
    last = None
    while time.monotonic() < deadline:
        try:
            last = overview_matches(driver, server, params)
        except Exception:  # mid-render
            import traceback

            last = traceback.format_exc(limit=-2)
        if last is True:
            return
        time.sleep(0.3)
    raise AssertionError(f"{message}: {last}")


def today() -> dt.date:
    return FROZEN_NOW.date()


def dates(period: str) -> list[tuple[str, str]]:
    start, end = preset(period, today())
    return [("start", start.isoformat()), ("end", end.isoformat())]


# -- browser tests -------------------------------------------------------------------------------------------------
def test_default_view_matches_the_api_offline(browser, server):
    browser.get_log("performance")
    open_page(browser, server)
    check_overview(browser, server, dates("ytd"), "default view (本年)")
    assert no_console_errors(browser) == []
    urls = requests_made(browser)
    outside = [u for u in urls if not u.startswith(server.url) and not u.startswith(("data:", "blob:"))]
    assert urls and outside == []
    assert "本年" in text(browser, A.PERIOD_LABEL)


def type_dates(driver, start: str, end: str) -> None:
    """Type a custom range into the date range picker (start, then end)."""
    from selenium.webdriver.common.keys import Keys

    for element_id, value in ((A.DATES, start), (f"{A.DATES}-end-date", end)):
        element = driver.find_element("id", element_id)
        element.click()
        element.send_keys(Keys.CONTROL, "a")
        element.send_keys(value)
        element.send_keys(Keys.ENTER)
        time.sleep(0.3)
    driver.find_element("tag name", "body").send_keys(Keys.ESCAPE)  # close the calendar
    time.sleep(0.3)


def test_each_filter_updates_every_panel(browser, server):
    open_page(browser, server)
    click_radio(browser, A.PERIOD, "本季度")
    check_overview(browser, server, dates("quarter"), "period preset 本季度")
    assert "period=quarter" in current_search(browser)
    click_radio(browser, A.PERIOD, "近30天")
    check_overview(browser, server, dates("last30"), "period preset 近30天")
    # custom dates typed into the date range
    last_year = today().year - 1
    type_dates(browser, f"{last_year}-02-01", f"{last_year}-07-31")
    params = [("start", f"{last_year}-02-01"), ("end", f"{last_year}-07-31")]
    check_overview(browser, server, params, "custom dates")
    assert "start=" in current_search(browser) and "period=" not in current_search(browser)
    assert (
        browser.execute_script("return document.querySelector('#analyst-period label.selected input').value")
        == "custom"
    )
    click_option(browser, A.PROVINCES, "河南")
    params += [("province", "河南")]
    check_overview(browser, server, params, "province 河南")
    click_option(browser, A.PROVINCES, "西部地区（12省）")
    params += [("province", "西部")]
    check_overview(browser, server, params, "province 河南 + region 西部")
    browser.find_element("css selector", f"#{A.URGENT} label").click()
    params += [("urgent", "true")]
    check_overview(browser, server, params, "urgent only")
    click_option(browser, A.CATEGORIES, "城建")
    params += [("category", "城建")]
    check_overview(browser, server, params, "domain 城建")
    click_option(browser, A.TYPES, "投诉/求助")
    params += [("msg_type", "投诉/求助")]
    check_overview(browser, server, params, "type 投诉/求助")
    assert api(server, "/api/v1/summary", params)["messages"] > 0  # still something to compare
    click_radio(browser, A.GRANULARITY, "月")  # the period's own choice is by week
    check_overview(browser, server, params, "granularity month")
    click_radio(browser, A.METRIC, "回复/留言比")
    check_overview(browser, server, params, "map metric reply ratio")
    search = current_search(browser)
    for part in ("start=", "end=", "category=", "msg_type=", "urgent=1", "granularity=month", "metric=reply_ratio"):
        assert part in search, (part, search)
    # reset: back to the default view
    browser.find_element("id", A.RESET).click()
    check_overview(browser, server, dates("ytd"), "reset")
    assert current_search(browser) in ("", "?")
    assert no_console_errors(browser) == []


def test_copied_link_reproduces_the_view_and_history_works(browser, server):
    open_page(browser, server)
    click_radio(browser, A.PERIOD, "本月")
    wait_for(lambda: "period=month" in current_search(browser), message="url period")
    click_option(browser, A.PROVINCES, "四川")
    wait_for(lambda: "province=" in current_search(browser), message="url province")
    click_option(browser, A.CATEGORIES, "交通")
    month_sichuan = dates("month") + [("province", "四川"), ("category", "交通")]
    check_overview(browser, server, month_sichuan, "month 四川 交通")
    link = browser.current_url
    before = kpi_texts(browser)
    browser.find_element("id", A.COPY).click()  # the copy-link button confirms, then resets
    wait_for(lambda: browser.find_element("id", A.COPY).text == "已复制", message="copied")
    wait_for(lambda: browser.find_element("id", A.COPY).text == "复制链接", message="label back")
    # another browser (a new profile) opening the copied link shows the same view
    other = _driver()
    try:
        open_page(other, server, "?" + link.split("?", 1)[1])
        check_overview(other, server, month_sichuan, "copied link")
        assert kpi_texts(other) == before
        assert (
            other.execute_script("return document.querySelector('#analyst-period label.selected input').value")
            == "month"
        )
        assert "四川" in other.find_element("id", A.PROVINCES).text
        assert "交通" in other.find_element("id", A.CATEGORIES).text
    finally:
        other.quit()
    # back and forward walk through the filter changes
    browser.back()
    check_overview(browser, server, dates("month") + [("province", "四川")], "back: without the domain")
    assert "交通" not in browser.find_element("id", A.CATEGORIES).text
    browser.back()
    check_overview(browser, server, dates("month"), "back: without the province")
    browser.forward()
    check_overview(browser, server, dates("month") + [("province", "四川")], "forward")
    assert "四川" in browser.find_element("id", A.PROVINCES).text


def drill_matches(driver, server, store, params, code: int) -> bool | str:
    name = province_ref.names()[code]
    if name not in (text(driver, A.DRILL_TITLE) or ""):
        return "title"
    province_params = list(params) + [("province", name)]
    summary = api(server, "/api/v1/summary", province_params)
    if kpi_texts(driver, A.DRILL_KPIS) != expected_kpis(summary):
        return f"drill kpis {kpi_texts(driver, A.DRILL_KPIS)} != {expected_kpis(summary)}"
    points = api(server, "/api/v1/trend", province_params + [("granularity", "day")])["points"]
    traces = figure(driver, A.DRILL_TREND)
    if traces is None or len(traces[0]["y"]) != len(points) and len(points) <= 92:
        return "drill trend"
    categories = {
        c["category"]: c["messages"] for c in api(server, "/api/v1/categories", province_params)["categories"]
    }
    bars = (figure(driver, A.DRILL_CATEGORY_FIG) or [{"x": []}])[0]
    if sum(bars["x"]) != sum(categories.values()):
        return "drill categories"
    # cities, units and overdue messages: the queries' own numbers (tests/test_drill.py checks them by hand)
    f = Filters(dt.date.fromisoformat(params[0][1]), dt.date.fromisoformat(params[1][1]), provinces=(code,))
    cities = metrics.by_city(store, f)
    got = {r["city"]: (r["messages"], r["replies"], r["median_reply_hours"]) for r in grid_rows(driver, "cities")}
    want = {
        (c if isinstance(c, str) and c != "（未填）" else "（未填）"): (m, r, None if h != h else h)
        for c, m, r, h in cities[["city", "messages", "replies", "median_reply_hours"]].itertuples(index=False)
    }
    if {k: v[:2] for k, v in got.items()} != {k: v[:2] for k, v in want.items()}:
        return f"cities {got} != {want}"
    if sum(v[0] for v in got.values()) != summary["messages"]:
        return "cities add up"
    units = drill.units(store, f, 15)
    top = grid_rows(driver, "top_units")
    expected_top = drill.top_units(units, 20)
    if [r["answered"] for r in top] != expected_top["answered"].tolist():
        return "top units"
    if sum(units["answered"]) != summary["replies"]:
        return "units add up to replies"
    slow = grid_rows(driver, "slow_units")
    expected_slow = drill.slowest_units(units, 20, 10)
    if [round(r["median_reply_hours"], 6) for r in slow] != [round(v, 6) for v in expected_slow["median_reply_hours"]]:
        return "slow units"
    now = FROZEN_NOW
    overdue = grid_rows(driver, "overdue")
    expected = drill.overdue(store, f, now, 15, 50)
    if [r["message_id"] for r in overdue] != expected["message_id"].tolist():
        return "overdue rows"
    count = drill.overdue_count(store, f, now, 15)
    if f"{count:,}" not in (text(driver, A.OVERDUE_NOTE) or ""):
        return "overdue count"
    return True


def check(predicate, message: str, timeout: float = WAIT) -> None:
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            last = predicate()
        except Exception as exc:
            last = repr(exc)
        if last is True:
            return
        time.sleep(0.3)
    raise AssertionError(f"{message}: {last}")


def test_drill_down_from_map_and_table_and_back(browser, server, analyst_store):
    from selenium.webdriver.common.action_chains import ActionChains

    open_page(browser, server, "?period=quarter")
    check_overview(browser, server, dates("quarter"), "quarter overview")
    # click 河南 on the map
    path = browser.execute_script(
        """
        const gd = document.querySelector('#' + arguments[0] + ' .js-plotly-plot');
        const trace = gd.querySelectorAll('.geo')[0].querySelectorAll('.choroplethlayer .trace')[arguments[1]];
        const paths = [...trace.querySelectorAll('path.choroplethlocation')];
        return paths.find(p => p.__data__ && String(p.__data__.loc) === arguments[2]);
    """,
        A.MAP,
        1,
        str(HENAN),
    )
    assert path is not None
    ActionChains(browser).move_to_element(path).pause(0.3).click().perform()
    wait_for(lambda: "drill=" in current_search(browser), message="drill in the URL")
    settled(browser, A.DRILL_KPIS)
    check(lambda: drill_matches(browser, server, analyst_store, dates("quarter"), HENAN), "drill-down 河南")
    assert browser.find_element("id", A.OVERVIEW).value_of_css_property("display") == "none"
    # the titles of the overdue messages are text, never HTML
    assert browser.execute_script("return document.querySelectorAll('#analyst-drill img').length") == 0
    # back to all provinces
    browser.find_element("id", A.BACK).click()
    wait_for(lambda: "drill=" not in current_search(browser), message="drill left")
    check_overview(browser, server, dates("quarter"), "back from the drill-down")
    # drill from the ranking table: click the 四川 cell
    cell = wait_for(
        lambda: browser.find_element("css selector", f'[row-id="{SICHUAN}"] [col-id="province"]'), message="四川 cell"
    )
    cell.click()
    wait_for(lambda: "drill=%E5%9B%9B%E5%B7%9D" in current_search(browser), message="drill 四川")
    check(lambda: drill_matches(browser, server, analyst_store, dates("quarter"), SICHUAN), "drill-down 四川")
    # browser back returns to the overview, forward to the drill-down again
    browser.back()
    check_overview(browser, server, dates("quarter"), "history back")
    browser.forward()
    check(lambda: drill_matches(browser, server, analyst_store, dates("quarter"), SICHUAN), "history forward")
    # a link with the drill-down opens it directly
    open_page(browser, server, "?period=quarter&drill=410000", kpis=A.DRILL_KPIS)
    check(lambda: drill_matches(browser, server, analyst_store, dates("quarter"), HENAN), "drill link")
    assert no_console_errors(browser) == []


def compare_rows(driver) -> dict:
    return {r["key"]: (r["a"], r["b"], r["diff"]) for r in grid_rows(driver, "compare_metrics")}


def compare_matches(driver, a: dict, b: dict) -> bool | str:
    rows = compare_rows(driver)
    for key, _ in tables.COMPARE_METRICS:
        if key not in rows:
            return f"missing {key}"
        got_a, got_b, diff = rows[key]
        if got_a != a[key] or got_b != b[key]:
            return f"{key}: {got_a}/{got_b} != {a[key]}/{b[key]}"
        if a[key] is not None and b[key] is not None and not _close(diff, a[key] - b[key]):
            return f"{key} diff"
    return True


def test_compare_two_provinces_and_two_periods(browser, server):
    open_page(browser, server, "?period=h1&compare=province&province=河南&b_province=四川", kpis=A.COMPARE_LABELS)
    a = api(server, "/api/v1/summary", dates("h1") + [("province", "河南")])
    b = api(server, "/api/v1/summary", dates("h1") + [("province", "四川")])
    check(lambda: compare_matches(browser, a, b), "compare 河南 / 四川")
    labels = text(browser, A.COMPARE_LABELS)
    assert "河南" in labels and "四川" in labels
    categories = {
        c["category"]: c["messages"]
        for c in api(server, "/api/v1/categories", dates("h1") + [("province", "河南")])["categories"]
    }
    rows = {r["category"]: r for r in grid_rows(browser, "compare_categories")}
    assert {k: r["messages_a"] for k, r in rows.items() if r["messages_a"]} == categories
    # switch to two periods in the page: this quarter against the same dates a year earlier (default)
    click_radio(browser, A.COMPARE_MODE, "两个时期")
    wait_for(lambda: "compare=period" in current_search(browser), message="compare=period")
    a = api(server, "/api/v1/summary", dates("h1") + [("province", "河南")])
    previous = [(k, v.replace(str(today().year), str(today().year - 1))) for k, v in dates("h1")]
    b = api(server, "/api/v1/summary", previous + [("province", "河南")])
    check(lambda: compare_matches(browser, a, b), "compare H1 with a year earlier")
    click_radio(browser, A.B_PERIOD, "本季度")
    b = api(server, "/api/v1/summary", dates("quarter") + [("province", "河南")])
    check(lambda: compare_matches(browser, a, b), "compare H1 with this quarter")
    assert "b_period=quarter" in current_search(browser)
    # back to the overview tab keeps the filters
    click_radio(browser, A.TABS, "总览")
    check_overview(browser, server, dates("h1") + [("province", "河南")], "overview after compare")
    assert no_console_errors(browser) == []


def _wait_download(folder: Path, suffix: str, before: set) -> Path:
    def done():
        files = [p for p in folder.glob(f"*{suffix}") if p.name not in before]
        return files[0] if files and not list(folder.glob("*.crdownload")) else None

    return wait_for(done, timeout=30, message=f"a {suffix} download")


def test_downloads_hold_the_api_numbers(browser, server, downloads):
    from openpyxl import load_workbook

    open_page(browser, server, "?period=ytd&province=东部")
    params = dates("ytd") + [("province", "东部")]
    check_overview(browser, server, params, "east, this year")
    api_rows = {p["adcode"]: p for p in api(server, "/api/v1/provinces", params)["provinces"]}
    headers = {
        c["field"]: c["headerName"]
        for c in browser.execute_script("return dash_ag_grid.getApi(arguments[0]).getColumnDefs()", A.grid("ranking"))
    }
    # sort the table by messages, ascending: the downloads keep the screen's order
    browser.execute_script(
        """dash_ag_grid.getApi(arguments[0]).applyColumnState(
        {state: [{colId: 'messages', sort: 'asc'}], defaultState: {sort: null}});""",
        A.grid("ranking"),
    )
    order = [int(r["adcode"]) for r in grid_rows(browser, "ranking")]
    before = {p.name for p in downloads.iterdir()}
    browser.find_element("css selector", '[id*="ranking"][id*="csv"]').click()
    csv_file = _wait_download(downloads, ".csv", before)
    raw = csv_file.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # BOM: Excel reads the Chinese headers
    reader = list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"))))
    assert [int(r[headers["adcode"]]) for r in reader] == order
    for r in reader:
        p = api_rows[int(r[headers["adcode"]])]
        assert int(r[headers["messages"]]) == p["messages"]
        assert int(r[headers["replies"]]) == p["replies"]
        assert float(r[headers["messages_per_10k"]]) == p["messages_per_10k"]  # unrounded, exactly
        assert float(r[headers["reply_ratio"]]) == p["reply_ratio"]
        assert (float(r[headers["satisfaction_rate"]]) if r[headers["satisfaction_rate"]] else None) == p[
            "satisfaction_rate"
        ]
    before = {p.name for p in downloads.iterdir()}
    browser.find_element("css selector", '[id*="ranking"][id*="xlsx"]').click()
    xlsx_file = _wait_download(downloads, ".xlsx", before)
    book = load_workbook(xlsx_file)
    sheet = book.worksheets[0]
    values = list(sheet.iter_rows(values_only=True))
    head = list(values[0])
    assert head == [headers[c] for c in headers]
    for row in values[1:]:
        record = dict(zip(head, row, strict=True))
        p = api_rows[int(record[headers["adcode"]])]
        assert record[headers["messages"]] == p["messages"]
        # Excel keeps 15-16 significant digits (openpyxl writes 16)
        assert record[headers["messages_per_10k"]] == pytest.approx(p["messages_per_10k"], rel=1e-15, abs=0)
        assert record[headers["median_reply_hours"]] == pytest.approx(p["median_reply_hours"], rel=1e-15, abs=0)
    column = head.index(headers["reply_ratio"]) + 1
    assert sheet.cell(row=2, column=column).number_format == "0.0%"  # shown as on screen
    about = dict((r[0], r[1]) for r in book["about"].iter_rows(values_only=True))
    assert "province=东部" in unquote(about["link"]) and "start=" in about["api"]
    # the domain x type table: its CSV adds up to the API's domains
    categories = {c["category"]: c["messages"] for c in api(server, "/api/v1/categories", params)["categories"]}
    before = {p.name for p in downloads.iterdir()}
    browser.find_element("css selector", '[id*="cross"][id*="csv"]').click()
    reader = list(csv.DictReader(io.StringIO(_wait_download(downloads, ".csv", before).read_text("utf-8-sig"))))
    assert {r["领域"]: int(r["合计"]) for r in reader} == {k: v for k, v in categories.items() if v}
    # a drill-down table: the overdue messages of 河南 this year, oldest first, titles as text
    open_page(browser, server, "?period=ytd&drill=河南", kpis=A.DRILL_KPIS)
    wait_for(lambda: grid_rows(browser, "overdue"), message="overdue rows")
    shown = [r["message_id"] for r in grid_rows(browser, "overdue")]
    before = {p.name for p in downloads.iterdir()}
    browser.find_element("css selector", '[id*="overdue"][id*="csv"]').click()
    overdue_file = _wait_download(downloads, ".csv", before)
    assert f"_{HENAN}_" in overdue_file.name
    reader = list(csv.DictReader(io.StringIO(overdue_file.read_text("utf-8-sig"))))
    assert [r["ID"] for r in reader] == shown and len(shown) > 0
    titles = {r["标题"] for r in reader}
    assert all("13912345678" not in t for t in titles)  # masked as on screen


HOSTILE = [
    # unknown province, an SQL fragment, a script tag, an HTML tag in the drill-down
    (
        "?"
        + urlencode(
            [
                ("province", "Atlantis"),
                ("province", "1' OR '1'='1"),
                ("category", "<script>alert(1)</script>"),
                ("drill", "<img src=x onerror=alert(2)>"),
            ]
        ),
        [
            ("province", "Atlantis"),
            ("province", "1' OR '1'='1"),
            ("category", "<script>alert(1)</script>"),
            ("drill", "<img src=x onerror=alert(2)>"),
        ],
    ),
    # absurd dates, SQL in the period and the type, words where a flag or a choice belongs
    (
        "?"
        + urlencode(
            [
                ("start", "9999-99-99"),
                ("end", "2021-13-45"),
                ("period", "ytd; DROP TABLE messages"),
                ("msg_type", "咨询' --"),
                ("urgent", "maybe"),
                ("granularity", "hour"),
                ("x", "1"),
            ]
        ),
        [
            ("start", "9999-99-99"),
            ("end", "2021-13-45"),
            ("period", "ytd; DROP TABLE messages"),
            ("msg_type", "咨询' --"),
            ("urgent", "maybe"),
            ("granularity", "hour"),
            ("x", "1"),
        ],
    ),
    # dates the wrong way round; in English
    (
        "?" + urlencode([("start", "2021-06-30"), ("end", "2021-01-01"), ("lang", "en"), ("province", "Narnia")]),
        [("start", "2021-06-30"), ("province", "Narnia")],
    ),
]


@pytest.mark.parametrize("query, named", HOSTILE)
def test_hostile_links_get_a_clear_message(browser, server, query, named):
    open_page(browser, server, query)
    message = wait_for(lambda: browser.find_element("id", A.PROBLEMS).text, message="the problems message")
    english = "lang=en" in query
    assert message.startswith(L.t("bad_param", "en" if english else "zh").strip())
    lines = message.splitlines()[1:]
    assert len(lines) == len(named), lines
    for parameter, value in named:  # shown as text, never run
        assert any(line.startswith(f"{parameter} = “{value}”") for line in lines), (parameter, lines)
    page = browser.find_element("tag name", "body").text
    assert "Traceback" not in page and "Error" not in page and "错误" not in page
    assert browser.execute_script("return document.querySelectorAll('#analyst script, #analyst img').length") == 0
    from selenium.common.exceptions import NoAlertPresentException

    with pytest.raises(NoAlertPresentException):
        browser.switch_to.alert.text  # noqa: B018 - no script ran
    # the rest of the view is the default, with the API's numbers
    check_overview(browser, server, dates("ytd"), f"default view after {query}")
    assert no_console_errors(browser) == []


PER_10K_CARD = catalog.ANALYST_KPIS.index("messages_per_10k")  # the cards follow the catalog's order


def test_english_labels_and_tooltips(browser, server):
    open_page(browser, server, "?lang=en&period=h1")
    check_overview(browser, server, dates("h1"), "english")
    body = browser.find_element("tag name", "body").text
    assert "Analyst Workspace" in body and "Messages" in body and "留言总量" not in body
    tip = browser.execute_script("return document.querySelector('#analyst-kpis .tip').getAttribute('data-tip')")
    assert tip.startswith("Messages: messages posted in the period")
    per_10k = browser.execute_script(
        "return [...document.querySelectorAll('#analyst-kpis .tip')].map(t => t.getAttribute('data-tip'))"
    )[PER_10K_CARD]
    assert "2020 national census" in per_10k
    headers = browser.execute_script("return dash_ag_grid.getApi(arguments[0]).getColumnDefs()", A.grid("ranking"))
    tooltip = {h["field"]: h.get("headerTooltip", "") for h in headers}
    assert "2020 national census" in tooltip["messages_per_10k"]
    assert "first reply" in tooltip["replies"]
    open_page(browser, server, "?period=h1")
    tips = browser.execute_script(
        "return [...document.querySelectorAll('#analyst-kpis .tip')].map(t => t.getAttribute('data-tip'))"
    )
    assert tips[0].startswith("留言总量") and "2020年第七次全国人口普查" in tips[PER_10K_CARD]


def test_a_failing_panel_keeps_the_page_and_says_so(browser, server):
    service = server.app.server.extensions["liuyan"]["metrics"]
    original = service.by_province

    def broken(*args, **kwargs):
        raise RuntimeError("database unavailable")

    open_page(browser, server, "?period=month")
    service.by_province = broken
    try:
        click_radio(browser, A.PERIOD, "本周")
        message = wait_for(lambda: browser.find_element("id", f"{A.ERROR}-text").text, message="error message")
        assert message == L.t("error", "zh")
        body = browser.find_element("tag name", "body").text
        assert "Traceback" not in body and "RuntimeError" not in body and "database unavailable" not in body
        # the panels that do not need the failing query still follow the filter
        summary = api(server, "/api/v1/summary", dates("week"))
        wait_for(lambda: kpi_texts(browser) == expected_kpis(summary), message="KPIs of this week")
    finally:
        service.by_province = original
    click_radio(browser, A.PERIOD, "本月")
    check_overview(browser, server, dates("month"), "recovered")
    wait_for(lambda: browser.find_element("id", f"{A.ERROR}-text").text == "", message="message cleared")


def test_an_empty_database_shows_zeros_not_errors(browser, tmp_path):
    empty = Store(tmp_path / "empty.duckdb")
    live = LiveServer(empty, replace(Settings(), db=empty.path, simulate=False, clock=FROZEN_NOW.isoformat()))
    try:
        open_page(browser, live, "?drill=河南", kpis=A.DRILL_KPIS)
        wait_for(lambda: text(browser, A.kpi_value(A.DRILL_KPIS, "messages")) == "0", message="zero messages")
        assert text(browser, A.kpi_value(A.DRILL_KPIS, "median_reply_hours")) == "—"
        open_page(browser, live, "")
        check_overview(browser, live, dates("ytd"), "empty database")
        assert browser.find_element("id", f"{A.ERROR}-text").text == ""
        assert no_console_errors(browser) == []
    finally:
        live.close()
        empty.close()


LAYOUT_PROBLEMS = """
const problems = [];
const root = document.getElementById('analyst');
if (root.scrollWidth > root.clientWidth + 1) problems.push('horizontal scroll ' + root.scrollWidth);
for (const el of document.querySelectorAll('.akpi-number, .akpi-label > span:first-child, .ap-title, .a-brand h1,'
                                         + ' .a-period-label span, .a-links .btn, .seg > label')) {
  if (el.offsetParent && el.scrollWidth > el.clientWidth + 1) problems.push('clipped: ' + el.textContent);
}
const boxes = [...document.querySelectorAll('.a-panel, .akpi, .a-filters, .a-header')]
  .filter(el => el.offsetParent).map(el => [el, el.getBoundingClientRect()]);
for (let i = 0; i < boxes.length; i++) for (let j = i + 1; j < boxes.length; j++) {
  const [a, ra] = boxes[i], [b, rb] = boxes[j];
  if (a.contains(b) || b.contains(a)) continue;
  const w = Math.min(ra.right, rb.right) - Math.max(ra.left, rb.left);
  const h = Math.min(ra.bottom, rb.bottom) - Math.max(ra.top, rb.top);
  if (w > 1 && h > 1) problems.push('overlap: ' + a.className + ' / ' + b.className);
}
for (const gd of document.querySelectorAll('.a-graph')) {
  if (!gd.offsetParent) continue;
  const svg = gd.querySelector('svg.main-svg');
  if (svg && svg.getBoundingClientRect().height > gd.getBoundingClientRect().height + 2)
    problems.push('figure taller than its panel: ' + gd.id);
}
return problems;
"""


@pytest.mark.parametrize("width, height", [(1366, 768), (1920, 1080), (3840, 2160)])
def test_screenshots_without_overlap(browser, server, width, height):
    views = [
        ("overview", "?period=ytd", A.KPIS),
        ("drill", "?period=quarter&drill=河南", A.DRILL_KPIS),
        ("compare", "?period=h1&compare=province&province=河南&b_province=四川", A.COMPARE_LABELS),
        ("en", "?lang=en&period=last30&province=东部", A.KPIS),
    ]
    for name, query, ready in views:
        if width == 1920 and name != "overview":
            continue
        open_page(browser, server, query, kpis=ready, width=width, height=height)
        time.sleep(1.0)
        problems = browser.execute_script(LAYOUT_PROBLEMS)
        assert problems == [], (name, width, problems)
        assert screenshot(browser, f"analyst-{name}-{width}x{height}.png").stat().st_size > 30_000


# -- without a browser ----------------------------------------------------------------------------------------------
def test_state_round_trips_through_the_url():
    day = dt.date(2026, 5, 20)
    state = S.State(
        lang="en",
        period="custom",
        start="2025-01-01",
        end="2025-03-31",
        provinces=("河南", "西部"),
        categories=("城建",),
        types=("咨询",),
        urgent=True,
        granularity="week",
        metric="reply_ratio",
        drill=None,
        compare="period",
        b_period="custom",
        b_start="2024-01-01",
        b_end="2024-03-31",
    )
    parsed, problems = S.parse(S.to_search(state), day, {"category": ["城建"], "msg_type": ["咨询"]})
    assert problems == [] and parsed == state
    drilled = S.State(period="quarter", drill=HENAN)
    assert S.to_search(drilled) == "?period=quarter&drill=%E6%B2%B3%E5%8D%97"
    assert S.parse(S.to_search(drilled), day)[0] == drilled
    assert S.to_search(S.State()) == ""
    # any spelling in a link, canonical in the state
    parsed, _ = S.parse("?province=henan&province=410000&province=West&drill=Sichuan", day)
    assert parsed.provinces == ("河南", "西部") and parsed.drill == SICHUAN
    # the API's parameters and Filters are the API's own parsing of them
    f = S.filters(parsed, day)
    assert f.provinces == tuple(sorted({HENAN, *province_ref.by_region("西部")}))
    assert S.api_params(S.State(period="h1"), day) == [("start", "2026-01-01"), ("end", "2026-05-20")]
    compare = S.State(period="month", compare="period")
    assert S.api_params(compare, day, side="b") == [("start", "2025-05-01"), ("end", "2025-05-20")]


def test_hostile_values_are_dropped_and_named():
    day = dt.date(2026, 5, 20)
    query = (
        "?province=Atlantis&province=%E6%B2%B3%E5%8D%97&start=9999-99-99&category=%3Cscript%3E&foo=1"
        "&urgent=maybe&metric=x&compare=both&lang=fr&drill=nowhere&end=2100-12-31&b_period=decade"
    )
    state, problems = S.parse(query, day, {"category": ["城建"], "msg_type": []})
    named = {(p.parameter, p.reason) for p in problems}
    assert named == {
        ("province", "province"),
        ("start", "date"),
        ("category", "category"),
        ("foo", "unknown"),
        ("urgent", "bool"),
        ("metric", "choice"),
        ("compare", "choice"),
        ("lang", "choice"),
        ("drill", "province"),
        ("b_period", "period"),
    }
    assert state.provinces == ("河南",) and state.categories == () and state.lang == "zh"
    assert (state.period, state.end) == ("custom", "2100-12-31")
    long_value = "x" * 500
    _, problems = S.parse(f"?category={long_value}", day)
    assert problems[0].reason == "text" and len(problems[0].value) <= S.SHOW_VALUE


def test_controls_change_the_state():
    from dashboard.analyst.controls import apply_control, controls

    day = dt.date(2026, 5, 20)
    known = {"category": ["城建"], "msg_type": ["咨询"]}
    state = S.State()
    values = controls(state, day, known)
    step = apply_control(state, "period", dict(values, period="quarter"), day, known)
    assert (step.period, S.period_dates(step, day)) == ("quarter", (dt.date(2026, 4, 1), day))
    step = apply_control(step, "d_end", dict(values, d_start="2025-01-01", d_end="2025-03-31"), day, known)
    assert (step.period, step.start, step.end) == ("custom", "2025-01-01", "2025-03-31")
    assert apply_control(step, "d_start", dict(values, d_start="1999-12-31", d_end="2025-03-31"), day, known) == step
    assert apply_control(step, "d_start", dict(values, d_start="2025-04-01", d_end="2025-03-31"), day, known) == step
    step = apply_control(step, "provinces", dict(values, provinces=["河南", "东部", "nowhere"]), day, known)
    assert step.provinces == ("河南", "东部")
    step = apply_control(step, "categories", dict(values, categories=["城建", "<b>"]), day, known)
    assert step.categories == ("城建",)
    step = apply_control(step, "map_click", dict(values, map_click={"points": [{"location": "510000"}]}), day, known)
    assert step.drill == SICHUAN and step.view == "drill"
    assert apply_control(step, "back", values, day, known).drill is None
    step = apply_control(step, "tab", dict(values, tab="compare"), day, known)
    assert (step.view, step.compare, step.drill) == ("compare", "period", None)
    step = apply_control(step, "b_provinces", dict(values, b_provinces=["四川"]), day, known)
    assert step.b_provinces == ("四川",)
    # the second period: custom from its pickers, a preset, back to "same dates last year"
    b = apply_control(
        step, "b_period", dict(values, b_period="custom", b_start="2024-02-01", b_end="2024-02-29"), day, known
    )
    assert (b.b_period, b.b_start, b.b_end) == ("custom", "2024-02-01", "2024-02-29")
    assert apply_control(b, "b_end", dict(values, b_start="2024-02-01", b_end="2024-01-31"), day, known) == b
    b = apply_control(b, "b_period", dict(values, b_period="h1"), day, known)
    assert (b.b_period, b.b_start, b.b_end) == ("h1", None, None)
    b = apply_control(b, "b_period", dict(values, b_period="last_year"), day, known)
    assert (b.b_period, b.b_start, b.b_end) == (None, None, None)
    cell = {"rowId": "410000", "colId": "province"}
    assert apply_control(S.State(), "cell", dict(values, cell=cell), day, known).drill == HENAN
    assert apply_control(S.State(), "cell", dict(values, cell=dict(cell, colId="messages")), day, known).drill is None
    assert apply_control(step, "reset", values, day, known) == S.State()


def test_exports_are_the_rows_unrounded():
    columns = [
        {"field": "name", "headerName": "省份", "context": {"kind": "text"}},
        {"field": "ratio", "headerName": "回复率", "context": {"kind": "pct"}},
        {"field": "n", "headerName": "留言", "context": {"kind": "int"}},
        {"field": "kind", "headerName": "kind", "hide": True, "context": {"kind": "text"}},
    ]
    rows = [
        {"name": "河南", "ratio": 0.123456789012345, "n": 12345, "kind": "x"},
        {"name": "<b>x</b>", "ratio": None, "n": 0, "kind": "y"},
        {"name": '=HYPERLINK("http://x","y")', "ratio": -0.5, "n": -3, "kind": "@SUM(A1)"},
    ]
    spec = export.columns_of(columns)
    data = export.to_csv(spec, rows).decode("utf-8-sig")
    assert data.splitlines() == [
        "省份,回复率,留言,kind",
        "河南,0.123456789012345,12345,x",
        "<b>x</b>,,0,y",
        '"\'=HYPERLINK(""http://x"",""y"")",-0.5,-3,\'@SUM(A1)',
    ]
    from openpyxl import load_workbook

    book = load_workbook(io.BytesIO(export.to_xlsx(spec, rows, [("link", "/analyst?x=1")])))
    sheet = book.worksheets[0]
    assert [c.value for c in sheet[2]] == ["河南", 0.123456789012345, 12345, "x"]
    assert sheet["B2"].number_format == "0.0%" and sheet["C2"].number_format == "#,##0"
    assert sheet["B3"].value is None
    assert (sheet["A4"].value, sheet["A4"].data_type) == ('=HYPERLINK("http://x","y")', "s")  # text, not a formula
    assert (sheet["B4"].value, sheet["C4"].value) == (-0.5, -3)


def test_number_formats():
    assert (
        L.fmt_int(1234567),
        L.fmt_pct(0.83456),
        L.fmt_hours(68.04),
        L.fmt_per10k(12.345),
        L.fmt_per10k(0.01234),
    ) == ("1,234,567", "83.5%", "68.0", "12.35", "0.012")
    assert (L.fmt_yoy(0.123), L.fmt_yoy(-0.04), L.fmt_yoy(None), L.fmt_yoy(0.0001)) == (
        "▲ 12.3%",
        "▼ 4.0%",
        "—",
        "— 0.0%",
    )
    assert L.fmt_pp(0.012, "zh") == "▲ 1.2个百分点" and L.fmt_pp(-0.012, "en") == "▼ 1.2 pp"


def test_clicked_row_only_names_a_shown_row():
    from dashboard.analyst.tables import clicked_row

    rows = [{"id": "a"}, {"id": "b"}]
    assert clicked_row({"rowIndex": 1}, rows) == {"id": "b"}
    for cell in (None, {}, {"rowIndex": 2}, {"rowIndex": -1}, {"rowIndex": "0"}, {"rowIndex": True + 5}):
        assert clicked_row(cell, rows) is None, cell
    assert clicked_row({"rowIndex": 0}, []) is None


def test_values_reported_back_by_a_slow_page_keep_the_links_message():
    day, known = dt.date(2024, 4, 1), {"category": ["城建"], "msg_type": ["咨询"]}
    values = {key: None for key, _, _ in SYNC_INPUTS}
    first = outputs(dict(values, search="?province=Atlantis&category=城建"), None, "/analyst", day, known, None)
    assert first["problems"]
    shown = {key: value for key, value in first.items() if key in values and key != "search" and value is not no_update}
    echoed = outputs(
        dict(values, **shown, search="?province=Atlantis&category=城建"),
        first["state"],
        "/analyst",
        day,
        known,
        "categories",
    )
    assert echoed["problems"] is no_update and echoed["state"] == first["state"]
    clean = echoed["search"]
    assert "Atlantis" not in clean and "category" in clean
    again = outputs(dict(values, **shown, search=clean), first["state"], "/analyst", day, known, "search")
    assert again["problems"] is no_update and again["state"] == first["state"]
    changed = outputs(
        dict(values, **{**shown, "period": "year"}, search=clean), first["state"], "/analyst", day, known, "period"
    )
    assert changed["problems"] == [] and changed["state"] != first["state"]
    pasted = outputs(
        dict(values, search="?category=城建&granularity=week"), first["state"], "/analyst", day, known, "search"
    )
    assert pasted["problems"] == [] and pasted["state"] != first["state"]
