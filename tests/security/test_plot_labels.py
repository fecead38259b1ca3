"""Issue 16, item 4: a domain or type written as HTML or very long shows literally and short on every chart,
never styled or as a link (Plotly reads a subset of HTML in the text it draws)."""

from __future__ import annotations

import datetime as dt
import html
from dataclasses import replace

import pandas as pd
import pytest

from dashboard import figures
from dashboard.analyst import ids as A
from dashboard.theme import WALL
from queries.db import Store
from queries.writes import upsert
from settings import Settings
from tests.conftest import HENAN, LiveServer, frame, message

NOW = dt.datetime(2026, 3, 10, 12, 0, 0)
SPAN = '<span style="font-size:200px">大字</span>'
LINK = '<a href="http://evil.example/">点我</a>'
BREAKS = "换行" + "<br>" * 30 + "尾"
LONG = "L" * 10_000
HOSTILE = [SPAN, LINK, BREAKS, LONG, LONG + "x", "A & B\nC"]


def expected(value: str) -> str:
    """What the label must read, worked out independently: whitespace runs become one space, then at most
    LABEL_CHARS characters (the last one an ellipsis when cut)."""
    text = " ".join(value.split())
    return text if len(text) <= figures.LABEL_CHARS else text[: figures.LABEL_CHARS - 1] + "…"


def test_bar_and_ring_labels_are_literal_short_and_distinct():
    counts = pd.DataFrame({"category": HOSTILE, "messages": [60, 50, 40, 30, 20, 10]})
    bars = figures.categories(counts, WALL, "zh", top=10)["data"][0]["y"]
    assert all("<" not in label and ">" not in label for label in bars)
    shown = [html.unescape(label) for label in bars]
    assert shown[:4] == [expected(v) for v in HOSTILE[:4]] and shown[5] == "A & B C"
    assert len(set(bars)) == len(bars)  # the two long values stay two bars
    assert all(len(s) <= figures.LABEL_CHARS for s in shown)
    ring = figures.types(counts.rename(columns={"category": "msg_type"}), WALL, "zh")["data"][0]["labels"]
    assert len(set(ring)) == len(ring) and all("<" not in label for label in ring)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    store = Store(tmp_path_factory.mktemp("labels") / "labels.duckdb")
    created = (NOW - dt.timedelta(hours=1)).isoformat(sep=" ")
    rows = [
        message(f"m{i}-{j}", created, province=HENAN, category=value, msg_type=value)
        for i, value in enumerate(HOSTILE)
        for j in range(len(HOSTILE) - i)
    ]
    upsert(store, "messages", frame(rows))
    live = LiveServer(store, replace(Settings(), db=store.path, simulate=False, clock=NOW.isoformat()))
    yield live
    live.close()
    store.close()


@pytest.fixture(scope="module")
def browser():
    from tests.test_analyst import CHROMEDRIVER, CHROMIUM, _driver

    if not CHROMIUM or not CHROMEDRIVER:
        pytest.skip("chromium and chromedriver are needed (installed by .ci/run)")
    driver = _driver()
    yield driver
    driver.quit()


PLOT_TEXT = """
const plots = [...document.querySelectorAll('.js-plotly-plot')];
const text = plots.map(p => p.textContent).join('\\n');
const links = plots.reduce((n, p) => n + p.querySelectorAll('a').length, 0);
const big = plots.reduce((n, p) => n + [...p.querySelectorAll('tspan, text')]
    .filter(t => parseFloat(getComputedStyle(t).fontSize) > 60).length, 0);
return {text: text, links: links, big: big, plots: plots.length};
"""


def _check_plots(browser, where: str) -> None:
    from tests.test_analyst import wait_for

    seen = wait_for(
        lambda: (lambda r: r if expected(SPAN) in r["text"] else None)(browser.execute_script(PLOT_TEXT)),
        message=f"hostile labels drawn on {where}",
    )
    assert seen["links"] == 0, where  # no clickable link
    assert seen["big"] == 0, where  # no styled text
    assert expected(LINK) in seen["text"], where  # shown literally, tags and all
    assert "L" * figures.LABEL_CHARS not in seen["text"], where  # cut
    assert "<br><br>" in seen["text"], where


def test_wall_and_analyst_show_hostile_labels_literally(browser, server):
    from tests.test_analyst import SETTLED, wait_for

    browser.get(f"{server.url}/?period=month&rotate=0")
    _check_plots(browser, "the wall")
    browser.get(f"{server.url}/analyst?period=month")
    wait_for(lambda: browser.execute_script(SETTLED, A.KPIS), message="analyst settled")
    _check_plots(browser, "the analyst page")
    options = browser.execute_script(
        "return [...document.querySelectorAll('#' + arguments[0] + ' *')].map(e => e.textContent.length)",
        A.CATEGORIES,
    )
    assert max(options or [0]) < 1000  # the dropdown never holds the 10,000-character label
