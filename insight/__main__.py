"""Command line: the insight results of one period, as JSON, with a progress bar per period read.

python -m insight [--db FILE] --start 2025-11-01 --end 2026-10-31 [--province 河南] [--category 城建] [--out FILE]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
import time

from tqdm import tqdm

from dashboard.params import parse_provinces
from insight.service import Insight
from queries.db import Store
from queries.periods import Filters
from settings import Settings


def main(argv=None) -> int:
    settings = Settings.from_env()
    parser = argparse.ArgumentParser(prog="python -m insight", description=__doc__)
    parser.add_argument("--db", default=str(settings.db))
    parser.add_argument("--start", required=True, type=dt.date.fromisoformat)
    parser.add_argument("--end", required=True, type=dt.date.fromisoformat)
    parser.add_argument("--province", action="append", default=[])
    parser.add_argument("--category", action="append", default=[])
    parser.add_argument("--limit", type=int, default=50)
    parser.add_argument("--out", help="write the JSON here (default: standard output)")
    args = parser.parse_args(argv)
    f = Filters(args.start, args.end, provinces=parse_provinces(args.province), categories=tuple(args.category))
    bars: dict[str, tqdm] = {}

    def progress(label: str, done: int) -> None:
        bar = bars.get(label) or bars.setdefault(label, tqdm(desc=f"reading {label}", unit="msg", file=sys.stderr))
        bar.update(done - bar.n)

    store = Store(args.db, settings)  # LIUYAN_DUCKDB_MEMORY bounds what DuckDB keeps of a year's read
    service = Insight(store, progress=progress)
    started = time.perf_counter()
    result = {
        "hot_issues": service.hot_issues(f, args.limit)["issues"],
        "hot_words": service.hot_words(f, args.limit),
        "alerts": service.alerts(f)["alerts"],
        "repeats": service.repeats(f),
    }
    for bar in bars.values():
        bar.close()
    print(f"done in {time.perf_counter() - started:.1f} s", file=sys.stderr)
    text = json.dumps(result, ensure_ascii=False, indent=1)
    if args.out:
        with open(args.out, "w", encoding="utf-8") as out:
            out.write(text)
    else:
        print(text)
    store.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
