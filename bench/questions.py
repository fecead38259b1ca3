"""Any question fast: random analyst questions, each a cache miss, over HTTP; and the same in pandas in memory.

    python bench/questions.py DB [--questions 100] [--pandas-questions 20 (0: no pandas)] [--seed 5]

A question is a random period of 1 day to 1 year between 2020 and 2025, with 1–3 provinces (40 %) and
1–2 domains (40 %). Each is asked as `summary` + `provinces` + `trend` over HTTP from the app served by
waitress in this process (every question is new, so every one is a cache miss); the time of the three
requests is one sample. The delay index behind the medians (queries/median_index.py) is built once per process,
on the first question that needs it; it is built (and timed) before the questions. The drill-down (cities,
units, overdue: the analyst's drill-down panels) is asked of a fresh metrics service for questions with
filters, in process (each a cache miss). The pandas way loads the message and evaluation rows into DataFrames once, then
computes the same figures the three endpoints return (every count of the period, the 环比 period and a year
earlier, per province and in total, rates, medians, the daily trend of the period and the one before; it agrees
with the project's numbers) for each question; an earlier version counted only messages, replies and 24-hour replies,
a quarter of the work. Prints median / p95 / max, CPU time and the load average; asserts
nothing. Opening a database built before migration 8 rebuilds its rollups once (reported as `open`).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import statistics
import sys
import threading
import time
import urllib.parse
import urllib.request
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402


def _load() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def _stats(values: list[float]) -> str:
    values = sorted(values)
    p95 = values[min(len(values) - 1, int(np.ceil(0.95 * len(values))) - 1)]
    return f"median {statistics.median(values):.1f} ms, p95 {p95:.1f} ms, max {values[-1]:.1f} ms (n={len(values)})"


def questions(rng, n: int, provinces: list[int], categories: list[str]) -> list[dict]:
    out = []
    first, last = dt.date(2020, 1, 1), dt.date(2025, 12, 31)
    for _ in range(n):
        length = int(rng.integers(1, 366))
        start = first + dt.timedelta(days=int(rng.integers(0, (last - first).days - length + 2)))
        q = {"start": start, "end": start + dt.timedelta(days=length - 1), "province": [], "category": []}
        if rng.random() < 0.4:
            q["province"] = [int(p) for p in rng.choice(provinces, int(rng.integers(1, 4)), replace=False)]
        if rng.random() < 0.4:
            q["category"] = [str(c) for c in rng.choice(categories, int(rng.integers(1, 3)), replace=False)]
        out.append(q)
    return out


def _query(q: dict) -> str:
    pairs = [("start", q["start"].isoformat()), ("end", q["end"].isoformat())]
    pairs += [("province", str(p)) for p in q["province"]] + [("category", c) for c in q["category"]]
    return urllib.parse.urlencode(pairs)


def over_http(store, qs: list[dict]) -> list[float]:
    from waitress.server import create_server

    from dashboard.server import build_app
    from settings import Settings

    settings = replace(Settings(), db=store.path, simulate=False)
    app = build_app(settings, store)
    server = create_server(app.server, host="127.0.0.1", port=0, threads=4)
    threading.Thread(target=server.run, daemon=True).start()
    base = f"http://127.0.0.1:{server.effective_port}/api/v1"
    times, cpu = [], {e: 0.0 for e in ENDPOINTS}
    started = time.process_time()
    for q in qs:
        query = _query(q)
        began = time.perf_counter()
        for endpoint in ENDPOINTS:
            used = time.process_time()
            with urllib.request.urlopen(f"{base}/{endpoint}?{query}") as response:
                response.read()
            cpu[endpoint] += time.process_time() - used
        times.append((time.perf_counter() - began) * 1000)
    total = (time.process_time() - started) * 1000 / len(qs)
    print("  CPU per request: " + ", ".join(f"{e} {v * 1000 / len(qs):.1f} ms" for e, v in cpu.items()))
    return times, total  # the server thread is a daemon: it ends with the process


ENDPOINTS = ("summary", "provinces", "trend")


def drill_down(store, qs: list[dict]) -> None:
    """Cities, units and overdue messages of each question, from a fresh metrics service (cache misses)."""
    from queries.periods import Filters
    from queries.service import Metrics

    metrics = Metrics(store)
    now = store.scalar("SELECT max(created_at) FROM messages")
    times, cpu = [], 0.0
    for q in qs:
        f = Filters(q["start"], q["end"], provinces=tuple(q["province"]), categories=tuple(q["category"]))
        began, used = time.perf_counter(), time.process_time()
        metrics.by_city(f)
        metrics.units(f)
        metrics.overdue(f, now)
        metrics.overdue_count(f, now)
        cpu += time.process_time() - used
        times.append((time.perf_counter() - began) * 1000)
    print(
        f"drill-down (cities + units + overdue), in process, cache miss: {_stats(times)}; "
        f"CPU {cpu * 1000 / len(qs):.1f} ms/question"
    )


class PandasWay:
    """The figures of summary + provinces + trend from DataFrames in memory: every count the three endpoints return
    (messages, replied, within 24 h, pending, in progress, urgent by day of creation; replies by day of the first
    reply; evaluations and satisfied by day of rating) for the period, the one before (环比) and a year earlier, per
    province and in total, the rates, the median first-reply hours (total and per province) and the daily trend of
    the period and the one before. The units' and leaders' firsts are left out (the pandas way does less)."""

    def __init__(self, store):
        self.m = store.df(
            "SELECT created_at, province, category, first_reply_at, source_status, is_urgent FROM messages"
        ).assign(category=lambda f: f["category"].astype("category"))
        self.m["delay_hours"] = (self.m["first_reply_at"] - self.m["created_at"]).dt.total_seconds() / 3600
        self.e = store.df(
            "SELECT e.rated_at, e.verdict, m.province, m.category FROM evaluations e JOIN messages m USING (message_id)"
        )

    def answer(self, q: dict) -> dict:
        from queries.periods import Filters

        f = Filters(q["start"], q["end"], provinces=tuple(q["province"]), categories=tuple(q["category"]))
        m, e = self.m, self.e
        if f.provinces:
            m, e = m[m["province"].isin(f.provinces)], e[e["province"].isin(f.provinces)]
        if f.categories:
            m, e = m[m["category"].isin(f.categories)], e[e["category"].isin(f.categories)]
        out = {}
        for suffix, period in (("", f), ("_prev", f.previous), ("_before", f.before)):
            lo, hi = pd.Timestamp(period.start), pd.Timestamp(period.end) + pd.Timedelta(days=1)
            created = m[(m["created_at"] >= lo) & (m["created_at"] < hi)]
            answered = m[(m["first_reply_at"] >= lo) & (m["first_reply_at"] < hi)]
            rated = e[(e["rated_at"] >= lo) & (e["rated_at"] < hi) & e["verdict"].notna()]
            counts = pd.DataFrame(
                {
                    "messages": 1,
                    "replied": created["first_reply_at"].notna(),
                    "replied_24h": created["delay_hours"] <= 24,
                    "pending": created["first_reply_at"].isna()
                    & created["source_status"].fillna("待回复").eq("待回复"),
                    "in_progress": created["source_status"].eq("办理中"),
                    "urgent_messages": created["is_urgent"].astype(bool),
                    "province": created["province"],
                }
            )
            per_province = counts.groupby("province").sum()
            per_province["replies"] = answered.groupby("province").size()
            per_province["evaluations"] = rated.groupby("province").size()
            per_province["satisfied"] = rated["verdict"].astype(bool).groupby(rated["province"]).sum()
            per_province = per_province.fillna(0)
            out[f"total{suffix}"] = total = per_province.sum()
            out[f"rates{suffix}"] = {
                "reply_rate": total["replied"] / total["messages"],
                "reply_24h_rate": total["replied_24h"] / total["messages"],
                "satisfaction_rate": total["satisfied"] / total["evaluations"],
            }
            per_province["reply_rate"] = per_province["replied"] / per_province["messages"]
            per_province["reply_24h_rate"] = per_province["replied_24h"] / per_province["messages"]
            per_province["satisfaction_rate"] = per_province["satisfied"] / per_province["evaluations"]
            out[f"provinces{suffix}"] = per_province
            if suffix != "_before":
                out[f"trend{suffix}"] = (
                    counts.drop(columns="province")
                    .groupby(created["created_at"].dt.floor("D"))
                    .sum()
                    .join(
                        answered.groupby(answered["first_reply_at"].dt.floor("D")).size().rename("replies"), how="outer"
                    )
                    .join(rated.groupby(rated["rated_at"].dt.floor("D")).size().rename("evaluations"), how="outer")
                )
            if not suffix:
                out["median"] = answered["delay_hours"].median()
                per_province["median"] = answered["delay_hours"].groupby(answered["province"]).median()
        for column in ("messages", "replies"):
            out[f"{column}_yoy"] = out["total"][column] / out["total_before"][column] - 1
            out[f"{column}_pop"] = out["total"][column] / out["total_prev"][column] - 1
        return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("db", type=Path)
    parser.add_argument("--questions", type=int, default=100)
    parser.add_argument("--pandas-questions", type=int, default=20)
    parser.add_argument("--seed", type=int, default=5)
    args = parser.parse_args()

    from queries.db import Store

    print(f"load before: {_load()}")
    began = time.perf_counter()
    store = Store(args.db)
    print(f"open (migrations included): {time.perf_counter() - began:.1f} s")
    print(f"messages: {store.scalar('SELECT count(*) FROM messages'):,}")
    provinces = [int(p) for (p,) in store.rows("SELECT adcode FROM provinces")]
    categories = [c for (c,) in store.rows("SELECT DISTINCT category FROM roll_category ORDER BY 1")]
    rng = np.random.default_rng(args.seed)
    qs = questions(rng, args.questions, provinces, categories)

    from queries import median_index

    began, used = time.perf_counter(), time.process_time()
    index, _stale = median_index.current(store)
    print(
        f"delay index: built in {time.perf_counter() - began:.1f} s ({time.process_time() - used:.1f} s CPU), "
        f"{(index.hours.nbytes + index.cum.nbytes) / 2**20:.0f} MiB"
    )
    times, cpu = over_http(store, qs)  # CPU of the process (server and client) over the questions
    print(f"project, summary+provinces+trend over HTTP, cache miss: {_stats(times)}; CPU {cpu:.1f} ms/question")
    print(f"load: {_load()}")
    drill_down(store, [q for q in qs if q["province"] or q["category"]])
    print(f"load: {_load()}")
    if args.pandas_questions:
        _pandas(store, qs[: args.pandas_questions], times)
    print(f"load after: {_load()}  (pid {os.getpid()})")
    store.close()
    return 0


def _pandas(store, qs: list[dict], times: list[float]) -> None:
    """The same questions in pandas in memory, against the project's times of them."""
    began = time.perf_counter()
    way = PandasWay(store)
    print(f"pandas: rows loaded in {time.perf_counter() - began:.1f} s")
    pandas_times = []
    for q in qs:
        began = time.perf_counter()
        way.answer(q)
        pandas_times.append((time.perf_counter() - began) * 1000)
    print(f"pandas in memory, the same questions: {_stats(pandas_times)}")
    ratio = statistics.median(pandas_times) / statistics.median(times[: len(qs)])
    print(f"pandas / project (median of the same {len(pandas_times)} questions): {ratio:.1f}x")


if __name__ == "__main__":
    raise SystemExit(main())
