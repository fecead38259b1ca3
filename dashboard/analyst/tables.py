"""The analyst page's tables: columns (header, format, tooltip) and rows, one definition for screen and download.

Rows carry the metric values unrounded (as the JSON API returns them); the
grid formats them for display with assets/analyst.js (`analystFormat`, the
same rules as dashboard/analyst/labels.fmt_*) and the downloads write the same
rows with the same headers (dashboard/analyst/export.py).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
from dash import Output

from dashboard import i18n
from dashboard.analyst import ids
from dashboard.analyst import labels as L
from queries import catalog, drill
from queries import provinces as province_ref

NUMERIC = {"int", "pct", "hours", "per10k", "yoy", "float", "days", "mixed", "mixed_diff"}


@dataclass(frozen=True)
class Column:
    field: str
    header: str  # shown header (already translated)
    kind: str = "text"  # text | int | pct | hours | per10k | yoy | days | date | datetime | mixed...
    tip: str | None = None  # tooltip: the metric's definition
    width: int | None = None
    pinned: bool = False
    hidden: bool = False


@dataclass
class Table:
    name: str
    columns: list[Column]
    rows: list[dict]
    sort: tuple[str, str] | None = None  # (field, "asc" | "desc") shown first
    click: str | None = None  # field whose cell click drills down


def clean(value):
    """JSON-safe, unrounded value."""
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (np.floating, float)):
        value = float(value)
        return None if math.isnan(value) or math.isinf(value) else value
    if isinstance(value, (np.bool_,)):
        return bool(value)
    if isinstance(value, pd.Timestamp):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    return value


def clicked_row(cell, rows) -> dict | None:
    """The grid row a cellClicked event names, or None (no click, or an index the shown rows do not hold)."""
    index = (cell or {}).get("rowIndex")
    if not isinstance(index, int) or not rows or not 0 <= index < len(rows):
        return None
    return rows[index]


def records(frame: pd.DataFrame, fields: list[str]) -> list[dict]:
    return [{k: clean(v) for k, v in row.items()} for row in frame[fields].to_dict("records")]


def _yoy_column(field: str, lang: str) -> Column:
    return Column(field, L.t("yoy_short", lang), "yoy", L.definition("yoy", lang), width=96)


def _pop_column(field: str, lang: str) -> Column:
    return Column(field, L.t("pop_short", lang), "yoy", L.definition("pop", lang), width=96)


def _count_columns(name: str, lang: str) -> list[Column]:
    """A count of the catalog with its YoY and 环比."""
    d = L.definition
    return [
        Column(name, L.metric_name(name, lang), "int", d(name, lang), width=110),
        _yoy_column(f"{name}_yoy", lang),
        _pop_column(f"{name}_pop", lang),
    ]


# -- overview --------------------------------------------------------------------------------------------------------
def ranking(provinces: pd.DataFrame, metric: str, lang: str) -> Table:
    """All provinces of the selection, ranked by the map metric (queries.metrics.by_province)."""
    census = int(provinces["census_year"].iloc[0]) if len(provinces) else None
    frame = provinces.copy()
    frame["rank"] = frame[f"rank_{metric}"]
    frame["province"] = frame["name_en"] if lang == "en" else frame["name"]
    frame["region_name"] = [province_ref.REGIONS_EN[r] if lang == "en" else r for r in frame["region"]]
    frame = frame.sort_values(["rank", "adcode"])
    d = L.definition
    columns = [
        Column("rank", L.t("c_rank", lang), "int", d("rank", lang), width=76, pinned=True),
        Column("province", L.t("c_province", lang), "text", L.t("drill_hint", lang), width=104, pinned=True),
        Column("adcode", "adcode", "text", None, width=92, hidden=True),
        Column("region_name", L.t("c_region", lang), "text", None, width=84),
        *_count_columns("messages", lang),
        Column(
            "messages_per_10k",
            L.metric_name("messages_per_10k", lang),
            "per10k",
            d("messages_per_10k", lang, census),
            width=124,
        ),
        *_count_columns("replies", lang),
        Column(
            "replies_per_10k",
            L.metric_name("replies_per_10k", lang),
            "per10k",
            d("replies_per_10k", lang, census),
            width=124,
        ),
        *(Column(r, L.metric_name(r, lang), "pct", d(r, lang), width=116) for r in catalog.RANKING_RATES),
        *(column for name in catalog.RANKING_COUNTS for column in _count_columns(name, lang)),
        Column("median_reply_hours", L.t("c_median", lang), "hours", d("median_reply_hours", lang), width=150),
        Column(
            "satisfaction_rate",
            L.metric_name("satisfaction_rate", lang),
            "pct",
            d("satisfaction_rate", lang),
            width=108,
        ),
        Column("new_units", L.metric_name("new_units", lang), "int", d("new_units", lang), width=104),
        Column("new_leaders", L.metric_name("new_leaders", lang), "int", d("new_leaders", lang), width=104),
        Column(
            "population",
            f"{L.t('c_population', lang)}（{census}）" if lang != "en" else f"{L.t('c_population', lang)} ({census})",
            "int",
            L.census_name(census, lang) if census else None,
            width=140,
        ),
    ]
    frame["adcode"] = frame["adcode"].astype(str)
    return Table("ranking", columns, records(frame, [c.field for c in columns]), click="province")


def cross(cross_frame: pd.DataFrame, lang: str) -> Table:
    """Messages per domain (rows) and type (columns) with the row totals (queries.drill.cross_table)."""
    table = drill.cross_table(cross_frame, "messages")
    types = [c for c in table.columns if c not in ("category", "total")]
    columns = [
        Column("category", L.t("c_category", lang), "text", None, width=150 if lang == "en" else 80, pinned=True)
    ]
    rows = []
    fields = {t: f"t{i}" for i, t in enumerate(types)}
    for t in types:
        columns.append(Column(fields[t], i18n.msg_type(t, lang), "int", L.definition("messages", lang), width=110))
    columns.append(Column("total", L.t("c_total", lang), "int", L.definition("messages", lang), width=110))
    for row in table.to_dict("records"):
        out = {"category": i18n.category(str(row["category"]), lang)}
        for t in types:
            out[fields[t]] = clean(row[t])
        out["total"] = clean(row["total"])
        rows.append(out)
    return Table("cross", columns, rows)


# -- drill-down ------------------------------------------------------------------------------------------------------
def cities(frame: pd.DataFrame, lang: str) -> Table:
    """Cities of a province (queries.metrics.by_city)."""
    frame = frame.copy()
    frame["city"] = [L.t("no_city", lang) if c in (None, "（未填）") or c != c else c for c in frame["city"]]
    d = L.definition
    columns = [
        Column("city", L.t("c_city", lang), "text", None, width=120, pinned=True),
        Column("messages", L.metric_name("messages", lang), "int", d("messages", lang), width=100),
        _yoy_column("messages_yoy", lang),
        Column("share", L.t("c_share", lang), "pct", d("share", lang), width=84),
        Column("replies", L.metric_name("replies", lang), "int", d("replies", lang), width=100),
        Column("reply_ratio", L.metric_name("reply_ratio", lang), "pct", d("reply_ratio", lang), width=116),
        Column("reply_rate", L.metric_name("reply_rate", lang), "pct", d("reply_rate", lang), width=96),
        Column("median_reply_hours", L.t("c_median", lang), "hours", d("median_reply_hours", lang), width=150),
        Column(
            "satisfaction_rate",
            L.metric_name("satisfaction_rate", lang),
            "pct",
            d("satisfaction_rate", lang),
            width=108,
        ),
    ]
    return Table("cities", columns, records(frame, [c.field for c in columns]), sort=("messages", "desc"))


def units(frame: pd.DataFrame, name: str, lang: str, late_days: int) -> Table:
    """Replying units (queries.drill.units, top_units or slowest_units)."""
    frame = frame.copy()
    frame.insert(0, "rank", np.arange(1, len(frame) + 1))
    frame["unit"] = [L.t("no_unit", lang) if u is None or u != u else u for u in frame["unit"]]
    d = L.definition
    columns = [
        Column("rank", L.t("c_rank", lang), "int", None, width=70, pinned=True),
        Column("unit", L.t("c_unit", lang), "text", None, width=210, pinned=True),
        Column("answered", L.t("c_answered", lang), "int", d("answered", lang), width=100),
        Column("share", L.t("c_unit_share", lang), "pct", None, width=104),
        Column("median_reply_hours", L.t("c_median", lang), "hours", d("unit_median", lang), width=150),
        Column("mean_reply_hours", L.t("c_mean", lang), "hours", None, width=140),
        Column("p90_reply_hours", L.t("c_p90", lang), "hours", None, width=140),
        Column("late", L.t("c_late", lang, days=late_days), "int", d("late", lang, days=late_days), width=110),
        Column("late_share", L.t("c_late_share", lang), "pct", d("late", lang, days=late_days), width=110),
    ]
    return Table(name, columns, records(frame, [c.field for c in columns]))


def overdue(frame: pd.DataFrame, lang: str, overdue_days: int) -> Table:
    """The oldest overdue messages (queries.drill.overdue), masked titles."""
    frame = frame.copy()
    frame["place"] = [
        " · ".join(p for p in (c, dd) if p) for c, dd in zip(frame["city"], frame["district"], strict=True)
    ]
    frame["category"] = [i18n.category(str(c), lang) for c in frame["category"]]
    frame["msg_type"] = [i18n.msg_type(str(c), lang) for c in frame["msg_type"]]
    frame["status"] = [i18n.status(str(s), lang) for s in frame["status"]]
    frame["urgent"] = ["✓" if u else "" for u in frame["is_urgent"]]
    columns = [
        Column("created_at", L.t("c_created", lang), "datetime", None, width=170, pinned=True),
        Column(
            "days_waiting", L.t("c_waiting", lang), "days", L.definition("overdue", lang, days=overdue_days), width=110
        ),
        Column("place", L.t("c_place", lang), "text", None, width=150),
        Column("category", L.t("c_category", lang), "text", None, width=90),
        Column("msg_type", L.t("c_type", lang), "text", None, width=100),
        Column("title", L.t("c_title", lang), "text", None, width=320),
        Column("status", L.t("c_status", lang), "text", None, width=90),
        Column("urgent", L.t("c_urgent", lang), "text", None, width=86),
        Column("message_id", "ID", "text", None, width=120),
    ]
    return Table("overdue", columns, records(frame, [c.field for c in columns]))


# -- compare ---------------------------------------------------------------------------------------------------------
COMPARE_METRICS = [
    ("messages", "int"),
    ("replies", "int"),
    ("reply_ratio", "pct"),
    ("reply_rate", "pct"),
    ("median_reply_hours", "hours"),
    ("satisfaction_rate", "pct"),
    ("messages_per_10k", "per10k"),
    ("replies_per_10k", "per10k"),
    ("new_units", "int"),
    ("new_leaders", "int"),
]


def difference(a, b, kind: str) -> tuple:
    """(a − b, a ÷ b − 1): the change is given for counts and per-10k figures only (None without b)."""
    if a is None or b is None:
        return None, None
    diff = a - b
    change = None if kind in ("pct", "hours") or not b else a / b - 1
    return diff, change


def compare_metrics(a: dict, b: dict, lang: str, census_a: int, census_b: int) -> Table:
    """The spec's headline metrics for sides A and B (two queries.metrics.summary dicts) and their difference."""
    rows = []
    for key, kind in COMPARE_METRICS:
        va, vb = clean(a.get(key)), clean(b.get(key))
        diff, change = difference(va, vb, kind)
        rows.append(
            {
                "metric": L.metric_name(key, lang),
                "key": key,
                "kind": kind,
                "a": va,
                "b": vb,
                "diff": diff,
                "change": change,
            }
        )
    census = census_a if census_a == census_b else f"{census_a}/{census_b}"
    columns = [
        Column("metric", L.t("c_metric", lang), "text", None, width=150 if lang == "en" else 120, pinned=True),
        Column("a", L.t("side_a", lang), "mixed", None, width=100),
        Column("b", L.t("side_b", lang), "mixed", None, width=100),
        Column("diff", L.t("c_diff", lang), "mixed_diff", None, width=124),
        Column("change", L.t("c_change", lang), "yoy", None, width=124),
        Column("key", "key", "text", f"census {census}", hidden=True),
        Column("kind", "kind", "text", None, hidden=True),
    ]
    return Table("compare_metrics", columns, rows)


def compare_categories(a: pd.DataFrame, b: pd.DataFrame, lang: str) -> Table:
    """Messages and replies per domain on both sides (queries.metrics.by_category) and their difference."""
    left = a[["category", "messages", "replies"]].rename(columns={"messages": "messages_a", "replies": "replies_a"})
    right = b[["category", "messages", "replies"]].rename(columns={"messages": "messages_b", "replies": "replies_b"})
    frame = left.merge(right, on="category", how="outer")
    for column in ("messages_a", "messages_b", "replies_a", "replies_b"):
        frame[column] = frame[column].fillna(0).astype("int64")
    frame["diff"] = frame["messages_a"] - frame["messages_b"]
    frame["change"] = (frame["messages_a"] / frame["messages_b"].where(frame["messages_b"] != 0)) - 1
    frame = frame.sort_values(["messages_a", "messages_b", "category"], ascending=[False, False, True])
    frame["category"] = [i18n.category(str(c), lang) for c in frame["category"]]
    a_, b_ = L.t("side_a", lang), L.t("side_b", lang)
    msg, rep = L.metric_name("messages", lang), L.metric_name("replies", lang)
    sep = " " if lang == "en" else ""
    columns = [
        Column("category", L.t("c_category", lang), "text", None, width=150 if lang == "en" else 80, pinned=True),
        Column(
            "messages_a",
            f"{msg}{sep}({a_})" if lang == "en" else f"{msg}（{a_}）",
            "int",
            L.definition("messages", lang),
            width=104,
        ),
        Column(
            "messages_b",
            f"{msg}{sep}({b_})" if lang == "en" else f"{msg}（{b_}）",
            "int",
            L.definition("messages", lang),
            width=104,
        ),
        Column("diff", L.t("c_diff", lang), "int", None, width=112),
        Column("change", L.t("c_change", lang), "yoy", None, width=124),
        Column(
            "replies_a",
            f"{rep}{sep}({a_})" if lang == "en" else f"{rep}（{a_}）",
            "int",
            L.definition("replies", lang),
            width=104,
        ),
        Column(
            "replies_b",
            f"{rep}{sep}({b_})" if lang == "en" else f"{rep}（{b_}）",
            "int",
            L.definition("replies", lang),
            width=104,
        ),
    ]
    return Table("compare_categories", columns, records(frame, [c.field for c in columns]))


# -- AG Grid column definitions --------------------------------------------------------------------------------------
def grid_outputs(*names: str) -> list:
    """The outputs a grid is filled through: its column definitions and its rows, per grid name."""
    return [Output(ids.grid(name), prop) for name in names for prop in ("columnDefs", "rowData")]


def grid_values(*made: Table) -> list:
    """The values for grid_outputs of the same grids, in order."""
    return [value for table in made for value in (column_defs(table), table.rows)]


def column_defs(table: Table) -> list[dict]:
    defs = []
    for col in table.columns:
        spec: dict = {
            "field": col.field,
            "headerName": col.header,
            "sortable": True,
            "resizable": True,
            "context": {"kind": col.kind},
        }
        if col.tip:
            spec["headerTooltip"] = f"{col.header}：{col.tip}" if not col.tip.startswith(col.header) else col.tip
        if col.width:
            spec["minWidth"] = col.width
            spec["flex"] = 0 if col.pinned else round(col.width / 100, 2)
            if col.pinned:
                spec["width"] = col.width
        if col.pinned:
            spec["pinned"] = "left"
        if col.hidden:
            spec["hide"] = True
        if col.kind in NUMERIC:
            spec["type"] = "rightAligned"
            spec["filter"] = "agNumberColumnFilter"
            if col.kind in ("mixed", "mixed_diff"):
                spec["valueFormatter"] = {
                    "function": f"analystFormat(params.value, params.data.kind, "
                    f"'{'diff' if col.kind == 'mixed_diff' else ''}')"
                }
            else:
                spec["valueFormatter"] = {"function": f"analystFormat(params.value, '{col.kind}')"}
            if col.kind in ("pct", "yoy"):
                # filter in percent, as shown
                spec["filterValueGetter"] = {
                    "function": f"params.data.{col.field} == null ? null : params.data.{col.field} * 100"
                }
        else:
            spec["filter"] = "agTextColumnFilter"
        if table.click and col.field == table.click:
            spec["cellClass"] = "cell-link"
        defs.append(spec)
    if table.sort:
        for spec in defs:
            if spec["field"] == table.sort[0]:
                spec["sort"] = table.sort[1]
    return defs
