"""What the writer and the web processes exchange through Redis: key names, messages, view keys.

Keys (all under PREFIX):
  version             JSON of the current data version: {"v", "date", "at", "tokens": {view key: token}}
  view:<token>        JSON of one wall view (dashboard.wall.callbacks.build_view), expires after TTL
  patch:<old>><new>   JSON list [[component id, property, value or Patch], ...] turning view <old> into <new>
  snapshot            JSON of the newest read-only snapshot: {"name", "v", "at", "url"}
  views               sorted set: view keys walls watch, scored by when a web process last saw one
  log                 capped stream (XADD MAXLEN) of versions and snapshots, for a reconnecting reader's catch-up
Channels: events (a version or a snapshot, same JSON as the keys, with "kind"); want (a view key a wall needs now).
"""

from __future__ import annotations

import json

from dashboard import figures, i18n
from dashboard.wall.callbacks import OUTPUTS
from queries import provinces as province_ref
from queries.periods import PRESETS

PREFIX = "liuyan:"
VERSION = PREFIX + "version"
SNAPSHOT = PREFIX + "snapshot"
VIEWS = PREFIX + "views"
LOG = PREFIX + "log"
EVENTS = PREFIX + "events"
WANT = PREFIX + "want"
TTL = 3600
LOG_LENGTH = 1000
ACTIVE_SECONDS = 120
# Always published: the default wall (ytd, Chinese, national) in each metric its rotation shows.
DEFAULT_KEYS = tuple(f"ytd|zh|{m}|" for m in figures.MAP_METRICS)
PROVINCE_METRIC = "cities"  # a province view has no map metric (dashboard.wall.callbacks.Views.token)


def view_key(period: str, lang: str, metric: str, province=None) -> str | None:
    """The key of a wall view, `period|lang|metric|province` (province empty: national), or None when a part is
    not one of the allowed values (keys come from clients)."""
    if period not in PRESETS or lang != i18n.lang_or_default(lang):
        return None
    if province not in (None, ""):
        try:
            province = int(province)
        except (TypeError, ValueError):
            return None
        return f"{period}|{lang}|{PROVINCE_METRIC}|{province}" if province in province_ref.codes() else None
    return f"{period}|{lang}|{metric}|" if metric in figures.MAP_METRICS else None


def key_of_token(token) -> str | None:
    """A view token (version|period|lang|metric|date|province) names its view key."""
    parts = token.split("|") if isinstance(token, str) else []
    return view_key(parts[1], parts[2], parts[3], parts[5]) if len(parts) == 6 else None


def valid_key(key) -> bool:
    """A view key from Redis or a channel: the four parts, each allowed."""
    parts = key.split("|") if isinstance(key, str) else []
    return len(parts) == 4 and view_key(*parts) == key


def split_key(key: str) -> tuple[str, str, str, int | None]:
    period, lang, metric, province = key.split("|")
    return period, lang, metric, int(province) if province else None


def view_name(token: str) -> str:
    return f"{PREFIX}view:{token}"


def patch_name(old: str, new: str) -> str:
    return f"{PREFIX}patch:{old}>{new}"


def encode(value) -> str:
    """JSON of views, Patches (dash.Patch serialises itself) and records."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=_plotly_json)


def _plotly_json(value):
    if hasattr(value, "to_plotly_json"):
        return value.to_plotly_json()
    raise TypeError(f"cannot encode {type(value).__name__}")


def full_outputs(view: dict) -> list:
    """Every output of a view, as a patch list that replaces the whole picture."""
    return [[component, prop, view[key]] for key, component, prop in OUTPUTS]


def push_message(token: str, metric: str, outputs_json: str) -> str:
    """The text a wall receives: its new token and the outputs to set (pre-serialised, shared by many walls)."""
    return '{"t":' + json.dumps(token) + ',"m":' + json.dumps(metric) + ',"o":' + outputs_json + "}"
