"""The figures the latency benches print: the machine's load, a percentile and a latency's spread."""

from __future__ import annotations

import statistics


def load() -> str:
    return open("/proc/loadavg").read().split()[0]


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))] if values else float("nan")


def fmt(values: list[float]) -> str:
    """Seconds as p50, p95 and max in milliseconds, with the count."""
    if not values:
        return "none"
    return (
        f"p50 {statistics.median(values) * 1000:.0f} ms, p95 {pct(values, 0.95) * 1000:.0f} ms, "
        f"max {max(values) * 1000:.0f} ms (n={len(values)})"
    )
