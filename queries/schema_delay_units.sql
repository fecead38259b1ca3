-- Migration 16: the unit of each delay's first reply (messages.first_reply_unit), so that the drill-down's unit table
-- (queries/drill.sql `units`: count, exact median, mean, p90 and late count per unit) reads the period's rows of this
-- narrow table in reply-day order instead of scanning every message. Filled by a rebuild of the delays (db.py).
ALTER TABLE roll_delays ADD COLUMN IF NOT EXISTS unit VARCHAR;
