"""The wall's story panels in Chromium: the hot issues, surges and unit lists it shows are the insight and
supervision APIs' for the same days, computed in the background; a story that changes reaches the wall by Patch."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

import pandas as pd
import pytest

from dashboard import ids
from dashboard.wall import story as story_mod
from queries.db import Store
from queries.writes import upsert
from settings import Settings
from tests.conftest import LiveServer
from tests.test_wall import browser, resize, screenshot, wait_for  # noqa: F401 (browser: a fixture)

NOW = dt.datetime(2026, 11, 26, 12, 0, 0)
# one problem at one place, told by different people in their own words (written for this test)
WATER = [
    "幸福里小区又停水了，已经三天没有自来水，老人孩子生活很困难",
    "金水区幸福里小区停水三天，物业说是管网维修，什么时候能恢复供水？",
    "请问幸福里小区的供水何时恢复？家里一滴水都没有了",
    "幸福里小区断水第四天，买桶装水都买不到，希望尽快抢修",
    "反映幸福里小区停水问题，自来水公司电话打不通",
    "幸福里小区居民用水困难，停水多日无人说明原因",
    "强烈要求解决幸福里小区连续停水的问题",
    "幸福里小区停水，高层住户完全没水，请领导关注",
]
OTHER = ["洛阳市涧西区公交线路调整咨询", "开封市鼓楼区学校入学政策咨询", "成都市武侯区噪音扰民投诉"]


def _history(store: Store) -> None:
    rows = []
    for i, text in enumerate(WATER):
        rows.append(("w", i, NOW - dt.timedelta(days=4, hours=-i * 9), 410000, "郑州市", "金水区", text))
    for i in range(40):
        text = OTHER[i % len(OTHER)] + f"（第{i}条）"
        city = {0: "洛阳市", 1: "开封市", 2: "成都市"}[i % 3]
        rows.append(
            ("o", i, NOW - dt.timedelta(days=i % 6, hours=i % 11), 510000 if i % 3 == 2 else 410000, city, None, text)
        )
    frame = pd.DataFrame(
        [
            {
                "message_id": f"{kind}{i}",
                "created_at": pd.Timestamp(created),
                "province": province,
                "city": city,
                "district": district,
                "addressee": None,
                "category": "城建",
                "msg_type": "投诉/求助",
                "title": text[:20],
                "content": text,
                "is_urgent": False,
                "source_status": None,
            }
            for kind, i, created, province, city, district, text in rows
        ]
    )
    frame.insert(0, "_row", range(2, len(frame) + 2))
    assert not upsert(store, "messages", frame).rejected


@pytest.fixture(scope="module")
def story_server(tmp_path_factory):
    store = Store(tmp_path_factory.mktemp("story-wall") / "wall.duckdb")
    _history(store)
    settings = replace(
        Settings(),
        db=store.path,
        simulate=False,
        refresh_seconds=1.0,
        rotate_seconds=0,
        clock=NOW.isoformat(),
        story_seconds=2.0,
    )
    server = LiveServer(store, settings)
    yield server
    server.close()
    store.close()


def _texts(driver, panel: str) -> list[str]:
    return driver.execute_script(
        "return [...document.querySelectorAll('#' + arguments[0] + ' .story-title')].map(e => e.textContent)", panel
    )


def test_story_panels_show_the_apis_answers(browser, story_server):  # noqa: F811
    days = {"start": (NOW.date() - dt.timedelta(days=story_mod.ISSUE_DAYS - 1)).isoformat(), "end": "2026-11-26"}
    status, found = story_server.get("/api/v1/hot-issues", {**days, "limit": str(story_mod.SHOWN)})
    assert status == 200 and found["issues"], found
    water = next(i for i in found["issues"] if "w0" in i["message_ids"])
    assert set(water["message_ids"]) == {f"w{i}" for i in range(len(WATER))}  # the planted problem, whole
    resize(browser, 1920, 1080)
    browser.get(f"{story_server.url}/?period=ytd")
    wait_for(lambda: _texts(browser, ids.STORY_ISSUES), timeout=60, message="hot issues on the wall")
    shown = _texts(browser, ids.STORY_ISSUES)
    assert shown == [i["title"][:24] if len(i["title"]) <= 24 else i["title"][:23] + "…" for i in found["issues"]]
    alerts_text = browser.find_element("id", ids.STORY_ALERTS).text
    status, alerts = story_server.get(
        "/api/v1/alerts",
        {"start": (NOW.date() - dt.timedelta(days=story_mod.ALERT_DAYS - 1)).isoformat(), "end": "2026-11-26"},
    )
    assert status == 200
    # surges still lasting or ended yesterday, largest ratio first, as the panel shows them
    lasting = [a for a in alerts["alerts"] if not a["end"] or a["end"] >= "2026-11-25"]
    expected = [f"×{a['ratio']:.1f}" for a in sorted(lasting, key=lambda a: -a["ratio"])[: story_mod.SHOWN]]
    ratios = browser.execute_script(
        "return [...document.querySelectorAll('#' + arguments[0] + ' .story-ratio')].map(e => e.textContent)",
        ids.STORY_ALERTS,
    )
    assert ratios == expected
    if not expected:
        assert "平稳" in alerts_text
    units_text = browser.find_element("id", ids.STORY_UNITS).text
    assert "暂无足够评价的单位" in units_text  # no unit has 30 rated answers here
    screenshot(browser, "wall-story.png")
