"""Memory of the wall's story (dashboard/wall/story.py) a part at a time, in process, on a database file.

Prints, for each part (hot issues of ISSUE_DAYS, surges of ALERT_DAYS, the league of UNIT_DAYS) and then for a second
story (all kept: nothing recomputed), the process's resident memory after it, its peak during it (VmHWM, reset before
each part through /proc/self/clear_refs) and the CPU seconds it took, with the machine's load.

    python bench/story_memory.py /tmp/copy.duckdb [--today 2026-12-05] [--read-only]
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from dashboard.wall.story import ALERT_DAYS, ISSUE_DAYS, SHOWN, UNIT_DAYS, Story  # noqa: E402
from insight.memory import give_back  # noqa: E402
from insight.service import Insight  # noqa: E402
from queries.db import Store  # noqa: E402
from queries.periods import Filters  # noqa: E402
from queries.service import Metrics  # noqa: E402
from settings import Settings  # noqa: E402
from supervision.service import Supervision  # noqa: E402


def status_mib(field: str) -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    return float("nan")


def reset_peak() -> None:
    """Set VmHWM to the current resident size (Linux 4.0+: writing 5 to clear_refs)."""
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")


def stage(name: str, run) -> None:
    gc.collect()
    give_back()
    reset_peak()
    before, cpu = status_mib("VmRSS"), time.process_time()
    began = time.perf_counter()
    run()
    seconds, cpu = time.perf_counter() - began, time.process_time() - cpu
    print(
        f"{name:<26} wall {seconds:6.1f} s  cpu {cpu:6.1f} s  rss before {before:6.0f} MiB  "
        f"after {status_mib('VmRSS'):6.0f} MiB  peak {status_mib('VmHWM'):6.0f} MiB  load {os.getloadavg()[0]:.2f}",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("path", type=Path)
    parser.add_argument("--today", type=dt.date.fromisoformat, help="the story's day (default: the last message's)")
    parser.add_argument("--read-only", action="store_true", help="open the file read-only (a shared file)")
    args = parser.parse_args()
    print(f"load {open('/proc/loadavg').read().strip()}", flush=True)
    settings = Settings.from_env()
    store = Store(args.path, settings, read_only=args.read_only)
    today = args.today or store.scalar("SELECT max(created_at) FROM messages").date()
    metrics = Metrics(store)
    insight = Insight(store)
    supervision = Supervision(metrics, settings)
    story = Story(insight, supervision, lambda: dt.datetime.combine(today, dt.time(12)))
    print(f"today {today}; rss open {status_mib('VmRSS'):.0f} MiB", flush=True)

    def period(days: int) -> Filters:
        return Filters(today - dt.timedelta(days=days - 1), today)

    for round_ in ("cold", "kept"):
        stage(f"{round_}: hot issues {ISSUE_DAYS} d", lambda: insight.hot_issues(period(ISSUE_DAYS), limit=SHOWN))
        stage(f"{round_}: surges {ALERT_DAYS} d", lambda: insight.alerts(period(ALERT_DAYS)))
        stage(f"{round_}: league {UNIT_DAYS} d", lambda: supervision.league(period(UNIT_DAYS)))
        stage(f"{round_}: story", lambda: story.compute(None, today))
        insight.cache.clear()  # the second round: results recomputed from what the service keeps
    print(f"ru_maxrss {__import__('resource').getrusage(0).ru_maxrss / 1024:.0f} MiB", flush=True)
    store.close()


if __name__ == "__main__":
    main()
