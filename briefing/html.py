"""Briefing blocks as one self-contained HTML document for A4 print; every text escaped."""

from __future__ import annotations

import base64
from html import escape

from briefing.outline import Block

CSS = """
@page { size: A4; margin: 18mm 16mm; }
body { font-family: "Noto Serif CJK SC", "Noto Sans CJK SC", serif; color: #1d2733; font-size: 11pt;
       line-height: 1.7; margin: 0; }
h1 { font-size: 20pt; text-align: center; color: #a8071a; margin: 0 0 4pt; letter-spacing: 2pt; }
.sub { text-align: center; color: #5b6778; font-size: 10pt; padding-bottom: 6pt;
       border-bottom: 2pt solid #a8071a; margin-bottom: 12pt; }
h2 { font-family: "Noto Sans CJK SC", sans-serif; font-size: 13.5pt; margin: 14pt 0 6pt; color: #12407f;
     break-after: avoid; }
h3 { font-family: "Noto Sans CJK SC", sans-serif; font-size: 11pt; margin: 8pt 0 2pt; break-after: avoid; }
p { margin: 4pt 0; text-indent: 2em; text-align: justify; }
p.quote { font-size: 9.5pt; color: #3c4757; margin: 2pt 0 2pt 2em; text-indent: 0; }
p.small { font-size: 9pt; text-indent: 0; color: #3c4757; }
table { border-collapse: collapse; width: 100%; font-size: 9.5pt; margin: 6pt 0; }
tr { break-inside: avoid; }
th, td { border: 0.6pt solid #b8c4d6; padding: 3pt 5pt; text-align: right; }
th { background: #eef2f7; font-family: "Noto Sans CJK SC", sans-serif; font-weight: 600; }
th:first-child, td:first-child { text-align: left; }
figure { margin: 6pt 0; text-align: center; break-inside: avoid; }
figure svg, figure img { width: 100%; height: auto; }
figcaption { font-size: 9pt; color: #5b6778; }
"""


def document(blocks: list[Block], charts: dict[str, bytes], fmt: str = "svg") -> str:
    title = next((b.text for b in blocks if b.kind == "title"), "")
    body = "\n".join(_block(b, charts, fmt) for b in blocks)
    return (
        f'<!DOCTYPE html><html lang="zh-CN"><head><meta charset="utf-8"><title>{escape(title)}</title>'
        f"<style>{CSS}</style></head><body>{body}</body></html>"
    )


def _block(block: Block, charts: dict[str, bytes], fmt: str) -> str:
    text = escape(block.text)
    if block.kind == "title":
        return f"<h1>{text}</h1>"
    if block.kind == "subtitle":
        return f'<div class="sub">{text}</div>'
    if block.kind == "heading":
        return f"<h2>{text}</h2>"
    if block.kind == "subheading":
        return f"<h3>{text}</h3>"
    if block.kind in ("quote", "small"):
        return f'<p class="{block.kind}">{text}</p>'
    if block.kind == "table":
        header, *rows = block.rows
        head = "".join(f"<th>{escape(c)}</th>" for c in header)
        body = "".join("<tr>" + "".join(f"<td>{escape(c)}</td>" for c in row) + "</tr>" for row in rows)
        return f"<table><tr>{head}</tr>{body}</table>"
    if block.kind == "chart":
        return _chart(charts.get(block.chart), fmt, text)
    return f"<p>{text}</p>"


def _chart(data: bytes | None, fmt: str, caption: str) -> str:
    if data is None:
        return ""
    if fmt == "svg":
        body = data.decode("utf-8")  # kaleido's SVG: plotly escapes every text it draws
    else:
        body = f'<img alt="" src="data:image/png;base64,{base64.b64encode(data).decode()}">'
    return f"<figure>{body}<figcaption>{caption}</figcaption></figure>"
