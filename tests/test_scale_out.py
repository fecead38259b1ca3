"""Scale-out end to end: real redis-server, one writer, two web processes, walls in Chromium and over the
push protocol. The steps build on each other (one cluster for the module): a write reaches walls on both web
processes; a web process killed; Redis restarted; the writer restarted; an analyst on a web process."""

from __future__ import annotations

import time
from urllib.parse import quote

import pytest

from dashboard import ids
from queries.db import Store
from tests.cluster import Cluster, PushWall, WallLoop, get_json
from tests.test_analyst import _driver
from tests.test_wall import CHROMEDRIVER, CHROMIUM, wait_for

NOW = "2026-11-26T12:00:00"  # every process's frozen Beijing clock: "today" is 2026-11-26
TODAY = "today_messages"
posted = {"today": 0}  # messages written so far, all dated today (the walls' expected count)


def post_messages(cluster: Cluster, n: int) -> None:
    first = posted["today"]
    rows = [
        {
            "message_id": f"so-{first + i}",
            "created_at": f"2026-11-26 {8 + (first + i) % 4:02d}:{(first + i) % 60:02d}:00",
            "province": "河南" if (first + i) % 2 else "四川",
            "category": "城建",
            "msg_type": "咨询",
            "title": f"测试留言{first + i}",
        }
        for i in range(n)
    ]
    answer = cluster.write("messages", rows)
    assert answer["accepted"] == n, answer
    posted["today"] += n


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("scale")
    Store(workdir / "writer.duckdb").close()  # an empty store: every number on the walls is ours
    with Cluster(workdir, workdir / "writer.duckdb", LIUYAN_CLOCK=NOW) as c:
        c.start()
        yield c


@pytest.fixture(scope="module")
def walls(cluster):
    loop = WallLoop()
    one, two = cluster.web_ports
    a = loop.add(PushWall([cluster.web_url(one), cluster.web_url(two)]))
    b = loop.add(PushWall([cluster.web_url(two), cluster.web_url(one)]))
    henan = loop.add(PushWall([cluster.web_url(two)], province=410000))  # a province wall (河南)
    yield a, b, henan
    loop.close()


@pytest.fixture(scope="module")
def browser(cluster):
    if not (CHROMIUM and CHROMEDRIVER):
        pytest.skip("chromium/chromedriver not installed")
    driver = _driver()
    yield driver
    driver.quit()


def wall_count(driver):
    script = "var el = document.getElementById(arguments[0]); return el ? el._target : null"
    return driver.execute_script(script, ids.kpi_value(TODAY))


def pushing(driver) -> bool:
    return bool(driver.execute_script("var p = window.liuyanWall && window.liuyanWall.push; return p && p.open"))


def test_a_write_reaches_walls_on_both_web_processes(cluster, walls, browser):
    a, b, henan = walls
    one, two = cluster.web_ports
    browser.get(cluster.web_url(one) + "/?rotate=0")
    wait_for(lambda: wall_count(browser) == 0 and pushing(browser), timeout=40, message="Chromium wall on web 1")
    wait_for(lambda: a.kpi(TODAY) == 0 and b.kpi(TODAY) == 0, timeout=20, message="push walls' first picture")
    assert a.origin.endswith(str(one)) and b.origin.endswith(str(two))
    pushed_before = browser.execute_script("return window.liuyanWall.pushed || 0")

    post_messages(cluster, 3)
    wait_for(lambda: a.kpi(TODAY) == 3 and b.kpi(TODAY) == 3, timeout=10, message="3 on both push walls")
    wait_for(lambda: wall_count(browser) == 3, timeout=10, message="3 on the Chromium wall")
    # it came by push: polling is off while the socket is open
    assert browser.execute_script("return window.liuyanWall.pushed") > pushed_before
    assert a.kpi("messages") == 3 and b.kpi("messages") == 3  # year to date: all of ours
    wait_for(lambda: henan.kpi("messages") == 1, timeout=10, message="河南's wall: 1 of the 3 (odd numbers)")


def test_killed_web_process_walls_move_to_the_other(cluster, walls, browser):
    a, _, _ = walls
    one, two = cluster.web_ports
    killed = time.monotonic()
    cluster.kill_web(one)
    wait_for(lambda: a.origin.endswith(str(two)), timeout=10, message="push wall on web 2")
    wait_for(
        lambda: browser.execute_script("return location.port") == str(two) and pushing(browser),
        timeout=10,
        message="Chromium wall moved to web 2",
    )
    assert wall_count(browser) == 3 or wait_for(lambda: wall_count(browser) == 3, timeout=10)
    assert time.monotonic() - killed < 20
    post_messages(cluster, 2)
    wait_for(lambda: a.kpi(TODAY) == 5 and wall_count(browser) == 5, timeout=10, message="5 after the move")


def test_redis_restart_recovers_without_restarting_others(cluster, walls, browser):
    a, b, _ = walls
    cluster.stop_redis()
    time.sleep(1.5)
    cluster.start_redis()
    post_messages(cluster, 1)
    wait_for(lambda: a.kpi(TODAY) == 6 and b.kpi(TODAY) == 6, timeout=20, message="6 after the Redis restart")
    wait_for(lambda: wall_count(browser) == 6, timeout=20, message="Chromium wall after the Redis restart")


def test_writer_restart_walls_keep_picture_then_move_on(cluster, walls, browser):
    a, b, _ = walls
    cluster.stop_writer()
    time.sleep(2)
    text = browser.execute_script("return document.getElementById(arguments[0]).textContent", ids.kpi_value(TODAY))
    assert text == "6" and wall_count(browser) == 6 and a.kpi(TODAY) == 6  # last picture kept
    cluster.start_writer()
    post_messages(cluster, 1)
    wait_for(lambda: a.kpi(TODAY) == 7 and b.kpi(TODAY) == 7, timeout=20, message="7 after the writer restart")
    wait_for(lambda: wall_count(browser) == 7, timeout=20, message="Chromium wall after the writer restart")


def test_analyst_on_web_process_equals_writer_api_for_snapshot_version(cluster):
    if posted["today"] == 0:
        post_messages(cluster, 4)  # run alone (-m "not browser")
    port = next(iter(cluster.webs))
    web = cluster.web_url(port)
    version = get_json(cluster.writer_url + "/api/v1/meta")["data_version"]
    wait_for(lambda: get_json(web + "/api/v1/meta")["data_version"] == version, timeout=20, message="snapshot")
    consult = "start=2026-11-26&end=2026-11-26&msg_type=" + quote("咨询")
    for query in ("period=ytd", "period=today&province=410000", consult):
        ours, writers = (get_json(f"{base}/api/v1/summary?{query}") for base in (web, cluster.writer_url))
        assert ours == writers, query
    summary = get_json(web + "/api/v1/summary?period=ytd")
    henan = get_json(web + "/api/v1/summary?period=ytd&province=410000")
    assert summary["messages"] == posted["today"]  # independent: what this module wrote
    assert henan["messages"] == posted["today"] // 2  # odd-numbered messages went to 河南
    status = get_json(web + "/scale/status")
    assert status["snapshot"]["v"] == version and status["snapshot"]["updated_at"]


def test_analyst_page_says_how_fresh_its_snapshot_is(cluster, browser):
    web = cluster.web_url(next(iter(cluster.webs)))
    browser.get(web + "/analyst?period=ytd")
    script = "var b = document.getElementById('scale-freshness'); return b ? b.textContent : null"
    text = wait_for(lambda: browser.execute_script(script), timeout=30, message="freshness badge")
    updated_at = get_json(web + "/scale/status")["snapshot"]["updated_at"]
    assert text == f"数据快照 · 截至北京时间 {updated_at}"


def test_analyst_apis_keep_answering_across_snapshot_switches(cluster):
    """The writer snapshots every second here: each round is a new snapshot (a block delta) on the web process,
    which warms, switches and closes the file before last; every service must follow it (the insight service
    kept the first file and failed once it was closed)."""
    web = cluster.web_url(next(iter(cluster.webs)))
    for _ in range(4):
        post_messages(cluster, 2)
        version = get_json(cluster.writer_url + "/api/v1/meta")["data_version"]
        wait_for(lambda v=version: get_json(web + "/api/v1/meta")["data_version"] == v, timeout=30, message="switch")
        assert get_json(web + "/api/v1/summary?period=ytd")["messages"] == posted["today"]
        get_json(web + "/api/v1/hot-words?period=ytd")  # an error status raises
