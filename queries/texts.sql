-- Writes of the records' text (migration 7 tables). `text_batch` is a registered Arrow table holding the
-- record id and its text columns, one row per id; rows without any text are not sent.

-- name: upsert_message_texts()!
INSERT INTO message_texts (message_id, content, location, likes)
SELECT message_id, content, location, likes FROM text_batch
ON CONFLICT (message_id) DO UPDATE SET
    content = excluded.content, location = excluded.location, likes = excluded.likes;

-- name: insert_message_texts()!
-- Texts of messages known to be new (bulk chunks of new messages: no conflict check).
INSERT INTO message_texts (message_id, content, location, likes)
SELECT message_id, content, location, likes FROM text_batch;

-- name: upsert_reply_texts()!
INSERT INTO reply_texts (reply_id, content)
SELECT reply_id, content FROM text_batch
ON CONFLICT (reply_id) DO UPDATE SET content = excluded.content;

-- name: upsert_evaluation_comments()!
INSERT INTO evaluation_comments (message_id, comment)
SELECT message_id, comment FROM text_batch
ON CONFLICT (message_id) DO UPDATE SET comment = excluded.comment;
