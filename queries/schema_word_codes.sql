-- Migration 17: stored words and named places as codes of one vocabulary (word_vocab), not as text: a cold
-- period reads a million 4-byte codes and the few thousand distinct words they stand for, instead of a million
-- strings to encode again (insight/corpus.py). Codes are given in order when a word is first stored and never
-- change (insight.sql add_words). Run by db.py _code_words when the stored words are text; the rows stored
-- before are then coded from words_frame by the same statements the indexer saves with.
CREATE TEMP TABLE words_frame AS SELECT message_id, text_hash, words, places FROM message_words;
DROP TABLE message_words;
CREATE TABLE word_vocab (
    id   INTEGER PRIMARY KEY,
    word VARCHAR NOT NULL UNIQUE
);
CREATE TABLE message_words (
    message_id VARCHAR PRIMARY KEY,
    text_hash  UBIGINT NOT NULL,
    words      INTEGER[],  -- word_vocab ids, in the text's order
    places     INTEGER[]
);
