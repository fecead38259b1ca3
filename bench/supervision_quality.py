"""Supervision quality against a demo's planted truth (the `demo_truth` table of the text demo).

    python bench/supervision_quality.py --db FILE [--year 2025] [--month 2025-06]

Only this script reads demo_truth; the analysis code never does. Prints:
- planted slow or boilerplate units on the black list (the bottom 15 of their province, league.lists) of the
  year's league: recall over the planted weak units that are ranked (target >= 0.8); planted good units there
  (target: none) and on the red list;
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

import pandas as pd

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
    truth = store.df("SELECT kind, name FROM demo_truth WHERE kind IN ('slow_unit', 'boilerplate_unit', 'good_unit')")
    planted = dict(zip(truth["name"], truth["kind"], strict=True))
    weak = {name: kind for name, kind in planted.items() if kind != "good_unit"}
    print(f"load {os.getloadavg()}; planted units: {truth['kind'].value_counts().to_dict()}")

    if not args.replies_only:
        _league(store, args.year, planted)
    _replies(store, args.month, weak)
    print(f"load {os.getloadavg()}")
    store.close()


def _league(store: Store, year_number: int, planted: dict) -> None:
    settings = Settings()
    year = Filters(dt.date(year_number, 1, 1), dt.date(year_number, 12, 31))
    began = time.perf_counter()
    table = league.league(store, year, settings.on_time_days, settings.min_rated)
    print(
        f"league {year_number}: {len(table):,} units, {int(table['rank'].notna().sum()):,} ranked "
        f"({time.perf_counter() - began:.1f} s)"
    )
    ranked = table[table["rank"].notna()]
    # the lists as shown (unit names masked there): matched back to the unmasked table by (province, rank)
    on_list = {"best": set(), "worst": set()}
    for item in league.lists(table):
        for which in on_list:
            on_list[which] |= {(item["province"], int(r)) for r in item[which]["rank"]}
    kind = ranked["unit"].map(planted)
    key = list(zip(ranked["province"], ranked["rank"].astype(int), strict=True))
    worst = pd.Series([k in on_list["worst"] for k in key], index=ranked.index)
    best = pd.Series([k in on_list["best"] for k in key], index=ranked.index)
    for name in ("slow_unit", "boilerplate_unit", "good_unit"):
        mine = kind == name
        print(
            f"  {name}: ranked {int(mine.sum())}, on the black list (bottom 15): {int((mine & worst).sum())}, "
            f"on the red list: {int((mine & best).sum())}"
        )
    weak = kind.isin(["slow_unit", "boilerplate_unit"])
    recall = (weak & worst).sum() / weak.sum() if weak.sum() else float("nan")
    print(f"  planted slow or weak units on the black list: recall {recall:.3f} (target >= 0.8)")
    print(f"  planted good units on the black list: {int((kind.eq('good_unit') & worst).sum())} (target 0)")
    print(f"  black lists: {int(worst.sum())} units, of which planted weak: {int((weak & worst).sum())}")


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
