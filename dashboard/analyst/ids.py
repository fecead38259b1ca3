"""Component ids of the analyst page (route /analyst), declared once.

Kept beside the page (dashboard/ids.py holds the wall's); tests and
assets/analyst.js refer to these names.
"""

from __future__ import annotations

ROOT = "analyst"  # the page
URL = "analyst-url"  # dcc.Location (refresh=False): the whole state lives in its search
STATE = "analyst-state"  # dcc.Store: the parsed state (dashboard/analyst/state.py)
PROBLEMS = "analyst-problems"  # message: invalid link parameters that were ignored
ERROR = "analyst-error"  # dcc.Store: which panels failed (dashboard/analyst/panels.py guard)
ERROR_TEXT = "analyst-error-text"  # message: a panel could not be computed
DOWNLOAD = "analyst-download"  # dcc.Download of every table

# filters
PERIOD = "analyst-period"  # RadioItems of the presets + custom
DATES = "analyst-dates"  # DatePickerRange (custom period)
PROVINCES = "analyst-provinces"  # Dropdown (multi): provinces and regions
CATEGORIES = "analyst-categories"  # Dropdown (multi): domains
TYPES = "analyst-types"  # Dropdown (multi): types
URGENT = "analyst-urgent"  # Checklist: urgent only
RESET = "analyst-reset"
COPY = "analyst-copy"  # copy link (clipboard)
BRIEF_PDF = "analyst-brief-pdf"  # the briefing of this view's period and province (GET /api/v1/brief), PDF
BRIEF_DOCX = "analyst-brief-docx"  # the same as a Word file
LANG_LINK = "analyst-lang"
TABS = "analyst-tabs"  # RadioItems overview / compare
PERIOD_LABEL = "analyst-period-label"

# sections
OVERVIEW = "analyst-overview"
DRILL = "analyst-drill"
COMPARE = "analyst-compare"
SUPERVISION = "analyst-supervision"  # the 督办 tab (dashboard/analyst/supervision.py)
SV_AGING_FIG = "analyst-sv-aging-fig"
SV_UNIT_FIG = "analyst-sv-unit-fig"
HOT = "analyst-hot"  # the 热点 tab (dashboard/analyst/hot.py)
HOT_NOTE = "analyst-hot-note"  # what the tab shows (period, counts) once computed
HOT_ISSUES_NOTE = "analyst-hot-issues-note"
HOT_ISSUE_NOTE = "analyst-hot-issue-note"  # the clicked issue: title, place, counts
HOT_ISSUE_FIG = "analyst-hot-issue-fig"  # its messages and replies by day
HOT_ISSUE_BOX = "analyst-hot-issue-box"  # its messages and the one read (hidden until an issue is clicked)
HOT_ISSUE_LIST = "analyst-hot-issue-list"  # its messages (buttons)
HOT_MSG_ITEM = "analyst-hot-msg-item"  # {"type": HOT_MSG_ITEM, "id": message_id}: one of the issue's messages
HOT_MSG_DETAIL = "analyst-hot-msg-detail"  # the message read, with its replies
HOT_ALERTS_NOTE = "analyst-hot-alerts-note"
HOT_ALERT_NOTE = "analyst-hot-alert-note"
HOT_ALERT_FIG = "analyst-hot-alert-fig"  # the surge's days: actual count beside the expected level
HOT_WORDS_NOTE = "analyst-hot-words-note"
HOT_REPEATS_NOTE = "analyst-hot-repeats-note"

# overview
KPIS = "analyst-kpis"
MAP = "analyst-map"
METRIC = "analyst-metric"  # RadioItems: map metric
TREND = "analyst-trend"
GRANULARITY = "analyst-granularity"
CATEGORY_FIG = "analyst-category-fig"
TYPE_FIG = "analyst-type-fig"
FOOTER = "analyst-footer"

# drill-down
BACK = "analyst-back"
DRILL_TITLE = "analyst-drill-title"
DRILL_SELECT = "analyst-drill-select"  # Dropdown: switch the drilled province
DRILL_KPIS = "analyst-drill-kpis"
DRILL_TREND = "analyst-drill-trend"
DRILL_CATEGORY_FIG = "analyst-drill-category-fig"
OVERDUE_NOTE = "analyst-overdue-note"
SLOW_NOTE = "analyst-slow-note"  # the slowest units' threshold

# compare
COMPARE_MODE = "analyst-compare-mode"
B_PERIOD = "analyst-b-period"
B_DATES = "analyst-b-dates"
B_PROVINCES = "analyst-b-provinces"
COMPARE_LABELS = "analyst-compare-labels"
COMPARE_TITLE_A = "analyst-compare-title-a"  # the domain panels' titles
COMPARE_TITLE_B = "analyst-compare-title-b"
COMPARE_FIG_A = "analyst-compare-fig-a"
COMPARE_FIG_B = "analyst-compare-fig-b"
B_PERIOD_BOX = "analyst-b-period-box"
B_PROVINCES_BOX = "analyst-b-provinces-box"

# tables: dash-ag-grid components with pattern-matching ids, and their download buttons
GRID = "analyst-grid"  # {"type": GRID, "table": name}
EXPORT = "analyst-export"  # {"type": EXPORT, "table": name, "fmt": "csv" | "xlsx"}
EXPORT_REQUEST = "analyst-export-request"  # {"table", "fmt", "sort": [[column, "asc" | "desc"], ...]}
TABLES = ("ranking", "cross", "cities", "top_units", "slow_units", "overdue", "compare_metrics", "compare_categories")
# the 督办 tab's tables (dashboard/analyst/supervision.py DOWNLOADS)
TABLES += (
    "sv_league",
    "sv_best",
    "sv_worst",
    "sv_aging_provinces",
    "sv_oldest",
    "sv_reasons",
    "sv_low_units",
    "sv_pool",
    "sv_boiler_texts",
    "sv_quality_units",
    "sv_ideas",
)
# the 热点 tab's lists (dashboard/analyst/hot.py DOWNLOADS)
TABLES += ("hot_issues", "hot_alerts", "hot_words", "hot_frequent", "hot_repeats")


def grid(table: str) -> dict:
    return {"type": GRID, "table": table}


def export(table: str, fmt: str) -> dict:
    return {"type": EXPORT, "table": table, "fmt": fmt}


def kpi_value(prefix: str, name: str) -> str:
    """Id of a KPI card's number: prefix is KPIS or DRILL_KPIS."""
    return f"{prefix}-{name}"


def kpi_yoy(prefix: str, name: str) -> str:
    return f"{prefix}-{name}-yoy"


# drill-down message list (dashboard/analyst/messages.py): search box, list, the message read
MSG_SEARCH = "analyst-msg-search"  # Input (debounced): words that must all occur in title or body
MSG_NOTE = "analyst-msg-note"
MSG_LIST = "analyst-msg-list"
MSG_ITEM = "analyst-msg-item"  # {"type": MSG_ITEM, "id": message_id}: one listed message (a button)
MSG_DETAIL = "analyst-msg-detail"


def kpi_pop(prefix: str, name: str) -> str:
    """Id of a KPI card's 环比 change."""
    return f"{prefix}-{name}-pop"
