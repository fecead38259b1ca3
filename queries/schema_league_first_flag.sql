-- Migration 15: per answered message the boilerplate flag of its first reply (reply_boilerplate's row of the reply
-- with the message, time and unit of league_facts; null while it has none: no text, or not computed yet), so that a
-- league reads it without joining the flags. Every statement that inserts or deletes flag rows sets it again for
-- their messages (queries/writes.sql `refresh_first_flags`); a facts row filled later reads it from the flags.
ALTER TABLE league_facts ADD COLUMN IF NOT EXISTS first_boilerplate BOOLEAN;
