"""Browser memory over a province carousel soak: one headless Chromium wall stepping through every province
(`carousel=SECONDS`) against a running server; JS heap, DOM nodes and event listeners sampled every minute.

python bench/wall_carousel_soak.py --url http://127.0.0.1:8050 [--minutes 30] [--step 10]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import time


def main() -> None:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    parser = argparse.ArgumentParser()
    parser.add_argument("--url", default="http://127.0.0.1:8050")
    parser.add_argument("--minutes", type=float, default=30)
    parser.add_argument("--step", type=int, default=10, help="carousel seconds per province")
    args = parser.parse_args()
    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium") or shutil.which("chromium-browser")
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1920,1080"):
        options.add_argument(arg)
    driver = webdriver.Chrome(service=Service(shutil.which("chromedriver")), options=options)
    driver.execute_cdp_cmd("Performance.enable", {})
    driver.get(f"{args.url}/?carousel={args.step}&interval=3")
    samples = []
    began = time.monotonic()
    try:
        while time.monotonic() - began < args.minutes * 60:
            time.sleep(60 if args.minutes >= 2 else 10)
            driver.execute_cdp_cmd("HeapProfiler.collectGarbage", {})
            metrics = {m["name"]: m["value"] for m in driver.execute_cdp_cmd("Performance.getMetrics", {})["metrics"]}
            sample = (
                (time.monotonic() - began) / 60,
                metrics["JSHeapUsedSize"] / 2**20,
                int(metrics["Nodes"]),
                int(metrics["JSEventListeners"]),
            )
            samples.append(sample)
            print(
                f"{sample[0]:5.1f} min  heap {sample[1]:6.1f} MiB  nodes {sample[2]:6d}  listeners {sample[3]:5d}"
                f"  load {os.getloadavg()[0]:.1f}",
                flush=True,
            )
    finally:
        driver.quit()
    if len(samples) >= 4:
        half = len(samples) // 2
        first, last = [s[1] for s in samples[:half]], [s[1] for s in samples[half:]]
        print(
            f"heap median first half {statistics.median(first):.1f} MiB, second half {statistics.median(last):.1f} "
            f"MiB, max {max(s[1] for s in samples):.1f} MiB over {samples[-1][0]:.0f} min"
        )


if __name__ == "__main__":
    main()
