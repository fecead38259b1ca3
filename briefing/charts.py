"""The briefing's charts: the screens' own figure functions in a print theme, rendered to SVG (vector in the
PDF) or PNG at 2x (Word) by kaleido with the system Chromium, one browser for all charts of a briefing."""

from __future__ import annotations

import asyncio
import copy
import json
import tempfile
from dataclasses import replace
from pathlib import Path

import kaleido

from briefing.content import Brief
from dashboard import figures, geo
from dashboard.theme import WALL

PRINT = replace(
    WALL,
    name="print",
    background="#ffffff",
    panel="#ffffff",
    border="#b8c4d6",
    text="#1d2733",
    muted="#5b6778",
    grid="rgba(60, 80, 110, 0.15)",
    accent="#1f5fbf",
    accent2="#d9822b",
    prev="rgba(90, 100, 120, 0.6)",
    no_data="#d9dde3",
    inset_land="#eef2f7",
    land_edge="rgba(40, 60, 90, 0.55)",
    maritime="#2f6db5",
    colorscale=((0.0, "#e8f1fb"), (0.35, "#a9cbee"), (0.7, "#4d8fd6"), (1.0, "#12407f")),
)
SIZES = {"map": (900, 560), "trend": (900, 300), "categories": (900, 330)}
# Plotly's geo draws its world topology under the map unless told not to; it is never fetched (offline).
_EMPTY_TOPOLOGY = {"type": "Topology", "objects": {}, "arcs": []}


def specs(brief: Brief) -> dict[str, dict]:
    """Figure dicts by name; a province briefing has no national map."""
    out = {
        "trend": figures.trend(brief.trend, PRINT, "zh", "day" if brief.period.days <= 92 else "week"),
        "categories": figures.categories(brief.categories, PRINT, "zh", top=10),
    }
    if brief.province is None:
        out["map"] = figures.china_map(brief.provinces, "messages_per_10k", PRINT, "zh", geo.geojson(), inset=True)
    _for_print(out["trend"], brief.period.days)
    for name, spec in out.items():
        width, height = SIZES[name]
        spec["layout"].update(width=width, height=height, paper_bgcolor="#ffffff", hovermode=False)
    return out


def _for_print(trend: dict, days: int) -> None:
    """Straight lines without fill (a smoothed curve invents values between days) and a tick per day or week."""
    for trace in trend["data"]:
        trace.pop("fill", None)
        if "line" in trace:
            trace["line"]["shape"] = "linear"
            trace["mode"] = "lines+markers" if days <= 31 else "lines"
            trace["marker"] = {"size": 4}
    trend["layout"]["xaxis"].update(dtick=86_400_000 if days <= 14 else 7 * 86_400_000, tickformat="%-m/%-d")


# kaleido 1.x may take the blank page's script context when Chromium commits its page slowly (a busy machine): the
# first figure then fails with "kaleido_scopes is not defined". A new session loads the page again.
SESSION_TRIES = 3


def render(figs: dict[str, dict], fmt: str = "svg") -> dict[str, bytes]:
    """Each figure as SVG or PNG (scale 2), in one Chromium session (another when the page did not load)."""
    for _ in range(SESSION_TRIES - 1):
        try:
            return asyncio.run(_render(figs, fmt))
        except RuntimeError as error:  # kaleido's JavascriptError
            if "kaleido_scopes is not defined" not in str(error):
                raise
    return asyncio.run(_render(figs, fmt))


async def _render(figs: dict[str, dict], fmt: str) -> dict[str, bytes]:
    out = {}
    with tempfile.TemporaryDirectory(prefix="liuyan-topo-") as topo:
        for resolution in ("110m", "50m"):
            (Path(topo) / f"world_{resolution}.json").write_text(json.dumps(_EMPTY_TOPOLOGY))
        async with kaleido.Kaleido(n=1) as k:
            for name, spec in figs.items():
                spec = copy.deepcopy(spec)
                width, height = spec["layout"]["width"], spec["layout"]["height"]
                opts = {"format": fmt, "width": width, "height": height, "scale": 2 if fmt == "png" else 1}
                out[name] = await k.calc_fig(spec, opts=opts, topojson=Path(topo).as_uri() + "/")
    return out
