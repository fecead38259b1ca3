"""The briefing's story sections from the insight and supervision services (the same cached results their API
endpoints answer with): hot issues with a few example messages, surges, units to commend and to supervise,
good ideas."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

from briefing.content import Sections
from queries.masking import mask_text
from queries.periods import Filters

HOT_ISSUES = 5
EXAMPLES = 3
UNITS = 8
UNIT_DAYS = 90
IDEAS = 6


def providers(insight, supervision) -> Sections:
    """name -> callable(Filters) -> list of dicts, for briefing.content.gather."""
    out: Sections = {}
    if insight is not None:
        out["hot_issues"] = lambda f: _hot_issues(insight, f)
        out["alerts"] = lambda f: insight.alerts(f)["alerts"]
    if supervision is not None:
        out["units_best"] = lambda f: _units(supervision, f, best=True)
        out["units_worst"] = lambda f: _units(supervision, f, best=False)
        out["good_ideas"] = lambda f: _ideas(supervision, f)
    return out


def _hot_issues(insight, f: Filters) -> list[dict]:
    issues = insight.hot_issues(f, limit=HOT_ISSUES)["issues"]
    texts = insight.bodies([m for issue in issues for m in issue.get("message_ids", [])[:EXAMPLES]])
    out = []
    for issue in issues:
        examples = [_example(*texts[m]) for m in issue.get("message_ids", [])[:EXAMPLES] if m in texts]
        out.append({**issue, "examples": [e for e in examples if e]})
    return out


def _example(title: str, content: str) -> str:
    return mask_text(content or title, 90)


def _units(supervision, f: Filters, best: bool) -> list[dict]:
    # a week holds too few ratings to rank a unit fairly: the league of the 90 days up to the period's end
    if (f.end - f.start).days + 1 < UNIT_DAYS:
        f = replace(f, start=f.end - dt.timedelta(days=UNIT_DAYS - 1))
    table = supervision.league(f)
    ranked = table[table["rank"].notna()].sort_values("rank", ascending=best)
    rows = ranked.head(UNITS)
    return [
        {
            "unit": mask_text(r["unit"], 30),
            "answered": r["answered"],
            "on_time_rate": r["on_time_rate"],
            "satisfaction_rate": r["satisfaction_rate"],
            "median_reply_hours": r["median_reply_hours"],
        }
        for _, r in rows.iterrows()
    ]


def _ideas(supervision, f: Filters) -> list[dict]:
    frame = supervision.ideas(f, IDEAS)["by_likes"]
    return [{"title": r["title"], "likes": int(r["likes"]), "adopted": bool(r["adopted"])} for _, r in frame.iterrows()]
