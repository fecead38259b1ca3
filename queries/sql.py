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


# Identifiers that may be substituted into SQL text; values are always bound.
DIMENSIONS = {"province": "province", "city": "city", "category": "category", "msg_type": "msg_type"}
JOIN_TABLES = {"units": "units", "leaders": "leaders"}


def template(family: str, query: str, dimension: str | None = None, table: str | None = None) -> str:
    """Named SQL with its `__DIM__`/`__KEY__` (a dimension column or the constant 0) and `__TABLE__`
    placeholders filled from the allow-lists."""
    sql = text(family, query)
    if dimension is not None:
        sql = sql.replace("__DIM__", DIMENSIONS[dimension])
        sql = sql.replace("__KEY__", DIMENSIONS[dimension])
    else:
        sql = sql.replace("__KEY__", "0")
    if table is not None:
        sql = sql.replace("__TABLE__", JOIN_TABLES[table])
    return sql
