-- Migration 4: first-reply delays in reply-day order, so exact medians read only
-- the period's rows instead of scanning every message.
CREATE TABLE IF NOT EXISTS roll_delays (
    day       DATE NOT NULL,
    province  INTEGER NOT NULL,
    city      VARCHAR,
    category  VARCHAR NOT NULL,
    msg_type  VARCHAR NOT NULL,
    is_urgent BOOLEAN NOT NULL,
    hours     DOUBLE NOT NULL,
    unit      VARCHAR  -- of the first reply (migration 16 adds it to older files)
);
