-- The live feed: newest messages and newest answered messages. `since_*` are times
-- before which no wanted row lies (found from the rollups, see queries/metrics.py),
-- so that the scan skips the row groups of older messages.

-- name: latest_both(provinces, categories, types, urgent_only, limit, since_created, since_answered)
-- The newest messages with their current status (`kind` 'm', `at` = created_at) and the messages
-- most recently answered for the first time (`kind` 'r', `at` = first reply), in one statement.
(SELECT 'm' AS kind, message_id, created_at AS at, created_at, province, city, category, msg_type, title,
        is_urgent, message_status(source_status, first_reply_at) AS status, NULL::VARCHAR AS unit
 FROM messages
 WHERE created_at >= :since_created
   AND message_matches(province, category, msg_type, is_urgent, :provinces, :categories, :types, :urgent_only)
 ORDER BY created_at DESC, message_id DESC
 LIMIT :limit)
UNION ALL
(SELECT 'r', message_id, first_reply_at, created_at, province, city, category, msg_type, title,
        is_urgent, NULL, first_reply_unit
 FROM messages
 WHERE first_reply_at >= :since_answered
   AND message_matches(province, category, msg_type, is_urgent, :provinces, :categories, :types, :urgent_only)
 ORDER BY first_reply_at DESC, message_id DESC
 LIMIT :limit);
