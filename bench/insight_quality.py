"""Quality of the insight methods against the demo's planted truth (prints figures, asserts nothing).

    python bench/insight_quality.py --db DEMO.duckdb [--months 2026-09,2026-10] [--year-end 2026-10-31]

Only this bench reads the demo's truth table (`demo_truth`, written by the demo generator of the text-demo
work): kind ('hot', 'surge', 'repeat', ...), story, name (the place), members (message ids), province (adcode),
city, district, category, topic, span_start, span_end, size, detail. The analysis code never reads it.

Figures (the issue's quality targets):
  - hot issues, per month: planted problems with >= 20 messages in the month found as one issue (an issue whose
    members are >= 80% from that problem and hold at least half of its messages of the month); and the share of
    the month's top 20 issues that are planted problems (>= 80% of their members from one problem);
  - surges over the year: planted surges alerted within 1 day of onset (an alert of the same province and
    domain starting within onset - 1 .. onset + 1); false alarms per province per year: province-level alerts
    overlapping no planted surge of their series;
  - repeat complaints over the months: precision and recall of the truth's (earlier, restated) pairs, all of them
    (the planted ones and the ones the generator drew by chance that meet the same definition: same place and
    named spot, domain and topic within 30 days) and the planted ones alone;
  - hot words: for planted problems with >= 20 messages in one week, whether a word of the problem's topic or
    place is among that week's top 10 rising words.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from insight import corpus, hotwords, surges  # noqa: E402
from insight.service import Insight  # noqa: E402
from queries.db import Store  # noqa: E402
from queries.periods import Filters  # noqa: E402

NOW = dt.datetime(2026, 11, 26, 12, 0)


def month_bounds(label: str) -> tuple[dt.date, dt.date]:
    start = dt.date.fromisoformat(label + "-01")
    return start, (start + dt.timedelta(days=32)).replace(day=1) - dt.timedelta(days=1)


def hot_issue_figures(service: Insight, truth: pd.DataFrame, created: pd.Series, months: list[str]) -> None:
    hot = truth[truth["kind"] == "hot"]
    member_story = {m: s for s, members in zip(hot["story"], hot["members"], strict=True) for m in members}
    found_total = planted_total = top_good = top_total = 0
    for label in months:
        start, end = month_bounds(label)
        t0 = time.perf_counter()
        issues = service.hot_issues(Filters(start, end), limit=100_000)["issues"]
        took = time.perf_counter() - t0
        in_month = {}
        for story, members in zip(hot["story"], hot["members"], strict=True):
            days = created.reindex(members).dropna().dt.date
            n = int(((days >= start) & (days <= end)).sum())
            if n >= 20:
                in_month[story] = n
        found = set()
        for rank, issue in enumerate(issues):
            stories = pd.Series([member_story.get(m) for m in issue["message_ids"]], dtype=object)
            counts = stories.value_counts()
            purity_story = counts.index[0] if len(counts) else None
            pure = len(counts) and counts.iloc[0] / len(stories) >= 0.8
            if rank < 20:
                top_total += 1
                top_good += bool(pure)
            if pure and purity_story in in_month and counts.iloc[0] >= 0.5 * in_month[purity_story]:
                found.add(purity_story)
        found_total += len(found)
        planted_total += len(in_month)
        print(
            f"  {label}: {len(issues)} issues, planted >= 20 in month {len(in_month)}, found {len(found)}"
            f" (recall {len(found) / max(1, len(in_month)):.2f}); {took:.1f} s"
        )
    print(
        f"hot issues: recall {found_total / max(1, planted_total):.3f} (target >= 0.9); "
        f"top-20 precision {top_good / max(1, top_total):.3f} (target >= 0.8)"
    )


def surge_figures(service: Insight, truth: pd.DataFrame, year: Filters) -> None:
    planted = truth[(truth["kind"] == "surge")].copy()
    planted["onset"] = pd.to_datetime(planted["span_start"]).dt.date
    planted["stop"] = pd.to_datetime(planted["span_end"]).dt.date
    planted = planted[(planted["onset"] >= year.start) & (planted["onset"] <= year.end)]
    t0 = time.perf_counter()
    # the surge test alone (service.alerts would also group a year of text to link the hot issues)
    counts = corpus.daily_counts(service.store, year, year.start - dt.timedelta(weeks=surges.BASELINE_WEEKS), year.end)
    alerts = surges.detect(counts, year.start, year.end, NOW.date())
    took = time.perf_counter() - t0
    hits = active = 0  # an alert of the series starting within 1 day of onset; one on alert within 1 day of it
    for row in planted.itertuples():
        series = [a for a in alerts if a["province_code"] == row.province and a["category"] == row.category]
        hits += any(abs((dt.date.fromisoformat(a["start"]) - row.onset).days) <= 1 for a in series)
        active += any(
            dt.date.fromisoformat(a["start"]) <= row.onset + dt.timedelta(days=1)
            and dt.date.fromisoformat(a["last_day"]) >= row.onset - dt.timedelta(days=1)
            for a in series
        )
    false = explained = 0
    hot = truth[truth["kind"] == "hot"].assign(
        first=lambda t: pd.to_datetime(t["span_start"]).dt.date, last=lambda t: pd.to_datetime(t["span_end"]).dt.date
    )
    for a in alerts:
        if a["city"]:
            continue
        start, last = dt.date.fromisoformat(a["start"]), dt.date.fromisoformat(a["last_day"])
        series = planted[(planted["province"] == a["province_code"]) & (planted["category"] == a["category"])]
        overlaps = (
            (series["onset"] - dt.timedelta(days=1) <= last) & (series["stop"] + dt.timedelta(days=1) >= start)
        ).any()
        if overlaps:
            continue
        false += 1
        crowd = hot[(hot["province"] == a["province_code"]) & (hot["category"] == a["category"])]
        explained += bool(((crowd["first"] <= last) & (crowd["last"] >= start)).any())
    years = ((year.end - year.start).days + 1) / 365
    print(
        f"surges: {len(planted)} planted, {len(alerts)} alerts ({sum(not a['city'] for a in alerts)} province-level);"
        f" recall: an alert starting within 1 day of onset {hits / max(1, len(planted)):.3f}, the series on alert"
        f" within 1 day of onset {active / max(1, len(planted)):.3f} (target >= 0.9); false alarms"
        f" {false} = {false / 31 / years:.2f} per province per year (target <= 1), of which {explained} while a"
        f" planted hot issue of the same province and domain was running (its messages are a real rise; the alert"
        f" links it): unexplained {(false - explained) / 31 / years:.2f} per province per year; {took:.1f} s"
    )


def repeat_figures(service: Insight, truth: pd.DataFrame, months: list[str]) -> None:
    """Pairs found (every pair of a group, earlier first) against the truth's repeat pairs: all of them (the planted
    ones and the ones the generator drew by chance that meet the same definition) and the planted ones alone."""
    rows = truth[truth["kind"] == "repeat"]
    start, end = month_bounds(months[0])[0], month_bounds(months[-1])[1]
    later = pd.to_datetime(rows["span_end"])  # a pair's span ends at its later message
    restated = ((later >= pd.Timestamp(start)) & (later < pd.Timestamp(end + dt.timedelta(days=1)))).to_numpy()
    planted = rows["story"].notna().to_numpy()  # the drawn pairs have no story
    pairs = [tuple(sorted(m)) for m in rows["members"]]
    t0 = time.perf_counter()
    result = service.repeats(Filters(start, end))
    took = time.perf_counter() - t0
    found = set()
    for g in result["groups"]:
        ids = sorted(g["message_ids"])
        found.update((ids[i], ids[j]) for i in range(len(ids)) for j in range(i + 1, len(ids)))
    print(
        f"repeats {start}..{end}: {len(found):,} pairs found; truth (all time) {len(pairs):,} pairs, "
        f"{int(planted.sum()):,} planted; rate {result['repeat_rate']}; {took:.1f} s"
    )
    if planted.all():
        print("  (this demo's truth lists the planted pairs only: generated before the drawn ones were recorded)")
    for label, chosen in (("complete truth", np.ones(len(pairs), bool)), ("planted only", planted)):
        truth_pairs = {p for p, keep in zip(pairs, chosen, strict=True) if keep}
        reachable = {p for p, keep in zip(pairs, chosen & restated, strict=True) if keep}
        print(
            f"repeats, {label}: precision {len(found & truth_pairs) / max(1, len(found)):.3f} "
            f"({len(found & truth_pairs):,} of {len(found):,} found; target >= 0.9), recall "
            f"{len(found & reachable) / max(1, len(reachable)):.3f} ({len(found & reachable):,} of {len(reachable):,} "
            f"pairs restated in the range; target >= 0.85)"
        )
    ceiling = (planted & restated).sum() / max(1, restated.sum())
    print(f"  a detector finding exactly the complete truth would score precision {ceiling:.3f} on planted pairs alone")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", required=True)
    parser.add_argument("--months", default="2026-09,2026-10")
    parser.add_argument("--year-end", default="2026-10-31")
    parser.add_argument("--parts", default="hot,surges,repeats,words", help="which figures (comma-separated)")
    args = parser.parse_args()
    parts = set(args.parts.split(","))
    print(f"load: {os.getloadavg()}")
    store = Store(args.db, read_only=True)
    truth = store.df("SELECT * FROM demo_truth")
    print(f"demo_truth: {truth['kind'].value_counts().to_dict()}")
    months = args.months.split(",")
    service = Insight(store, clock=lambda: NOW)
    hot_members = [m for ms in truth.loc[truth["kind"] == "hot", "members"] for m in ms]
    created = store.df(
        "SELECT message_id, created_at FROM messages WHERE message_id IN (SELECT unnest($ids))", {"ids": hot_members}
    ).set_index("message_id")["created_at"]
    if "hot" in parts:
        hot_issue_figures(service, truth, created, months)
    year_end = dt.date.fromisoformat(args.year_end)
    if "surges" in parts:
        surge_figures(service, truth, Filters(year_end - dt.timedelta(days=364), year_end))
    start, end = month_bounds(months[0])[0], month_bounds(months[-1])[1]
    if "words" in parts:
        hot_word_figures(service, truth, created, start, end)
    if "repeats" in parts:
        repeat_figures(service, truth, months)


def hot_word_figures(
    service: Insight, truth: pd.DataFrame, created: pd.Series, start: dt.date, end: dt.date, sample: int = 20
) -> None:
    """Planted problems (largest first) whose busiest week lies in start..end: is a word of the problem's topic, or
    its place (a place term names its city: insight.hotwords.in_city), among that week's top 10 rising words? Twice:
    for the week of the problem's busiest day (the target's figure), and for the week its messages rose most over
    the week before (a problem already as big the week before is not rising in its busiest week: no list of rising
    words holds it, which the first figure counts as a miss)."""
    hot = truth[truth["kind"] == "hot"].sort_values("size", ascending=False)
    figures = {"busiest day's week": [0, 0, 0], "week of the largest rise": [0, 0, 0]}
    for row in hot.itertuples():
        days = created.reindex(list(row.members)).dropna().dt.date
        if days.empty:
            continue
        mondays = pd.Series([d - dt.timedelta(days=d.weekday()) for d in days]).value_counts()
        peak = pd.Series(days).value_counts().idxmax()
        rise = {m: n - mondays.get(m - dt.timedelta(weeks=1), 0) for m, n in mondays.items() if n >= 20}
        weeks = {"busiest day's week": peak - dt.timedelta(days=peak.weekday())}
        if rise:
            weeks["week of the largest rise"] = max(rise, key=lambda m: (rise[m], m))
        for label, monday in weeks.items():
            tally = figures[label]
            if tally[1] >= sample or not (start <= monday and monday + dt.timedelta(days=6) <= end):
                continue
            if mondays.get(monday, 0) < 20:
                continue
            top = [w["word"] for w in service.hot_words(Filters(monday, monday + dt.timedelta(days=6)), 10)["words"]]
            place = hotwords.in_city(row.name or "", row.city or "")
            tally[0] += any(w == place or ("（" not in w and w in (row.topic or "") + (row.name or "")) for w in top)
            tally[1] += 1
            tally[2] += mondays.get(monday, 0) <= mondays.get(monday - dt.timedelta(weeks=1), 0)
    for label, (hits, tried, falling) in figures.items():
        print(
            f"hot words, {label}: a topic or place word among the week's top 10 for {hits} of {tried} planted "
            f"problems (target: all); in {falling} of them the problem had no more messages than the week before"
        )


if __name__ == "__main__":
    main()
