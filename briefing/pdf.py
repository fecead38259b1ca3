"""HTML to PDF with the system Chromium (headless print): fonts embedded as subsets, SVG charts stay vector."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome")
PRINT_TIMEOUT_SECONDS = 120


def chromium() -> str:
    for name in CHROMIUM_NAMES:
        path = shutil.which(name)
        if path:
            return path
    raise RuntimeError("no Chromium found: install Debian's chromium (bash .ci/run does)")


def html_to_pdf(html: str) -> bytes:
    with tempfile.TemporaryDirectory(prefix="liuyan-brief-") as tmp:
        source, target = Path(tmp) / "brief.html", Path(tmp) / "brief.pdf"
        source.write_text(html, encoding="utf-8")
        command = [
            chromium(),
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            # the document is self-contained: nothing may be fetched
            "--host-resolver-rules=MAP * ~NOTFOUND",
            f"--user-data-dir={tmp}/profile",
            "--no-pdf-header-footer",
            f"--print-to-pdf={target}",
            source.as_uri(),
        ]
        done = subprocess.run(command, capture_output=True, timeout=PRINT_TIMEOUT_SECONDS, check=False)
        if not target.exists():
            raise RuntimeError(f"Chromium did not print the briefing: {done.stderr.decode(errors='replace')[-500:]}")
        return target.read_bytes()
