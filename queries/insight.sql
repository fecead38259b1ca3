-- Queries of the insight methods (insight/): a period's messages with their text, and daily counts for surges.
-- Periods are half-open timestamp ranges [start, stop) built from inclusive Beijing dates; every value is bound.

-- name: period_messages(start, stop, provinces, categories, types, urgent_only)
-- Messages created in the period with title, body start, location, likes and their first reply (time, unit).
-- Only the body's first 200 characters are read: the methods use no more (a year's bodies would not fit in memory).
SELECT m.message_id, m.created_at, m.province, coalesce(m.city, '') AS city, coalesce(m.district, '') AS district,
       m.category, m.msg_type, m.title, left(t.content, 200) AS content, coalesce(t.location, '') AS location,
       coalesce(t.likes, 0) AS likes, m.first_reply_at, m.first_reply_unit
FROM messages m
LEFT JOIN message_texts t USING (message_id)
WHERE m.created_at >= :start AND m.created_at < :stop
  AND message_matches(m.province, m.category, m.msg_type, m.is_urgent, :provinces, :categories, :types, :urgent_only)
ORDER BY m.created_at, m.message_id;

-- name: daily_counts(start, stop, provinces, categories, types, urgent_only)
-- Messages per day x province x city x domain (the series surges are tested on).
SELECT CAST(created_at AS DATE) AS day, province, coalesce(city, '') AS city, category, count(*) AS messages
FROM messages
WHERE created_at >= :start AND created_at < :stop
  AND message_matches(province, category, msg_type, is_urgent, :provinces, :categories, :types, :urgent_only)
GROUP BY ALL;

-- name: unit_names()
-- The store's units, added to the segmentation dictionary so that their names stay whole.
SELECT DISTINCT name FROM units WHERE length(name) BETWEEN 2 AND 30;
