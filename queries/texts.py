"""Write the records' text (message bodies, likes and locations; reply texts; evaluation comments) into
their own tables, in the record's transaction. No metric reads these tables, so text never slows the numbers.

A row that carries no text at all (no content/location/comment, likes 0: e.g. from a file without these
columns) leaves the stored text of its id as it is; a row with any text replaces it.
"""

from __future__ import annotations

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from queries.sql import text

_STRING = pa.string()
# kind -> (id column, text columns with their Arrow types, named upsert)
TEXT_COLUMNS = {
    "messages": ("message_id", {"content": _STRING, "location": _STRING, "likes": pa.int32()}, "message_texts"),
    "replies": ("reply_id", {"content": _STRING}, "reply_texts"),
    "evaluations": ("message_id", {"comment": _STRING}, "evaluation_comments"),
}


def table(kind: str, batch: pd.DataFrame, rejected_rows=()) -> pa.Table | None:
    """The batch's text rows of `kind` as Arrow (None: nothing to write): rows with any text, minus rejected."""
    if kind not in TEXT_COLUMNS:
        return None
    id_column, columns, _ = TEXT_COLUMNS[kind]
    if not set(columns) <= set(batch.columns):
        return None
    arrays = {id_column: _arrow(batch[id_column], _STRING)}
    carries = None
    for name, kind_type in columns.items():
        array = _arrow(batch[name], kind_type)
        arrays[name] = array
        has = pc.greater(array, 0) if pa.types.is_integer(kind_type) else pc.is_valid(array)
        has = pc.fill_null(has, False)
        carries = has if carries is None else pc.or_(carries, has)
    if rejected_rows and "_row" in batch.columns:
        keep = pc.invert(pc.is_in(pa.array(batch["_row"].to_numpy()), value_set=pa.array(sorted(rejected_rows))))
        carries = pc.and_(carries, keep)
    result = pa.table(arrays)
    if not pc.all(carries).as_py():
        result = result.filter(carries)
    return result if result.num_rows else None


def write(cur, kind: str, rows: pa.Table | None, *, all_new: bool = False) -> None:
    """Upsert `rows` (from `table`) with cursor `cur` (inside the record's write transaction). `all_new`: the
    ids are known to have no stored text (their records were just inserted): a plain insert."""
    if rows is None:
        return
    query = "insert_message_texts" if all_new and kind == "messages" else f"upsert_{TEXT_COLUMNS[kind][2]}"
    cur.register("text_batch", rows)
    try:
        cur.execute(text("texts", query)).fetchall()
    finally:
        cur.unregister("text_batch")


def _arrow(values: pd.Series, kind_type: pa.DataType) -> pa.Array:
    data = getattr(values.array, "_pa_array", None)
    array = data.combine_chunks() if isinstance(data, pa.ChunkedArray) else data
    if array is None:
        array = pa.array(values.to_numpy(), from_pandas=True)
    return array if array.type == kind_type else array.cast(kind_type)
