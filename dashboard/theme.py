"""The dark big-screen theme: colours, fonts and the plotly template (a plain dict).

The CSS in assets/wall.css uses the same colours (as CSS variables); the two
must agree. Fonts are local system fonts only (Noto Sans CJK SC is installed
with the app); nothing is fetched from the network.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

FONT_FAMILY = (
    '"Noto Sans CJK SC", "Noto Sans SC", "Source Han Sans SC", "PingFang SC", '
    '"Microsoft YaHei", "WenQuanYi Micro Hei", "DejaVu Sans", sans-serif'
)
NUMBER_FAMILY = '"DIN Alternate", "Bahnschrift", "Roboto Condensed", "Noto Sans CJK SC", "DejaVu Sans", sans-serif'


@dataclass(frozen=True)
class Theme:
    name: str = "wall"
    background: str = "#020b1f"
    panel: str = "rgba(7, 33, 77, 0.55)"
    border: str = "rgba(30, 200, 255, 0.35)"
    text: str = "#e6f4ff"
    muted: str = "#8fb3d9"
    grid: str = "rgba(120, 180, 255, 0.12)"
    accent: str = "#00e5ff"  # messages
    accent2: str = "#ffc53d"  # replies
    prev: str = "rgba(143, 179, 217, 0.55)"  # a year earlier
    up: str = "#ff7a45"  # Chinese convention: rising in warm colours
    no_data: str = "#3a4658"
    inset_land: str = "#12315f"
    land_edge: str = "rgba(160, 230, 255, 0.75)"
    maritime: str = "#5ad8ff"
    font_family: str = FONT_FAMILY
    number_family: str = NUMBER_FAMILY
    font_size: int = 14
    # Low values in deep blue rising to cyan, the highest in gold.
    colorscale: tuple = (
        (0.0, "#0b2a5b"),
        (0.25, "#0f4c9a"),
        (0.5, "#1784d4"),
        (0.72, "#22c3ee"),
        (0.88, "#8ff3ff"),
        (1.0, "#ffe27a"),
    )
    colorway: tuple = (
        "#00e5ff",
        "#ffc53d",
        "#36cfc9",
        "#597ef7",
        "#ff7a45",
        "#9254de",
        "#73d13d",
        "#f759ab",
        "#40a9ff",
        "#ffd666",
        "#5cdbd3",
        "#adc6ff",
    )

    @cached_property
    def template(self) -> dict:
        """The plotly template as a plain dict (figures are built as dicts: no plotly object validation)."""
        axis = dict(
            gridcolor=self.grid,
            linecolor=self.grid,
            zerolinecolor=self.grid,
            tickcolor=self.grid,
            tickfont=dict(color=self.muted, size=self.font_size - 1),
            title=dict(font=dict(color=self.muted)),
            automargin=True,
        )
        return {
            "layout": dict(
                font=dict(family=self.font_family, color=self.text, size=self.font_size),
                paper_bgcolor="rgba(0,0,0,0)",
                plot_bgcolor="rgba(0,0,0,0)",
                colorway=list(self.colorway),
                xaxis=axis,
                yaxis=axis,
                legend=dict(font=dict(color=self.muted, size=self.font_size - 1), bgcolor="rgba(0,0,0,0)"),
                hoverlabel=dict(bgcolor="#0a2a5c", bordercolor=self.accent, font=dict(color=self.text)),
                margin=dict(l=8, r=8, t=8, b=8),
            )
        }


WALL = Theme()
