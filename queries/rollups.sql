-- Rollup rebuild (migration backfill, bulk loads); the count tables' SQL is written from the metric
-- declarations (queries/rollup_sql.py), the delays' is here: recompute whole days from raw rows, so rollups equal the
-- raw computation exactly; live writes add increments instead (deltas.sql). `days` lists the days; first/last (dates) and
-- low/high (timestamps) bound them so that DuckDB skips the row groups outside
-- the range (the IN list alone would scan every row group). Rows go in day
-- order, so period queries skip the row groups of other days.

-- name: all_days()
-- Every day present in the raw tables, as (rollup, day), for a full rebuild.
SELECT DISTINCT 'created' AS rollup, created_at::DATE AS day FROM messages
UNION
SELECT DISTINCT 'answered', first_reply_at::DATE FROM messages WHERE first_reply_at IS NOT NULL
UNION
SELECT DISTINCT 'rated', rated_at::DATE FROM evaluations;

-- name: fine_days()
-- Every day of the fine rollups (a new coarse table is filled from them).
SELECT day FROM roll_created UNION SELECT day FROM roll_answered UNION SELECT day FROM roll_rated;

-- name: delete_delays(days, first, last)!
-- Drop the delays of messages first answered on the touched days.
DELETE FROM roll_delays WHERE day >= :first AND day <= :last AND day IN (SELECT unnest(:days));

-- name: insert_delays(days, low, high)!
-- Rebuild them from messages' first replies.
INSERT INTO roll_delays (day, province, city, category, msg_type, is_urgent, unit, hours)
SELECT first_reply_at::DATE, province, city, category, msg_type, is_urgent, first_reply_unit,
       epoch(first_reply_at - created_at) / 3600.0
FROM messages
WHERE first_reply_at >= :low AND first_reply_at < :high AND first_reply_at::DATE IN (SELECT unnest(:days))
ORDER BY 1;

-- name: revise_delay_days(days)!
-- A new revision for the reply days whose delays were recomputed: one above every earlier
-- revision (taken before the old rows go, so a revision number is never used twice).
INSERT INTO roll_delay_revisions
SELECT d, (SELECT coalesce(max(rev), 0) + 1 FROM roll_delay_revisions)
FROM (SELECT unnest(:days) AS d)
ORDER BY 1;

-- name: drop_old_revisions(days, first, last)!
-- Drop the earlier revisions of those days.
DELETE FROM roll_delay_revisions
WHERE day >= :first AND day <= :last AND day IN (SELECT unnest(:days))
  AND rev < (SELECT max(rev) FROM roll_delay_revisions);

-- name: revise_all_days()!
-- Before a full rebuild: every known day moves to a new revision (days that disappear included).
UPDATE roll_delay_revisions SET rev = (SELECT coalesce(max(rev), 0) + 1 FROM roll_delay_revisions);

-- name: mark_stale(rollup, days)!
-- A deferred write (bulk import) changed these days of a component: its rollups are rebuilt later.
INSERT INTO stale_rollup_days SELECT :rollup, unnest(:days);

-- name: stale_days()
-- The days marked stale, as (rollup, day).
SELECT DISTINCT rollup, day FROM stale_rollup_days;

-- name: clear_stale()!
-- Every stale day was rebuilt.
DELETE FROM stale_rollup_days;
