"""Pure figure functions: (DataFrame, theme, lang, ...) -> a plotly figure as a plain dict. No I/O, no caching.

Figures are dicts ({"data": [...], "layout": {...}}), exactly what dcc.Graph takes:
building plotly objects validated every property and cost more than all the
queries of a wall tick. `go.Figure(spec)` turns one into an object where wanted
(the analyst page does, for its PNG export). Used by the wall (dashboard/wall)
and the analyst page. Values are
plain Python lists (not numpy arrays) so that figures diff cheaply into
`dash.Patch` updates; trace order is fixed and documented by the *_TRACE
constants so that callers may patch one trace.
"""

from __future__ import annotations

import html
import math

import pandas as pd

from dashboard import geo, i18n
from dashboard.theme import Theme
from queries import catalog

# Map metrics: value column of queries.metrics.by_province, d3 format, the map's own label key (None: the
# catalog's name of the metric).
MAP_METRICS: dict[str, dict] = {
    "messages_per_10k": {"format": ".2f", "label": None, "percent": False},
    "replies_per_10k": {"format": ".2f", "label": None, "percent": False},
    "reply_ratio": {"format": ".1%", "label": "reply_ratio_map", "percent": True},
}
MAP_BASE_TRACE, MAP_DATA_TRACE, MAP_MARITIME_TRACE, MAP_LABEL_TRACE = 0, 1, 2, 3
MAP_LABELS = 3  # the leading provinces are named on the map

# Main map extent (the mainland); the South China Sea islands are in the inset.
MAIN_LON, MAIN_LAT = (73.0, 135.5), (17.2, 54.0)
INSET_LON, INSET_LAT = (106.5, 123.5), (2.8, 24.5)
INSET_DOMAIN = {"x": (0.835, 1.0), "y": (0.0, 0.34)}


LABEL_CHARS = 20  # a domain, type or place name on a chart (longer ones are cut, with "…")


def plot_text(value, limit: int = LABEL_CHARS) -> str:
    """Data text as Plotly shows it literally. Plotly reads a subset of HTML in every text it draws
    (tick labels, legend, hover, annotations: <b>, <span style>, <a href>, <br>, entities) and turns a
    newline into a line break, so whitespace is collapsed, the text cut to `limit` characters and
    &, <, > escaped as entities (Plotly decodes them back to the literal characters)."""
    text = " ".join(str(value).split())
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    return html.escape(text, quote=False)


def plot_labels(values, limit: int = LABEL_CHARS) -> list[str]:
    """plot_text of each value, kept distinct (a category axis or a pie would merge equal labels)."""
    out: list[str] = []
    seen: set[str] = set()
    for value in values:
        label = plot_text(value, limit)
        n = 1
        while label in seen:
            n += 1
            label = f"{plot_text(value, limit - len(str(n)) - 1)}#{n}"
        seen.add(label)
        out.append(label)
    return out


def _num(value, digits: int = 4):
    """JSON-friendly rounded float; None for missing values."""
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA:
        return None
    return round(float(value), digits)


def metric_label(metric: str, lang: str) -> str:
    key = MAP_METRICS[metric]["label"]
    return i18n.t(key, lang) if key else catalog.label(metric, lang)


def value_format(metric: str, largest=None) -> str:
    """d3 format of a metric; small per-10k figures (a single day) get a third decimal."""
    spec = MAP_METRICS.get(metric, {"format": ",d", "percent": False})
    if spec["percent"] or largest is None or largest >= 1:
        return spec["format"]
    return ".3f"


def format_value(value, metric: str, lang: str = "zh", largest=None) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    if metric not in MAP_METRICS:
        return f"{value:,.0f}"
    if MAP_METRICS[metric]["percent"]:
        return f"{value * 100:.1f}%"
    return f"{value:,.3f}" if value_format(metric, largest) == ".3f" else f"{value:,.2f}"


def _names(frame: pd.DataFrame, lang: str, limit: int = 24) -> list[str]:
    column = "name_en" if lang == "en" and "name_en" in frame else "name"
    return plot_labels(frame[column].astype(str).tolist(), limit)


def _colorbar(label: str, tickformat: str, theme: Theme) -> dict:
    """The maps' horizontal colour bar, bottom left, titled with the metric."""
    return {
        "title": {"text": f"<b>{label}</b>", "side": "top", "font": {"color": theme.text, "size": 15}},
        "orientation": "h",
        "x": 0.015,
        "xanchor": "left",
        "y": 0.085,
        "yanchor": "bottom",
        "len": 0.27,
        "thickness": 10,
        "outlinewidth": 0,
        "tickformat": tickformat,
        "tickfont": {"color": theme.muted, "size": 12},
        "nticks": 5,
        "bgcolor": "rgba(0,0,0,0)",
    }


def _figure(data: list, layout: dict, theme: Theme) -> dict:
    return {"data": data, "layout": {"template": theme.template, **layout}}


def china_map(
    provinces: pd.DataFrame,
    metric: str,
    theme: Theme,
    lang: str,
    geojson_url: str,
    *,
    subtitle: str = "",
    inset: bool = True,
    label_points: dict[int, tuple[float, float]] | None = None,
) -> dict:
    """Choropleth of one province metric over the 34 provincial-level regions.

    `provinces` is queries.metrics.by_province (31 rows). Taiwan, Hong Kong and
    Macao (and any province without a value) show the grey base layer, 无数据.
    The geometry is loaded by the browser from `geojson_url` (dashboard.geo).
    With `label_points` ({adcode: (lon, lat)}, e.g. geo.label_points()) the
    leading provinces are named on the map; the label trace is there (empty) either way.
    """
    spec = MAP_METRICS[metric]
    label = metric_label(metric, lang)
    adcodes = [int(c) for c in provinces["adcode"].tolist()]
    codes = [str(c) for c in adcodes]
    z = [_num(v, 5) for v in provinces[metric].tolist()]
    present = [v for v in z if v is not None]
    zmax = max(present) if present else 1.0
    zmax = zmax if zmax > 0 else 1.0
    # Shares cluster high (most provinces answer 85–100%): start the scale near the lowest value.
    zmin = 0.0 if not spec["percent"] or not present else max(0.0, math.floor(min(present) * 20 - 0.4) / 20)
    zmin = min(zmin, zmax * 0.999)
    all_codes = [str(c) for c in geo.region_codes()]
    region_names = geo.region_names(lang)
    no_data = i18n.t("no_data", lang)
    names = _names(provinces, lang)
    edge = {"line": {"color": theme.land_edge, "width": 0.6}}
    data = [
        # 0: every region in grey underneath (Taiwan, Hong Kong, Macao stay grey: no data).
        {
            "type": "choropleth",
            "geojson": geojson_url,
            "featureidkey": "id",
            "locations": all_codes,
            "z": [0] * len(all_codes),
            "colorscale": [[0, theme.no_data], [1, theme.no_data]],
            "showscale": False,
            "marker": edge,
            "customdata": plot_labels([region_names[int(c)] for c in all_codes], limit=24),
            "hovertemplate": f"%{{customdata}}<br>{no_data}<extra></extra>",
            "name": no_data,
        },
        # 1: the metric on the 31 provinces.
        {
            "type": "choropleth",
            "geojson": geojson_url,
            "featureidkey": "id",
            "locations": codes,
            "z": z,
            "zmin": _num(zmin, 5),
            "zmax": _num(zmax, 5),
            "colorscale": [list(step) for step in theme.colorscale],
            "marker": edge,
            "customdata": names,
            "hovertemplate": f"%{{customdata}}<br>{label} %{{z:{value_format(metric, zmax)}}}<extra></extra>",
            "name": label,
            "colorbar": _colorbar(label, value_format(metric, zmax), theme),
        },
    ]
    # 2: the maritime boundary line (a thin polygon band of the same GeoJSON).
    maritime = {
        "type": "choropleth",
        "geojson": geojson_url,
        "featureidkey": "id",
        "locations": [geo.MARITIME_ID],
        "z": [1],
        "colorscale": [[0, theme.maritime], [1, theme.maritime]],
        "showscale": False,
        "marker": {"line": {"width": 0}},
        "hoverinfo": "skip",
    }
    data.append(maritime)
    # 3: the leading provinces, named on the map with their value (ties by adcode).
    points = label_points or {}
    leaders = sorted((i for i, v in enumerate(z) if v is not None), key=lambda i: (-z[i], adcodes[i]))
    leaders = leaders[: MAP_LABELS if label_points else 0]
    data.append(
        {
            "type": "scattergeo",
            "lon": [points[adcodes[i]][0] for i in leaders],
            "lat": [points[adcodes[i]][1] for i in leaders],
            "text": [f"{names[i]} {format_value(z[i], metric, lang, zmax)}" for i in leaders],
            "mode": "markers+text",
            "hoverinfo": "skip",
            "showlegend": False,
            "textposition": [geo.LABEL_POSITIONS.get(adcodes[i], "middle right") for i in leaders],
            "marker": {
                "size": [18, 15, 13][: len(leaders)],
                "color": ["#ffd666", "#e6eef5", "#ffa56b"][: len(leaders)],
                "line": {"color": "#06204a", "width": 2.5},
                "symbol": "circle",
                "opacity": 1,
            },
            "textfont": {
                "color": "#ffffff",
                "size": 16,
                "family": theme.font_family,
                "weight": "bold",
                "shadow": "1px 1px 2px #000, -1px -1px 2px #000",
            },
        }
    )
    geo_common = {
        "visible": False,
        "showframe": False,
        "bgcolor": "rgba(0,0,0,0)",
        "showcoastlines": False,
        "showland": False,
        "showlakes": False,
        "showcountries": False,
        "showsubunits": False,
        "projection": {"type": "mercator"},
        "fitbounds": False,
    }
    layout = {
        "geo": {
            **geo_common,
            "lonaxis": {"range": list(MAIN_LON)},
            "lataxis": {"range": list(MAIN_LAT)},
            "domain": {"x": [0, 1], "y": [0, 1]},
        }
    }
    # Under the colour bar: period and census of the per-10k figures, and the grey of the regions without data.
    legend = f"{subtitle}　　" if subtitle else ""
    annotations = []
    if inset:
        # 4, 5: the South China Sea islands and the maritime line in an inset (南海诸岛).
        data.append(
            {
                "type": "choropleth",
                "geojson": geojson_url,
                "featureidkey": "id",
                "locations": all_codes,
                "z": [0] * len(all_codes),
                "geo": "geo2",
                "colorscale": [[0, theme.inset_land], [1, theme.inset_land]],
                "showscale": False,
                "marker": {"line": {"color": theme.land_edge, "width": 0.5}},
                "hoverinfo": "skip",
            }
        )
        data.append({**maritime, "geo": "geo2"})
        x0, x1 = INSET_DOMAIN["x"]
        y0, y1 = INSET_DOMAIN["y"]
        layout["geo2"] = {
            **geo_common,
            "lonaxis": {"range": list(INSET_LON)},
            "lataxis": {"range": list(INSET_LAT)},
            "domain": {"x": [x0, x1], "y": [y0, y1]},
        }
        layout["shapes"] = [
            {
                "type": "rect",
                "xref": "paper",
                "yref": "paper",
                "x0": x0,
                "x1": x1,
                "y0": y0,
                "y1": y1,
                "line": {"color": theme.border, "width": 1},
                "fillcolor": "rgba(2, 20, 50, 0.35)",
                "layer": "below",
            }
        ]
        annotations.append(
            {
                "text": i18n.t("scs", lang),
                "xref": "paper",
                "yref": "paper",
                "x": x1 - 0.006,
                "y": y0 + 0.012,
                "xanchor": "right",
                "yanchor": "bottom",
                "showarrow": False,
                "font": {"size": 12, "color": theme.muted},
            }
        )
    annotations.append(
        {
            "text": f"{legend}<span style='color:{theme.no_data}'>■</span> {no_data}",
            "xref": "paper",
            "yref": "paper",
            "x": 0.015,
            "y": 0.015,
            "xanchor": "left",
            "yanchor": "bottom",
            "showarrow": False,
            "font": {"size": 13, "color": theme.muted},
        }
    )
    layout.update(annotations=annotations, margin={"l": 0, "r": 0, "t": 0, "b": 0}, dragmode=False, showlegend=False)
    return _figure(data, layout, theme)


def city_map(
    cities: pd.DataFrame, theme: Theme, lang: str, geojson_url, province_name: str, all_cities: list[str]
) -> dict:
    """Messages per city of one province (queries.metrics.by_city), zoomed to the province's cities.

    Cities have no census figures here, so the province view colours counts; cities without messages show the
    grey base layer (无数据). Feature ids of the GeoJSON are the city names (dashboard.city_geo).
    """
    known = cities[cities["city"].astype(str) != "（未填）"]
    names = [str(c) for c in known["city"].tolist()]
    values = [int(v) for v in known["messages"].tolist()]
    largest = max(values, default=0) or 1
    no_data = i18n.t("no_data", lang)
    label = i18n.t("city_messages", lang)
    edge = {"line": {"color": theme.land_edge, "width": 0.8}}
    data = [
        # every city of the province in grey underneath (cities without messages stay grey: no data)
        {
            "type": "choropleth",
            "geojson": geojson_url,
            "featureidkey": "id",
            "locations": list(all_cities),
            "z": [0] * len(all_cities),
            "colorscale": [[0, theme.no_data], [1, theme.no_data]],
            "showscale": False,
            "marker": edge,
            "customdata": [plot_text(n, 12) for n in all_cities],
            "hovertemplate": f"%{{customdata}}<br>{no_data}<extra></extra>",
            "name": no_data,
        },
        {
            "type": "choropleth",
            "geojson": geojson_url,
            "featureidkey": "id",
            "locations": names,
            "z": values,
            "zmin": 0,
            "zmax": largest,
            "colorscale": [list(step) for step in theme.colorscale],
            "marker": edge,
            "customdata": [plot_text(n, 12) for n in names],
            "hovertemplate": f"%{{customdata}}<br>{label} %{{z:,}}<extra></extra>",
            "name": label,
            "colorbar": _colorbar(label, "~s", theme),
        },
    ]
    layout = {
        "geo": {
            "visible": False,
            "showframe": False,
            "bgcolor": "rgba(0,0,0,0)",
            "projection": {"type": "mercator"},
            "fitbounds": "geojson",
            "domain": {"x": [0, 1], "y": [0, 1]},
        },
        "annotations": [
            {
                "text": f"{plot_text(province_name, 12)}　<span style='color:{theme.no_data}'>■</span> {no_data}",
                "xref": "paper",
                "yref": "paper",
                "x": 0.015,
                "y": 0.015,
                "xanchor": "left",
                "yanchor": "bottom",
                "showarrow": False,
                "font": {"size": 13, "color": theme.muted},
            }
        ],
        "margin": {"l": 0, "r": 0, "t": 0, "b": 0},
        "dragmode": False,
        "showlegend": False,
    }
    return _figure(data, layout, theme)


def city_ranking(cities: pd.DataFrame, theme: Theme, lang: str, n: int = 10) -> dict:
    """Top `n` cities of a province by messages (ties by name)."""
    known = cities[cities["city"].astype(str) != "（未填）"]
    frame = pd.DataFrame(
        {
            "name": known["city"].astype(str).tolist(),
            "adcode": range(len(known)),
            "messages": known["messages"].astype(float).tolist(),
        }
    )
    frame["name_en"] = frame["name"]
    spec = ranking(frame, "messages", theme, lang, n, label_chars=10)
    bar = spec["data"][0]
    bar["text"] = [f"{int(v):,}" for v in bar["x"]]
    bar["hovertemplate"] = "%{y}: %{x:,}<extra></extra>"
    return spec


def ranking(provinces: pd.DataFrame, metric: str, theme: Theme, lang: str, n: int = 10, label_chars: int = 24) -> dict:
    """Top `n` provinces by `metric` (rank order as queries.metrics.rank: ties by adcode)."""
    rank_column = f"rank_{metric}"
    frame = (
        provinces.sort_values(rank_column)
        if rank_column in provinces
        else provinces.sort_values([metric, "adcode"], ascending=[False, True])
    )
    frame = frame[frame[metric].notna()].head(n)
    names = _names(frame, lang, label_chars)
    values = [_num(v, 5) for v in frame[metric].tolist()]
    largest = max((v for v in values if v is not None), default=None)
    medal = ["#ffd666", "#d9e2ec", "#ffa56b"]
    colors = [medal[i] if i < 3 else theme.accent for i in range(len(values))]
    labels = [f"{r}  {name}" for r, name in enumerate(names, start=1)]
    bar = {
        "type": "bar",
        "x": values,
        "y": labels,
        "orientation": "h",
        "marker": {"color": colors, "line": {"width": 0}},
        "text": [format_value(v, metric, lang, largest) for v in values],
        "textposition": "outside",
        "cliponaxis": False,
        "textfont": {"color": theme.text, "size": 15, "family": theme.number_family},
        "hovertemplate": f"%{{y}}: %{{x:{value_format(metric, largest)}}}<extra></extra>",
        "width": 0.56,
    }
    return _figure(
        [bar],
        {
            "margin": {"l": 4, "r": 64, "t": 4, "b": 4},
            "bargap": 0.4,
            "showlegend": False,
            "xaxis": {"visible": False, "rangemode": "tozero", "fixedrange": True},
            "yaxis": {
                "autorange": "reversed",
                "tickfont": {"size": 15, "color": theme.text},
                "fixedrange": True,
                "showgrid": False,
                "ticklabelstandoff": 6,
            },
        },
        theme,
    )


def trend(points: pd.DataFrame, theme: Theme, lang: str, granularity: str = "day") -> dict:
    """Messages and replies per bucket with the same dates a year earlier (queries.metrics.trend)."""
    x = points["bucket"].astype(str).tolist()
    series = [
        ("messages", "series_messages", theme.accent, False),
        ("replies", "series_replies", theme.accent2, False),
        ("messages_prev", "series_messages_prev", theme.accent, True),
        ("replies_prev", "series_replies_prev", theme.accent2, True),
    ]
    data = []
    monthly = granularity == "month"
    largest = 0
    for column, key, color, previous in series:
        values = [int(v) for v in points[column].tolist()]
        largest = max([largest, *values])
        name = i18n.t(key, lang)
        if monthly and not previous:
            data.append(
                {
                    "type": "bar",
                    "x": x,
                    "y": values,
                    "name": name,
                    "marker": {"color": color, "opacity": 0.85, "line": {"width": 0}},
                    "hovertemplate": f"{name} %{{y:,}}<extra></extra>",
                }
            )
        else:
            trace = {
                "type": "scatter",
                "x": x,
                "y": values,
                "name": name,
                "mode": "lines",
                "line": {
                    "color": color,
                    "width": 1.4 if previous else 2.4,
                    "dash": "dot" if previous else "solid",
                    "shape": "spline",
                    "smoothing": 0.6,
                },
                "opacity": 0.7 if previous else 1.0,
                "hovertemplate": f"{name} %{{y:,}}<extra></extra>",
            }
            if not previous:
                trace.update(fill="tozeroy", fillcolor=_fade(color, 0.12))
            data.append(trace)
    tickformat = ("%b" if lang == "en" else "%-m月") if monthly else ("%d %b" if lang == "en" else "%-m/%-d")
    yaxis = {"rangemode": "tozero", "tickformat": "~s" if largest >= 10_000 else ",d", "fixedrange": True, "nticks": 5}
    if largest == 0:
        yaxis["range"] = [0, 5]
    return _figure(
        data,
        {
            "barmode": "group",
            "bargap": 0.35,
            "bargroupgap": 0.08,
            "margin": {"l": 4, "r": 8, "t": 30, "b": 4},
            "legend": {
                "orientation": "h",
                "x": 0,
                "y": 1.0,
                "yanchor": "bottom",
                "xanchor": "left",
                "font": {"size": 12},
                "itemwidth": 30,
                "traceorder": "normal",
            },
            "xaxis": {
                "type": "date",
                "tickformat": tickformat,
                "showgrid": False,
                "fixedrange": True,
                "dtick": "M1" if monthly else 7 * 86_400_000,
                "ticklabelmode": "instant",
            },
            "yaxis": yaxis,
            "hovermode": "x unified",
        },
        theme,
    )


def _fade(color: str, alpha: float) -> str:
    color = color.lstrip("#")
    r, g, b = (int(color[i : i + 2], 16) for i in (0, 2, 4))
    return f"rgba({r}, {g}, {b}, {alpha})"


def categories(frame: pd.DataFrame, theme: Theme, lang: str, top: int = 8) -> dict:
    """Messages by domain: the `top` largest, the rest added to 其他 (queries.metrics.by_category)."""
    keys, values, counts = _top(frame, "category", top)
    if not sum(values):
        return empty(theme, i18n.t("no_data", lang))
    names = plot_labels(_label(c, n, i18n.category, lang) for c, n in zip(keys, counts, strict=True))
    total = sum(values) or 1
    bar = {
        "type": "bar",
        "x": values,
        "y": names,
        "orientation": "h",
        "width": 0.55,
        "marker": {"color": values, "colorscale": [[0, "#1464b4"], [1, theme.accent]], "line": {"width": 0}},
        "text": [f"{v:,}  {v / total:.1%}" for v in values],
        "textposition": "outside",
        "cliponaxis": False,
        "textfont": {"color": theme.text, "size": 13, "family": theme.number_family},
        "hovertemplate": "%{y}: %{x:,}<extra></extra>",
    }
    return _figure(
        [bar],
        {
            "margin": {"l": 4, "r": 96, "t": 2, "b": 2},
            "showlegend": False,
            "xaxis": {"visible": False, "rangemode": "tozero", "fixedrange": True},
            "yaxis": {
                "autorange": "reversed",
                "showgrid": False,
                "tickfont": {"size": 14, "color": theme.text},
                "fixedrange": True,
                "ticklabelstandoff": 6,
            },
        },
        theme,
    )


REST = "__rest__"  # the bar that sums the smaller values (shown as 其余N类), never a data value


def _top(frame: pd.DataFrame, key: str, top: int) -> tuple[list[str], list[int], list[int]]:
    """(values, messages, how many values each bar holds): the `top - 1` largest exactly as in the data,
    then one REST bar summing the others."""
    sums: dict[str, int] = {}
    for value, messages in zip(frame[key].tolist(), frame["messages"].tolist(), strict=True):
        value = "其他" if value is None or value != value else str(value)
        sums[value] = sums.get(value, 0) + int(messages)
    ranked = sorted(sums.items(), key=lambda kv: (-kv[1], kv[0]))
    if len(ranked) <= top:
        return [k for k, _ in ranked], [v for _, v in ranked], [1] * len(ranked)
    head, rest = ranked[: top - 1], ranked[top - 1 :]
    return (
        [k for k, _ in head] + [REST],
        [v for _, v in head] + [sum(v for _, v in rest)],
        [1] * len(head) + [len(rest)],
    )


def _label(value: str, count: int, translate, lang: str) -> str:
    if value == REST:
        return f"{count} more" if lang == "en" else f"其余{count}类"
    return translate(value, lang)


def types(frame: pd.DataFrame, theme: Theme, lang: str, top: int = 6) -> dict:
    """Messages by type as a ring (queries.metrics.by_type)."""
    keys, values, counts = _top(frame, "msg_type", top)
    if not sum(values):
        return empty(theme, i18n.t("no_data", lang))
    total = sum(values) or 1
    labels = plot_labels(_label(c, n, i18n.msg_type, lang) for c, n in zip(keys, counts, strict=True))
    names = [f"{label}  {v / total:.1%}" for label, v in zip(labels, values, strict=True)]
    ring = {
        "type": "pie",
        "labels": names,
        "values": values,
        "hole": 0.62,
        "sort": False,
        "direction": "clockwise",
        "marker": {"colors": list(theme.colorway[: len(values)]), "line": {"color": theme.background, "width": 2}},
        "textinfo": "none",
        "hovertemplate": "%{label}: %{value:,} (%{percent})<extra></extra>",
        "domain": {"x": [0.0, 0.46], "y": [0.04, 0.96]},
    }
    return _figure(
        [ring],
        {
            "margin": {"l": 6, "r": 6, "t": 6, "b": 6},
            "showlegend": True,
            "legend": {
                "x": 0.52,
                "y": 0.5,
                "yanchor": "middle",
                "xanchor": "left",
                "font": {"size": 14, "color": theme.text},
                "itemclick": False,
                "itemdoubleclick": False,
                "tracegroupgap": 6,
            },
        },
        theme,
    )


def empty(theme: Theme, text: str = "") -> dict:
    """A blank themed figure (before the first data arrives, or nothing to show), with an optional note."""
    layout = {"xaxis": {"visible": False}, "yaxis": {"visible": False}}
    if text:
        layout["annotations"] = [
            {
                "text": text,
                "x": 0.5,
                "y": 0.5,
                "xref": "paper",
                "yref": "paper",
                "showarrow": False,
                "font": {"size": 16, "color": theme.muted},
            }
        ]
    return _figure([], layout, theme)


AGING_LABELS = {
    "days_0_3": ("≤3天", "≤3 d"),
    "days_4_7": ("4–7天", "4–7 d"),
    "days_8_15": ("8–15天", "8–15 d"),
    "days_16_30": ("16–30天", "16–30 d"),
    "days_over_30": (">30天", ">30 d"),
}


def aging(buckets: pd.DataFrame, theme: Theme, lang: str) -> dict:
    """Unanswered messages per age bucket, 待回复 and 办理中 stacked (supervision.aging.buckets)."""
    if buckets.empty or not int(buckets["total"].sum()):
        return empty(theme, i18n.t("no_data", lang))
    names = [AGING_LABELS.get(b, (b, b))[1 if lang == "en" else 0] for b in buckets["bucket"]]
    series = [
        ("waiting", ("待回复", "Waiting"), theme.accent),
        ("in_progress", ("办理中", "In progress"), theme.accent2),
    ]
    data = [
        {
            "type": "bar",
            "name": label[1 if lang == "en" else 0],
            "x": names,
            "y": [int(v) for v in buckets[column]],
            "marker": {"color": color, "line": {"width": 0}},
            "hovertemplate": "%{x}: %{y:,}<extra>%{fullData.name}</extra>",
        }
        for column, label, color in series
    ]
    return _figure(
        data,
        {
            "barmode": "stack",
            "margin": {"l": 48, "r": 8, "t": 8, "b": 36},
            "legend": {"orientation": "h", "y": 1.12, "font": {"color": theme.text}},
            "xaxis": {"fixedrange": True, "tickfont": {"color": theme.text}},
            "yaxis": {"fixedrange": True, "gridcolor": theme.grid, "tickfont": {"color": theme.muted}},
        },
        theme,
    )


def unit_trend(trend: pd.DataFrame, theme: Theme, lang: str) -> dict:
    """One unit's answered messages per month (bars) and on-time share (line, right axis)."""
    if trend.empty:
        return empty(theme, i18n.t("no_data", lang))
    en = lang == "en"
    bars = {
        "type": "bar",
        "name": "Answered" if en else "回复件数",
        "x": trend["month"].tolist(),
        "y": [int(v) for v in trend["answered"]],
        "marker": {"color": theme.accent, "line": {"width": 0}},
    }
    line = {
        "type": "scatter",
        "mode": "lines+markers",
        "name": "On time" if en else "按时回复率",
        "x": trend["month"].tolist(),
        "y": [None if v != v else float(v) for v in trend["on_time_rate"]],
        "yaxis": "y2",
        "line": {"color": theme.accent2},
    }
    return _figure(
        [bars, line],
        {
            "margin": {"l": 48, "r": 48, "t": 8, "b": 36},
            "legend": {"orientation": "h", "y": 1.12, "font": {"color": theme.text}},
            "xaxis": {"fixedrange": True, "type": "category", "tickfont": {"color": theme.text}},
            "yaxis": {"fixedrange": True, "gridcolor": theme.grid, "tickfont": {"color": theme.muted}},
            "yaxis2": {
                "overlaying": "y",
                "side": "right",
                "range": [0, 1],
                "tickformat": ".0%",
                "fixedrange": True,
                "showgrid": False,
                "tickfont": {"color": theme.muted},
            },
        },
        theme,
    )


DAY_MS = 86_400_000
SURGE_SLOTS = 7  # a surge of fewer days is drawn as wide as one of a week


def _daily_layout(theme: Theme, days: int) -> dict:
    """Days on the x axis: one tick a day while they fit (else Plotly's choice, never two ticks a day)."""
    xaxis = {"fixedrange": True, "type": "date", "tickformat": "%m-%d", "tickfont": {"color": theme.text}}
    xaxis.update({"dtick": DAY_MS} if days <= 31 else {"nticks": 12})
    return {
        "margin": {"l": 48, "r": 48, "t": 8, "b": 36},
        "legend": {"orientation": "h", "y": 1.14, "x": 0, "xanchor": "left", "font": {"color": theme.text}},
        "xaxis": xaxis,
        "yaxis": {
            "fixedrange": True,
            "gridcolor": theme.grid,
            "tickfont": {"color": theme.muted},
            "rangemode": "tozero",
        },
        "bargap": 0.25,
    }


def issue_timeline(days: pd.DataFrame, theme: Theme, lang: str) -> dict:
    """A hot issue's messages per day (bars) and how many of them had a reply by each day (line).

    `days`: day, messages, replied (cumulative count of the issue's messages answered by that day)."""
    if days.empty:
        return empty(theme, i18n.t("no_data", lang))
    en = lang == "en"
    x = [str(d)[:10] for d in days["day"]]
    bars = {
        "type": "bar",
        "name": "Messages" if en else "留言",
        "x": x,
        "y": [int(v) for v in days["messages"]],
        "marker": {"color": theme.accent, "line": {"width": 0}},
        "hovertemplate": "%{x}: %{y:,}<extra>%{fullData.name}</extra>",
    }
    line = {
        "type": "scatter",
        "mode": "lines+markers",
        "line": {"shape": "hv", "color": theme.accent2},
        "name": "Answered so far" if en else "累计已回复",
        "x": x,
        "y": [int(v) for v in days["replied"]],
        "hovertemplate": "%{x}: %{y:,}<extra>%{fullData.name}</extra>",
    }
    return _figure([bars, line], _daily_layout(theme, len(x)), theme)


def surge(daily: list[dict], theme: Theme, lang: str) -> dict:
    """A surge's days: the actual count (bars) beside the expected level (bars), as the alert gives them
    (`daily`: day, messages, expected). Days are categories, and a short surge keeps slim bars in the middle."""
    if not daily:
        return empty(theme, i18n.t("no_data", lang))
    en = lang == "en"
    x = [str(d["day"])[5:10] for d in daily]
    expected = {
        "type": "bar",
        "name": "Expected" if en else "预期水平",
        "x": x,
        "y": [float(d["expected"]) for d in daily],
        "text": [f"{float(d['expected']):.1f}" for d in daily],
        "textposition": "outside",
        "marker": {"color": theme.prev, "line": {"width": 0}},
        "hovertemplate": "%{x}: %{y:,.1f}<extra>%{fullData.name}</extra>",
    }
    actual = {
        "type": "bar",
        "name": "Actual" if en else "实际留言",
        "x": x,
        "y": [int(d["messages"]) for d in daily],
        "text": [str(int(d["messages"])) for d in daily],
        "textposition": "outside",
        "marker": {"color": theme.up, "line": {"width": 0}},
        "hovertemplate": "%{x}: %{y:,}<extra>%{fullData.name}</extra>",
    }
    slots = max(len(x), SURGE_SLOTS)
    pad = (slots - len(x)) / 2
    layout = {
        "barmode": "group",
        "bargap": 0.3,
        "margin": {"l": 48, "r": 16, "t": 16, "b": 36},
        "legend": {"orientation": "h", "y": 1.14, "x": 0, "xanchor": "left", "font": {"color": theme.text}},
        "xaxis": {
            "fixedrange": True,
            "type": "category",
            "range": [-0.5 - pad, len(x) - 0.5 + pad],
            "tickfont": {"color": theme.text},
        },
        "yaxis": {
            "fixedrange": True,
            "gridcolor": theme.grid,
            "tickfont": {"color": theme.muted},
            "rangemode": "tozero",
        },
        "uniformtext": {"minsize": 10, "mode": "hide"},
    }
    return _figure([expected, actual], layout, theme)
