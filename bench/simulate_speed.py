"""Live simulator costs: state load, gap fill of N days (one step per day), and 1-s live ticks.

    python bench/simulate_speed.py --db data/liuyan.duckdb [--days 1 30] [--ticks 300]

The demo database is copied to a temporary directory for each run (the original is not touched); the
gap starts at its resume point (meta sim_until or demo_until).
"""

from __future__ import annotations

import argparse
import datetime as dt
import resource
import shutil
import sys
import tempfile
import time
from functools import partial
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from ingest import simulate as sim  # noqa: E402
from queries.db import Store  # noqa: E402
from queries.writes import upsert  # noqa: E402


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", required=True, help="a demo database (copied, never modified)")
    parser.add_argument("--days", type=float, nargs="+", default=[1.0, 30.0], help="gap lengths to fill")
    parser.add_argument("--ticks", type=int, default=300, help="1-s live ticks after the last gap fill")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        for days in args.days:
            path = Path(tmp) / "bench.duckdb"
            shutil.copy(args.db, path)
            store = Store(path)
            began = time.perf_counter()
            clock = [dt.datetime(2000, 1, 1)]
            simulator = sim.Simulator(partial(upsert, store), seed=1, store=store, clock=lambda c=clock: c[0])
            loaded = time.perf_counter() - began
            clock[0] = sim.from_epoch(simulator.until) + dt.timedelta(days=days)
            writes = []

            def timed(kind, frame, write=simulator.write, writes=writes):
                started = time.perf_counter()
                result = write(kind, frame)
                writes.append(time.perf_counter() - started)
                return result

            simulator.write = timed
            began = time.perf_counter()
            filled = simulator.fill_gap()
            seconds = time.perf_counter() - began
            print(
                f"gap {days:g} days: state load {loaded:.1f} s; fill {seconds:.1f} s "
                f"({seconds / days:.1f} s per day, of which upsert {sum(writes):.1f} s in {len(writes)} writes); "
                f"{filled}; state after: {sim._size(simulator.pending):,} waiting, "
                f"{sim._size(simulator.answered):,} answered; max RSS "
                f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:,.0f} MB",
                flush=True,
            )
            if days == args.days[-1] and args.ticks:
                simulator.live_since = simulator.until
                idle, busy = [], []
                for _ in range(args.ticks):
                    clock[0] += dt.timedelta(seconds=1)
                    started = time.perf_counter()
                    result = simulator.advance()
                    (busy if result.total else idle).append(time.perf_counter() - started)
                for name, values in (("idle", idle), ("with writes", busy)):
                    if values:
                        v = np.array(values) * 1000
                        print(
                            f"ticks {name}: {len(v)}, median {np.median(v):.1f} ms, p95 "
                            f"{np.percentile(v, 95):.1f} ms, max {v.max():.1f} ms",
                            flush=True,
                        )
                total = np.array(idle + busy)
                print(
                    f"live at speed 1 from {sim.from_epoch(simulator.until - args.ticks)}: "
                    f"{total.sum() / args.ticks * 100:.1f} % of one core",
                    flush=True,
                )
            store.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
