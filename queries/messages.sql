-- Reading and searching messages with their text (GET /api/v1/messages, /api/v1/messages/<id>).
-- Periods are half-open timestamp ranges [start, stop); every value is a bound parameter. `terms` are
-- lower-case words that must each occur in the title or the body (plain substring match: no text index
-- can be loaded here, and it matches Chinese without a word splitter).

-- name: page(start, stop, provinces, categories, types, urgent_only, limit, offset)
-- Newest first, without a search: the page's messages are found in `messages` alone, their text joined after.
WITH hits AS (
    SELECT message_id, created_at, province, city, district, category, msg_type, title,
           message_status(source_status, first_reply_at) AS status, first_reply_at,
           count(*) OVER () AS total
    FROM messages
    WHERE created_at >= :start AND created_at < :stop
      AND message_matches(province, category, msg_type, is_urgent, :provinces, :categories, :types, :urgent_only)
    ORDER BY created_at DESC, message_id DESC
    LIMIT :limit OFFSET :offset
)
SELECT h.*, t.content, coalesce(t.likes, 0) AS likes
FROM hits h LEFT JOIN message_texts t ON t.message_id = h.message_id
ORDER BY h.created_at DESC, h.message_id DESC;

-- name: page_total(start, stop, provinces, categories, types, urgent_only)
-- The number of matching messages (a page past the end has no row to carry it).
SELECT count(*) FROM messages
WHERE created_at >= :start AND created_at < :stop
  AND message_matches(province, category, msg_type, is_urgent, :provinces, :categories, :types, :urgent_only);

-- name: search(start, stop, provinces, categories, types, urgent_only, terms, cased, limit, offset)
-- Newest first, each word in the title or the body; `total` counts every hit. Words without letters that have
-- case (Chinese, digits) are matched as given, the others (`cased`, lower-case) against lower-cased text: lowering
-- every body costs more than the match. The texts are read only over the id range of the period's messages
-- (zone maps: ids of a bulk-loaded history follow time); other ids do no harm, they are joined away.
WITH m AS (
    SELECT message_id, created_at, province, city, district, category, msg_type, title,
           message_status(source_status, first_reply_at) AS status, first_reply_at
    FROM messages
    WHERE created_at >= :start AND created_at < :stop
      AND message_matches(province, category, msg_type, is_urgent, :provinces, :categories, :types, :urgent_only)
), hits AS (
    SELECT m.*, t.content, coalesce(t.likes, 0) AS likes
    FROM m LEFT JOIN (
        SELECT message_id, content, likes FROM message_texts
        WHERE message_id >= (SELECT min(message_id) FROM m) AND message_id <= (SELECT max(message_id) FROM m)
    ) t ON t.message_id = m.message_id
    WHERE coalesce(list_bool_and(list_transform(:terms, lambda w:
              contains(coalesce(m.title, ''), w) OR contains(coalesce(t.content, ''), w))), true)
      AND coalesce(list_bool_and(list_transform(:cased, lambda w:
              contains(lower(coalesce(m.title, '')), w) OR contains(lower(coalesce(t.content, '')), w))), true)
)
SELECT *, count(*) OVER () AS total FROM hits
ORDER BY created_at DESC, message_id DESC
LIMIT :limit OFFSET :offset;

-- name: search_total(start, stop, provinces, categories, types, urgent_only, terms, cased)
WITH m AS (
    SELECT message_id, title FROM messages
    WHERE created_at >= :start AND created_at < :stop
      AND message_matches(province, category, msg_type, is_urgent, :provinces, :categories, :types, :urgent_only)
)
SELECT count(*)
FROM m LEFT JOIN (
    SELECT message_id, content FROM message_texts
    WHERE message_id >= (SELECT min(message_id) FROM m) AND message_id <= (SELECT max(message_id) FROM m)
) t ON t.message_id = m.message_id
WHERE coalesce(list_bool_and(list_transform(:terms, lambda w:
          contains(coalesce(m.title, ''), w) OR contains(coalesce(t.content, ''), w))), true)
  AND coalesce(list_bool_and(list_transform(:cased, lambda w:
          contains(lower(coalesce(m.title, '')), w) OR contains(lower(coalesce(t.content, '')), w))), true);

-- name: message(id)
-- One message with its text and evaluation (found through the primary keys).
SELECT m.message_id, m.created_at, m.province, m.city, m.district, m.category, m.msg_type, m.title,
       message_status(m.source_status, m.first_reply_at) AS status, m.first_reply_at,
       t.content, coalesce(t.likes, 0) AS likes, t.location,
       e.rated_at, e.satisfied, e.score_resolution, e.score_attitude, e.score_speed, c.comment
FROM messages m
LEFT JOIN message_texts t ON t.message_id = m.message_id
LEFT JOIN evaluations e ON e.message_id = m.message_id
LEFT JOIN evaluation_comments c ON c.message_id = m.message_id
WHERE m.message_id = :id;

-- name: replies(id, created_at)
-- The message's replies in time order with their text; replies never precede their message (row-group pruning).
SELECT r.reply_id, r.replied_at, r.unit, x.content
FROM replies r LEFT JOIN reply_texts x ON x.reply_id = r.reply_id
WHERE r.message_id = :id AND r.replied_at >= :created_at
ORDER BY r.replied_at, r.reply_id;

-- name: by_ids(ids, start, stop, provinces, categories, types, urgent_only)
-- The listed messages among `ids` that match the filters (a group the insight service found), oldest first.
SELECT m.message_id, m.created_at, m.province, m.city, m.district, m.category, m.msg_type, m.title,
       message_status(m.source_status, m.first_reply_at) AS status, m.first_reply_at,
       t.content, coalesce(t.likes, 0) AS likes
FROM messages m LEFT JOIN message_texts t ON t.message_id = m.message_id
WHERE list_contains(:ids, m.message_id)
  AND m.created_at >= :start AND m.created_at < :stop
  AND message_matches(m.province, m.category, m.msg_type, m.is_urgent, :provinces, :categories, :types, :urgent_only)
ORDER BY m.created_at, m.message_id;
