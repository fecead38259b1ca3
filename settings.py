"""Every setting of the app, declared once with its default and help.

Each can be overridden by an environment variable (`LIUYAN_<NAME>`); the
command line overrides the environment for the few settings it exposes.
"""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from zoneinfo import ZoneInfo

BEIJING = ZoneInfo("Asia/Shanghai")
PROJECT_ROOT = Path(__file__).resolve().parent
DATA_DIR = PROJECT_ROOT / "data"


def _setting(default, help_text: str):
    return field(default=default, metadata={"help": help_text})


@dataclass(frozen=True)
class Settings:
    db: str = _setting(str(DATA_DIR / "liuyan.duckdb"), "DuckDB database file")
    host: str = _setting("127.0.0.1", "address the server listens on")
    port: int = _setting(8050, "port the server listens on")
    threads: int = _setting(16, "server worker threads (one process: DuckDB allows one per file)")
    read_slots: int = _setting(2, "read requests (screens, API) served at once; the rest wait off the CPU")
    read_yield_ms: int = _setting(1000, "a read request waits up to this long while writes are pending (writes first)")
    read_lag_ms: int = _setting(
        1000, "while writes are pending, a wall screen may show the view of a data version superseded this long ago"
    )
    connection_limit: int = _setting(1000, "open connections the server keeps (each wall screen holds a few)")
    seed: int = _setting(20210722, "seed of the deterministic demo dataset")
    demo_start: str = _setting("2019-01-01", "first day of the demo history")
    refresh_seconds: float = _setting(3.0, "wall display refresh interval")
    stale_amber_seconds: int = _setting(900, "freshness label turns amber after this long without new data")
    stale_red_seconds: int = _setting(3600, "freshness label turns red after this long without new data")
    reload_hours: float = _setting(6.0, "wall display reloads itself this often (guards browser memory)")
    rotate_seconds: int = _setting(20, "wall map rotates its metric this often (0: never)")
    overdue_days: int = _setting(15, "analyst view: unanswered messages older than this are overdue")
    on_time_days: int = _setting(15, "unit league: a first reply within this many days of the message is on time")
    min_rated: int = _setting(30, "unit league: units with fewer rated answers are listed but not ranked")
    ingest_token: str = _setting("", "bearer token of the write API; empty turns the write API off")
    max_body_bytes: int = _setting(32 * 1024 * 1024, "largest accepted write API body")
    max_future_minutes: int = _setting(10, "records timed more than this many minutes after now are rejected")
    simulate: bool = _setting(True, "run the live simulator on a demo database")
    sim_speed: float = _setting(1.0, "simulator speed factor (1 = real time)")
    cache_seconds: int = _setting(3600, "how long a cached query result may live")
    duckdb_memory: str = _setting("", "DuckDB memory limit, e.g. 1GB (empty: DuckDB's default, 80% of RAM)")
    duckdb_purge: bool = _setting(
        True, "DuckDB's allocator gives freed memory back in the background (else a year's insight read keeps ~0.5 GB)"
    )
    checkpoint_wal_mb: float = _setting(
        1.0, "the database's owner takes a checkpoint in a pause of the writes once the WAL file holds this many MiB"
    )
    checkpoint_limit: str = _setting(
        "16MB", "DuckDB checkpoints within the write that passes this (its estimate of the WAL; no pause came)"
    )
    story_seconds: float = _setting(
        60.0, "wall: how often the story panels (surges, hot issues, units) are analysed again"
    )
    text_index_days: int = _setting(
        400, "messages of the last this many days get their words stored in the background (insight/index.py)"
    )
    clock: str = _setting("", "freeze the screens' clock at this Beijing time, e.g. 2026-11-26T12:00:00 (empty: real)")
    auth: str = _setting("open", "open (demo: no login) or required (login for the screens and the read API)")
    allow_open: bool = _setting(False, "allow auth=open on a non-loopback address (otherwise the server refuses)")
    users_file: str = _setting(str(DATA_DIR / "users.json"), "user store (python app.py user ...); hashed secrets")
    secret_key: str = _setting("", "session signing key (empty: a random key kept in secret_key next to users_file)")
    session_hours: float = _setting(12.0, "a login lasts this long (wall keys: re-sent with every page load)")
    cookie_secure: bool = _setting(False, "Secure cookies: set when users reach the app over HTTPS (reverse proxy)")
    proxy_hops: int = _setting(0, "reverse proxies in front whose X-Forwarded-For/-Proto/-Host are trusted")
    frame_ancestors: str = _setting("'self'", "CSP frame-ancestors: who may embed the screens ('none', 'self', hosts)")
    oidc_issuer: str = _setting("", "OpenID Connect issuer URL for single sign-on (empty: SSO off)")
    oidc_client_id: str = _setting("", "OpenID Connect client id")
    oidc_client_secret: str = _setting("", "OpenID Connect client secret")
    oidc_username_claim: str = _setting("email", "ID token claim naming the user in the user store")
    # scale-out roles (python app.py writer / web; see scaleout/)
    redis_url: str = _setting("redis://127.0.0.1:6379/0", "Redis shared by the writer and the web processes")
    snapshot_seconds: float = _setting(60.0, "writer: publish a read-only snapshot for analysts this often")
    snapshot_secret: str = _setting("", "shared secret web processes present to download the writer's snapshots")
    snapshot_dir: str = _setting("", "where snapshots are written (writer) or downloaded (web); empty: next to the db")
    writer_url: str = _setting("", "writer's base URL for snapshot downloads (empty: the URL the writer announces)")
    peers: str = _setting("", "web: comma-separated origins a wall moves to when its web process is gone")
    push_deflate: bool = _setting(
        False, "web: compress pushed messages (per wall: each compresses the same message again; CPU for bandwidth)"
    )

    def now(self) -> dt.datetime:
        """Beijing time without tzinfo: the frozen clock when set (reproducible tests and demos), else the real one."""
        if self.clock:
            return dt.datetime.fromisoformat(self.clock).replace(tzinfo=None, microsecond=0)
        return dt.datetime.now(BEIJING).replace(tzinfo=None, microsecond=0)

    @classmethod
    def from_env(cls, environ=None, **overrides) -> Settings:
        environ = os.environ if environ is None else environ
        values = {}
        for f in fields(cls):
            raw = environ.get(f"LIUYAN_{f.name.upper()}")
            if raw is None or raw == "":
                continue
            values[f.name] = _convert(f.type, raw, f.name)
        values.update({k: v for k, v in overrides.items() if v is not None})
        return replace(cls(), **values)


def _convert(type_name, raw: str, name: str):
    kind = type_name if isinstance(type_name, str) else type_name.__name__
    try:
        if kind == "int":
            return int(raw)
        if kind == "float":
            return float(raw)
        if kind == "bool":
            lowered = raw.strip().lower()
            if lowered in ("1", "true", "yes", "on"):
                return True
            if lowered in ("0", "false", "no", "off"):
                return False
            raise ValueError(raw)
    except ValueError:
        raise SystemExit(f"environment variable LIUYAN_{name.upper()}: cannot read {raw!r} as {kind}") from None
    return raw


def describe() -> str:
    """One line per setting, for --help and the README."""
    return "\n".join(
        f"  LIUYAN_{f.name.upper():<22} {f.metadata['help']} (default: {f.default!r})" for f in fields(Settings)
    )
