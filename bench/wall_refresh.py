"""Wall display benchmark: server time and bytes per refresh tick, first full paint in Chromium.

    python bench/wall_refresh.py [--db FILE] [--repeat N] [--period ytd] [--no-browser]

Without --db a fresh default demo is generated in a temp dir (as bench/foundation.py).
Ticks are real Dash callback requests (`/_dash-update-component`) over HTTP to
the app served by waitress in this process:

* miss: the first screen to ask after a write (every metric recomputed, figures
  rebuilt, diff against the view it showed);
* hit (changed): a second screen after the same write (view cached: diff only);
* hit (unchanged): a tick with no new data (answered 204);
* bytes when only counts change: the response body of a tick after a few new
  messages arrive (a dash.Patch of numbers; no figure, no geometry);
* first full paint: navigation start to KPIs rolled in and the map drawn.

Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import socket
import statistics
import sys
import tempfile
import threading
import time
import urllib.request
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from dashboard import ids  # noqa: E402
from dashboard.wall import layout  # noqa: E402
from queries.db import Store  # noqa: E402
from queries.periods import beijing_now  # noqa: E402
from queries.writes import upsert  # noqa: E402
from settings import Settings  # noqa: E402


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Screen:
    """One wall screen, speaking the Dash callback protocol like the browser does."""

    def __init__(self, base: str, app, config: dict):
        self.base = base
        self.config = config
        self.state = None
        self.tick_count = 0
        self.output = next(key for key in app.callback_map if f"{ids.WALL_KPI}.data" in key)
        self.outputs = [
            {"id": component, "property": prop}
            for component, prop in (part.rsplit(".", 1) for part in self.output.strip(".").split("..."))
        ]

    def tick(self) -> tuple[float, int, int]:
        """(milliseconds, response bytes, HTTP status) of one refresh tick."""
        self.tick_count += 1
        body = json.dumps(
            {
                "output": self.output,
                "outputs": self.outputs,
                "inputs": [
                    {"id": ids.WALL_TICK, "property": "n_intervals", "value": self.tick_count},
                    {"id": ids.WALL_ROTATE, "property": "n_intervals", "value": 0},
                    {"id": ids.WALL_CAROUSEL, "property": "n_intervals", "value": 0},
                ],
                "changedPropIds": [f"{ids.WALL_TICK}.n_intervals"],
                "state": [
                    {"id": ids.WALL_CONFIG, "property": "data", "value": self.config},
                    {"id": ids.WALL_STATE, "property": "data", "value": self.state},
                ],
            }
        ).encode()
        request = urllib.request.Request(
            self.base + "/_dash-update-component",
            data=body,
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        began = time.perf_counter()
        with urllib.request.urlopen(request, timeout=300) as response:
            payload = response.read()
            status = response.status
        elapsed = (time.perf_counter() - began) * 1000
        if status == 200:
            self.state = json.loads(payload)["response"][ids.WALL_STATE]["data"]
        return elapsed, len(payload), status


def write_messages(store: Store, count: int, tag: str) -> None:
    now = pd.Timestamp(beijing_now())
    frame = pd.DataFrame(
        {
            "message_id": [f"bench-{tag}-{i}" for i in range(count)],
            "created_at": [now - pd.Timedelta(seconds=i + 1) for i in range(count)],
            "province": [410000] * count,
            "city": ["郑州市"] * count,
            "district": None,
            "addressee": None,
            "category": ["城建"] * count,
            "msg_type": ["投诉/求助"] * count,
            "title": ["小区道路破损请求维修"] * count,
            "is_urgent": [False] * count,
            "source_status": None,
        }
    )
    frame.insert(0, "_row", np.arange(2, count + 2))
    upsert(store, "messages", frame)


def first_paint(url: str, runs: int = 3) -> list[float]:
    """Milliseconds from navigation start to the full first picture, in headless Chromium."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    chromium = os.environ.get("CHROME_BIN") or shutil.which("chromium") or shutil.which("google-chrome")
    driver_path = os.environ.get("CHROMEDRIVER") or shutil.which("chromedriver")
    if not chromium or not driver_path:
        return []
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for arg in (
        "--headless=new",
        "--no-sandbox",
        "--disable-dev-shm-usage",
        "--window-size=1920,1080",
        "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
    ):
        options.add_argument(arg)
    driver = webdriver.Chrome(service=Service(driver_path), options=options)
    probe = """
        const kpi = document.getElementById(arguments[0]);
        const done = kpi && kpi.textContent !== '—' && !kpi._anim && kpi._target !== undefined
            && document.querySelectorAll('#' + arguments[1] + ' path.choroplethlocation').length > 60
            && document.querySelectorAll('#' + arguments[2] + ' .feed-item').length > 0;
        return done ? performance.now() : null;
    """
    times = []
    try:
        for run in range(runs):
            if run:
                driver.execute_cdp_cmd("Network.clearBrowserCache", {})
            driver.get(url)
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline:
                value = driver.execute_script(probe, ids.kpi_value("messages"), ids.MAP, ids.FEED_LIST)
                if value:
                    times.append(float(value))
                    break
                time.sleep(0.02)
    finally:
        driver.quit()
    return times


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", help="existing database (default: generate a fresh demo in a temp dir)")
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--period", default="ytd")
    parser.add_argument("--no-browser", action="store_true")
    args = parser.parse_args()

    if args.db:
        path = Path(args.db)
    else:
        from ingest.demo import generate

        path = Path(tempfile.mkdtemp()) / "bench.duckdb"
        store = Store(path)
        began = time.perf_counter()
        generate(store, seed=Settings().seed, start=dt.date(2019, 1, 1), now=beijing_now(), progress=False)
        store.cursor().execute("CHECKPOINT")
        store.close()
        print(f"demo generation: {time.perf_counter() - began:.1f} s")

    from waitress.server import create_server

    from dashboard.server import build_app

    store = Store(path)
    messages = store.scalar("SELECT count(*) FROM messages")
    print(f"database: {path.name}, {messages:,} messages")
    settings = replace(Settings(), db=str(path), simulate=False, story_seconds=86_400)  # one story: no refresh mid-run
    app = build_app(settings, store)
    port = _free_port()
    server = create_server(app.server, host="127.0.0.1", port=port, threads=8)
    threading.Thread(target=server.run, daemon=True).start()
    base = f"http://127.0.0.1:{port}"
    config = layout.kiosk_options(f"?period={args.period}", settings)

    first, second = Screen(base, app, config), Screen(base, app, config)
    ms, full_bytes, _ = first.tick()
    print(f"first tick, cold (all metrics, full figures): {ms:.0f} ms, {full_bytes:,} bytes")
    second.tick()
    # the wall story is analysed in the background: its first result is a new view; measure once it is in
    settled_by = time.monotonic() + 300
    while time.monotonic() < settled_by and (first.tick()[2] != 204 or second.tick()[2] != 204):
        time.sleep(1)

    misses, changed_hits, unchanged_hits, patch_bytes = [], [], [], []
    for i in range(args.repeat):
        write_messages(store, 3, f"{time.time_ns()}-{i}")
        ms, size, status = first.tick()
        misses.append(ms)
        patch_bytes.append(size)
        ms, size, status = second.tick()
        changed_hits.append(ms)
        for _ in range(3):
            ms, size, status = first.tick()
            assert status == 204, status
            unchanged_hits.append(ms)
    print(f"{'refresh tick':<46}{'p50 ms':>10}{'max ms':>10}")
    for name, values in (
        ("miss (first screen after a write)", misses),
        ("hit, data changed (view cached, diff only)", changed_hits),
        ("hit, nothing changed (204)", unchanged_hits),
    ):
        print(f"{name:<46}{statistics.median(values):>10.1f}{max(values):>10.1f}")
    print(
        f"bytes per tick when only counts change: median {statistics.median(patch_bytes):,.0f}, "
        f"max {max(patch_bytes):,} (full first paint {full_bytes:,})"
    )
    if not args.no_browser:
        paints = first_paint(f"{base}/?period={args.period}")
        if paints:
            print(
                f"first full paint in Chromium: first load {paints[0]:.0f} ms, "
                f"median {statistics.median(paints):.0f} ms over {len(paints)} loads (cache cleared)"
            )
        else:
            print("first full paint: chromium/chromedriver not found")
    server.close()
    store.close()
    if not args.db:
        os.remove(path)


if __name__ == "__main__":
    main()
