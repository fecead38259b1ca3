-- Migration 11: each message's words and named places (insight/words_store.py), stored when it is written so that
-- no analysis segments text on a request. Kept apart from messages: no metric query scans it.
-- text_hash: hash of the text the words were made from (title and body start); a row whose message's text hashes
-- differently is stale and made again. The message's own place names are not dropped here (done when read).
-- Since migration 17 the lists are codes of word_vocab (schema_word_codes.sql).
CREATE TABLE IF NOT EXISTS message_words (
    message_id VARCHAR PRIMARY KEY,
    text_hash  UBIGINT NOT NULL,
    words      VARCHAR[],
    places     VARCHAR[]
);
