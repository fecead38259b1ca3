-- Rollup rebuild (migration backfill, bulk loads): recompute whole days from raw rows, so rollups equal the
-- raw computation exactly; live writes add increments instead (deltas.sql). `days` lists the days; first/last (dates) and
-- low/high (timestamps) bound them so that DuckDB skips the row groups outside
-- the range (the IN list alone would scan every row group). Rows go in day
-- order, so period queries skip the row groups of other days.

-- name: delete_created(days, first, last)!
-- Drop the creation-day rollup rows of the touched days.
DELETE FROM roll_created WHERE day >= :first AND day <= :last AND day IN (SELECT unnest(:days));

-- name: insert_created(days, low, high)!
-- Rebuild them from messages.
INSERT INTO roll_created
SELECT created_at::DATE, province, category, msg_type, is_urgent, count(*), count(first_reply_at),
       count(*) FILTER (WHERE message_status(source_status, first_reply_at) = '待回复'),
       count(*) FILTER (WHERE message_status(source_status, first_reply_at) = '办理中')
FROM messages
WHERE created_at >= :low AND created_at < :high AND created_at::DATE IN (SELECT unnest(:days))
GROUP BY ALL
ORDER BY 1;

-- name: delete_answered(days, first, last)!
-- Drop the first-reply-day rollup rows of the touched days.
DELETE FROM roll_answered WHERE day >= :first AND day <= :last AND day IN (SELECT unnest(:days));

-- name: insert_answered(days, low, high)!
-- Rebuild them from messages' first replies.
INSERT INTO roll_answered
SELECT first_reply_at::DATE, province, category, msg_type, is_urgent, count(*)
FROM messages
WHERE first_reply_at >= :low AND first_reply_at < :high AND first_reply_at::DATE IN (SELECT unnest(:days))
GROUP BY ALL
ORDER BY 1;

-- name: delete_rated(days, first, last)!
-- Drop the rating-day rollup rows of the touched days.
DELETE FROM roll_rated WHERE day >= :first AND day <= :last AND day IN (SELECT unnest(:days));

-- name: insert_rated(days, low, high)!
-- Rebuild them from evaluations joined to their messages.
INSERT INTO roll_rated
SELECT e.rated_at::DATE, m.province, m.category, m.msg_type, m.is_urgent, count(e.verdict), count(*) FILTER (WHERE e.verdict)
FROM evaluations e JOIN messages m USING (message_id)
WHERE e.rated_at >= :low AND e.rated_at < :high AND e.rated_at::DATE IN (SELECT unnest(:days))
GROUP BY ALL
ORDER BY 1;

-- name: all_days()
-- Every day present in the raw tables, as (rollup, day), for a full rebuild.
SELECT DISTINCT 'created' AS rollup, created_at::DATE AS day FROM messages
UNION
SELECT DISTINCT 'answered', first_reply_at::DATE FROM messages WHERE first_reply_at IS NOT NULL
UNION
SELECT DISTINCT 'rated', rated_at::DATE FROM evaluations;

-- name: delete_province(days, first, last)!
-- Drop the day x province rows of the touched days.
DELETE FROM roll_province WHERE day >= :first AND day <= :last AND day IN (SELECT unnest(:days));

-- name: insert_province(days, first, last)!
-- Rebuild them from the three fine rollups.
INSERT INTO roll_province
SELECT day, province, sum(messages), sum(replied), sum(pending), sum(in_progress), sum(urgent_messages),
       sum(replies), sum(evaluations), sum(satisfied)
FROM (
    SELECT day, province, messages, replied, pending, in_progress,
           CASE WHEN is_urgent THEN messages ELSE 0 END AS urgent_messages,
           0 AS replies, 0 AS evaluations, 0 AS satisfied
    FROM roll_created WHERE day >= :first AND day <= :last AND day IN (SELECT unnest(:days))
    UNION ALL
    SELECT day, province, 0, 0, 0, 0, 0, replies, 0, 0
    FROM roll_answered WHERE day >= :first AND day <= :last AND day IN (SELECT unnest(:days))
    UNION ALL
    SELECT day, province, 0, 0, 0, 0, 0, 0, evaluations, satisfied
    FROM roll_rated WHERE day >= :first AND day <= :last AND day IN (SELECT unnest(:days))
)
GROUP BY day, province
ORDER BY day, province;

-- name: delete_category(days, first, last)!
-- Drop the day x domain rows of the touched days.
DELETE FROM roll_category WHERE day >= :first AND day <= :last AND day IN (SELECT unnest(:days));

-- name: insert_category(days, first, last)!
-- Rebuild them from the three fine rollups.
INSERT INTO roll_category
SELECT day, category, sum(messages), sum(replied), sum(replies), sum(evaluations), sum(satisfied)
FROM (
    SELECT day, category, messages, replied, 0 AS replies, 0 AS evaluations, 0 AS satisfied
    FROM roll_created WHERE day >= :first AND day <= :last AND day IN (SELECT unnest(:days))
    UNION ALL
    SELECT day, category, 0, 0, replies, 0, 0
    FROM roll_answered WHERE day >= :first AND day <= :last AND day IN (SELECT unnest(:days))
    UNION ALL
    SELECT day, category, 0, 0, 0, evaluations, satisfied
    FROM roll_rated WHERE day >= :first AND day <= :last AND day IN (SELECT unnest(:days))
)
GROUP BY day, category
ORDER BY day, category;

-- name: delete_type(days, first, last)!
-- Drop the day x type rows of the touched days.
DELETE FROM roll_type WHERE day >= :first AND day <= :last AND day IN (SELECT unnest(:days));

-- name: insert_type(days, first, last)!
-- Rebuild them from the three fine rollups.
INSERT INTO roll_type
SELECT day, msg_type, sum(messages), sum(replied), sum(replies), sum(evaluations), sum(satisfied)
FROM (
    SELECT day, msg_type, messages, replied, 0 AS replies, 0 AS evaluations, 0 AS satisfied
    FROM roll_created WHERE day >= :first AND day <= :last AND day IN (SELECT unnest(:days))
    UNION ALL
    SELECT day, msg_type, 0, 0, replies, 0, 0
    FROM roll_answered WHERE day >= :first AND day <= :last AND day IN (SELECT unnest(:days))
    UNION ALL
    SELECT day, msg_type, 0, 0, 0, evaluations, satisfied
    FROM roll_rated WHERE day >= :first AND day <= :last AND day IN (SELECT unnest(:days))
)
GROUP BY day, msg_type
ORDER BY day, msg_type;

-- name: delete_delays(days, first, last)!
-- Drop the delays of messages first answered on the touched days.
DELETE FROM roll_delays WHERE day >= :first AND day <= :last AND day IN (SELECT unnest(:days));

-- name: insert_delays(days, low, high)!
-- Rebuild them from messages' first replies.
INSERT INTO roll_delays
SELECT first_reply_at::DATE, province, city, category, msg_type, is_urgent,
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
