"""The analyst workspace's 督办 tab in headless Chromium, checked against the JSON API on the story fixture."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from dashboard.analyst import ids as A
from tests.test_analyst import browser_for, click_radio, current_search, grid_rows, visible, wait_for
from tests.test_supervision import story  # noqa: F401  (the fixture)

SCREENSHOTS = Path(__file__).parent / "screenshots"
MARCH = "?start=2022-03-01&end=2022-03-31"


@pytest.fixture
def browser(tmp_path):
    yield from browser_for(tmp_path)


_visible = visible


def test_supervision_tab_follows_filters_and_url(story, serve, browser):  # noqa: F811
    server = serve(story, min_rated=3, clock="2022-04-10T12:00:00")
    browser.get(f"{server.url}/analyst{MARCH}")
    wait_for(lambda: _visible(browser, A.OVERVIEW), message="overview shown")
    click_radio(browser, A.TABS, "督办")
    wait_for(lambda: "tab=supervision" in current_search(browser), message="tab in the URL")
    wait_for(lambda: _visible(browser, A.SUPERVISION), message="supervision shown")
    _, api = server.get("/api/v1/units", {"start": "2022-03-01", "end": "2022-03-31"})
    expected = [(u["unit"], u["rank"]) for u in api["units"]]
    wait_for(lambda: [(r["unit"], r["rank"]) for r in grid_rows(browser, "sv_league")] == expected, message="league")
    rows = grid_rows(browser, "sv_league")
    assert [r["score"] for r in rows] == pytest.approx([u["score"] for u in api["units"]])
    _, quality = server.get("/api/v1/replies/quality", {"start": "2022-03-01", "end": "2022-03-31"})
    wait_for(lambda: len(grid_rows(browser, "sv_boiler_texts")) == len(quality["top_texts"]), message="top texts")
    assert grid_rows(browser, "sv_boiler_texts")[0]["replies"] == quality["top_texts"][0]["replies"]
    _, low = server.get("/api/v1/dissatisfaction", {"start": "2022-03-01", "end": "2022-03-31"})
    reasons = {r["reason"]: r["count"] for r in low["reasons"]}
    wait_for(lambda: len(grid_rows(browser, "sv_reasons")) == 5, message="reasons")
    assert [r["count"] for r in grid_rows(browser, "sv_reasons")] == list(reasons.values())
    SCREENSHOTS.mkdir(exist_ok=True)
    browser.save_screenshot(str(SCREENSHOTS / "supervision_tab.png"))
    # A download of the league holds the grid's rows.
    browser.find_element("css selector", '[id*="sv_league"][id*="csv"]').click()
    csv_file = wait_for(lambda: list(browser.download_dir.glob("*sv_league*.csv")), message="csv download")[0]
    time.sleep(0.5)
    lines = csv_file.read_text(encoding="utf-8-sig").splitlines()
    assert len(lines) == 1 + len(expected) and lines[1].split(",")[1] == expected[0][0]
    # Clicking a unit opens its page: the slowest answers as the API gives them.
    slow_row = next(i for i, (unit, _) in enumerate(expected) if unit == "二七区城管局")
    browser.find_element("css selector", f'[id*="sv_league"] .ag-row[row-index="{slow_row}"] [col-id="unit"]').click()
    _, page = server.get(
        "/api/v1/units/detail",
        {"start": "2022-03-01", "end": "2022-03-31", "unit": "二七区城管局", "unit_province": "河南"},
    )
    want = [m["title"] for m in page["slowest"]]
    wait_for(lambda: [r["title"] for r in grid_rows(browser, "sv_unit_slowest")] == want, message="unit page")
    browser.save_screenshot(str(SCREENSHOTS / "supervision_unit.png"))
    # The copied URL opens the tab directly; a province filter narrows the league.
    browser.get(f"{server.url}/analyst{MARCH}&tab=supervision&province=四川")
    wait_for(lambda: _visible(browser, A.SUPERVISION), message="tab from the URL")
    time.sleep(1)
    wait_for(lambda: grid_rows(browser, "sv_league") == [], message="no Sichuan units")
