-- Migration 14: the boilerplate flag of each reply with text (supervision/boilerplate.py), a property of the reply
-- alone: it compares the reply with the replies of its own day and the 90 days before it, so it is stored once and
-- the league and the shares read it. Rows are dropped when a reply in the window may flip them (queries/writes.sql,
-- supervision.sql `unsettle_boilerplate_after_features`) and computed again (`boilerplate.ensure`, the indexer).
CREATE TABLE IF NOT EXISTS reply_boilerplate (
    reply_id    VARCHAR PRIMARY KEY,
    message_id  VARCHAR NOT NULL,    -- message, time and unit as its reply_features row (dropped with it), so that
    replied_at  TIMESTAMP NOT NULL,  -- the league finds its first replies' flags with one join
    unit        VARCHAR,
    text_key    UBIGINT NOT NULL,
    candidate   BOOLEAN NOT NULL,    -- does not address its message: the only replies that can be boilerplate
    exact       BOOLEAN NOT NULL,    -- its reduced text answers another problem in its window
    boilerplate BOOLEAN NOT NULL
);
