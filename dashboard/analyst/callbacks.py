"""The analyst workspace's behaviour, one module per concern: URL <-> filters (sync.py), the page's frame
(header.py), the overview, drill-down and compare views (overview.py, drill.py, compare.py), and downloads
(downloads.py); the tables of every view come from one builder (grids.py).

Every panel is drawn from the STATE store alone, through the cached metric service (queries/service.py), so
a link reproduces the view and the numbers are the JSON API's for the same parameters
(dashboard/analyst/state.api_params).
"""

from __future__ import annotations

import logging

from dash import Dash

from dashboard import geo
from dashboard.analyst import compare, downloads, drill, grids, header, overview, sync
from dashboard.analyst import messages as message_list
from queries.service import Metrics
from settings import Settings

log = logging.getLogger(__name__)


def register(app: Dash, metrics: Metrics, settings: Settings, more_tables=None) -> None:
    """`more_tables(name, state)`: the tables of other tabs, for their downloads (the 督办 and 热点 tabs')."""
    geo.register(app.server)
    message_list.register(app, metrics, settings)

    def known_values() -> dict | None:
        try:
            return metrics.dimension_values()
        except Exception:
            log.exception("analyst: domain and type lists unavailable")
            return None

    build = grids.builder(metrics, settings, more_tables)
    sync.register(app, settings, known_values)
    header.register(app, metrics, settings)
    overview.register(app, metrics, settings, build)
    drill.register(app, metrics, settings, build)
    compare.register(app, metrics, settings, build)
    downloads.register(app, settings, build)
