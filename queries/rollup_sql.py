"""SQL written from the metric declarations (queries/catalog.py): rollup rebuilds, increments and reads.

Identifiers come only from the catalog (table, key and count names, the counts' expressions); every value is a
bound parameter ($days, $start, ...). Each function is cached: the text is built once per process.
"""

from __future__ import annotations

from functools import cache

from queries.catalog import COARSE, COMPONENTS, COUNT, FINE_KEYS, PERIODS, TABLES, WIDE, counts_on

MATCHES = "message_matches(province, category, msg_type, is_urgent, $provinces, $categories, $types, $urgent_only)"
KEY_COLUMNS = {"province": "province", "category": "category", "msg_type": "msg_type", "city": "city"}
_DAYS = "day >= $first AND day <= $last AND day IN (SELECT unnest($days))"


def _counted(name: str) -> str:
    return f"CAST(({COUNT[name].expr}) AS BIGINT)"


def _tally(name: str, flag: str | None = None) -> str:
    """The rows where a count's expression (or the boolean column `flag`) holds: a BIGINT count state, cheaper to
    group by than a sum (a sum of BIGINT is a HUGEINT)."""
    return f"count(*) FILTER (WHERE {flag or f'CAST(({COUNT[name].expr}) AS BOOLEAN)'})"


# -- rebuild from raw rows (queries/rollups.py) ------------------------------------------------------------------
@cache
def delete_days(table: str) -> str:
    assert table in TABLES
    return f"DELETE FROM roll_{table} WHERE {_DAYS}"


@cache
def rebuild_fine(component: str) -> str:
    """Rows of roll_<component> of the days $days (bounded by timestamps $low, $high) from raw rows."""
    c = COMPONENTS[component]
    keys, counts = TABLES[component]
    sums = ", ".join(_tally(n) for n in counts)
    return (
        f"INSERT INTO roll_{component} ({', '.join(keys + counts)}) "
        f"SELECT CAST({c.day} AS DATE), {', '.join(keys[1:])}, {sums} FROM {c.source} "
        f"WHERE {c.day} >= $low AND {c.day} < $high AND CAST({c.day} AS DATE) IN (SELECT unnest($days)) "
        "GROUP BY ALL ORDER BY 1"
    )


def _component_rows(component: str, keys: tuple[str, ...], source: str, where: str) -> str:
    """Whether each count of a component holds, per raw row of `source` that `where` keeps (its day: the day of its
    component, when set), with `keys`; the table's one GROUP BY counts them (grouping each component first and the
    union again hashed every row twice)."""
    c = COMPONENTS[component]
    counted = ", ".join(f"CAST(({COUNT[n].expr}) AS BOOLEAN) AS {n}" for n in counts_on(component))
    return (
        f"(SELECT CAST({c.day} AS DATE) AS day, {', '.join(keys[1:])}, {counted} FROM {source} "
        f"WHERE {c.day} IS NOT NULL{where})"
    )


@cache
def rebuild_wide(table: str) -> str:
    """Rows of a wide table for the days $days (bounded by timestamps $low, $high) from raw rows: each component's
    counts on its own day, summed per key."""
    keys, counts = TABLES[table]
    sources = {
        name: _component_rows(
            name,
            keys,
            c.source,
            f" AND {c.day} >= $low AND {c.day} < $high AND CAST({c.day} AS DATE) IN (SELECT unnest($days))",
        )
        for name, c in COMPONENTS.items()
    }
    # ordered by day only, as the fine tables: a row group spans days that each hold every province and city, so
    # ordering within a day lets no scan skip a row group (it cost a third of a replies import's rebuild)
    return (
        f"INSERT INTO roll_{table} ({', '.join(keys + counts)}) {_coarse_from(table, sources, tally=True)} ORDER BY day"
    )


def _coarse_from(table: str, sources: dict[str, str], tally: bool = False) -> str:
    """SELECT of the coarse table's rows from the fine rows of each component (`sources`: relation per component);
    `tally`: the sources hold one raw row each, a boolean per count (_component_rows)."""
    keys, counts = TABLES[table]
    parts = [
        f"SELECT {', '.join(keys)}, {', '.join(counts_on(component))} FROM {relation}"
        for component, relation in sources.items()
        if counts_on(component)
    ]
    # a count missing from a component's rows is NULL there: no row is counted, and a sum of none is 0
    sums = ", ".join(f"{_tally(n, n)} AS {n}" if tally else f"coalesce(sum({n}), 0) AS {n}" for n in counts)
    return f"SELECT {', '.join(keys)}, {sums} FROM ({' UNION ALL BY NAME '.join(parts)}) GROUP BY ALL"


@cache
def rebuild_coarse(table: str) -> str:
    """Rows of a coarse table for the days $days, summed from the fine tables."""
    keys, counts = TABLES[table]
    sources = {c: f"(SELECT * FROM roll_{c} WHERE {_DAYS})" for c in COMPONENTS}
    return f"INSERT INTO roll_{table} ({', '.join(keys + counts)}) {_coarse_from(table, sources)} ORDER BY day"


# -- increments of a write (queries/deltas.py) -------------------------------------------------------------------
# the keys of every table at once: each component is grouped by them once, and every table summed from that
_ALL_KEYS = tuple(dict.fromkeys(key for keys, _ in TABLES.values() for key in keys))


@cache
def increments() -> str:
    """The signed sums per key of every rollup table over the registered `states` (sign, state columns), as rows
    (`tbl` names the table; columns it lacks are NULL); keys whose sums are all zero left out."""
    ctes = []
    for name, c in COMPONENTS.items():
        counts = counts_on(name)
        sums = ", ".join(f"sum(sign * {_counted(n)}) AS {n}" for n in counts)
        summed = ", ".join(f"sum({n}) AS {n}" for n in counts)
        nonzero = " OR ".join(f"{n} <> 0" for n in counts)
        # materialised: every table reads them again
        ctes.append(
            f"all_{name} AS MATERIALIZED (SELECT CAST({c.day} AS DATE) AS day, {', '.join(_ALL_KEYS[1:])}, {sums} "
            f"FROM states WHERE {c.day} IS NOT NULL GROUP BY ALL)"
        )
        ctes.append(
            f"{name} AS MATERIALIZED (SELECT * FROM (SELECT day, {', '.join(FINE_KEYS[1:])}, {summed} FROM all_{name} "
            f"GROUP BY ALL) WHERE {nonzero})"
        )
    selects = [f"SELECT '{name}' AS tbl, * FROM {name}" for name in COMPONENTS]
    for table in (*COARSE, *WIDE):
        sources = {c: c if table in COARSE else f"all_{c}" for c in COMPONENTS}
        nonzero = " OR ".join(f"{n} <> 0" for n in TABLES[table][1])
        selects.append(f"SELECT '{table}' AS tbl, * FROM ({_coarse_from(table, sources)}) WHERE {nonzero}")
    return f"WITH {', '.join(ctes)} " + " UNION ALL BY NAME ".join(selects)


@cache
def append(table: str) -> str:
    """Append the increments of `table` from the registered `delta_rows` (as `increments` returns them)."""
    keys, counts = TABLES[table]
    columns = ", ".join(keys + counts)
    return f"INSERT INTO roll_{table} ({columns}) SELECT {columns} FROM delta_rows WHERE tbl = '{table}'"


@cache
def compact(table: str) -> str:
    """Merge the rows of the days $days of a rollup table into one row per key (keys summing to zero go)."""
    keys, counts = TABLES[table]
    key_list = ", ".join(keys)
    sums = ", ".join(f"sum({n}) AS {n}" for n in counts)
    nonzero = " OR ".join(f"{n} <> 0" for n in counts)
    return (
        f"INSERT INTO roll_{table} ({key_list}, {', '.join(counts)}) SELECT * FROM (SELECT {key_list}, {sums} "
        f"FROM old_rows GROUP BY {key_list}) WHERE {nonzero} ORDER BY {key_list}"
    )


# -- reads (queries/metrics.py) ----------------------------------------------------------------------------------
def _in_periods(column: str = "day") -> str:
    # the bounding range first: a plain range lets DuckDB skip the row groups outside it (an OR alone does not)
    low = "least(" + ", ".join(f"${p}start" for p in PERIODS.values()) + ")"
    return (
        f"{column} >= {low} AND {column} < $stop AND ("
        + " OR ".join(f"({column} >= ${p}start AND {column} < ${p}stop)" for p in PERIODS.values())
        + ")"
    )


# The filter a table with every count (coarse or wide) carries in its key.
_COARSE_FILTER = {
    "province": " AND (len($provinces) = 0 OR list_contains($provinces, province))",
    "category": " AND (len($categories) = 0 OR list_contains($categories, category))",
    "type": " AND (len($types) = 0 OR list_contains($types, msg_type))",
    "province_category": " AND (len($provinces) = 0 OR list_contains($provinces, province))"
    " AND (len($categories) = 0 OR list_contains($categories, category))",
    **{table: f" AND {MATCHES}" for table in WIDE},  # every filter's column
}


def source_for(dimension: str | None, provinces: bool, categories: bool, types: bool, urgent: bool) -> str:
    """The rollup that answers a question: a coarse table when its key carries every filter and the grouping,
    else the fine tables ('fine'); the wide table of a dimension the fine tables lack (city)."""
    if dimension in WIDE:
        return dimension
    if not (categories or types or urgent) and dimension in (None, "province"):
        return "province"
    if not (provinces or types or urgent) and dimension in (None, "category"):
        return "category"
    if not (provinces or categories or urgent) and dimension in (None, "msg_type"):
        return "type"
    if not (types or urgent) and dimension in (None, "province", "category"):
        return "province_category"
    return "fine"


@cache
def sums(source: str, dimension: str | None) -> str:
    """Every count over the current period (`name`), a year earlier (`name_prev`) and the 环比 period
    (`name_before`), per value of `dimension` (`key`; None: one row, key 0), from `source` (see `source_for`).
    Each period is its own range scan (the rows are in day order, so a scan reads little more than its days),
    summed per key; the small results are then put side by side."""
    key = KEY_COLUMNS[dimension] if dimension else "0"
    parts = []
    for suffix, p in PERIODS.items():
        period = f"day >= ${p}start AND day < ${p}stop"
        if source in _COARSE_FILTER:
            counts = [c.name for c in COUNT.values()]
            parts.append(
                f"SELECT {key} AS key, {', '.join(f'sum({n}) AS {n}{suffix}' for n in counts)} "
                f"FROM roll_{source} WHERE {period}{_COARSE_FILTER[source]} GROUP BY ALL"
            )
            continue
        for name in COMPONENTS:
            counts = counts_on(name)
            sums = ", ".join(f"sum({n}) AS {n}{suffix}" for n in counts)
            parts.append(f"SELECT {key} AS key, {sums} FROM roll_{name} WHERE {period} AND {MATCHES} GROUP BY ALL")
    columns = ", ".join(f"coalesce(sum({c.name}{s}), 0) AS {c.name}{s}" for c in COUNT.values() for s in PERIODS)
    return f"SELECT key, {columns} FROM ({' UNION ALL BY NAME '.join(parts)}) GROUP BY key"


@cache
def daily(source: str, counts: tuple[str, ...] = ("messages", "replies")) -> str:
    """`counts` per day over the current period and a year earlier (the trend's raw material)."""
    where = "((day >= $start AND day < $stop) OR (day >= $prev_start AND day < $prev_stop))"
    if source in COARSE:
        where += _COARSE_FILTER[source]
        inner = f"SELECT day, {', '.join(counts)} FROM roll_{source} WHERE {where}"
    else:
        inner = " UNION ALL BY NAME ".join(
            f"SELECT day, {', '.join(n for n in counts_on(c) if n in counts)} FROM roll_{c} WHERE {where} AND {MATCHES}"
            for c in COMPONENTS
            if any(n in counts for n in counts_on(c))
        )
    summed = ", ".join(f"coalesce(sum({n}), 0) AS {n}" for n in counts)
    return f"SELECT day, {summed} FROM ({inner}) GROUP BY day ORDER BY day"


@cache
def days(source: str, dimension: str | None) -> str:
    """Every count per day (and per value of `dimension`, `key`) over the days of the three periods, from `source`
    (see `source_for`): the rows a question's summary, province table and trend are summed from (from a coarse
    table a day and key may come in several rows)."""
    key = f"{KEY_COLUMNS[dimension]} AS key, " if dimension else ""
    names = [c.name for c in COUNT.values()]
    if source in COARSE:
        # the table's rows as they are (a key may have several until compacted): the caller sums them anyway,
        # and a GROUP BY here would cost more than it saves
        return f"SELECT day, {key}{', '.join(names)} FROM roll_{source} WHERE {_in_periods()}{_COARSE_FILTER[source]}"
    inner = " UNION ALL BY NAME ".join(
        f"SELECT day, {KEY_COLUMNS[dimension] + ', ' if dimension else ''}{', '.join(counts_on(c))} "
        f"FROM roll_{c} WHERE {_in_periods()} AND {MATCHES}"
        for c in COMPONENTS
    )
    summed = ", ".join(f"CAST(coalesce(sum({n}), 0) AS BIGINT) AS {n}" for n in names)
    return f"SELECT day, {key}{summed} FROM ({inner}) GROUP BY ALL"
