"""Briefing blocks as a Word document (officials edit briefs in Word): A4, charts as 2x PNG."""

from __future__ import annotations

import io

from docx import Document
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml.ns import qn
from docx.shared import Mm, Pt, RGBColor

from briefing.outline import Block

FONT = "Noto Serif CJK SC"
TEXT_WIDTH_MM = 178


def docx_bytes(blocks: list[Block], charts: dict[str, bytes]) -> bytes:
    doc = Document()
    section = doc.sections[0]
    section.page_width, section.page_height = Mm(210), Mm(297)
    section.left_margin = section.right_margin = Mm(16)
    section.top_margin = section.bottom_margin = Mm(18)
    normal = doc.styles["Normal"]
    normal.font.name, normal.font.size = FONT, Pt(11)
    normal.element.rPr.rFonts.set(qn("w:eastAsia"), FONT)
    for block in blocks:
        _add(doc, block, charts)
    out = io.BytesIO()
    doc.save(out)
    return out.getvalue()


def _add(doc, block: Block, charts: dict[str, bytes]) -> None:
    if block.kind == "title":
        p = doc.add_paragraph()
        p.alignment = WD_ALIGN_PARAGRAPH.CENTER
        run = p.add_run(block.text)
        run.bold, run.font.size, run.font.color.rgb = True, Pt(20), RGBColor(0xA8, 0x07, 0x1A)
    elif block.kind == "subtitle":
        p = doc.add_paragraph(block.text)
        p.alignment = WD_ALIGN_PARAGRAPH.CENTER
    elif block.kind in ("heading", "subheading"):
        doc.add_heading(block.text, level=1 if block.kind == "heading" else 2)
    elif block.kind == "table":
        header, *rows = block.rows
        table = doc.add_table(rows=1, cols=len(header))
        table.style = "Table Grid"
        for cell, text in zip(table.rows[0].cells, header, strict=True):
            cell.text = text
        for row in rows:
            for cell, text in zip(table.add_row().cells, row, strict=True):
                cell.text = text
    elif block.kind == "chart":
        if block.chart in charts:
            doc.add_picture(io.BytesIO(charts[block.chart]), width=Mm(TEXT_WIDTH_MM))
            doc.add_paragraph(block.text).alignment = WD_ALIGN_PARAGRAPH.CENTER
    else:
        p = doc.add_paragraph(block.text)
        if block.kind in ("quote", "small"):
            for run in p.runs:
                run.font.size = Pt(9.5)
        else:
            p.paragraph_format.first_line_indent = Pt(22)
