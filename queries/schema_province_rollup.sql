-- Migration 3: a day x province rollup for unfiltered views.

-- All three per day and province: small enough that unfiltered views (the wall)
-- read a few thousand rows. Derived from the three tables above.
CREATE TABLE IF NOT EXISTS roll_province (
    day             DATE NOT NULL,
    province        INTEGER NOT NULL,
    messages        BIGINT NOT NULL,
    replied         BIGINT NOT NULL,
    pending         BIGINT NOT NULL,
    in_progress     BIGINT NOT NULL,
    urgent_messages BIGINT NOT NULL,
    replies         BIGINT NOT NULL,
    evaluations     BIGINT NOT NULL,
    satisfied       BIGINT NOT NULL
);
