"""Every component id of the screens, declared once (never assembled from strings, except the KPI cards',
which follow from their store keys: kpi_value below).

Assets (assets/*.js, assets/*.css) refer to some of these ids; keep them in step when renaming.
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


# KPI cards (dashboard/wall/kpis.py): the value under store key KEY of WALL_KPI is rendered by assets/wall.js
# into the element kpi_value(KEY), its YoY into kpi_yoy(KEY).
def kpi_value(key: str) -> str:
    """e.g. today_messages -> kpi-today-messages."""
    return "kpi-" + key.replace("_", "-")


def kpi_yoy(key: str) -> str:
    return f"{kpi_value(key)}-yoy"
