-- Queries of the analyst workspace (route /analyst): replying units, overdue
-- messages, the domain x type table and the values the filters offer.
-- Periods are half-open timestamp ranges [start, stop) built from inclusive
-- Beijing dates (queries/periods.py); every value is a bound parameter.
-- "answered" follows the spec's replies: messages whose FIRST reply is in the
-- period, credited to the unit of that first reply (messages.first_reply_unit).

-- name: units(start, stop, late_hours, provinces, categories, types, urgent_only)
-- Per replying unit: messages first answered in the period by it, their first-reply delays (hours), late ones.
-- From roll_delays (one row per answered message, in reply-day order, with its first reply's unit): the period's rows
-- only, and the same hours as epoch(first_reply_at - created_at) / 3600.0 of the messages.
SELECT unit, answered, q[1] AS median_reply_hours, mean_reply_hours, q[2] AS p90_reply_hours, late
FROM (
    SELECT
        unit,
        count(*) AS answered,
        quantile_cont(hours, [0.5, 0.9]) AS q,  -- both from one ordering of each unit's hours
        avg(hours) AS mean_reply_hours,
        count(*) FILTER (WHERE hours > :late_hours) AS late
    FROM roll_delays
    WHERE day >= :start AND day < :stop
      AND message_matches(province, category, msg_type, is_urgent, :provinces, :categories, :types, :urgent_only)
    GROUP BY unit
);

-- name: overdue_count(start, stop, cutoff, provinces, categories, types, urgent_only)
-- Messages created in the period before the cutoff (now - overdue days) that have no reply yet.
SELECT count(*) AS overdue
FROM messages
WHERE first_reply_at IS NULL
  AND created_at >= :start AND created_at < :stop AND created_at < :cutoff
  AND message_matches(province, category, msg_type, is_urgent, :provinces, :categories, :types, :urgent_only);

-- name: overdue(start, stop, cutoff, provinces, categories, types, urgent_only, limit)
-- The oldest of those overdue messages, oldest first.
SELECT message_id, created_at, province, city, district, category, msg_type, title, is_urgent,
       message_status(source_status, first_reply_at) AS status
FROM messages
WHERE first_reply_at IS NULL
  AND created_at >= :start AND created_at < :stop AND created_at < :cutoff
  AND message_matches(province, category, msg_type, is_urgent, :provinces, :categories, :types, :urgent_only)
ORDER BY created_at, message_id
LIMIT :limit;

-- name: cross(start, stop, provinces, categories, types, urgent_only)
-- Messages created and messages first answered in the period per (domain, type), from the daily rollups.
WITH created AS (
    SELECT category, msg_type, sum(messages) AS messages
    FROM roll_created
    WHERE day >= :start AND day < :stop
      AND message_matches(province, category, msg_type, is_urgent, :provinces, :categories, :types, :urgent_only)
    GROUP BY category, msg_type
), answered AS (
    SELECT category, msg_type, sum(replies) AS replies
    FROM roll_answered
    WHERE day >= :start AND day < :stop
      AND message_matches(province, category, msg_type, is_urgent, :provinces, :categories, :types, :urgent_only)
    GROUP BY category, msg_type
)
SELECT category, msg_type, coalesce(messages, 0) AS messages, coalesce(replies, 0) AS replies
FROM created FULL OUTER JOIN answered USING (category, msg_type);

-- name: dimension_values()
-- Every domain and type in the data with its message count (the choices the filters offer).
SELECT 'category' AS dimension, category AS value, sum(messages) AS messages FROM roll_created GROUP BY category
UNION ALL
SELECT 'msg_type' AS dimension, msg_type AS value, sum(messages) AS messages FROM roll_created GROUP BY msg_type;
