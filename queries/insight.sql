-- Queries of the insight methods (insight/): a period's messages with their text and words, daily counts for
-- surges, and the words index (insight/words_store.py).
-- Periods are half-open timestamp ranges [start, stop) built from inclusive Beijing dates; every value is bound.

-- name: period_marks(start, stop, provinces, categories, types, urgent_only)
-- The period's messages (ids_frame: window_ids of the period, registered) in the corpus' order, each with a hash of every value
-- period_messages reads of it (its words are made from its title and body): a later corpus of the period reads
-- again only the messages whose mark changed.
SELECT m.message_id,
       hash(m.created_at, m.province, m.city, m.district, m.category, m.msg_type, m.title, left(t.content, 200),
            t.location, t.likes, m.first_reply_at, m.first_reply_unit) AS mark
FROM messages m
LEFT JOIN (SELECT * FROM message_texts WHERE message_id IN (SELECT message_id FROM ids_frame)) t USING (message_id)
WHERE m.created_at >= :start AND m.created_at < :stop
  AND message_matches(m.province, m.category, m.msg_type, m.is_urgent, :provinces, :categories, :types, :urgent_only)
ORDER BY m.created_at, m.message_id;

-- name: words_mark(start, stop, body_chars)
-- The messages of ids_frame (window_ids of the window, registered) with one sum of the hashes of what their words and
-- places are made of (id, province, city, district, title, body start, location): the term weights learnt from the
-- window hold while these are the same (a reply, a like or a reply's unit changes none of them).
SELECT count(*) AS messages,
       coalesce(sum(hash(m.message_id, m.province, m.city, m.district, m.title, left(t.content, :body_chars),
                         t.location)::HUGEINT), 0)::VARCHAR AS mark
FROM messages m
LEFT JOIN (SELECT * FROM message_texts WHERE message_id IN (SELECT message_id FROM ids_frame)) t USING (message_id)
WHERE m.created_at >= :start AND m.created_at < :stop;

-- name: period_messages(start, stop, provinces, categories, types, urgent_only, body_chars)
-- Messages of ids_frame (registered) created in the period with title, location, likes and their first reply time,
-- and their stored words and named places (insight/words_store.py) with whether these were made from the current
-- text (`indexed`) and that text's hash; their mark as period_marks makes it.
-- The body's start (what words are made of) only where the stored words are not current: the methods use the words,
-- not the body (a year's bodies would take hundreds of MB).
-- The ids are read once (materialized): three semi-joins on them cost a sixth more.
WITH ids AS MATERIALIZED (SELECT message_id FROM ids_frame)
SELECT m.message_id, m.created_at, m.province, coalesce(m.city, '') AS city, coalesce(m.district, '') AS district,
       m.category, m.title, coalesce(t.location, '') AS location, coalesce(t.likes, 0) AS likes, m.first_reply_at,
       hash(m.title, left(t.content, :body_chars)) AS text_hash, w.words, w.places,
       w.text_hash IS NOT DISTINCT FROM hash(m.title, left(t.content, :body_chars)) AS indexed,
       CASE WHEN w.text_hash IS DISTINCT FROM hash(m.title, left(t.content, :body_chars))
            THEN left(t.content, :body_chars) END AS content,
       hash(m.created_at, m.province, m.city, m.district, m.category, m.msg_type, m.title, left(t.content, 200),
            t.location, t.likes, m.first_reply_at, m.first_reply_unit) AS mark
FROM messages m
LEFT JOIN (SELECT * FROM message_texts WHERE message_id IN (SELECT message_id FROM ids)) t USING (message_id)
LEFT JOIN (SELECT * FROM message_words WHERE message_id IN (SELECT message_id FROM ids)) w USING (message_id)
WHERE m.created_at >= :start AND m.created_at < :stop AND m.message_id IN (SELECT message_id FROM ids)
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

-- name: window_ids(start, stop)
-- The ids of the messages of [start, stop): registered for the queries below as ids_frame, so that they read the text tables
-- only where these messages are (a plain join reads every row's text: seconds for a few thousand messages).
SELECT message_id FROM messages WHERE created_at >= :start AND created_at < :stop;

-- name: words_stored()
-- How many of the messages ids_frame holds (registered) have a words row, current or not: insight/corpus.py
-- `index_ahead` segments a window in worker processes when many have none.
SELECT count(*) FROM message_words WHERE message_id IN (SELECT message_id FROM ids_frame);

-- name: words_missing(start, stop, body_chars, n)
-- Messages of [start, stop) (ids_frame: their ids, registered) whose words are not stored or were made from another text (a re-import
-- changed it), newest first: the text the words are made of (title, body start) and its hash, stored with the words.
WITH period AS (
    SELECT m.message_id, m.created_at, m.title, left(t.content, :body_chars) AS content
    FROM messages m
    LEFT JOIN (SELECT * FROM message_texts WHERE message_id IN (SELECT message_id FROM ids_frame)) t USING (message_id)
    WHERE m.created_at >= :start AND m.created_at < :stop
)
SELECT p.message_id, hash(p.title, p.content) AS text_hash, p.title, p.content
FROM period p
LEFT JOIN (SELECT * FROM message_words WHERE message_id IN (SELECT message_id FROM ids_frame)) w USING (message_id)
WHERE w.text_hash IS DISTINCT FROM hash(p.title, p.content)
ORDER BY p.created_at DESC, p.message_id
LIMIT :n;

-- name: add_words()
-- Give a code to each word and named place of the registered frame `words_frame` (message_id, text_hash, words,
-- places: text lists) that has none yet: the next free ones, in word order. Migration 17 (every stored list at once);
-- words_store.save codes a few rows' words itself (from the vocabulary kept in memory: queries/word_codes.py).
INSERT INTO word_vocab
SELECT (SELECT coalesce(max(id), -1) FROM word_vocab) + row_number() OVER (ORDER BY word), word
FROM (SELECT unnest(words) AS word FROM words_frame UNION SELECT unnest(places) FROM words_frame)
WHERE word NOT IN (SELECT word FROM word_vocab);

-- name: save_words()
-- Upsert the words of `words_frame` as their codes (add_words first), each list in its order.
INSERT OR REPLACE INTO message_words
WITH flat AS (
    SELECT message_id, false AS place, unnest(words) AS word, unnest(range(len(words))) AS pos FROM words_frame
    UNION ALL
    SELECT message_id, true, unnest(places), unnest(range(len(places))) FROM words_frame
), coded AS (
    SELECT f.message_id, list(v.id ORDER BY f.pos) FILTER (WHERE NOT f.place) AS words,
           list(v.id ORDER BY f.pos) FILTER (WHERE f.place) AS places
    FROM flat f JOIN word_vocab v USING (word)
    GROUP BY f.message_id
)
SELECT w.message_id, w.text_hash, coalesce(c.words, []), coalesce(c.places, [])
FROM words_frame w LEFT JOIN coded c USING (message_id);

-- name: codes_above(top)
-- The codes above `top` and their words (queries/word_codes.py keeps the vocabulary in memory in step with them).
SELECT id, word FROM word_vocab WHERE id > :top;

-- name: last_code()
SELECT coalesce(max(id), -1) FROM word_vocab;

-- name: add_codes()
-- New words with their codes (the registered codes_frame: id, word).
INSERT INTO word_vocab SELECT id, word FROM codes_frame;

-- name: save_coded()
-- Upsert the registered coded_frame (message_id, text_hash, words, places: code lists).
INSERT OR REPLACE INTO message_words SELECT message_id, text_hash, words, places FROM coded_frame;

-- name: vocabulary()
-- The words of the codes of the registered codes_frame (id).
SELECT id, word FROM word_vocab WHERE id IN (SELECT id FROM codes_frame);

-- name: message_bodies(body_chars)
-- Title and body start of the messages of the registered ids_frame (the few whose text a method shows).
SELECT m.message_id, m.title, left(t.content, :body_chars) AS content
FROM messages m
LEFT JOIN (SELECT * FROM message_texts WHERE message_id IN (SELECT message_id FROM ids_frame)) t USING (message_id)
WHERE m.message_id IN (SELECT message_id FROM ids_frame);
