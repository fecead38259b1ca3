-- Migration 18: the league's units as integer codes. A league groups millions of facts by unit and province; with
-- the names as the key most of its time went to hashing and comparing strings (2x at 50 M messages). Each (unit,
-- province) pair gets a code when its first facts row is filled (queries/supervision.sql `add_league_units`);
-- codes are never reused or dropped (a dictionary, not data: a league reads names through it).
CREATE TABLE IF NOT EXISTS league_units (
    code     INTEGER PRIMARY KEY,
    unit     VARCHAR NOT NULL,
    province INTEGER NOT NULL,
    UNIQUE (unit, province)
);
ALTER TABLE league_facts ADD COLUMN IF NOT EXISTS unit_code INTEGER;  -- null without a unit
