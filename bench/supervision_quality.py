"""Supervision quality against a demo's planted truth (the `demo_truth` table of the text demo).

    python bench/supervision_quality.py --db FILE [--year 2025] [--month 2025-06]

Only this script reads demo_truth; the analysis code never does. Prints:
- planted slow or boilerplate units among the bottom 15 of their province in the year's league (recall, over the
  planted units that are ranked), and how many ranked units there are;
- boilerplate replies of one month: precision and recall against the replies of planted boilerplate units in a
  text that several planted boilerplate units use that month (their stock texts).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from queries.db import Store  # noqa: E402
from queries.periods import Filters  # noqa: E402
from settings import Settings  # noqa: E402
from supervision import league, quality  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", required=True)
    parser.add_argument("--year", type=int, default=2025)
    parser.add_argument("--month", default="2025-06")
    parser.add_argument("--replies-only", action="store_true", help="skip the year's league")
    args = parser.parse_args()
    store = Store(args.db)
    truth = store.df("SELECT kind, name FROM demo_truth WHERE kind IN ('slow_unit', 'boilerplate_unit')")
    weak = dict(zip(truth["name"], truth["kind"], strict=True))
    print(f"load {os.getloadavg()}; planted units: {truth['kind'].value_counts().to_dict()}")

    if not args.replies_only:
        _league(store, args.year, weak)
    _replies(store, args.month, weak)
    print(f"load {os.getloadavg()}")
    store.close()


def _league(store: Store, year_number: int, weak: dict) -> None:
    settings = Settings()
    year = Filters(dt.date(year_number, 1, 1), dt.date(year_number, 12, 31))
    began = time.perf_counter()
    table = league.league(store, year, settings.on_time_days, settings.min_rated)
    print(
        f"league {year_number}: {len(table):,} units, {int(table['rank'].notna().sum()):,} ranked "
        f"({time.perf_counter() - began:.1f} s)"
    )
    ranked = table[table["rank"].notna()].copy()
    ranked["rank_in_province"] = ranked.groupby("province")["score"].rank(ascending=True, method="first")
    bottom = ranked[ranked["rank_in_province"] <= 15]
    for kind in ("slow_unit", "boilerplate_unit"):
        planted = ranked[ranked["unit"].map(weak) == kind]
        found = planted[planted["unit"].isin(bottom["unit"])]
        recall = len(found) / len(planted) if len(planted) else float("nan")
        print(f"  {kind}: ranked {len(planted)}, in their province's bottom 15: {len(found)} (recall {recall:.3f})")
    print(f"  bottom-15 lists: {len(bottom)} units, of which planted weak: {int(bottom['unit'].isin(weak).sum())}")


def _replies(store: Store, month: str, weak: dict) -> None:

    first = dt.date.fromisoformat(month + "-01")
    last = (first.replace(day=28) + dt.timedelta(days=4)).replace(day=1) - dt.timedelta(days=1)
    began = time.perf_counter()
    flags = quality.flags(store, Filters(first, last))
    elapsed = time.perf_counter() - began
    # Planted: a reply of a planted boilerplate unit in a stock text, i.e. a text that several planted boilerplate
    # units use in the month (the generator gives each such unit one of a few stock texts for part of its answers).
    planted_unit = flags["unit"].map(weak).eq("boilerplate_unit")
    spread = flags[planted_unit].groupby("text_key")["unit"].nunique()
    truth_bp = planted_unit & flags["text_key"].map(spread).fillna(0).ge(2)
    found = flags["boilerplate"].astype(bool)
    tp = int((truth_bp & found).sum())
    precision = tp / found.sum() if found.sum() else float("nan")
    recall = tp / truth_bp.sum() if truth_bp.sum() else float("nan")
    print(
        f"boilerplate replies {month}: {len(flags):,} replies with text, planted {int(truth_bp.sum()):,}, "
        f"flagged {int(found.sum()):,}: precision {precision:.3f}, recall {recall:.3f} ({elapsed:.1f} s)"
    )
    for column in ("addresses", "action", "legal"):
        print(f"  {column}: {flags[column].mean():.3f} of all, {flags.loc[truth_bp, column].mean():.3f} of planted")


if __name__ == "__main__":
    main()
