"""The wall's KPI cards, from the metric catalog (queries/catalog.py): the metrics of the screen's period
(catalog.WALL_KPIS) after today's cards, each card's format, unit and YoY taken from the metric's declaration.

A card's key names its value in the WALL_KPI store (and its YoY: key + "_yoy"); assets/wall.js renders each
value into the element of id ids.kpi_value(key).
"""

from __future__ import annotations

from dataclasses import dataclass

from dashboard import i18n, ids
from queries import catalog

# today's cards, each with a second metric of today on its last line
TODAY = {"messages": "pending", "replies": "median_reply_hours"}


@dataclass(frozen=True)
class Card:
    metric: str  # a count, rate or measure of the catalog
    today: bool = False  # today's value (else the screen's period)

    @property
    def key(self) -> str:
        return f"today_{self.metric}" if self.today else self.metric

    @property
    def fmt(self) -> str:
        return catalog.shown(self.metric)[0]

    @property
    def unit_key(self) -> str | None:
        unit = catalog.shown(self.metric)[2]
        return f"unit_{unit}" if unit else None

    @property
    def yoy(self) -> bool:
        """Shows its growth on a year earlier (counts and measures compared as growth; a day is not)."""
        return not self.today and catalog.shown(self.metric)[1] == "yoy"

    @property
    def sub(self) -> Card | None:
        return Card(TODAY[self.metric], today=True) if self.today else None

    @property
    def big(self) -> bool:
        """A card of the top row: today's, and the period's counts."""
        return self.today or self.metric in catalog.COUNT

    def label(self, lang: str) -> str:
        """Today's cards have the wall's wording (dashboard/i18n.py); the period's, the catalog's name."""
        return i18n.t(self.key, lang) if self.today else catalog.label(self.metric, lang)


CARDS = tuple(Card(metric, today=True) for metric in TODAY) + tuple(Card(metric) for metric in catalog.WALL_KPIS)
SHOWN = CARDS + tuple(card.sub for card in CARDS if card.sub)  # every value shown, second lines included
VALUE_IDS = {card.key: ids.kpi_value(card.key) for card in SHOWN}
YOY_IDS = {card.key: ids.kpi_yoy(card.key) for card in SHOWN if card.yoy}


def values(summary: dict, today_summary: dict) -> dict:
    """The WALL_KPI store's values: each card's metric from today's summary or the period's, and the YoY."""
    out = {card.key: (today_summary if card.today else summary)[card.metric] for card in SHOWN}
    out.update({f"{card.key}_yoy": summary[f"{card.metric}_yoy"] for card in SHOWN if card.yoy})
    return out
