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
- **Addresses the message**: the reply names the message's location, or contains at least `ADDRESS_MIN` of the
  message's meaningful character bigrams (from its title, location and the start of its body). A bigram is
  meaningful when it is rare among replies (in under `GENERIC_DF` of a deterministic sample of them), which
  drops the words every reply uses (您好, 反映, 问题, 部门) without a hand-made list.
- **Says what was done** / **legal basis**: supervision/rules.py (ACTION, LEGAL).
"""

from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd

from queries.db import Store
from queries.masking import mask_text
from queries.periods import Filters
from supervision import rules
from supervision.common import matches, rate, span, sql

LOOKBACK_DAYS = 90
NEAR_MESSAGES = 3
NEAR_SHARE = 0.7
PARTIAL_FROM = 0.4  # replies this shared get credit for partly shared clauses
PIECE = 4
ADDRESS_MIN = 2
GENERIC_DF = 0.02
DF_SAMPLE = 5000
BODY_CHARS = 120
TEXT_LIMIT = 160

FLAG_COLUMNS = ["boilerplate", "addresses", "action", "legal"]


def _key(value: str) -> str:
    return hashlib.blake2b(value.encode("utf-8"), digest_size=8).hexdigest()


def flags(store: Store, f: Filters) -> pd.DataFrame:
    """One row per reply with text published in the period and passing the filters, with the four checks.

    Columns: reply_id, message_id, unit, province, replied_at, first (its message's first reply), reply (raw
    text), text_key (its reduced text), boilerplate, addresses, action, legal.
    """
    frame = store.df(sql("reply_texts_window"), span(f, LOOKBACK_DAYS))
    if frame.empty:
        return pd.DataFrame(
            columns=["reply_id", "message_id", "unit", "province", "replied_at", "first", "reply", "text_key"]
            + FLAG_COLUMNS
        )
    frame["reduced"] = [rules.han(t) for t in frame["reply"]]
    frame["text_key"] = [_key(t) for t in frame["reduced"]]
    frame["problem"] = [
        _problem(t, b, loc) for t, b, loc in zip(frame["title"], frame["body"], frame["location"], strict=True)
    ]
    exact = (frame.groupby("text_key")["problem"].transform("nunique") >= 2).to_numpy()
    in_period = ((frame["replied_at"] >= span(f)["start"]) & matches(frame, f)).to_numpy()
    frame["addresses"] = False
    frame.loc[in_period, "addresses"] = _addresses(frame[in_period])
    answers_it = frame["addresses"].to_numpy(dtype=bool)
    candidates = in_period & ~exact & ~answers_it
    frame["boilerplate"] = ~answers_it & (exact | _mostly_shared(frame, candidates))
    frame = frame[in_period].copy()
    frame["action"] = [rules.says_action(t) for t in frame["reply"]]
    frame["legal"] = [rules.cites_basis(t) for t in frame["reply"]]
    columns = ["reply_id", "message_id", "unit", "province", "replied_at", "first", "reply", "text_key"]
    return frame[columns + FLAG_COLUMNS].reset_index(drop=True)


def _problem(title, body, location) -> str:
    """What a message is about: its named location when it gives one (messages about one place are one problem,
    however worded), else its reduced title and body."""
    place = rules.han(location)
    return _key("@" + place) if len(place) >= 2 else _key(rules.han(title) + "|" + rules.han(body))


def _mostly_shared(frame: pd.DataFrame, candidates: np.ndarray) -> np.ndarray:
    """Rule (b) for the candidate rows: at least NEAR_SHARE of the reply's characters in clauses that replies to
    NEAR_MESSAGES different problems also use (a clause not shared itself counts by its pieces found in shared
    clauses)."""
    out = np.zeros(len(frame), dtype=bool)
    if not candidates.any():
        return out
    parts = pd.DataFrame({"row": np.arange(len(frame)), "clause": [rules.clauses(t) for t in frame["reply"]]})
    parts["problem"] = frame["problem"].to_numpy()
    parts = parts.explode("clause").dropna(subset=["clause"]).drop_duplicates(["row", "clause"])
    parts = parts.reset_index(drop=True)
    if parts.empty:
        return out
    parts["common"] = (parts.groupby("clause")["problem"].transform("nunique") >= NEAR_MESSAGES).to_numpy()
    shared_clauses = parts.loc[parts["common"], "clause"].unique()
    parts = parts[candidates[parts["row"].to_numpy()]].copy()
    parts["length"] = parts["clause"].str.len().astype("float64")
    parts["shared"] = np.where(parts["common"], parts["length"], 0.0)
    share = parts.groupby("row")["shared"].sum() / parts.groupby("row")["length"].sum()
    partly = set(share.index[(share >= PARTIAL_FROM) & (share < NEAR_SHARE)])
    if partly:
        pieces = {p for clause in shared_clauses for p in _pieces(clause)}
        redo = parts[parts["row"].isin(partly) & ~parts["common"]]
        parts.loc[redo.index, "shared"] = [len(c) * _covered(c, pieces) for c in redo["clause"]]
        share = parts.groupby("row")["shared"].sum() / parts.groupby("row")["length"].sum()
    out[share.index[share >= NEAR_SHARE].to_numpy()] = True
    return out


def _pieces(clause: str) -> list[str]:
    return [clause[i : i + PIECE] for i in range(max(1, len(clause) - PIECE + 1))]


def _covered(clause: str, pieces: set[str]) -> float:
    own = _pieces(clause)
    return sum(1 for p in own if p in pieces) / len(own)


def _generic_bigrams(replies: pd.Series) -> set[str]:
    """Bigrams found in more than GENERIC_DF of (a deterministic sample of) the replies."""
    sample = replies if len(replies) <= DF_SAMPLE else replies.iloc[:: max(1, len(replies) // DF_SAMPLE)]
    counts: dict[str, int] = {}
    for text in sample:
        for gram in rules.bigrams(text):
            counts[gram] = counts.get(gram, 0) + 1
    limit = max(1.0, GENERIC_DF * len(sample))
    return {gram for gram, n in counts.items() if n > limit}


def _addresses(frame: pd.DataFrame) -> list[bool]:
    if frame.empty:
        return []
    generic = _generic_bigrams(frame["reply"])
    out = []
    for reply, title, body, location in zip(
        frame["reply"], frame["title"], frame["body"], frame["location"], strict=True
    ):
        reply = str(reply)
        place = rules.han(location)
        if len(place) >= 2 and place in rules.han(reply):
            out.append(True)
            continue
        words = rules.bigrams(f"{title} {location} {str(body)[:BODY_CHARS]}") - generic
        out.append(sum(1 for w in words if w in reply) >= ADDRESS_MIN)
    return out


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


def top_texts(flag_frame: pd.DataFrame, n: int = 10) -> pd.DataFrame:
    """The `n` reduced reply texts used most often (at least twice), with how often, for how many messages,
    and by which units; the text shown is the first such reply, masked."""
    columns = ["text", "replies", "messages", "units"]
    if flag_frame.empty:
        return pd.DataFrame(columns=columns)
    grouped = flag_frame.sort_values("replied_at").groupby("text_key")
    table = pd.DataFrame(
        {
            "text": grouped["reply"].first().map(lambda t: mask_text(t, TEXT_LIMIT)),
            "replies": grouped.size(),
            "messages": grouped["message_id"].nunique(),
            "units": grouped["unit"].agg(lambda u: sorted({mask_text(x, 60) for x in u.dropna()})),
        }
    )
    table = table[table["replies"] >= 2]
    return table.sort_values(["replies", "messages", "text"], ascending=[False, False, True]).head(n)[columns]


def first_reply_boilerplate(flag_frame: pd.DataFrame) -> pd.DataFrame:
    """Per (unit, province): first replies with text and how many of them are boilerplate (the league's input)."""
    first = flag_frame[flag_frame["first"].astype(bool) & flag_frame["unit"].notna()]
    if first.empty:
        return pd.DataFrame(columns=["unit", "province", "with_text", "boilerplate"])
    out = first.assign(with_text=1).groupby(["unit", "province"])[["with_text", "boilerplate"]].sum().reset_index()
    return out.astype({"with_text": "int64", "boilerplate": "int64"})
