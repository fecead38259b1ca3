"""Masking of personal data in text that leaves the server (screens, API, downloads)."""

from __future__ import annotations

import re

import numpy as np

# Anything that looks like a phone number, ID number or e-mail address is masked on screens.
_PERSONAL = re.compile(r"\d{6,}|[\w.+-]+@[\w-]+\.[\w.]+")


def mask_text(value, limit: int = 40) -> str:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return ""
    cleaned = _PERSONAL.sub(lambda m: "*" * min(len(m.group()), 6), str(value))
    cleaned = " ".join(cleaned.split())
    return cleaned if len(cleaned) <= limit else cleaned[: limit - 1] + "…"
