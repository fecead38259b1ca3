"""Briefing time on a database (default: the demo): gather (the charts drawn meanwhile, as the app does), PDF
print, for a week, a month and a quarter, national and one province. Prints seconds per run with the spread and the
machine's load, and the CPU seconds of the run (this process and its worker processes: what the run needs whatever
else shares the machine).

On a store nothing has indexed yet (a copy without stored words, reply checks and league facts), the first run
computes them: words of the period and of the month before it (in one worker process, beside the rest), reply checks
of the units' window and its lookback (the text work in DuckDB), and the league facts of the units' window only.

python bench/briefing_speed.py [--db FILE] [--repeat 3] [--now 2026-11-26T12:00:00]
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import resource
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from settings import Settings  # noqa: E402

# The project's modules are imported where used, not here: the worker process a cold run spawns (words) imports this
# script as its main module, as it imports app.py under the CLI, which imports next to nothing.


def cpu_seconds() -> float:
    """User and system time of this process and of its finished children (the worker processes)."""
    used = (resource.getrusage(who) for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN))
    return sum(u.ru_utime + u.ru_stime for u in used)


def one(store, spec: str, province: int | None, now: dt.datetime) -> dict[str, float]:
    from briefing import build, content, html, outline, pdf
    from briefing.period import resolve
    from briefing.sections import providers
    from insight.service import Insight
    from queries.service import Metrics
    from supervision.service import Supervision

    cpu, started = cpu_seconds(), time.perf_counter()
    metrics = Metrics(store)  # a cold cache: every number (and the text analysis) is computed again
    settings = Settings(clock=now.isoformat())
    # the supervision service replaces reply checks older code made when it is made: part of the run
    sections = providers(Insight(store, clock=settings.now), Supervision(metrics, settings))
    times, rendered = {}, {}

    def draw(numbers) -> None:  # as build.build: the charts drawn while the sections are computed
        t = time.perf_counter()
        rendered.update(build.draw(numbers, "svg"))
        times["charts"] = time.perf_counter() - t

    t = time.perf_counter()
    brief = content.gather(metrics, resolve(spec, now.date()), province, now, sections, meanwhile=draw)
    times["gather"] = time.perf_counter() - t  # the charts included
    t = time.perf_counter()
    pdf.html_to_pdf(html.document(outline.outline(brief), rendered, "svg"))
    times["pdf"] = time.perf_counter() - t
    times["total"] = time.perf_counter() - started
    times["cpu"] = cpu_seconds() - cpu
    return times


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", default=Settings().db)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--now", default="2026-11-26T12:00:00")
    parser.add_argument("--cases", type=int, default=3, help="week, week of 河南, month: the first N")
    args = parser.parse_args()
    now = dt.datetime.fromisoformat(args.now)
    from queries.db import Store

    store = Store(args.db)
    print(f"database {args.db}, now {now}, load before {os.getloadavg()}")
    for spec, province in (("week", None), ("week", 410000), ("month", None))[: args.cases]:
        runs = [one(store, spec, province, now) for _ in range(args.repeat)]
        totals = [r["total"] for r in runs]
        parts = " ".join(f"{k} {statistics.median(r[k] for r in runs):.2f}" for k in ("gather", "charts", "pdf"))
        cpu = " ".join(f"{r['cpu']:.1f}" for r in runs)
        print(
            f"{spec:8} {province or 'national':>8}: median {statistics.median(totals):.2f} s "
            f"(min {min(totals):.2f}, max {max(totals):.2f}; {parts}) cpu s per run {cpu} load {os.getloadavg()[0]:.1f}"
        )
    store.close()


if __name__ == "__main__":
    main()
