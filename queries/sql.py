"""Named SQL from queries/*.sql, loaded once with aiosql.

Queries run through a DuckDB cursor (`cursor.execute(text, params)`) so that
results come back as DataFrames; aiosql supplies the parsing and naming.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import aiosql

_SQL_DIR = Path(__file__).parent


@cache
def _family(name: str):
    return aiosql.from_path(_SQL_DIR / f"{name}.sql", "duckdb")


def text(family: str, query: str) -> str:
    """SQL text of query `query` in queries/<family>.sql (parameters as $name)."""
    return getattr(_family(family), query).sql
