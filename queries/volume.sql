-- Message and reply volumes. Periods are half-open timestamp ranges [start, stop)
-- built from inclusive Beijing dates; prev_* is the same dates a year earlier.
-- Counts read the daily rollups (exact: periods are whole days); medians read
-- roll_delays, one row per answered message in reply-day order. "replies" counts messages by their FIRST reply.
-- `__DIM__` is replaced by a column from the allow-list in queries/metrics.py.

-- name: totals(start, stop, prev_start, prev_stop, provinces, categories, types, urgent_only)
-- Headline counts and the cohort reply rate for a period and its predecessor.
WITH created AS (
    SELECT
        coalesce(sum(messages) FILTER (WHERE day >= :start AND day < :stop), 0) AS messages,
        coalesce(sum(messages) FILTER (WHERE day >= :prev_start AND day < :prev_stop), 0) AS messages_prev,
        coalesce(sum(replied) FILTER (WHERE day >= :start AND day < :stop), 0) AS replied_cohort,
        coalesce(sum(messages) FILTER (WHERE day >= :start AND day < :stop AND is_urgent), 0) AS urgent_messages,
        coalesce(sum(pending) FILTER (WHERE day >= :start AND day < :stop), 0) AS pending,
        coalesce(sum(in_progress) FILTER (WHERE day >= :start AND day < :stop), 0) AS in_progress
    FROM roll_created
    WHERE ((day >= :prev_start AND day < :prev_stop) OR (day >= :start AND day < :stop))
      AND message_matches(province, category, msg_type, is_urgent, :provinces, :categories, :types, :urgent_only)
), answered AS (
    SELECT
        coalesce(sum(replies) FILTER (WHERE day >= :start AND day < :stop), 0) AS replies,
        coalesce(sum(replies) FILTER (WHERE day >= :prev_start AND day < :prev_stop), 0) AS replies_prev
    FROM roll_answered
    WHERE ((day >= :prev_start AND day < :prev_stop) OR (day >= :start AND day < :stop))
      AND message_matches(province, category, msg_type, is_urgent, :provinces, :categories, :types, :urgent_only)
)
SELECT * FROM created, answered;

-- name: grouped(start, stop, prev_start, prev_stop, provinces, categories, types, urgent_only)
-- The same figures per value of one rollup dimension (province, category or msg_type).
WITH created AS (
    SELECT __DIM__ AS key,
        sum(messages) FILTER (WHERE day >= :start AND day < :stop) AS messages,
        sum(messages) FILTER (WHERE day >= :prev_start AND day < :prev_stop) AS messages_prev,
        sum(replied) FILTER (WHERE day >= :start AND day < :stop) AS replied_cohort
    FROM roll_created
    WHERE ((day >= :prev_start AND day < :prev_stop) OR (day >= :start AND day < :stop))
      AND message_matches(province, category, msg_type, is_urgent, :provinces, :categories, :types, :urgent_only)
    GROUP BY __DIM__
), answered AS (
    SELECT __DIM__ AS key,
        sum(replies) FILTER (WHERE day >= :start AND day < :stop) AS replies,
        sum(replies) FILTER (WHERE day >= :prev_start AND day < :prev_stop) AS replies_prev
    FROM roll_answered
    WHERE ((day >= :prev_start AND day < :prev_stop) OR (day >= :start AND day < :stop))
      AND message_matches(province, category, msg_type, is_urgent, :provinces, :categories, :types, :urgent_only)
    GROUP BY __DIM__
)
SELECT key, messages, messages_prev, replied_cohort, replies, replies_prev
FROM created FULL OUTER JOIN answered USING (key);

-- name: daily(start, stop, prev_start, prev_stop, provinces, categories, types, urgent_only)
-- Messages and first replies per Beijing day over both periods (the trend's raw material).
WITH created AS (
    SELECT day, sum(messages) AS messages
    FROM roll_created
    WHERE ((day >= :prev_start AND day < :prev_stop) OR (day >= :start AND day < :stop))
      AND message_matches(province, category, msg_type, is_urgent, :provinces, :categories, :types, :urgent_only)
    GROUP BY day
), answered AS (
    SELECT day, sum(replies) AS replies
    FROM roll_answered
    WHERE ((day >= :prev_start AND day < :prev_stop) OR (day >= :start AND day < :stop))
      AND message_matches(province, category, msg_type, is_urgent, :provinces, :categories, :types, :urgent_only)
    GROUP BY day
)
SELECT day, coalesce(messages, 0) AS messages, coalesce(replies, 0) AS replies
FROM created FULL OUTER JOIN answered USING (day)
ORDER BY day;

-- name: median_hours(start, stop, provinces, categories, types, urgent_only)
-- Median first-reply delay (hours) of the messages first answered in the period (exact).
SELECT quantile_cont(hours, 0.5) AS median_reply_hours
FROM roll_delays
WHERE day >= :start AND day < :stop
  AND message_matches(province, category, msg_type, is_urgent, :provinces, :categories, :types, :urgent_only);

-- name: median_hours_grouped(start, stop, provinces, categories, types, urgent_only)
-- The same per value of one message dimension (province, city, category or msg_type).
SELECT __DIM__ AS key, quantile_cont(hours, 0.5) AS median_reply_hours
FROM roll_delays
WHERE day >= :start AND day < :stop
  AND message_matches(province, category, msg_type, is_urgent, :provinces, :categories, :types, :urgent_only)
GROUP BY __DIM__;

-- name: grouped_raw(start, stop, prev_start, prev_stop, provinces, categories, types, urgent_only)
-- Counts per value of a dimension the rollups do not carry (city), from raw rows.
SELECT
    __DIM__ AS key,
    count(*) FILTER (WHERE created_at >= :start AND created_at < :stop) AS messages,
    count(*) FILTER (WHERE created_at >= :prev_start AND created_at < :prev_stop) AS messages_prev,
    count(first_reply_at) FILTER (WHERE created_at >= :start AND created_at < :stop) AS replied_cohort,
    count(*) FILTER (WHERE first_reply_at >= :start AND first_reply_at < :stop) AS replies,
    count(*) FILTER (WHERE first_reply_at >= :prev_start AND first_reply_at < :prev_stop) AS replies_prev
FROM messages
WHERE message_matches(province, category, msg_type, is_urgent, :provinces, :categories, :types, :urgent_only)
  AND ((created_at >= :prev_start AND created_at < :stop)
       OR (first_reply_at >= :prev_start AND first_reply_at < :stop))
GROUP BY __DIM__;

-- name: median_window(start, stop, provinces, categories, types, urgent_only, width)
-- The sorted delays around each group's median over whole days [start, stop): positions
-- n/2 - width .. n/2 + width of each group (n: the group's count), for the median cache in
-- queries/metrics.py. `__KEY__` is a dimension column or a constant (one group).
SELECT key, n, i, hours
FROM (
    SELECT __KEY__ AS key, hours,
           count(*) OVER (PARTITION BY __KEY__) AS n,
           row_number() OVER (PARTITION BY __KEY__ ORDER BY hours) - 1 AS i
    FROM roll_delays
    WHERE day >= :start AND day < :stop
      AND message_matches(province, category, msg_type, is_urgent, :provinces, :categories, :types, :urgent_only)
)
WHERE i >= n // 2 - :width AND i <= n // 2 + :width
ORDER BY key, i;

-- name: delay_rows(start, stop, provinces, categories, types, urgent_only)
-- The delays of short periods and of the days not in the cached window (usually just today),
-- with every dimension, so that one fetch serves the medians of all groupings.
SELECT province, city, category, msg_type, hours
FROM roll_delays
WHERE day >= :start AND day < :stop
  AND message_matches(province, category, msg_type, is_urgent, :provinces, :categories, :types, :urgent_only);

-- name: delay_revision(start, stop)
-- The newest revision among the reply days [start, stop) (0: none); it grows when any of them changes.
SELECT coalesce(max(rev), 0) FROM roll_delay_revisions WHERE day >= :start AND day < :stop;
