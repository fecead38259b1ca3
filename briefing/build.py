"""A briefing end to end: gather, chart, write, print (PDF) or save (Word)."""

from __future__ import annotations

import datetime as dt

from briefing import charts, content, html, outline, pdf, word
from briefing.period import BriefPeriod

FORMATS = ("pdf", "docx")


def build(metrics, period: BriefPeriod, province: int | None, now: dt.datetime, fmt: str = "pdf", sections=None):
    """(file bytes, suggested file name)."""
    if fmt not in FORMATS:
        raise ValueError(f"format must be one of {', '.join(FORMATS)}")
    kind = "svg" if fmt == "pdf" else "png"  # vector in the PDF, 2x pictures in Word
    drawn = {}
    brief = content.gather(
        metrics, period, province, now, sections, meanwhile=lambda numbers: drawn.update(draw(numbers, kind))
    )
    blocks = outline.outline(brief)
    if fmt == "pdf":
        data = pdf.html_to_pdf(html.document(blocks, drawn, "svg"))
    else:
        data = word.docx_bytes(blocks, drawn)
    name = f"简报_{brief.place}_{period.start:%Y%m%d}-{period.end:%Y%m%d}.{fmt}"
    return data, name


def draw(brief: content.Brief, kind: str) -> dict[str, bytes]:
    """The charts of the briefing's numbers (its sections are not drawn)."""
    return charts.render(charts.specs(brief), kind)
