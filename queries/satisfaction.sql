-- Citizen evaluations. An evaluation counts in the period it was rated in and
-- follows its message's filters; its verdict is the spec's satisfied flag.
-- Reads the rating-day rollup; `__DIM__` comes from the allow-list in queries/metrics.py.

-- name: totals(start, stop, prev_start, prev_stop, provinces, categories, types, urgent_only)
-- Evaluations with a verdict and the satisfied ones, for a period and its predecessor.
SELECT
    coalesce(sum(evaluations) FILTER (WHERE day >= :start AND day < :stop), 0) AS evaluations,
    coalesce(sum(satisfied) FILTER (WHERE day >= :start AND day < :stop), 0) AS satisfied,
    coalesce(sum(evaluations) FILTER (WHERE day >= :prev_start AND day < :prev_stop), 0) AS evaluations_prev,
    coalesce(sum(satisfied) FILTER (WHERE day >= :prev_start AND day < :prev_stop), 0) AS satisfied_prev
FROM roll_rated
WHERE ((day >= :prev_start AND day < :prev_stop) OR (day >= :start AND day < :stop))
  AND message_matches(province, category, msg_type, is_urgent, :provinces, :categories, :types, :urgent_only);

-- name: grouped(start, stop, provinces, categories, types, urgent_only)
-- The same per value of one rollup dimension.
SELECT __DIM__ AS key, sum(evaluations) AS evaluations, sum(satisfied) AS satisfied
FROM roll_rated
WHERE day >= :start AND day < :stop
  AND message_matches(province, category, msg_type, is_urgent, :provinces, :categories, :types, :urgent_only)
GROUP BY __DIM__;

-- name: grouped_raw(start, stop, provinces, categories, types, urgent_only)
-- Per value of a message dimension the rollup does not carry (city), from raw rows.
SELECT m.__DIM__ AS key, count(e.verdict) AS evaluations, count(*) FILTER (WHERE e.verdict) AS satisfied
FROM evaluations e JOIN messages m USING (message_id)
WHERE e.rated_at >= :start AND e.rated_at < :stop
  AND message_matches(m.province, m.category, m.msg_type, m.is_urgent, :provinces, :categories, :types, :urgent_only)
GROUP BY m.__DIM__;
