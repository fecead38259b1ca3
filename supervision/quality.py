"""Reply quality: per reply, is it boilerplate, does it address the message, does it say what was done or why.

- **Boilerplate** (套话/模板回复): the same or nearly the same text answering different problems. Texts are
  reduced to their Chinese characters (numbers, dates, phone numbers, Latin letters and punctuation dropped); a
  message's problem is its named location when it gives one (many messages about one place are one problem),
  else its reduced title and body. A reply is boilerplate when it does not address its message (below) and
  (a) its reduced text also answers another problem, or (b) at least `NEAR_SHARE` of its characters lie in clauses
  (between punctuation, at least 4 characters) that replies to at least `NEAR_MESSAGES` different problems also
  use; a clause not shared itself counts by the share of its 4-character pieces found in shared clauses. Composed
  but specific answers (stock sentences with the place and problem filled in) address their message and are not
  boilerplate. Replies are compared with every reply of the period and the `LOOKBACK_DAYS` before it, whatever
  the filters.

  Per-reply parts (reduced text, problem, clauses, the three checks below) are stored (supervision/features.py);
  the comparisons between replies are SQL aggregates over the stored keys (queries/supervision.sql `reply_flags`,
  `candidate_clauses`).
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

import numpy as np
import pandas as pd

from queries.db import Store
from queries.masking import mask_text
from queries.periods import Filters
from supervision import features, rules
from supervision.common import rate, span, sql, window

LOOKBACK_DAYS = 90
NEAR_MESSAGES = 3
NEAR_SHARE = 0.7
PARTIAL_FROM = 0.4  # replies this shared get credit for partly shared clauses
PIECE = 4
TEXT_LIMIT = 160

FLAG_COLUMNS = ["boilerplate", "addresses", "action", "legal"]
COLUMNS = ["reply_id", "message_id", "unit", "province", "replied_at", "first", "text_key"]


def flags(store: Store, f: Filters) -> pd.DataFrame:
    """One row per reply with text published in the period and passing the filters, with the four checks.

    Columns: reply_id, message_id, unit, province, replied_at, first (its message's first reply), text_key (its
    reduced text), boilerplate, addresses, action, legal. Stored features (supervision/features.py) are read;
    those missing in the period and its lookback are computed first.
    """
    lookback = span(f, LOOKBACK_DAYS)
    features.ensure_reply_features(store, lookback["start"], lookback["stop"])
    params = dict(window(f), lookback=lookback["start"])
    frame = store.df(sql("reply_flags"), params)
    if frame.empty:
        return pd.DataFrame(columns=COLUMNS + FLAG_COLUMNS)
    for column in ("addresses", "action", "legal", "exact", "first"):
        frame[column] = frame[column].astype(bool)
    candidates = ~frame["exact"] & ~frame["addresses"]
    shared = _mostly_shared(store, frame.loc[candidates, "reply_id"], lookback)
    frame["boilerplate"] = ~frame["addresses"] & (frame["exact"] | frame["reply_id"].isin(shared))
    return frame[COLUMNS + FLAG_COLUMNS].reset_index(drop=True)


def _mostly_shared(store: Store, ids: pd.Series, lookback: dict) -> set:
    """Rule (b) for the candidate replies `ids`: at least NEAR_SHARE of the reply's characters in clauses that
    replies to NEAR_MESSAGES different problems also use (a clause not shared itself counts by its pieces found in
    shared clauses). Returns the reply ids that pass."""
    if ids.empty:
        return set()
    bound = {"lookback": lookback["start"], "stop": lookback["stop"], "near": NEAR_MESSAGES}
    parts = store.df(sql("candidate_clauses"), dict(bound, ids=ids.tolist()))
    if parts.empty:
        return set()
    parts["length"] = parts["length"].astype("float64")
    parts["common"] = parts["common"].astype(bool)
    parts["shared"] = np.where(parts["common"], parts["length"], 0.0)
    share = parts.groupby("reply_id")["shared"].sum() / parts.groupby("reply_id")["length"].sum()
    partly = share.index[(share >= PARTIAL_FROM) & (share < NEAR_SHARE)]
    if len(partly):
        redo = parts[parts["reply_id"].isin(partly) & ~parts["common"]]
        parts.loc[redo.index, "shared"] = _partial_credit(store, redo, bound)
        share = parts.groupby("reply_id")["shared"].sum() / parts.groupby("reply_id")["length"].sum()
    return set(share.index[share >= NEAR_SHARE])


def _partial_credit(store: Store, redo: pd.DataFrame, bound: dict) -> list[float]:
    """Characters credited to the unshared clauses `redo` (reply_id, clause_key, length): length × the share of
    their pieces found in the window's shared clauses (texts recovered from one reply using each). Only the pieces
    of `redo`'s clauses not found yet are looked for: a text is split only when its reduced text holds one."""
    own_texts = _texts(store, set(redo["reply_id"]))
    own = {(rid, features.key(c)): c for rid, text in own_texts.items() for c in rules.clauses(text)}
    wanted = {p for clause in own.values() for p in _pieces(clause)}
    examples = store.df(sql("shared_clause_examples"), bound)
    shared_keys = set(examples["clause_key"].astype("uint64").tolist())
    pieces, missing = set(), set(wanted)
    for text in set(_texts(store, set(examples["reply_id"])).values()):
        reduced = rules.han(text)
        if not missing:
            break
        if not any(p in reduced for p in missing):  # every piece of its clauses lies in its reduced text
            continue
        for clause in rules.clauses(text):
            if features.key(clause) in shared_keys:
                pieces.update(p for p in _pieces(clause) if p in missing)
        missing -= pieces
    return [
        length * _covered(own.get((rid, int(k)), ""), pieces)
        for rid, k, length in zip(redo["reply_id"], redo["clause_key"], redo["length"], strict=True)
    ]


def _texts(store: Store, ids) -> dict:
    frame = store.df(sql("reply_texts_of"), {"ids": sorted(ids)})
    return dict(zip(frame["reply_id"], frame["reply"], strict=True))


def _pieces(clause: str) -> list[str]:
    return [clause[i : i + PIECE] for i in range(max(1, len(clause) - PIECE + 1))]


def _covered(clause: str, pieces: set[str]) -> float:
    own = _pieces(clause)
    return sum(1 for p in own if p in pieces) / len(own) if clause else 0.0


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
    texts = _texts(store, set(table["first_reply"]))
    table["text"] = [mask_text(texts.get(rid, ""), TEXT_LIMIT) for rid in table["first_reply"]]
    return table.sort_values(["replies", "messages", "text"], ascending=[False, False, True])[columns]


def first_reply_boilerplate(store: Store, f: Filters) -> pd.DataFrame:
    """Per (unit, province): first replies with text published in the period and how many of them are boilerplate
    (the league's input), aggregated in SQL; only the replies the partial credit may still flag come back here.
    Reads the league's stored facts: the caller ensures them (supervision/league_facts.py)."""
    lookback = span(f, LOOKBACK_DAYS)
    features.ensure_reply_features(store, lookback["start"], lookback["stop"])
    params = dict(
        window(f),
        lookback=lookback["start"],
        near=NEAR_MESSAGES,
        near_share=NEAR_SHARE,
        partial_from=PARTIAL_FROM,
    )
    frame = store.df(sql("league_boilerplate"), params)
    if frame.empty:
        return pd.DataFrame(columns=["unit", "province", "with_text", "boilerplate"])
    partly = [list(ids) if isinstance(ids, (list, np.ndarray)) else [] for ids in frame["partly"]]
    flagged = _mostly_shared(store, pd.Series([r for ids in partly for r in ids], dtype=object), lookback)
    frame["boilerplate"] = frame["boilerplate"] + [sum(r in flagged for r in ids) for ids in partly]
    out = frame[["unit", "province", "with_text", "boilerplate"]]
    return out.astype({"with_text": "int64", "boilerplate": "int64"})
