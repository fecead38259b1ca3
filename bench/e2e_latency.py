"""End-to-end latency: from a write API acknowledgement to the new number on an open wall display.

    python bench/e2e_latency.py [--writes 30] [--interval 3]

Starts `python app.py` as its own process on a fresh demo database (a short history,
simulator off so only this script writes), opens the wall in headless Chromium
(`?period=today`), then posts one message at a time through the write API and
times how long the screen takes to show the new "today's messages" count
(the number the KPI rolls to). Prints p50 / p95 / max; asserts nothing.
Target: p95 under the refresh interval plus 1 s.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from dashboard import ids  # noqa: E402
from queries.periods import beijing_now  # noqa: E402

TOKEN = "e2e-bench-token"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(url: str):
    with urllib.request.urlopen(url, timeout=30) as response:
        return json.loads(response.read())


def _post(url: str, rows: list[dict]) -> dict:
    request = urllib.request.Request(
        url,
        data=json.dumps(rows).encode(),
        method="POST",
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {TOKEN}"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--writes", type=int, default=30)
    parser.add_argument("--interval", type=float, default=3.0, help="wall refresh interval (s)")
    args = parser.parse_args()

    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    workdir = Path(tempfile.mkdtemp())
    db = workdir / "e2e.duckdb"
    port = _free_port()
    env = dict(
        os.environ,
        LIUYAN_INGEST_TOKEN=TOKEN,
        LIUYAN_SIMULATE="0",
        LIUYAN_DEMO_START=(beijing_now().date() - dt.timedelta(days=400)).isoformat(),
        LIUYAN_REFRESH_SECONDS=str(args.interval),
    )
    server = subprocess.Popen(
        [sys.executable, str(ROOT / "app.py"), "--db", str(db), "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    driver = None
    try:
        deadline = time.time() + 600
        while True:
            try:
                _get(base + "/api/v1/meta")
                break
            except OSError:
                if server.poll() is not None or time.time() > deadline:
                    raise SystemExit("the server did not start") from None
                time.sleep(0.5)
        options = webdriver.ChromeOptions()
        options.binary_location = shutil.which("chromium") or "/usr/bin/chromium"
        for arg in (
            "--headless=new",
            "--no-sandbox",
            "--disable-dev-shm-usage",
            "--disable-gpu",
            "--window-size=1920,1080",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
        ):
            options.add_argument(arg)
        driver = webdriver.Chrome(
            service=Service(shutil.which("chromedriver") or "/usr/bin/chromedriver"), options=options
        )
        driver.get(f"{base}/?period=today&rotate=0")
        target = "const e = document.getElementById(arguments[0]); return e ? e._target : null"
        kpi = ids.kpi_value("today_messages")
        expected = _get(base + "/api/v1/summary?period=today")["messages"]
        deadline = time.time() + 120
        while driver.execute_script(target, kpi) != expected:
            if time.time() > deadline:
                raise SystemExit("the wall never showed today's count")
            time.sleep(0.1)

        latencies = []
        rng = random.Random(7)
        for n in range(args.writes):
            time.sleep(rng.uniform(0, args.interval))  # writes fall anywhere within a refresh interval
            row = {
                "message_id": f"E2E-{time.time_ns()}-{n}",
                "created_at": beijing_now().isoformat(sep=" "),
                "province": "河南",
                "category": "城建",
                "title": "端到端延迟测试",
            }
            answer = _post(base + "/api/v1/ingest/messages", [row])
            acknowledged = time.perf_counter()
            assert answer["written"] == 1, answer
            expected += 1
            while driver.execute_script(target, kpi) != expected:
                if time.perf_counter() - acknowledged > 30:
                    raise SystemExit(f"write {n} did not reach the screen in 30 s")
                time.sleep(0.02)
            latencies.append(time.perf_counter() - acknowledged)
        latencies.sort()
        p95 = latencies[min(len(latencies) - 1, int(round(0.95 * (len(latencies) - 1))))]
        print(
            f"end-to-end latency over {len(latencies)} writes (refresh interval {args.interval:g} s): "
            f"p50 {statistics.median(latencies):.2f} s, p95 {p95:.2f} s, max {latencies[-1]:.2f} s "
            f"(target p95 < {args.interval + 1:g} s)"
        )
    finally:
        if driver is not None:
            driver.quit()
        server.kill()
        server.wait()
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
