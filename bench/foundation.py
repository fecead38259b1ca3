"""Foundation benchmark: demo generation time, database size, API latency at the default size.

    python bench/foundation.py [--db FILE] [--regenerate] [--repeat N]

Prints figures; asserts nothing. Latency is measured over real HTTP against the
app served by waitress in this process: "miss" requests use a fresh filter
each time (the cache cannot help), "hit" requests repeat one filter.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import resource
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

from queries.db import Store  # noqa: E402
from settings import Settings  # noqa: E402

ENDPOINTS = ["summary", "provinces", "trend", "categories", "types", "feed"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _get(url: str) -> float:
    began = time.perf_counter()
    with urllib.request.urlopen(url, timeout=120) as response:
        json.loads(response.read())
    return (time.perf_counter() - began) * 1000


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", help="existing database (default: generate a fresh demo in a temp dir)")
    parser.add_argument("--repeat", type=int, default=15)
    args = parser.parse_args()

    if args.db:
        path = Path(args.db)
    else:
        from ingest.demo import generate

        path = Path(tempfile.mkdtemp()) / "bench.duckdb"
        store = Store(path)
        # The machine may be shared: CPU seconds (all threads of this process) and the load average
        # say how much of the wall time was this work.
        load_before = os.getloadavg()[0]
        cpu_before = _cpu_seconds()
        began = time.perf_counter()
        counts = generate(
            store, seed=Settings().seed, start=dt.date(2019, 1, 1), now=dt.datetime(2026, 11, 26, 12, 0), progress=False
        )
        store.cursor().execute("CHECKPOINT")
        elapsed = time.perf_counter() - began
        cpu = _cpu_seconds() - cpu_before
        store.close()
        print(
            f"demo generation: {elapsed:.1f} s wall, {cpu:.1f} CPU-s, load {load_before:.2f} -> "
            f"{os.getloadavg()[0]:.2f}  ({', '.join(f'{k}={v:,}' for k, v in counts.items())})"
        )
    size = sum(p.stat().st_size for p in path.parent.glob(path.name + "*"))
    print(f"database size: {size / 2**20:.0f} MiB")

    from waitress.server import create_server

    from dashboard.server import build_app

    store = Store(path)
    app = build_app(replace(Settings(), db=str(path), simulate=False), store)
    port = _free_port()
    server = create_server(app.server, host="127.0.0.1", port=port, threads=8)
    threading.Thread(target=server.run, daemon=True).start()
    base = f"http://127.0.0.1:{port}/api/v1/"

    print(f"{'endpoint':<12}{'miss p50 ms':>12}{'miss p95 ms':>12}{'hit p50 ms':>12}")
    for endpoint in ENDPOINTS:
        misses, hits = [], []
        for i in range(args.repeat):
            # a different end date each time: a guaranteed cache miss
            end = dt.date(2026, 11, 25) - dt.timedelta(days=i)
            misses.append(_get(f"{base}{endpoint}?start=2026-01-01&end={end}"))
        for _ in range(args.repeat):
            hits.append(_get(f"{base}{endpoint}?start=2026-01-01&end=2026-11-25"))
        misses.sort()
        p95 = misses[min(len(misses) - 1, int(0.95 * len(misses)))]
        print(f"{endpoint:<12}{statistics.median(misses):>12.1f}{p95:>12.1f}{statistics.median(hits):>12.1f}")
    server.close()
    store.close()
    if not args.db:
        os.remove(path)


if __name__ == "__main__":
    main()
