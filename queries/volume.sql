-- Message and reply volumes. Periods are half-open timestamp ranges [start, stop)
-- built from inclusive Beijing dates; prev_* is the same dates a year earlier.
-- "replies" counts messages by their FIRST reply (messages.first_reply_at).
-- `__DIM__` is replaced by a column from the allow-list in queries/metrics.py.

-- name: totals(start, stop, prev_start, prev_stop, provinces, categories, types, urgent_only)
-- Headline counts, cohort reply rate and median first-reply delay for a period and its predecessor.
SELECT
    count(*) FILTER (WHERE created_at >= :start AND created_at < :stop) AS messages,
    count(*) FILTER (WHERE created_at >= :prev_start AND created_at < :prev_stop) AS messages_prev,
    count(*) FILTER (WHERE first_reply_at >= :start AND first_reply_at < :stop) AS replies,
    count(*) FILTER (WHERE first_reply_at >= :prev_start AND first_reply_at < :prev_stop) AS replies_prev,
    count(first_reply_at) FILTER (WHERE created_at >= :start AND created_at < :stop) AS replied_cohort,
    count(*) FILTER (WHERE created_at >= :start AND created_at < :stop AND is_urgent) AS urgent_messages,
    count(*) FILTER (WHERE created_at >= :start AND created_at < :stop
                     AND message_status(source_status, first_reply_at) = '待回复') AS pending,
    count(*) FILTER (WHERE created_at >= :start AND created_at < :stop
                     AND message_status(source_status, first_reply_at) = '办理中') AS in_progress,
    quantile_cont(epoch(first_reply_at - created_at) / 3600.0, 0.5)
        FILTER (WHERE first_reply_at >= :start AND first_reply_at < :stop) AS median_reply_hours
FROM messages
WHERE message_matches(province, category, msg_type, is_urgent, :provinces, :categories, :types, :urgent_only)
  AND ((created_at >= :prev_start AND created_at < :stop)
       OR (first_reply_at >= :prev_start AND first_reply_at < :stop));

-- name: grouped(start, stop, prev_start, prev_stop, provinces, categories, types, urgent_only)
-- The same figures per value of one dimension (province, city, category or msg_type).
SELECT
    __DIM__ AS key,
    count(*) FILTER (WHERE created_at >= :start AND created_at < :stop) AS messages,
    count(*) FILTER (WHERE created_at >= :prev_start AND created_at < :prev_stop) AS messages_prev,
    count(*) FILTER (WHERE first_reply_at >= :start AND first_reply_at < :stop) AS replies,
    count(*) FILTER (WHERE first_reply_at >= :prev_start AND first_reply_at < :prev_stop) AS replies_prev,
    count(first_reply_at) FILTER (WHERE created_at >= :start AND created_at < :stop) AS replied_cohort,
    quantile_cont(epoch(first_reply_at - created_at) / 3600.0, 0.5)
        FILTER (WHERE first_reply_at >= :start AND first_reply_at < :stop) AS median_reply_hours
FROM messages
WHERE message_matches(province, category, msg_type, is_urgent, :provinces, :categories, :types, :urgent_only)
  AND ((created_at >= :prev_start AND created_at < :stop)
       OR (first_reply_at >= :prev_start AND first_reply_at < :stop))
GROUP BY __DIM__;

-- name: daily(start, stop, prev_start, prev_stop, provinces, categories, types, urgent_only)
-- Messages and first replies per Beijing day over both periods (the trend's raw material).
WITH created AS (
    SELECT created_at::DATE AS day, count(*) AS messages
    FROM messages
    WHERE message_matches(province, category, msg_type, is_urgent, :provinces, :categories, :types, :urgent_only)
      AND ((created_at >= :prev_start AND created_at < :prev_stop) OR (created_at >= :start AND created_at < :stop))
    GROUP BY 1
), answered AS (
    SELECT first_reply_at::DATE AS day, count(*) AS replies
    FROM messages
    WHERE message_matches(province, category, msg_type, is_urgent, :provinces, :categories, :types, :urgent_only)
      AND ((first_reply_at >= :prev_start AND first_reply_at < :prev_stop)
           OR (first_reply_at >= :start AND first_reply_at < :stop))
    GROUP BY 1
)
SELECT day, coalesce(messages, 0) AS messages, coalesce(replies, 0) AS replies
FROM created FULL OUTER JOIN answered USING (day)
ORDER BY day;
