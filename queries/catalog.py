"""Every metric, declared once.

A *count* is summed from messages: `expr` is a SQL expression over one message's state (the columns
`created_at, province, city, category, msg_type, is_urgent, source_status, first_reply_at, rated_at,
verdict`) that is 1/true when the message counts, on the day of its component (`created`: creation day,
`answered`: first-reply day, `rated`: rating day). A *rate* divides two counts. From these declarations
queries/rollup_sql.py writes the rollup columns, the rebuild and increment SQL and the read SQL; the API,
the analyst's cards, tables and downloads take their fields, labels and formats from here.

Adding a counted metric: one `Count` here (and, to show it, its name in a screen's list below). The store
adds the rollup column and backfills it when it opens the file (queries/db.py `align_rollups`).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Component:
    """The day a message is counted on, and where the rebuild reads its rows."""

    name: str
    day: str  # timestamp column of the state whose day keys the row
    source: str  # relation with the state columns, for rebuilds from raw rows


COMPONENTS = {
    "created": Component("created", "created_at", "messages"),
    "answered": Component("answered", "first_reply_at", "messages"),
    "rated": Component(
        "rated",
        "rated_at",
        "(SELECT m.created_at, m.province, m.city, m.category, m.msg_type, m.is_urgent, m.source_status, "
        "m.first_reply_at, e.rated_at, e.verdict FROM evaluations e JOIN messages m USING (message_id))",
    ),
}


@dataclass(frozen=True)
class Count:
    name: str
    on: str  # component
    expr: str  # SQL over a message's state: 1/true when it counts
    zh: str
    en: str
    tip_zh: str
    tip_en: str
    unit: str = "items"  # unit label key (dashboard/i18n.py `unit_<unit>`), "" for none
    fmt: str = "int"
    higher_is_better: bool | None = None


@dataclass(frozen=True)
class Rate:
    name: str
    numerator: str
    denominator: str
    zh: str
    en: str
    tip_zh: str
    tip_en: str
    fmt: str = "pct"
    higher_is_better: bool | None = True


COUNTS: tuple[Count, ...] = (
    Count(
        "messages", "created", "TRUE", "留言总量", "Messages",
        "留言总量：统计周期内（北京时间，含首尾两日）提交的留言件数。",
        "Messages: messages posted in the period (Beijing dates, both ends included).",
    ),
    Count(
        "replied", "created", "first_reply_at IS NOT NULL", "已回复留言", "Answered messages",
        "本期提交的留言中目前已有回复的件数。", "Messages posted in the period that have a reply by now.",
        higher_is_better=True,
    ),
    Count(
        "replied_24h", "created", "first_reply_at IS NOT NULL AND first_reply_at <= created_at + INTERVAL 24 HOUR",
        "24小时内回复", "Answered within 24 h",
        "本期提交的留言中，首次回复在提交后24小时内（含）的件数。",
        "Messages posted in the period whose first reply came within 24 hours of posting.",
        higher_is_better=True,
    ),
    Count(
        "pending", "created", "first_reply_at IS NULL AND coalesce(source_status, '待回复') = '待回复'",
        "待回复", "Awaiting reply", "本期提交、尚无回复且未在办理中的留言件数。",
        "Messages posted in the period with no reply and not in progress.", higher_is_better=False,
    ),
    Count(
        "in_progress", "created", "coalesce(source_status = '办理中', FALSE)", "办理中", "In progress",
        "本期提交、来源标为办理中的留言件数。", "Messages posted in the period that the source marks in progress.",
    ),
    Count(
        "urgent_messages", "created", "is_urgent", "急难愁盼", "Urgent",
        "本期提交的急难愁盼留言件数。", "Messages posted in the period flagged urgent.",
    ),
    Count(
        "replies", "answered", "TRUE", "回复总量", "Replies",
        "回复总量：首次回复发布时间在统计周期内的留言件数；一件留言无论回复几次只计一次。",
        "Replies: messages whose first reply was published in the period, counted once however many replies they "
        "have.",
        higher_is_better=True,
    ),
    Count(
        "evaluations", "rated", "verdict IS NOT NULL", "评价数", "Evaluations",
        "统计周期内作出的、有满意与否结论的评价件数。", "Evaluations rated in the period with a verdict.", unit="",
    ),
    Count(
        "satisfied", "rated", "coalesce(verdict, FALSE)", "满意评价", "Satisfied",
        "统计周期内的满意评价件数。", "Satisfied evaluations rated in the period.", unit="", higher_is_better=True,
    ),
)  # fmt: skip

RATES: tuple[Rate, ...] = (
    Rate(
        "reply_ratio", "replies", "messages", "回复/留言比", "Reply ratio",
        "回复/留言比 = 回复总量 ÷ 同期留言总量（平台“回应”与“留言”之比，可大于 1）。",
        "Reply ratio = replies ÷ messages of the same period (can exceed 1).",
    ),
    Rate(
        "reply_rate", "replied", "messages", "回复率", "Reply rate",
        "回复率：本期提交的留言中，截至现在已有至少一条回复的比例。",
        "Reply rate: share of the period's messages that have at least one reply by now.",
    ),
    Rate(
        "reply_24h_rate", "replied_24h", "messages", "24小时回复率", "Answered within 24 h",
        "本期提交的留言中，24小时内（含）得到首次回复的比例。",
        "Share of the period's messages whose first reply came within 24 hours.",
    ),
    Rate(
        "satisfaction_rate", "satisfied", "evaluations", "群众满意度", "Satisfaction",
        "群众满意度：统计周期内作出的评价中满意的比例；只有星级评分时，三项评分平均 ≥ 4 视为满意。",
        "Satisfaction: share of the evaluations made in the period that are satisfied (where only star scores exist: "
        "their mean ≥ 4).",
    ),
)  # fmt: skip


@dataclass(frozen=True)
class Measure:
    """A metric computed beside the counts (queries/metrics.py: the median, per-10k figures, new units and
    leaders), declared for the screens. {census} in a tip is the census the per-10k figures use."""

    name: str
    fmt: str
    change: str  # compared with another period as growth ("yoy") or as a difference in hours ("hours")
    zh: str
    en: str
    tip_zh: str
    tip_en: str
    unit: str = ""  # unit label key (dashboard/i18n.py `unit_<unit>`), "" for none


MEASURES: tuple[Measure, ...] = (
    Measure(
        "median_reply_hours", "hours", "hours", "回复用时中位数", "Median reply time",
        "回复用时中位数：计入回复总量的留言，从提交到首次回复的用时（小时）的中位数。",
        "Median reply time: median hours from posting to first reply, over the messages counted in replies.",
        "hours",
    ),
    Measure(
        "messages_per_10k", "per10k", "yoy", "每万人留言数", "Messages per 10,000 people",
        "每万人留言数 = 留言总量 ÷ 常住人口 × 10000；人口采用{census}，全国为31个省份合计。",
        "Messages per 10,000 people = messages ÷ population × 10,000, population from the {census}; nationally "
        "the sum of the 31 provinces.",
    ),
    Measure(
        "replies_per_10k", "per10k", "yoy", "每万人回复数", "Replies per 10,000 people",
        "每万人回复数 = 回复总量 ÷ 常住人口 × 10000；人口采用{census}，全国为31个省份合计。",
        "Replies per 10,000 people = replies ÷ population × 10,000, population from the {census}; nationally "
        "the sum of the 31 provinces.",
    ),
    Measure(
        "new_units", "int", "yoy", "新入驻单位", "New units",
        "新入驻单位：入驻时间在统计周期内的单位数（仅按省份筛选）。",
        "New units: units that joined in the period (filtered by province only).", "units",
    ),
    Measure(
        "new_leaders", "int", "yoy", "新入驻领导", "New leaders",
        "新入驻领导：入驻时间在统计周期内的领导数（仅按省份筛选）。",
        "New leaders: leaders who joined in the period (filtered by province only).", "people",
    ),
)  # fmt: skip

PER_10K = ("messages", "replies")  # counts shown per 10,000 people
# Periods every count is summed over: suffix -> the Filters parameter prefix (current, a year earlier, 环比).
PERIODS = {"": "", "_prev": "prev_", "_before": "before_"}
CHANGES = {"_yoy": "_prev", "_pop": "_before"}  # growth of a count against the period of that suffix

COUNT = {c.name: c for c in COUNTS}
RATE = {r.name: r for r in RATES}
MEASURE = {m.name: m for m in MEASURES}

# Rollup tables: key columns and counts (identifiers of this allow-list only).
FINE_KEYS = ("day", "province", "category", "msg_type", "is_urgent")
COARSE = {
    "province": ("day", "province"),
    "category": ("day", "category"),
    "type": ("day", "msg_type"),
    # questions filtered by provinces and domains, or by domains and grouped by province
    "province_category": ("day", "province", "category"),
}
# Rollups keyed by a column the fine tables lack, every count summed from the message states themselves (not from
# the fine tables): the city table of the drill-down, with every filter's column.
WIDE = {
    "city": ("day", "province", "city", "category", "msg_type", "is_urgent"),
}


def counts_on(component: str) -> tuple[str, ...]:
    return tuple(c.name for c in COUNTS if c.on == component)


def tables() -> dict[str, tuple[tuple[str, ...], tuple[str, ...]]]:
    """{rollup table suffix: (keys, counts)}: the fine tables per component, the coarse and wide ones with every
    count."""
    out = {name: (FINE_KEYS, counts_on(name)) for name in COMPONENTS}
    out.update({name: (keys, tuple(c.name for c in COUNTS)) for name, keys in {**COARSE, **WIDE}.items()})
    return out


TABLES = tables()

# What the screens show, in order (names of counts, rates, or the other metrics of queries/metrics.py).
ANALYST_KPIS = (
    "messages",
    "replies",
    "reply_ratio",
    "reply_rate",
    "reply_24h_rate",
    "median_reply_hours",
    "satisfaction_rate",
    "messages_per_10k",
    "replies_per_10k",
    "new_units",
    "new_leaders",
)
# The wall's cards of the screen's period (dashboard/wall/kpis.py adds today's); counts in the top row.
WALL_KPIS = (
    "messages",
    "replies",
    "reply_ratio",
    "median_reply_hours",
    "satisfaction_rate",
    "new_units",
    "new_leaders",
)
RANKING_RATES = ("reply_ratio", "reply_rate", "reply_24h_rate")  # the province table's rate columns
RANKING_COUNTS = ("replied_24h",)  # further counts in the province table (with YoY and 环比)


def _declared(name: str) -> Count | Rate | Measure | None:
    return COUNT.get(name) or RATE.get(name) or MEASURE.get(name)


def label(name: str, lang: str) -> str | None:
    """The metric's name on every screen, in downloads and in the briefing."""
    item = _declared(name)
    return None if item is None else (item.en if lang == "en" else item.zh)


def tooltip(name: str, lang: str) -> str | None:
    """The metric's definition ({census} left for the caller in per-10k figures)."""
    item = _declared(name)
    return None if item is None else (item.tip_en if lang == "en" else item.tip_zh)


def shown(name: str) -> tuple[str, str, str]:
    """(number format, change against another period: "yoy" growth, "pp" points or "hours", unit key or "") of a
    metric a screen shows: a count, a rate or a measure."""
    if name in COUNT:
        return COUNT[name].fmt, "yoy", COUNT[name].unit
    if name in RATE:
        return RATE[name].fmt, "pp", ""
    measure = MEASURE[name]
    return measure.fmt, measure.change, measure.unit
