"""Table downloads: a grid's table, built on the server, in the grid's sort order, as CSV or Excel.

The browser only names the table, the format and the sort (columns and
directions, checked against the table's own columns); the rows come from the
same query as the grid's (dashboard/analyst/tables.py, built by the callbacks
from the page's checked state), never from rows or columns the browser sends.
Columns, headers and row values are the grid's own, so a download holds the
numbers on screen, unrounded, as the JSON API gives them (the grid's column
filters are not applied: a download holds every row of the table). CSV is
UTF-8 with a BOM (Excel opens Chinese text correctly); the Excel file shows
each column in the screen's format (e.g. 0.0% for shares) over the unrounded
values, and a second sheet names the view's filters and link.
"""

from __future__ import annotations

import csv
import datetime as dt
import io

from dash import dcc
from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter

from dashboard.analyst import ids, tables
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
MAX_SORT = 5  # sort keys read from a download request


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


def request_of(wanted) -> tuple[str, str, list[tuple[str, str]]] | None:
    """(table, format, sort) of a download request from the browser, if each is one the page offers."""
    if not isinstance(wanted, dict):
        return None
    table, fmt, sort = wanted.get("table"), wanted.get("fmt"), wanted.get("sort")
    if not isinstance(table, str) or table not in ids.TABLES or not isinstance(fmt, str) or fmt not in FORMATS:
        return None
    keys = []
    for item in sort[:MAX_SORT] if isinstance(sort, list) else []:
        if isinstance(item, list) and len(item) == 2 and all(isinstance(x, str) for x in item):
            if item[1] in ("asc", "desc") and len(item[0]) <= 64:
                keys.append((item[0], item[1]))
    return table, fmt, keys


def _sort_key(value):
    # as the grid's default comparator: missing values first when ascending; numbers before texts
    if value is None:
        return (0, 0)
    return (1, value) if isinstance(value, (int, float)) and not isinstance(value, bool) else (2, str(value))


def sorted_rows(table: tables.Table, sort: list[tuple[str, str]]) -> list[dict]:
    """The table's rows in the grid's order: `sort` (columns of the table only), else the table's own."""
    fields = {c.field for c in table.columns}
    keys = [(f, d) for f, d in sort if f in fields] or ([table.sort] if table.sort else [])
    rows = list(table.rows)
    for field, direction in reversed(keys):  # stable sorts, last key first
        rows.sort(key=lambda row, field=field: _sort_key(row.get(field)), reverse=direction == "desc")
    return rows


def download(table: tables.Table, fmt: str, sort: list[tuple[str, str]], state: S.State, today: dt.date) -> dict:
    """dcc.Download data of one table in `fmt` (csv or xlsx)."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}")
    columns = columns_of(tables.column_defs(table))
    rows = sorted_rows(table, sort)
    name = filename(table.name, state, today, fmt)
    if fmt == "csv":
        return dcc.send_bytes(to_csv(columns, rows), name, type="text/csv")
    payload = to_xlsx(columns, rows, about(state, today, table.name), sheet=table.name)
    return dcc.send_bytes(payload, name, type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
