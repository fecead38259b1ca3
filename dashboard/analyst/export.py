"""Table downloads: the rows a grid shows (after its sorting and filtering), as CSV or Excel.

Columns, headers and row values are the grid's own (dashboard/analyst/tables.py),
so a download holds the numbers on screen, unrounded, as the JSON API gives
them. CSV is UTF-8 with a BOM (Excel opens Chinese text correctly); the Excel
file shows each column in the screen's format (e.g. 0.0% for shares) over the
unrounded values, and a second sheet names the view's filters and link.
"""

from __future__ import annotations

import csv
import datetime as dt
import io

from dash import dcc
from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter

from dashboard.analyst import labels as L
from dashboard.analyst import state as S

FORMATS = ("csv", "xlsx")
EXCEL_FORMATS = {
    "int": "#,##0",
    "pct": "0.0%",
    "yoy": "0.0%",
    "hours": "#,##0.0",
    "per10k": "#,##0.000",
    "days": "#,##0.0",
    "float": "#,##0.00",
}
DIFF_FORMATS = {
    "int": "+#,##0;-#,##0;0",
    "pct": "+0.0%;-0.0%;0.0%",
    "hours": "+#,##0.0;-#,##0.0;0.0",
    "per10k": "+#,##0.000;-#,##0.000;0.000",
}
MAX_ROWS = 100_000


def columns_of(column_defs: list[dict]) -> list[tuple[str, str, str]]:
    """(field, header, kind) of a grid's columns, in order (hidden ones too: adcode, keys)."""
    out = []
    for spec in column_defs or []:
        field = spec.get("field")
        if not field:
            continue
        kind = (spec.get("context") or {}).get("kind", "text")
        out.append((str(field), str(spec.get("headerName") or field), str(kind)))
    return out


FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _cell(value):
    if isinstance(value, bool) or value is None:
        return "" if value is None else value
    return value


def safe_text(value):
    """Text that a spreadsheet would run as a formula (=, +, -, @) gets a leading apostrophe (CSV injection)."""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def to_csv(columns: list[tuple[str, str, str]], rows: list[dict]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([header for _, header, _ in columns])
    for row in rows[:MAX_ROWS]:
        writer.writerow([_csv_value(row.get(field)) for field, _, _ in columns])
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def _csv_value(value):
    if value is None:
        return ""
    if isinstance(value, float):
        return repr(value)  # shortest round-trip text: the API's number exactly
    return safe_text(value)


def to_xlsx(
    columns: list[tuple[str, str, str]], rows: list[dict], about: list[tuple[str, str]], sheet: str = "data"
) -> bytes:
    book = Workbook()
    ws = book.active
    ws.title = sheet[:31]
    ws.append([header for _, header, _ in columns])
    head_font = Font(bold=True, color="FFFFFF")
    head_fill = PatternFill("solid", fgColor="0F2A57")
    for index, _ in enumerate(columns, start=1):
        cell = ws.cell(row=1, column=index)
        cell.font, cell.fill = head_font, head_fill
        cell.alignment = Alignment(vertical="center", wrap_text=True)
    for r, row in enumerate(rows[:MAX_ROWS], start=2):
        for c, (field, _, kind) in enumerate(columns, start=1):
            value = row.get(field)
            cell = ws.cell(row=r, column=c, value=_cell(value))
            if isinstance(value, str):
                cell.data_type = "s"  # text stays text: never a formula
            if value is None:
                continue
            row_kind = row.get("kind") if kind in ("mixed", "mixed_diff") else kind
            if kind == "mixed_diff":
                cell.number_format = DIFF_FORMATS.get(row_kind, "General")
            elif row_kind in EXCEL_FORMATS:
                cell.number_format = EXCEL_FORMATS[row_kind]
    for c, (_, header, kind) in enumerate(columns, start=1):
        ws.column_dimensions[get_column_letter(c)].width = max(
            10, min(48, len(header) * 2 + 2 if kind == "text" else len(header) * 2)
        )
    ws.freeze_panes = "B2" if len(columns) > 1 else "A2"
    info = book.create_sheet("about")
    for key, value in about:
        info.append([key, value])
    info.column_dimensions["A"].width = 18
    info.column_dimensions["B"].width = 90
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def about(state: S.State, today: dt.date, table: str) -> list[tuple[str, str]]:
    """What the download holds: the view's parameters (the JSON API's), its link and when it was made."""
    from queries.periods import beijing_now

    lang = state.lang
    params = S.api_params(state, today)
    rows = [
        ("table", table),
        ("generated (Beijing)", beijing_now().isoformat(sep=" ")),
        ("link", "/analyst" + (S.to_search(state) or "")),
        ("api", "&".join(f"{k}={v}" for k, v in params)),
    ]
    if state.compare:
        rows.append(("api (B)", "&".join(f"{k}={v}" for k, v in S.api_params(state, today, side="b"))))
    rows.append(("note", L.t("download_hint", lang)))
    return rows


def filename(table: str, state: S.State, today: dt.date, fmt: str) -> str:
    start, end = S.period_dates(state, today)
    suffix = f"_{state.drill}" if state.drill and state.view == "drill" else ""
    return f"liuyan_{table}{suffix}_{start.isoformat()}_{end.isoformat()}.{fmt}"


def download(table: str, fmt: str, column_defs: list[dict], rows: list[dict], state: S.State, today: dt.date) -> dict:
    """dcc.Download data of one table in `fmt` (csv or xlsx)."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}")
    columns = columns_of(column_defs)
    name = filename(table, state, today, fmt)
    if fmt == "csv":
        return dcc.send_bytes(to_csv(columns, rows), name, type="text/csv")
    payload = to_xlsx(columns, rows, about(state, today, table), sheet=table)
    return dcc.send_bytes(payload, name, type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
