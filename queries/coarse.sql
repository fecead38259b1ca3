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

-- name: by_breakdown(start, stop, prev_start, prev_stop)
-- Unfiltered figures per domain or per type from roll_category / roll_type (`__ROLL__`, `__DIM__`).
SELECT
    __DIM__ AS key,
    sum(messages) FILTER (WHERE day >= :start AND day < :stop) AS messages,
    sum(messages) FILTER (WHERE day >= :prev_start AND day < :prev_stop) AS messages_prev,
    sum(replied) FILTER (WHERE day >= :start AND day < :stop) AS replied_cohort,
    sum(replies) FILTER (WHERE day >= :start AND day < :stop) AS replies,
    sum(replies) FILTER (WHERE day >= :prev_start AND day < :prev_stop) AS replies_prev,
    sum(evaluations) FILTER (WHERE day >= :start AND day < :stop) AS evaluations,
    sum(satisfied) FILTER (WHERE day >= :start AND day < :stop) AS satisfied
FROM __ROLL__
WHERE (day >= :prev_start AND day < :prev_stop) OR (day >= :start AND day < :stop)
GROUP BY __DIM__;
