"""Supervision benchmark: the unit league for one year nationally with every column, cache miss.

    python bench/supervision_speed.py [--db FILE] [--year 2025] [--repeat 5] [--league-only]

Prints figures with the machine's load; asserts nothing. Each run is a cache miss (the league is computed
from the store, not the service cache). Without --db a fresh default demo is generated in a temp dir.
First fills the stored reply features of the year and its lookback (supervision/features.py; the one-off work the
background indexer does as replies arrive) and the league's stored facts (supervision/league_facts.py; one-off, then
a few rows after each write) and prints their times apart; then times each named query of the league, the reply
checks of the year, the league of the year and of a month, and the other reports once.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from queries.db import Store  # noqa: E402
from queries.periods import Filters  # noqa: E402
from settings import Settings  # noqa: E402
from supervision import aging, boilerplate, dissatisfaction, features, ideas, league, league_facts, quality  # noqa: E402
from supervision.common import span, sql, window  # noqa: E402

NOW = dt.datetime(2026, 11, 26, 12, 0, 0)


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _time(fn, repeat: int) -> tuple[list[float], list[float]]:
    walls, cpus = [], []
    for _ in range(repeat):
        c0, t0 = _cpu(), time.perf_counter()
        fn()
        walls.append((time.perf_counter() - t0) * 1000)
        cpus.append((_cpu() - c0) * 1000)
    return walls, cpus


def _line(name: str, walls: list[float], cpus: list[float]) -> str:
    return (
        f"{name:<28} median {statistics.median(walls):8.1f} ms  min {min(walls):8.1f}  max {max(walls):8.1f}"
        f"  (CPU median {statistics.median(cpus):8.1f} ms)"
    )


def _fill(store: Store, f: Filters) -> None:
    """The one-off fill of the stored reply features (reference bigrams first), timed apart."""
    began = time.perf_counter()
    features.reference(store)
    reference = time.perf_counter() - began
    lookback = span(f, boilerplate.WINDOW_DAYS)
    began = time.perf_counter()
    done = features.ensure_reply_features(store, lookback["start"], lookback["stop"])
    took = time.perf_counter() - began
    rate = f"{done / took:,.0f} replies/s" if done else "nothing missing"
    print(f"reply features: reference bigrams {reference:.1f} s; fill {done:,} replies in {took:.1f} s ({rate})")
    began = time.perf_counter()
    period = span(f)
    days = boilerplate.ensure(store, period["start"], period["stop"])
    took = time.perf_counter() - began
    print(f"boilerplate flags: {days} days computed in {took:.1f} s ({took / max(days, 1):.2f} s/day)")
    began = time.perf_counter()
    filled = league_facts.ensure(store)
    took = time.perf_counter() - began
    print(f"league facts: {'filled' if filled else 'complete'} in {took:.1f} s")
    print(f"  load after the fills: {os.getloadavg()}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", help="existing database (default: generate the default demo in a temp dir)")
    parser.add_argument("--year", type=int, default=2025)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--league-only", action="store_true", help="only the league (e.g. a 50 M bench build)")
    args = parser.parse_args()
    if args.db:
        path = Path(args.db)
    else:
        from ingest.demo import generate

        path = Path(tempfile.mkdtemp()) / "demo.duckdb"
        store = Store(path)
        generate(store, seed=Settings().seed, start=dt.date(2019, 1, 1), now=NOW)
        store.close()
    store = Store(path)
    f = Filters(dt.date(args.year, 1, 1), dt.date(args.year, 12, 31))
    settings = Settings()
    print(
        f"database {path}: {store.scalar('SELECT count(*) FROM messages'):,} messages, "
        f"{store.scalar('SELECT count(*) FROM reply_texts'):,} reply texts"
    )
    print(f"load before: {os.getloadavg()}")
    _fill(store, f)
    params = window(f)
    queries = {
        "league_facts_complete": {},
        "boilerplate_complete": {"start": params["start"], "stop": params["stop"]},
        "league_counts": dict(params, on_time_seconds=settings.on_time_days * 86_400.0),
    }
    for name, bound in queries.items():
        print(_line(name, *_time(lambda q=name, b=bound: store.df(sql(q), b), args.repeat)))
    if not args.league_only:
        print(_line("reply quality flags", *_time(lambda: quality.flags(store, f), args.repeat)))
    table = None

    def run():
        nonlocal table
        table = league.league(store, f, settings.on_time_days, settings.min_rated)

    print(_line(f"league {args.year} national", *_time(run, args.repeat)))
    print(f"  units listed {len(table):,}, ranked {int(table['rank'].notna().sum()):,}")
    month = Filters(dt.date(args.year, 6, 1), dt.date(args.year, 6, 30))
    print(_line("league one month", *_time(lambda: league.league(store, month), args.repeat)))
    if not args.league_only:
        print(_line("aging (year)", *_time(lambda: aging.report(store, f, NOW), 1)))
        print(_line("dissatisfaction (year)", *_time(lambda: dissatisfaction.report(store, f, NOW), 1)))
        print(_line("good ideas (year)", *_time(lambda: ideas.report(store, f), 1)))
    print(f"load after: {os.getloadavg()}")
    store.close()


if __name__ == "__main__":
    main()
