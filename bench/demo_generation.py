"""Demo generation: the full default history (2019-01-01 .. --now) into a fresh file, each run in its own process.

    python bench/demo_generation.py [--runs 3] [--now 2026-11-26T12:00:00] [--dir /tmp]

Target: under 60 s on 2 cores. Prints per run the wall time, the CPU time (user + sys of the process and its
threads: what the machine's other work cannot inflate), the machine load before and after (/proc/loadavg, one
minute) and the file size; then the median and spread. The stages of the last run (wall and CPU) follow, as
`python -m ingest.demo --timings` prints them. Files are deleted after each run.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def load() -> float:
    return float(Path("/proc/loadavg").read_text().split()[0])


def run(now: str, folder: str) -> tuple[dict, str]:
    path = Path(tempfile.mkdtemp(dir=folder)) / "demo.duckdb"
    before_load, before = load(), resource.getrusage(resource.RUSAGE_CHILDREN)
    began = time.perf_counter()
    out = subprocess.run(
        [sys.executable, "-m", "ingest.demo", str(path), "--now", now, "--timings"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    wall = time.perf_counter() - began
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    figures = {
        "wall": wall,
        "cpu": (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime),
        "load": (before_load, load()),
        "size": path.stat().st_size / 1e9,
    }
    for leftover in path.parent.iterdir():
        leftover.unlink()
    os.rmdir(path.parent)
    return figures, out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--now", default="2026-11-26T12:00:00")
    parser.add_argument("--dir", default=tempfile.gettempdir())
    args = parser.parse_args()
    results, out = [], ""
    for i in range(args.runs):
        figures, out = run(args.now, args.dir)
        results.append(figures)
        print(
            f"run {i + 1}: {figures['wall']:6.1f} s wall, {figures['cpu']:6.1f} s CPU (user+sys), "
            f"load {figures['load'][0]:.2f} -> {figures['load'][1]:.2f}, file {figures['size']:.2f} GB",
            flush=True,
        )
    for key in ("wall", "cpu"):
        values = [r[key] for r in results]
        print(f"{key}: median {statistics.median(values):.1f} s, min {min(values):.1f}, max {max(values):.1f}")
    print("stages of the last run:")
    print(out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
