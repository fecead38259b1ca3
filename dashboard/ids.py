"""Every component id of the screens, declared once (never assembled from strings).

Assets (assets/*.js, assets/*.css) refer to some of these ids and to the
`data-kpi` names below; keep them in step when renaming.
"""

from __future__ import annotations

# -- wall (智慧大屏, route "/") ------------------------------------------------
WALL = "wall"  # the 1920x1080 canvas
WALL_VIEWPORT = "wall-viewport"  # full-window frame the canvas is scaled into
WALL_CONFIG = "wall-config"  # dcc.Store: kiosk options of this screen (period, metric, rotate, ...)
WALL_STATE = "wall-state"  # dcc.Store: what the screen shows now (view key, metric index)
WALL_TICK = "wall-tick"  # dcc.Interval: refresh
WALL_ROTATE = "wall-rotate"  # dcc.Interval: map metric rotation
WALL_CAROUSEL = "wall-carousel"  # dcc.Interval: province carousel steps
WALL_KPI = "wall-kpi"  # dcc.Store: KPI values, rendered by assets/wall.js (rolling numbers)
WALL_FEED = "wall-feed"  # dcc.Store: live feed items, rendered by assets/wall.js
WALL_META = "wall-meta"  # dcc.Store: freshness, period label
WALL_ERROR = "wall-error"  # dcc.Store: last server-side refresh failure
WALL_SINK = "wall-sink"  # dcc.Store: output of the client-side renderer (unused value)

HEADER_CLOCK = "wall-clock"
HEADER_DATE = "wall-date"
HEADER_PERIOD = "wall-period"
HEADER_FRESHNESS = "wall-freshness"
HEADER_STATUS = "wall-status"

MAP = "wall-map"
MAP_TITLE = "wall-map-title"
RANKING = "wall-ranking"
RANKING_TITLE = "wall-ranking-title"
RANKING_HEAD = "ranking-head"  # the ranking panel's title (provinces, or a province's cities)
MAP_HEAD = "map-head"  # the map panel's title (the nation, or one province)
TREND_DAY = "wall-trend-day"
CATEGORIES = "wall-categories"
TYPES = "wall-types"
STORY_ISSUES = "wall-story-issues"  # hot issues of the last days (dashboard/wall/story.py)
STORY_ALERTS = "wall-story-alerts"  # surges now
STORY_UNITS = "wall-story-units"  # the units' red and black lists
FEED_LIST = "wall-feed-list"

# KPI cards: the value of card NAME is rendered into the element with id KPI_PREFIX + NAME
# by assets/wall.js; these names are the keys of the WALL_KPI store.
KPI_TODAY_MESSAGES = "today_messages"
KPI_TODAY_REPLIES = "today_replies"
KPI_TODAY_PENDING = "today_pending"
KPI_TODAY_MEDIAN_HOURS = "today_median_reply_hours"
KPI_MESSAGES = "messages"
KPI_REPLIES = "replies"
KPI_REPLY_RATIO = "reply_ratio"
KPI_MEDIAN_HOURS = "median_reply_hours"
KPI_SATISFACTION = "satisfaction_rate"
KPI_NEW_UNITS = "new_units"
KPI_NEW_LEADERS = "new_leaders"

KPI_VALUE = {
    KPI_TODAY_MESSAGES: "kpi-today-messages",
    KPI_TODAY_REPLIES: "kpi-today-replies",
    KPI_TODAY_PENDING: "kpi-today-pending",
    KPI_TODAY_MEDIAN_HOURS: "kpi-today-median-reply-hours",
    KPI_MESSAGES: "kpi-messages",
    KPI_REPLIES: "kpi-replies",
    KPI_REPLY_RATIO: "kpi-reply-ratio",
    KPI_MEDIAN_HOURS: "kpi-median-reply-hours",
    KPI_SATISFACTION: "kpi-satisfaction-rate",
    KPI_NEW_UNITS: "kpi-new-units",
    KPI_NEW_LEADERS: "kpi-new-leaders",
}
KPI_YOY = {
    KPI_MESSAGES: "kpi-messages-yoy",
    KPI_REPLIES: "kpi-replies-yoy",
    KPI_NEW_UNITS: "kpi-new-units-yoy",
    KPI_NEW_LEADERS: "kpi-new-leaders-yoy",
}
