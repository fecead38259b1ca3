-- Migration 13: the rollup days a bulk import changed without keeping their rollups (queries/rollups.py
-- `refresh_stale`): rebuilt from the rows when the import ends, or when the file is next opened if it did not end.
CREATE TABLE IF NOT EXISTS stale_rollup_days (
    rollup VARCHAR NOT NULL,  -- component: created, answered, rated
    day    DATE NOT NULL
);
