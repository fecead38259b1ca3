-- The same figures as volume.sql / satisfaction.sql, from the day x province
-- rollup, for views filtered by province at most (the wall, the API's defaults).

-- name: totals(start, stop, prev_start, prev_stop, provinces)
-- Headline counts for a period and its predecessor.
SELECT
    coalesce(sum(messages) FILTER (WHERE day >= :start AND day < :stop), 0) AS messages,
    coalesce(sum(messages) FILTER (WHERE day >= :prev_start AND day < :prev_stop), 0) AS messages_prev,
    coalesce(sum(replied) FILTER (WHERE day >= :start AND day < :stop), 0) AS replied_cohort,
    coalesce(sum(urgent_messages) FILTER (WHERE day >= :start AND day < :stop), 0) AS urgent_messages,
    coalesce(sum(pending) FILTER (WHERE day >= :start AND day < :stop), 0) AS pending,
    coalesce(sum(in_progress) FILTER (WHERE day >= :start AND day < :stop), 0) AS in_progress,
    coalesce(sum(replies) FILTER (WHERE day >= :start AND day < :stop), 0) AS replies,
    coalesce(sum(replies) FILTER (WHERE day >= :prev_start AND day < :prev_stop), 0) AS replies_prev,
    coalesce(sum(evaluations) FILTER (WHERE day >= :start AND day < :stop), 0) AS evaluations,
    coalesce(sum(satisfied) FILTER (WHERE day >= :start AND day < :stop), 0) AS satisfied,
    coalesce(sum(evaluations) FILTER (WHERE day >= :prev_start AND day < :prev_stop), 0) AS evaluations_prev,
    coalesce(sum(satisfied) FILTER (WHERE day >= :prev_start AND day < :prev_stop), 0) AS satisfied_prev
FROM roll_province
WHERE ((day >= :prev_start AND day < :prev_stop) OR (day >= :start AND day < :stop))
  AND (len(:provinces) = 0 OR list_contains(:provinces, province));

-- name: by_province(start, stop, prev_start, prev_stop, provinces)
-- The same per province.
SELECT
    province AS key,
    sum(messages) FILTER (WHERE day >= :start AND day < :stop) AS messages,
    sum(messages) FILTER (WHERE day >= :prev_start AND day < :prev_stop) AS messages_prev,
    sum(replied) FILTER (WHERE day >= :start AND day < :stop) AS replied_cohort,
    sum(replies) FILTER (WHERE day >= :start AND day < :stop) AS replies,
    sum(replies) FILTER (WHERE day >= :prev_start AND day < :prev_stop) AS replies_prev,
    sum(evaluations) FILTER (WHERE day >= :start AND day < :stop) AS evaluations,
    sum(satisfied) FILTER (WHERE day >= :start AND day < :stop) AS satisfied
FROM roll_province
WHERE ((day >= :prev_start AND day < :prev_stop) OR (day >= :start AND day < :stop))
  AND (len(:provinces) = 0 OR list_contains(:provinces, province))
GROUP BY province;

-- name: daily(start, stop, prev_start, prev_stop, provinces)
-- Messages and first replies per day over both periods.
SELECT day, sum(messages) AS messages, sum(replies) AS replies
FROM roll_province
WHERE ((day >= :prev_start AND day < :prev_stop) OR (day >= :start AND day < :stop))
  AND (len(:provinces) = 0 OR list_contains(:provinces, province))
GROUP BY day
ORDER BY day;

-- name: window(first, stop)
-- Every rollup row of the days [first, stop) in one statement, for the in-memory sums of
-- queries/metrics.py: `kind` 0 day x province (roll_province), 1 day x domain (roll_category),
-- 2 day x type (roll_type), 3 units and 4 leaders joined per day and province (in `messages`).
-- `d` counts days since `first`.
SELECT 0 AS kind, province, NULL::VARCHAR AS label, (day - CAST(:first AS DATE))::INTEGER AS d,
       messages, replied, pending, in_progress, urgent_messages, replies, evaluations, satisfied
FROM roll_province
WHERE day >= :first AND day < :stop
UNION ALL
SELECT 1, NULL, category, (day - CAST(:first AS DATE))::INTEGER, messages, replied, 0, 0, 0, replies,
       evaluations, satisfied
FROM roll_category
WHERE day >= :first AND day < :stop
UNION ALL
SELECT 2, NULL, msg_type, (day - CAST(:first AS DATE))::INTEGER, messages, replied, 0, 0, 0, replies,
       evaluations, satisfied
FROM roll_type
WHERE day >= :first AND day < :stop
UNION ALL
SELECT 3, province, NULL, (CAST(joined_at AS DATE) - CAST(:first AS DATE))::INTEGER, count(*), 0, 0, 0, 0, 0, 0, 0
FROM units
WHERE joined_at >= :first AND joined_at < :stop
GROUP BY ALL
UNION ALL
SELECT 4, province, NULL, (CAST(joined_at AS DATE) - CAST(:first AS DATE))::INTEGER, count(*), 0, 0, 0, 0, 0, 0, 0
FROM leaders
WHERE joined_at >= :first AND joined_at < :stop
GROUP BY ALL;

-- name: breakdowns(start, stop, prev_start, prev_stop)
-- Unfiltered figures per domain (`kind` 'category') and per type (`kind` 'msg_type') in one statement.
SELECT 'category' AS kind, category AS key,
    sum(messages) FILTER (WHERE day >= :start AND day < :stop) AS messages,
    sum(messages) FILTER (WHERE day >= :prev_start AND day < :prev_stop) AS messages_prev,
    sum(replied) FILTER (WHERE day >= :start AND day < :stop) AS replied_cohort,
    sum(replies) FILTER (WHERE day >= :start AND day < :stop) AS replies,
    sum(replies) FILTER (WHERE day >= :prev_start AND day < :prev_stop) AS replies_prev,
    sum(evaluations) FILTER (WHERE day >= :start AND day < :stop) AS evaluations,
    sum(satisfied) FILTER (WHERE day >= :start AND day < :stop) AS satisfied
FROM roll_category
WHERE (day >= :prev_start AND day < :prev_stop) OR (day >= :start AND day < :stop)
GROUP BY category
UNION ALL
SELECT 'msg_type', msg_type,
    sum(messages) FILTER (WHERE day >= :start AND day < :stop),
    sum(messages) FILTER (WHERE day >= :prev_start AND day < :prev_stop),
    sum(replied) FILTER (WHERE day >= :start AND day < :stop),
    sum(replies) FILTER (WHERE day >= :start AND day < :stop),
    sum(replies) FILTER (WHERE day >= :prev_start AND day < :prev_stop),
    sum(evaluations) FILTER (WHERE day >= :start AND day < :stop),
    sum(satisfied) FILTER (WHERE day >= :start AND day < :stop)
FROM roll_type
WHERE (day >= :prev_start AND day < :prev_stop) OR (day >= :start AND day < :stop)
GROUP BY msg_type;
