"""Reply quality: per reply, is it boilerplate, does it address the message, does it say what was done or why.

- **Boilerplate** (套话/模板回复): the same or nearly the same text answering different problems, among the replies
  of the reply's own day and the 90 days before it (supervision/boilerplate.py defines it and stores it per reply;
  composed but specific answers, stock sentences with the place and problem filled in, address their message and
  are not boilerplate).
- **Addresses the message**: the reply names the message's location, or contains at least `ADDRESS_MIN` of the
  message's meaningful character bigrams (from its title, location and the start of its body). A bigram is
  meaningful unless replies use it whatever their message says (in over `GENERIC_DF` of the replies whose message
  lacks it, or barely more often when the message has it), from a stored deterministic sample of the store's
  (reply, message) pairs: this drops the words every reply uses (您好, 反映, 问题, 部门) without a hand-made list
  and keeps the topic words a reply repeats from its message (supervision/features.py says how and why this
  changed).
- **Says what was done** / **legal basis**: supervision/rules.py (ACTION, LEGAL).
"""

from __future__ import annotations

import pandas as pd

from queries.db import Store
from queries.masking import mask_text
from queries.periods import Filters
from supervision import boilerplate
from supervision.common import rate, span, sql, window

TEXT_LIMIT = 160

FLAG_COLUMNS = ["boilerplate", "addresses", "action", "legal"]
COLUMNS = ["reply_id", "message_id", "unit", "province", "replied_at", "first", "text_key"]


def flags(store: Store, f: Filters) -> pd.DataFrame:
    """One row per reply with text published in the period and passing the filters, with the four checks.

    Columns: reply_id, message_id, unit, province, replied_at, first (its message's first reply), text_key (its
    reduced text), boilerplate, addresses, action, legal. Stored features and flags are read; those missing in the
    period are computed first.
    """
    period = span(f)
    boilerplate.ensure(store, period["start"], period["stop"])
    frame = store.df(sql("reply_flags"), window(f))
    if frame.empty:
        return pd.DataFrame(columns=COLUMNS + FLAG_COLUMNS)
    for column in FLAG_COLUMNS + ["first"]:
        frame[column] = frame[column].astype(bool)
    return frame[COLUMNS + FLAG_COLUMNS].reset_index(drop=True)


def shares(flag_frame: pd.DataFrame, by: str) -> pd.DataFrame:
    """Per `by` (unit or province): replies with text, and the count and share of each check."""
    if flag_frame.empty:
        return pd.DataFrame(columns=[by, "replies"] + [c for k in FLAG_COLUMNS for c in (k, f"{k}_rate")])
    grouped = flag_frame.assign(replies=1).groupby(by, dropna=False)[["replies"] + FLAG_COLUMNS].sum()
    out = grouped.reset_index()
    for k in FLAG_COLUMNS:
        out[k] = out[k].astype("int64")
        out[f"{k}_rate"] = rate(out[k], out["replies"])
    return out.sort_values(["boilerplate_rate", "replies"], ascending=[False, False]).reset_index(drop=True)


def totals(flag_frame: pd.DataFrame) -> dict:
    n = len(flag_frame)
    out = {"replies": n}
    for k in FLAG_COLUMNS:
        count = int(flag_frame[k].sum()) if n else 0
        out[k] = count
        out[f"{k}_rate"] = count / n if n else None
    return out


def top_texts(store: Store, flag_frame: pd.DataFrame, n: int = 10) -> pd.DataFrame:
    """The `n` reduced reply texts used most often (at least twice), with how often, for how many messages,
    and by which units; the text shown is the first such reply, masked."""
    columns = ["text", "replies", "messages", "units"]
    if flag_frame.empty:
        return pd.DataFrame(columns=columns)
    grouped = flag_frame.sort_values(["replied_at", "reply_id"]).groupby("text_key")
    table = pd.DataFrame(
        {
            "first_reply": grouped["reply_id"].first(),
            "replies": grouped.size(),
            "messages": grouped["message_id"].nunique(),
            "units": grouped["unit"].agg(lambda u: sorted({mask_text(x, 60) for x in u.dropna()})),
        }
    )
    table = table[table["replies"] >= 2]
    table = table.sort_values(["replies", "messages", "first_reply"], ascending=[False, False, True]).head(n)
    texts = boilerplate.texts(store, set(table["first_reply"]))
    table["text"] = [mask_text(texts.get(rid, ""), TEXT_LIMIT) for rid in table["first_reply"]]
    return table.sort_values(["replies", "messages", "text"], ascending=[False, False, True])[columns]
