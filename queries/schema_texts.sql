-- Migration 7: the records' text lives in tables of its own, which no metric or rollup query scans,
-- so text does not slow the numbers. One row per record id, upserted with the record.
-- Bodies are compressed with zstd: texts share many phrases, which zstd finds and the default (dictionary +
-- FSST, made for short repeated strings) does not; a bulk load writes them 3x faster into a 4x smaller file,
-- and a scan (search) reads them as fast.
CREATE TABLE IF NOT EXISTS message_texts (
    message_id VARCHAR PRIMARY KEY,
    content    VARCHAR USING COMPRESSION zstd,  -- the message body (<= 10,000 characters)
    location   VARCHAR,           -- community, road, company or school the message names (<= 100 characters)
    likes      INTEGER NOT NULL DEFAULT 0  -- support count (点赞/附议)
);
CREATE TABLE IF NOT EXISTS reply_texts (
    reply_id VARCHAR PRIMARY KEY,
    content  VARCHAR USING COMPRESSION zstd  -- the reply text (<= 10,000 characters)
);
CREATE TABLE IF NOT EXISTS evaluation_comments (
    message_id VARCHAR PRIMARY KEY,
    comment    VARCHAR            -- the citizen's follow-up words, 追评 (<= 2,000 characters)
);
