-- Migration 2: daily rollups that the screens and the API read instead of raw rows.
-- Kept exact by queries/writes.py, which recomputes every touched day in the
-- same transaction as the write (see queries/rollups.sql).

-- Messages by creation day; replied = those answered by now (cohort reply rate).
CREATE TABLE IF NOT EXISTS roll_created (
    day         DATE NOT NULL,
    province    INTEGER NOT NULL,
    category    VARCHAR NOT NULL,
    msg_type    VARCHAR NOT NULL,
    is_urgent   BOOLEAN NOT NULL,
    messages    BIGINT NOT NULL,
    replied     BIGINT NOT NULL,
    pending     BIGINT NOT NULL,
    in_progress BIGINT NOT NULL
);

-- Messages by the day of their first reply.
CREATE TABLE IF NOT EXISTS roll_answered (
    day       DATE NOT NULL,
    province  INTEGER NOT NULL,
    category  VARCHAR NOT NULL,
    msg_type  VARCHAR NOT NULL,
    is_urgent BOOLEAN NOT NULL,
    replies   BIGINT NOT NULL
);

-- Evaluations (of known messages) by the day they were rated.
CREATE TABLE IF NOT EXISTS roll_rated (
    day         DATE NOT NULL,
    province    INTEGER NOT NULL,
    category    VARCHAR NOT NULL,
    msg_type    VARCHAR NOT NULL,
    is_urgent   BOOLEAN NOT NULL,
    evaluations BIGINT NOT NULL,
    satisfied   BIGINT NOT NULL
);
