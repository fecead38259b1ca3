-- Migration 10: what the reply checks need of each reply, computed once when it is written (supervision/features.py)
-- so that the cross-reply parts of the checks (boilerplate: the same or nearly the same text answering different
-- problems) are SQL aggregates over stored keys. Rows are dropped when their reply or its message is written again
-- (queries/writes.py) and when the reference bigram set changes; the indexer or `ensure_reply_features` refills them.
CREATE TABLE IF NOT EXISTS reply_features (
    reply_id    VARCHAR PRIMARY KEY,
    message_id  VARCHAR NOT NULL,  -- message, time and unit as the reply had them (a re-sent reply loses its row)
    replied_at  TIMESTAMP NOT NULL,
    unit        VARCHAR,
    has_text    BOOLEAN NOT NULL,  -- false: no text (the row only marks the reply as seen)
    text_key    UBIGINT,           -- hash of the reply's reduced text (its Chinese characters)
    problem_key UBIGINT,           -- hash of its message's problem (named location, else reduced title and body)
    chars       INTEGER,           -- characters in its distinct clauses
    addresses   BOOLEAN,
    action      BOOLEAN,
    legal       BOOLEAN
);
-- One row per distinct clause (>= 4 Chinese characters between punctuation) of a reply with text; replied_at,
-- problem_key and addresses are repeated so that the window's clause counts need no join and the clauses of the
-- few replies that may be boilerplate (those not addressing their message) are found without one.
CREATE TABLE IF NOT EXISTS reply_clauses (
    reply_id    VARCHAR NOT NULL,
    replied_at  TIMESTAMP NOT NULL,
    problem_key UBIGINT NOT NULL,
    clause_key  UBIGINT NOT NULL,
    length      SMALLINT NOT NULL,
    addresses   BOOLEAN NOT NULL
);
-- The bigrams replies use whatever their message says (the "addresses" check ignores them), from a deterministic
-- sample of the store's (reply, message) pairs; meta 'reply_reference_sample' says how many pairs.
CREATE TABLE IF NOT EXISTS reply_generic_bigrams (
    gram VARCHAR PRIMARY KEY
);
