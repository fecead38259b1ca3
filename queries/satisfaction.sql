-- Citizen evaluations. An evaluation counts in the period it was rated in and
-- follows its message's filters; `verdict` is the spec's satisfied flag.

-- name: totals(start, stop, prev_start, prev_stop, provinces, categories, types, urgent_only)
-- Evaluations with a verdict and the satisfied ones, for a period and its predecessor.
SELECT
    count(e.verdict) FILTER (WHERE e.rated_at >= :start AND e.rated_at < :stop) AS evaluations,
    count(*) FILTER (WHERE e.verdict AND e.rated_at >= :start AND e.rated_at < :stop) AS satisfied,
    count(e.verdict) FILTER (WHERE e.rated_at >= :prev_start AND e.rated_at < :prev_stop) AS evaluations_prev,
    count(*) FILTER (WHERE e.verdict AND e.rated_at >= :prev_start AND e.rated_at < :prev_stop) AS satisfied_prev
FROM evaluations e JOIN messages m USING (message_id)
WHERE e.rated_at >= :prev_start AND e.rated_at < :stop
  AND message_matches(m.province, m.category, m.msg_type, m.is_urgent, :provinces, :categories, :types, :urgent_only);

-- name: grouped(start, stop, provinces, categories, types, urgent_only)
-- The same per value of one message dimension.
SELECT
    m.__DIM__ AS key,
    count(e.verdict) FILTER (WHERE e.rated_at >= :start AND e.rated_at < :stop) AS evaluations,
    count(*) FILTER (WHERE e.verdict AND e.rated_at >= :start AND e.rated_at < :stop) AS satisfied
FROM evaluations e JOIN messages m USING (message_id)
WHERE e.rated_at >= :start AND e.rated_at < :stop
  AND message_matches(m.province, m.category, m.msg_type, m.is_urgent, :provinces, :categories, :types, :urgent_only)
GROUP BY m.__DIM__;
