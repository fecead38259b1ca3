"""`python app.py brief`: write a briefing file from the database, or ask the running server for it when the
server holds the database."""

from __future__ import annotations

import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

from briefing.build import FORMATS, build
from briefing.period import resolve
from settings import Settings

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


def main(period_spec: str, province: str | None, out: str | None, settings: Settings) -> int:
    from dashboard.params import BadParameter, parse_provinces
    from queries.db import DatabaseLocked, Store
    from queries.service import Metrics

    now = settings.now()
    try:
        period = resolve(period_spec, now.date())
        code = parse_provinces([province])[0] if province else None
    except (ValueError, BadParameter) as exc:
        print(f"brief: {exc}", file=sys.stderr)
        return EXIT_USAGE
    fmt = Path(out).suffix.lstrip(".").lower() if out else "pdf"
    if fmt not in FORMATS:
        print(f"brief: --out must end in .{' or .'.join(FORMATS)}", file=sys.stderr)
        return EXIT_USAGE
    if not Path(settings.db).is_file():
        print(f"brief: no database at {settings.db} (python app.py init creates the demo)", file=sys.stderr)
        return EXIT_USAGE
    started = time.perf_counter()
    try:
        store = Store(settings.db)
    except DatabaseLocked:
        data, name = _from_server(period_spec, province, fmt, settings)
    else:
        try:
            data, name = build(Metrics(store), period, code, now, fmt)
        finally:
            store.close()
    target = Path(out or name)
    target.write_bytes(data)
    print(f"brief: wrote {target} ({len(data):,} bytes) in {time.perf_counter() - started:.1f} s", file=sys.stderr)
    return EXIT_OK


def _from_server(period: str, province: str | None, fmt: str, settings: Settings) -> tuple[bytes, str]:
    query = {"period": period, "format": fmt, **({"province": province} if province else {})}
    url = f"http://{settings.host}:{settings.port}/api/v1/brief?{urllib.parse.urlencode(query)}"
    try:
        with urllib.request.urlopen(url, timeout=300) as response:
            disposition = response.headers.get("Content-Disposition", "")
            name = urllib.parse.unquote(disposition.partition("''")[2]) or f"brief.{fmt}"
            return response.read(), name
    except urllib.error.URLError as exc:
        raise SystemExit(f"brief: the database is held by another process and {url} did not answer: {exc}") from None
