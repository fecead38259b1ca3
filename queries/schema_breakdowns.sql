-- Migration 5: day x domain and day x type rollups for unfiltered breakdowns (the wall's
-- domain and type panels read a few thousand rows instead of the fine rollups), and a
-- revision per reply day of roll_delays, so that medians of long periods can reuse the
-- sorted delays of days that have not changed (queries/metrics.py). Derived from the
-- fine rollups for every touched day (queries/rollups.sql).

CREATE TABLE IF NOT EXISTS roll_category (
    day         DATE NOT NULL,
    category    VARCHAR NOT NULL,
    messages    BIGINT NOT NULL,
    replied     BIGINT NOT NULL,
    replies     BIGINT NOT NULL,
    evaluations BIGINT NOT NULL,
    satisfied   BIGINT NOT NULL
);

CREATE TABLE IF NOT EXISTS roll_type (
    day         DATE NOT NULL,
    msg_type    VARCHAR NOT NULL,
    messages    BIGINT NOT NULL,
    replied     BIGINT NOT NULL,
    replies     BIGINT NOT NULL,
    evaluations BIGINT NOT NULL,
    satisfied   BIGINT NOT NULL
);

-- One row per reply day present in roll_delays; rev grows whenever that day's delays are recomputed.
CREATE TABLE IF NOT EXISTS roll_delay_revisions (
    day DATE NOT NULL,
    rev BIGINT NOT NULL
);
