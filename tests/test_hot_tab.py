"""The analyst workspace's 热点 tab: its lists against the insight API, the clicked issue's messages (masked),
the surge's expected level, a download, the URL and the role scoping (tests/hot_fixtures.py, March 2024)."""

from __future__ import annotations

import csv
import io
import json
import time
from collections import Counter
from pathlib import Path

import pandas as pd
import pytest
from openpyxl import load_workbook

from dashboard.analyst import hot
from dashboard.analyst import ids as A
from dashboard.analyst import state as S
from insight import hotwords
from tests import hot_fixtures as hf
from tests.security.support import Site, callback_body, output_key, post_callback
from tests.test_analyst import (
    LAYOUT_PROBLEMS,
    browser_for,
    click_option,
    click_radio,
    current_search,
    figure,
    grid_rows,
    resize,
    text,
    visible,
    wait_for,
)

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")  # selenium 4.2 on urllib3 2

SCREENSHOTS = Path(__file__).parent / "screenshots"
MARCH = {"start": "2024-03-01", "end": "2024-03-31"}
QUERY = "?start=2024-03-01&end=2024-03-31"
CLOCK = "2024-04-01T12:00:00"


@pytest.fixture
def browser(tmp_path):
    yield from browser_for(tmp_path)


_visible = visible


def _items(driver) -> list[str]:
    """Ids of the messages listed for the clicked issue."""
    return driver.execute_script(
        f"return [...document.querySelectorAll('#{A.HOT_ISSUE_LIST} button')].map(b => JSON.parse(b.id).id)"
    )


def _click_item(driver, message_id: str) -> None:
    driver.execute_script(
        f"[...document.querySelectorAll('#{A.HOT_ISSUE_LIST} button')]"
        ".find(b => JSON.parse(b.id).id === arguments[0]).click()",
        message_id,
    )


# -- pure parts ------------------------------------------------------------------------------------------------------
def test_timeline_counts_messages_and_answers_by_day():
    frame = pd.DataFrame(
        {
            "created_at": pd.to_datetime(["2024-03-10 09:00", "2024-03-10 18:00", "2024-03-12 08:00"]),
            "first_reply_at": pd.to_datetime([None, "2024-03-13 10:00", "2024-03-12 09:00"]),
        }
    )
    days = hot.timeline(frame)
    assert [str(d) for d in days["day"]] == ["2024-03-10", "2024-03-11", "2024-03-12", "2024-03-13"]
    assert days["messages"].tolist() == [2, 0, 1, 0]
    assert days["replied"].tolist() == [0, 0, 1, 2]


def test_lists_keep_the_api_fields_and_order():
    issues = [
        {"id": "HI-b", "title": "乙", "keywords": ["a", "b"], "province": "河南", "province_code": 410000,
         "city": "洛阳市", "place": "",
         "category": "城建", "first": "2024-03-01", "last": "2024-03-02", "messages": 4, "likes": 1, "replied": 0,
         "heat": 9.5},
        {"id": "HI-a", "title": "甲", "keywords": [], "province": "四川", "province_code": 510000,
         "city": "成都市", "place": "某路",
         "category": "交通", "first": "2024-03-03", "last": "2024-03-03", "messages": 3, "likes": 0, "replied": 3,
         "heat": 8.25},
    ]  # fmt: skip
    table = hot.issues_table(issues, "hot_issues", "en")
    assert [(r["rank"], r["id"], r["heat"], r["keywords"], r["province"], r["category"]) for r in table.rows] == [
        (1, "HI-b", 9.5, "a、b", "Henan", "Urban development"),
        (2, "HI-a", 8.25, "", "Sichuan", "Transport"),
    ]
    words = hot.words_table([{"word": "停气", "count": 5, "previous": 1, "score": 3.5}], "hot_words", "zh")
    assert words.rows == [{"word": "停气", "count": 5, "previous": 1, "change": 4, "score": 3.5}]


# -- in Chromium against the API -------------------------------------------------------------------------------------
def test_hot_tab_shows_the_insight_api(store, serve, browser):
    planted = hf.load(store)
    server = serve(store, clock=CLOCK)
    resize(browser, 1920, 1080)
    browser.get(f"{server.url}/analyst{QUERY}")
    wait_for(lambda: _visible(browser, A.OVERVIEW), message="overview shown")
    click_radio(browser, A.TABS, "热点")
    wait_for(lambda: "tab=hot" in current_search(browser), message="tab in the URL")
    wait_for(lambda: _visible(browser, A.HOT), message="hot tab shown")

    # hot issues: the API's, in its order; the planted gas outage is the first, all 12 messages in it
    _, issues = server.get("/api/v1/hot-issues", MARCH)
    want = [(i["id"], i["messages"], i["replied"], i["likes"]) for i in issues["issues"]]
    shown = lambda: [(r["id"], r["messages"], r["replied"], r["likes"]) for r in grid_rows(browser, "hot_issues")]  # noqa: E731
    wait_for(lambda: shown() == want, message="hot issues as the API's")
    gas = issues["issues"][0]
    assert sorted(gas["message_ids"]) == planted["gas"] and gas["replied"] == planted["gas_replied"]

    # surges: the API's, with the hot issues that explain them
    _, alerts = server.get("/api/v1/alerts", MARCH)
    assert alerts["alerts"], "the planted burst of 12 March is a surge"
    want_alerts = [
        (a["province"], a["city"] or "（全省）", a["start"], a["messages"], " ".join(a["issue_ids"]))
        for a in alerts["alerts"]
    ]
    wait_for(
        lambda: (
            [
                (r["province"], r["city"], r["start"], r["messages"], r["issue_ids"])
                for r in grid_rows(browser, "hot_alerts")
            ]
            == want_alerts
        ),  # noqa: E501
        message="alerts as the API's",
    )
    first = alerts["alerts"][0]
    assert first["start"] == "2024-03-12" and gas["id"] in first["issue_ids"]
    # the first surge's days: expected level drawn beside the actual count; its issues listed
    traces = wait_for(lambda: figure(browser, A.HOT_ALERT_FIG), message="surge figure")
    by_name = {t["name"]: t["y"] for t in traces}
    assert by_name["实际留言"] == [d["messages"] for d in first["daily"]]
    assert by_name["预期水平"] == pytest.approx([d["expected"] for d in first["daily"]])
    wait_for(lambda: [r["id"] for r in grid_rows(browser, "hot_alert_issues")] == first["issue_ids"], message="issues")

    # hot words and repeats
    _, words = server.get("/api/v1/hot-words", {**MARCH, "limit": 20})
    wait_for(
        lambda: (
            [(r["word"], r["count"], r["previous"]) for r in grid_rows(browser, "hot_words")]
            == [(w["word"], w["count"], w["previous"]) for w in words["words"]]
        ),
        message="hot words",
    )
    _, repeats = server.get("/api/v1/repeats", MARCH)
    assert [g["message_ids"] for g in repeats["groups"]] == [planted["repeat"]]
    wait_for(
        lambda: [r["message_ids"] for r in grid_rows(browser, "hot_repeats")] == [" ".join(planted["repeat"])],
        message="repeats",
    )
    assert [r["replied_before_repeat"] for r in grid_rows(browser, "hot_repeats")] == ["✓"]
    assert browser.execute_script(LAYOUT_PROBLEMS) == []
    SCREENSHOTS.mkdir(exist_ok=True)
    browser.save_screenshot(str(SCREENSHOTS / "hot_tab_zh.png"))

    # click the hot issue: its messages (masked), its timeline, its replies so far
    browser.find_element("css selector", '[id*="hot_issues"] .ag-row[row-index="0"] [col-id="title"]').click()
    wait_for(lambda: sorted(_items(browser)) == planted["gas"], message="the issue's messages")
    traces = wait_for(lambda: figure(browser, A.HOT_ISSUE_FIG), message="timeline")
    by_name = {t["name"]: t["y"] for t in traces}
    assert sum(by_name["留言"]) == len(planted["gas"]) and by_name["累计已回复"][-1] == planted["gas_replied"]
    assert f"已回复 {planted['gas_replied']} 条" in text(browser, A.HOT_ISSUE_NOTE)
    _click_item(browser, planted["phone_message"])
    wait_for(lambda: "燃气中断" in (text(browser, A.HOT_MSG_DETAIL) or ""), message="message read")
    detail = text(browser, A.HOT_MSG_DETAIL)
    assert hf.PHONE not in detail and "联系电话******" in detail and hf.PHONE not in browser.page_source
    _click_item(browser, "gas-00")
    wait_for(lambda: "涧西区住建局" in (text(browser, A.HOT_MSG_DETAIL) or ""), message="a reply shown")
    browser.save_screenshot(str(SCREENSHOTS / "hot_tab_issue_zh.png"))

    # a download of the hot issues holds the API's list
    browser.find_element("css selector", '[id*="hot_issues"][id*="csv"]').click()
    csv_file = wait_for(lambda: list(browser.download_dir.glob("*hot_issues*.csv")), message="csv download")[0]
    time.sleep(0.5)
    rows = list(csv.reader(io.StringIO(csv_file.read_text(encoding="utf-8-sig"))))
    header, body = rows[0], rows[1:]
    got = [(r[header.index("编号")], int(r[header.index("留言数")]), float(r[header.index("热度")])) for r in body]
    assert got == [(i["id"], i["messages"], i["heat"]) for i in issues["issues"]]
    assert hf.PHONE not in csv_file.read_text(encoding="utf-8-sig")
    # and an Excel file of the hot words holds the API's words and counts
    browser.find_element("css selector", '[id*="hot_words"][id*="xlsx"]').click()
    xlsx = wait_for(lambda: list(browser.download_dir.glob("*hot_words*.xlsx")), message="xlsx download")[0]
    time.sleep(0.5)
    sheet = list(load_workbook(xlsx).active.iter_rows(values_only=True))
    assert sheet[0][:3] == ("词语", "本期", "上期")
    assert [row[:3] for row in sheet[1:]] == [(w["word"], w["count"], w["previous"]) for w in words["words"]]

    # the URL opens the tab in English; a province filter narrows every list
    browser.get(f"{server.url}/analyst{QUERY}&tab=hot&lang=en")
    wait_for(lambda: _visible(browser, A.HOT), message="tab from the URL")
    wait_for(lambda: [r["id"] for r in grid_rows(browser, "hot_issues")] == [w[0] for w in want], message="en list")
    wait_for(lambda: figure(browser, A.HOT_ALERT_FIG), message="en surge figure")
    time.sleep(0.5)
    assert browser.execute_script(LAYOUT_PROBLEMS) == []
    browser.save_screenshot(str(SCREENSHOTS / "hot_tab_en.png"))
    # a filter chosen on the tab narrows every list, and goes into the URL
    click_option(browser, A.PROVINCES, "Guangdong")
    wait_for(lambda: "province=" in current_search(browser), message="province in the URL")
    _, guangdong = server.get("/api/v1/hot-issues", {**MARCH, "province": "广东"})
    wait_for(lambda: grid_rows(browser, "hot_alerts") == [], message="no surge in Guangdong")
    wait_for(
        lambda: [r["id"] for r in grid_rows(browser, "hot_issues")] == [i["id"] for i in guangdong["issues"]],
        message="Guangdong's hot issues",
    )
    assert "Period analysed" in text(browser, A.HOT_NOTE)


# -- role scoping: the tab's callbacks answer through the reader's province ----------------------------------------
def _body(site, note_id: str, state: dict) -> dict:
    """The callback request the browser makes for the tab callback writing `note_id` (outputs with grid ids)."""
    key = output_key(site.server.app, note_id, "children")
    shown = [{"id": A.HOT, "property": "style", "value": {}}]
    body = callback_body(key, shown, [{"id": A.STATE, "property": "data", "value": state}])
    for output in body["outputs"]:
        output["id"] = json.loads(output["id"]) if output["id"].startswith("{") else output["id"]
    return body


def _hot_rows(site, session, note_id: str, state: dict) -> dict:
    """The grids' rows written by the tab callback that writes `note_id` (by table), or the error it reported."""
    r = post_callback(session, site.url, _body(site, note_id, state))
    assert r.status_code == 200, r.text[:300]
    out = {}
    for component, props in r.json()["response"].items():
        if component.startswith("{"):
            out[json.loads(component)["table"]] = props.get("rowData")
        elif component == A.ERROR:
            out["error"] = props["data"]
    return out


def test_province_analyst_sees_only_their_province(store, tmp_path):
    planted = hf.load(store)
    site = Site(store, tmp_path, clock=CLOCK)
    try:
        nat, henan = site.login("nat"), site.login("henan")
        march = S.State(period="custom", start="2024-03-01", end="2024-03-31", tab="hot")
        everywhere = march.to_dict()
        repeats = _hot_rows(site, nat, A.HOT_REPEATS_NOTE, everywhere)["hot_repeats"]
        assert [r["message_ids"] for r in repeats] == [" ".join(planted["repeat"])]  # 广东's pair, seen nationally
        assert _hot_rows(site, henan, A.HOT_REPEATS_NOTE, everywhere)["hot_repeats"] == []  # 河南 only
        issues = _hot_rows(site, henan, A.HOT_ISSUES_NOTE, everywhere)["hot_issues"]
        assert {r["province"] for r in issues} == {"河南"} and issues[0]["id"] == f"HI-{planted['gas'][0]}"
        guangdong = S.with_changes(march, provinces=("广东",)).to_dict()
        refused = _hot_rows(site, henan, A.HOT_ISSUES_NOTE, guangdong)
        assert "hot_issues" not in refused and '"hot_issues"' in json.dumps(refused["error"])  # the page's error
        # another tab's view computes nothing here
        overview = S.with_changes(march, tab=None).to_dict()
        assert post_callback(henan, site.url, _body(site, A.HOT_ISSUES_NOTE, overview)).status_code == 204
    finally:
        site.close()


def test_rising_words_are_masked_as_the_frequent_ones():
    # a location the citizen typed is one of the words: a name before 先生 and a phone number must not show
    now = Counter({"王先生家门口": 7, "13912345678": 6, "停水": 6})
    now, before = hotwords.Counts.of(now, 10), hotwords.Counts.of(Counter(), 10)
    rising = [w["word"] for w in hotwords.rising(now, before)]
    frequent = [w["word"] for w in hotwords.frequent(now, before)]
    assert sorted(rising) == sorted(frequent) and "停水" in rising
    assert not any("王" in w or "1391234" in w for w in rising)


def _read(site, session, item_type: str, detail_id: str, message_id: str) -> str:
    """The text of the message detail that a click on a listed message (`item_type`) writes, as the browser asks."""
    app = site.server.app
    key = next(k for k in app.callback_map if k.startswith(f"{detail_id}.children"))
    clicked = {"id": {"type": item_type, "id": message_id}, "property": "n_clicks", "value": 1}
    body = {
        "output": key,
        "outputs": {"id": detail_id, "property": "children"},
        "inputs": [[clicked]],
        "changedPropIds": [json.dumps(clicked["id"], sort_keys=True, separators=(",", ":")) + ".n_clicks"],
        "state": [{"id": A.STATE, "property": "data", "value": S.State(tab="hot").to_dict()}],
    }
    r = post_callback(session, site.url, body)
    assert r.status_code == 200, r.text[:300]
    return json.dumps(r.json()["response"][detail_id]["children"], ensure_ascii=False)


def test_a_clicked_message_is_read_within_the_readers_province(store, tmp_path):
    planted = hf.load(store)
    site = Site(store, tmp_path, clock=CLOCK)
    try:
        nat, henan = site.login("nat"), site.login("henan")
        gas, cover = planted["gas"][0], planted["repeat"][0]  # a 河南 and a 广东 message
        title = store.scalar("SELECT title FROM messages WHERE message_id = $id", {"id": gas})
        for item_type, detail_id in ((A.HOT_MSG_ITEM, A.HOT_MSG_DETAIL), (A.MSG_ITEM, A.MSG_DETAIL)):
            assert title in _read(site, henan, item_type, detail_id, gas)
            cover_title = store.scalar("SELECT title FROM messages WHERE message_id = $id", {"id": cover})
            assert cover_title in _read(site, nat, item_type, detail_id, cover)
            assert cover_title not in _read(site, henan, item_type, detail_id, cover)  # another province's
    finally:
        site.close()
