"""Write throughput in batches of 1, 100 and 1,000 records, in-process and over HTTP.

    python bench/write_speed.py --db COPY.duckdb [--sizes 1,100,1000] [--batches 40,20,10]

Writes into the database given (use a copy: it adds records). Messages are new messages of the last
minutes; replies answer the platform's unanswered messages of the last 60 days (the live case), topped up
with messages of two days ago when too few remain. For each batch size it prints the median wall and CPU
milliseconds per batch and records/s (wall), for:

* in-process: the request body (a JSON array) parsed, validated and written (`queries.writes.upsert`,
  rollups included), as the write API does without HTTP;
* HTTP: `POST /api/v1/ingest/{kind}` on the real app served by waitress on loopback (client included).

The machine's load average is printed with each table: on a shared machine the CPU figures are steadier.
Target: 20,000 records/s (50 ms per batch) at 1,000 records per batch.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import sys
import threading
import time
import urllib.request
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from ingest.readers import parse_body  # noqa: E402
from ingest.validate import validate  # noqa: E402
from queries.db import Store  # noqa: E402
from queries.periods import beijing_now  # noqa: E402
from queries.writes import upsert  # noqa: E402

PROVINCES = ["河南", "广东", "410000", "Henan", "山东省", "四川"]
CATEGORIES = ["城建", "交通", "教育", "医疗", "环保"]
TYPES = ["投诉/求助", "咨询", "建言"]


def message_rows(n: int, tag: str, now: pd.Timestamp, rng) -> list[dict]:
    ages = rng.integers(1, 600, n)
    return [
        {
            "message_id": f"ws-{tag}-{j}",
            "created_at": (now - pd.Timedelta(seconds=int(ages[j]))).isoformat(sep=" "),
            "province": PROVINCES[j % len(PROVINCES)],
            "city": "郑州市",
            "category": CATEGORIES[j % 5],
            "msg_type": TYPES[j % 3],
            "title": "小区道路破损请求维修",
            "is_urgent": bool(j % 20 == 0),
        }
        for j in range(n)
    ]


def reply_rows(targets: pd.DataFrame, tag: str, now: pd.Timestamp) -> list[dict]:
    latest = now - pd.Timedelta(seconds=5)
    return [
        {
            "reply_id": f"ws-r-{tag}-{j}",
            "message_id": m,
            "replied_at": max(pd.Timestamp(c), latest).isoformat(sep=" "),
            "unit": "某市住建局",
        }
        for j, (m, c) in enumerate(zip(targets["message_id"], targets["created_at"], strict=True))
    ]


def timed(fn) -> tuple[float, float]:
    wall, cpu = time.perf_counter(), time.process_time()
    fn()
    return (time.perf_counter() - wall) * 1e3, (time.process_time() - cpu) * 1e3


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", required=True, help="a database copy to write into")
    parser.add_argument("--sizes", default="1,100,1000")
    parser.add_argument("--batches", default="40,20,10", help="batches per size (the first is a warm-up)")
    parser.add_argument("--no-http", action="store_true")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    batches = [int(b) for b in args.batches.split(",")]
    store = Store(args.db)
    now = pd.Timestamp(beijing_now())
    rng = np.random.default_rng(5)
    run = f"{time.time_ns():x}"
    ways = ["in-process"] + ([] if args.no_http else ["HTTP"])
    wanted = sum(s * b for s, b in zip(sizes, batches, strict=True)) * len(ways)
    targets = store.df(
        "SELECT message_id, created_at FROM messages WHERE first_reply_at IS NULL "
        "AND created_at >= $since AND message_id NOT LIKE 'ws-%' ORDER BY created_at DESC LIMIT $n",
        {"since": (now - pd.Timedelta(days=60)).to_pydatetime(), "n": wanted},
    )
    if len(targets) < wanted:
        extra = pd.DataFrame(message_rows(wanted - len(targets), f"t{run}", now - pd.Timedelta(days=2), rng))
        accepted, _ = validate("messages", extra)
        upsert(store, "messages", accepted)
        targets = pd.concat([targets, accepted[["message_id", "created_at"]]], ignore_index=True)
    taken = 0

    def next_targets(n: int) -> pd.DataFrame:
        nonlocal taken
        taken += n
        return targets.iloc[taken - n : taken]

    post = None
    if not args.no_http:
        from waitress.server import create_server

        from dashboard.server import build_app
        from settings import Settings

        token = "bench-token"
        settings = replace(Settings(), db=str(args.db), simulate=False, ingest_token=token)
        app = build_app(settings, store)
        port = _free_port()
        server = create_server(app.server, host="127.0.0.1", port=port, threads=4)
        threading.Thread(target=server.run, daemon=True).start()

        def post(kind: str, body: bytes) -> None:
            request = urllib.request.Request(
                f"http://127.0.0.1:{port}/api/v1/ingest/{kind}",
                data=body,
                method="POST",
                headers={"Content-Type": "application/json", "Authorization": f"Bearer {token}"},
            )
            answer = json.loads(urllib.request.urlopen(request, timeout=300).read())
            assert not answer["rejected"] and answer["written"] == answer["received"], answer

    def in_process(kind: str, body: bytes) -> None:
        chunk = parse_body(body)
        accepted, rejections = validate(kind, chunk.frame)
        result = upsert(store, kind, accepted)
        assert not rejections and not result.rejected and result.written == len(chunk.frame)

    print(f"load average at start: {os.getloadavg()[0]:.2f}")
    print(f"{'kind':9}{'way':12}{'batch':>7}{'wall ms':>10}{'cpu ms':>9}{'records/s':>11}{'load':>6}")
    for way in ways:
        send = in_process if way == "in-process" else post
        for size, count in zip(sizes, batches, strict=True):
            for kind in ("messages", "replies"):
                samples = []
                for i in range(count):
                    rows = (
                        message_rows(size, f"{run}-{way[0]}{size}-{i}", now, rng)
                        if kind == "messages"
                        else reply_rows(next_targets(size), f"{run}-{way[0]}{size}-{i}", now)
                    )
                    body = json.dumps(rows, ensure_ascii=False).encode()
                    samples.append(timed(lambda kind=kind, body=body, send=send: send(kind, body)))
                samples = samples[1:] if len(samples) > 1 else samples
                wall = statistics.median(w for w, _ in samples)
                cpu = statistics.median(c for _, c in samples)
                print(
                    f"{kind:9}{way:12}{size:>7}{wall:>10.1f}{cpu:>9.1f}{size / wall * 1e3:>11,.0f}"
                    f"{os.getloadavg()[0]:>6.2f}",
                    flush=True,
                )
    store.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
