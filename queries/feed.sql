-- The live feed: newest messages and newest answered messages.

-- name: latest_messages(provinces, categories, types, urgent_only, limit)
-- Newest messages with their current status.
SELECT message_id, created_at, province, city, category, msg_type, title, is_urgent,
       message_status(source_status, first_reply_at) AS status
FROM messages
WHERE message_matches(province, category, msg_type, is_urgent, :provinces, :categories, :types, :urgent_only)
ORDER BY created_at DESC, message_id DESC
LIMIT :limit;

-- name: latest_replies(provinces, categories, types, urgent_only, limit)
-- Messages most recently answered for the first time.
SELECT message_id, first_reply_at AS replied_at, created_at, province, city, category, msg_type, title,
       first_reply_unit AS unit
FROM messages
WHERE first_reply_at IS NOT NULL
  AND message_matches(province, category, msg_type, is_urgent, :provinces, :categories, :types, :urgent_only)
ORDER BY first_reply_at DESC, message_id DESC
LIMIT :limit;
