"""The wall's story: surges now, the hot issues of the last days and the units' red and black lists, for the nation
or one province. Text analysis takes seconds, a wall tick milliseconds: each scope's story is computed in the
background (one at a time) at most every `refresh_seconds`, and a tick shows the latest one. Items that were not in
the scope's previous story are marked new, for a calm highlight."""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor

from queries.masking import mask_text
from queries.periods import Filters

log = logging.getLogger(__name__)

ISSUE_DAYS = 7  # hot issues of the last week
ALERT_DAYS = 14  # surges that started in the last two weeks and still last (or ended yesterday)
UNIT_DAYS = 30  # the league of the last 30 days
SHOWN = 4


class Story:
    def __init__(self, insight, supervision, clock, refresh_seconds: float = 60.0, lull=None):
        self.insight = insight
        # lull(timeout): waits (at most timeout seconds) for a pause in the writes; the analysis then starts, so
        # that a burst of writes keeps the cores (the story is at most one interval later)
        self.lull = lull
        self.supervision = supervision
        self.clock = clock
        self.refresh_seconds = refresh_seconds
        self._stories: dict[int | None, tuple[float, int, dict]] = {}  # scope -> (computed at, version, story)
        self._running: set = set()
        self._guard = threading.Lock()
        self._pool: ThreadPoolExecutor | None = None

    def get(self, province: int | None) -> tuple[int, dict | None]:
        """(version, story) of a scope now; starts a background computation when missing or stale."""
        with self._guard:
            computed_at, version, story = self._stories.get(province, (0.0, 0, None))
            stale = time.monotonic() - computed_at > self.refresh_seconds
            if stale and province not in self._running:
                self._running.add(province)
                if self._pool is None:
                    self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="wall-story")
                self._pool.submit(self._refresh, province)
        return version, story

    def stamp(self) -> int:
        """A number that grows whenever any scope's story changes; starts the refresh of stale scopes (the scale-out
        writer polls it, having no wall tick of its own)."""
        with self._guard:
            scopes = list(self._stories)
        return sum(self.get(scope)[0] for scope in scopes)

    def _refresh(self, province: int | None) -> None:
        try:
            if self.lull is not None:
                self.lull(self.refresh_seconds)
            story = self.compute(province, self.clock().date())
        except Exception:  # the wall keeps its last story; the next tick tries again after the interval
            log.exception("wall story failed")
            story = None
        with self._guard:
            self._running.discard(province)
            _, version, previous = self._stories.get(province, (0.0, 0, None))
            if story is None:
                self._stories[province] = (time.monotonic(), version, previous)
                return
            _mark_new(story, previous)
            changed = previous is None or _plain(story) != _plain(previous)
            self._stories[province] = (time.monotonic(), version + changed, story if changed else previous)

    def compute(self, province: int | None, today: dt.date) -> dict:
        scope = (province,) if province else ()
        issues = self.insight.hot_issues(
            Filters(today - dt.timedelta(days=ISSUE_DAYS - 1), today, provinces=scope), limit=SHOWN
        )["issues"]
        alerts = self.insight.alerts(Filters(today - dt.timedelta(days=ALERT_DAYS - 1), today, provinces=scope))
        now_or_lately = [a for a in alerts["alerts"] if not a.get("end") or a["end"] >= str(today - dt.timedelta(1))]
        titles = {i["id"]: i["title"] for i in issues}
        league = self.supervision.league(Filters(today - dt.timedelta(days=UNIT_DAYS - 1), today, provinces=scope))
        ranked = league[league["rank"].notna()].sort_values("rank")
        return {
            "issues": [_issue(i) for i in issues],
            "alerts": [_alert(a, titles) for a in sorted(now_or_lately, key=lambda a: -float(a["ratio"]))[:SHOWN]],
            "best": [_unit(r) for _, r in ranked.head(3).iterrows()],
            "worst": [_unit(r) for _, r in ranked.iloc[::-1].head(3).iterrows()],
        }


def _issue(issue: dict) -> dict:
    place = issue.get("place") or issue.get("city") or issue.get("province") or ""
    return {
        "key": f"i{issue['id']}",
        "title": mask_text(issue.get("title"), 24),
        "place": mask_text(place, 14),
        "messages": int(issue.get("messages") or 0),
        "heat": round(float(issue.get("heat") or 0), 1),
    }


def _alert(alert: dict, titles: dict) -> dict:
    cause = next((titles[i] for i in alert.get("issue_ids", []) if i in titles), "")
    words = "、".join((alert.get("top_words") or [])[:3])
    return {
        "key": f"a{alert.get('province')}{alert.get('city')}{alert.get('category')}{alert.get('start')}",
        "place": mask_text(f"{alert.get('province') or ''}{alert.get('city') or ''}", 14),
        "category": mask_text(alert.get("category"), 8),
        "ratio": round(float(alert.get("ratio") or 0), 1),
        "since": str(alert.get("start") or "")[5:],
        "cause": mask_text(cause or words, 22),
    }


def _unit(row) -> dict:
    return {
        "key": f"u{row['unit']}",
        "unit": mask_text(row["unit"], 16),
        "score": None if row["score"] != row["score"] else round(float(row["score"]), 1),
        "satisfaction": None
        if row["satisfaction_rate"] != row["satisfaction_rate"]
        else float(row["satisfaction_rate"]),
    }


def _mark_new(story: dict, previous: dict | None) -> None:
    """An item is new when its key was not in the scope's previous story (nothing is new on the first)."""
    for part in ("issues", "alerts"):
        before = {item["key"] for item in (previous or {}).get(part, [])}
        for item in story[part]:
            item["new"] = previous is not None and item["key"] not in before


def _plain(story: dict) -> dict:
    return {k: [{f: v for f, v in item.items() if f != "new"} for item in items] for k, items in story.items()}
