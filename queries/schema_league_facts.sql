-- Migration 12: per answered message, what the unit league counts of it (supervision/league_facts.py), so that a
-- league is one scan of a narrow table instead of joins and a restatement search over the raw tables per request.
-- A row is dropped whenever what it was computed from may have changed (queries/writes.sql: the message or its
-- text re-sent, its first reply moved, its evaluation written, a message written that may restate it) and is
-- computed again before the next league is read (`ensure`); so every row is current.
CREATE TABLE IF NOT EXISTS league_facts (
    message_id     VARCHAR PRIMARY KEY,
    unit           VARCHAR,            -- the unit of its first reply (none: not in the league)
    province       INTEGER NOT NULL,
    city           VARCHAR NOT NULL,   -- '' when none (as the restatement search compares places)
    district       VARCHAR NOT NULL,
    category       VARCHAR,
    msg_type       VARCHAR,
    is_urgent      BOOLEAN,
    first_reply_at TIMESTAMP NOT NULL,
    delay_seconds  DOUBLE NOT NULL,    -- first reply - created (the on-time limit is a setting: compared at read)
    restated       BOOLEAN NOT NULL,   -- posted again after the answer (fill_league_facts says how)
    rated_at       TIMESTAMP,          -- its evaluation, if any
    verdict        BOOLEAN
);
