-- The store's tables. Times are Beijing wall-clock TIMESTAMPs (no zone):
-- every value is converted to Asia/Shanghai before it is written.
-- Applied by queries/db.py as migration 1; later migrations live in db.py.

CREATE TABLE IF NOT EXISTS meta (
    key   VARCHAR PRIMARY KEY,
    value VARCHAR
);

CREATE TABLE IF NOT EXISTS provinces (
    adcode      INTEGER PRIMARY KEY,
    name_full   VARCHAR NOT NULL,
    name_short  VARCHAR NOT NULL,
    name_en     VARCHAR NOT NULL,
    region      VARCHAR NOT NULL,
    census_2010 BIGINT NOT NULL,
    census_2020 BIGINT NOT NULL
);

-- first_reply_at / first_reply_unit / reply_count are kept up to date on every
-- reply write so that reply metrics never need the replies join.
CREATE TABLE IF NOT EXISTS messages (
    message_id       VARCHAR PRIMARY KEY,
    created_at       TIMESTAMP NOT NULL,
    province         INTEGER NOT NULL,
    city             VARCHAR,
    district         VARCHAR,
    addressee        VARCHAR,
    category         VARCHAR NOT NULL,
    msg_type         VARCHAR NOT NULL,
    title            VARCHAR,
    is_urgent        BOOLEAN NOT NULL DEFAULT false,
    source_status    VARCHAR,
    first_reply_at   TIMESTAMP,
    first_reply_unit VARCHAR,
    reply_count      INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE IF NOT EXISTS replies (
    reply_id   VARCHAR PRIMARY KEY,
    message_id VARCHAR NOT NULL,
    replied_at TIMESTAMP NOT NULL,
    unit       VARCHAR
);

-- Replies whose message has not arrived yet; moved to replies when it does.
CREATE TABLE IF NOT EXISTS held_replies (
    reply_id    VARCHAR PRIMARY KEY,
    message_id  VARCHAR NOT NULL,
    replied_at  TIMESTAMP NOT NULL,
    unit        VARCHAR,
    received_at TIMESTAMP NOT NULL,
    problem     VARCHAR
);

-- One evaluation per message (the message id is its key). `verdict` is the
-- spec's satisfied flag: `satisfied` when given, else mean of the scores >= 4.
CREATE TABLE IF NOT EXISTS evaluations (
    message_id       VARCHAR PRIMARY KEY,
    rated_at         TIMESTAMP NOT NULL,
    satisfied        BOOLEAN,
    score_resolution TINYINT,
    score_attitude   TINYINT,
    score_speed      TINYINT,
    verdict          BOOLEAN
);

CREATE TABLE IF NOT EXISTS units (
    unit_id   VARCHAR PRIMARY KEY,
    name      VARCHAR NOT NULL,
    province  INTEGER NOT NULL,
    level     VARCHAR,
    joined_at TIMESTAMP NOT NULL
);

CREATE TABLE IF NOT EXISTS leaders (
    leader_id VARCHAR PRIMARY KEY,
    name      VARCHAR NOT NULL,
    province  INTEGER NOT NULL,
    level     VARCHAR,
    joined_at TIMESTAMP NOT NULL
);

-- The shared message filter: an empty list means "all".
CREATE OR REPLACE MACRO message_matches(province, category, msg_type, is_urgent,
                                        provinces, categories, types, urgent_only) AS
    (len(provinces) = 0 OR list_contains(provinces, province))
    AND (len(categories) = 0 OR list_contains(categories, category))
    AND (len(types) = 0 OR list_contains(types, msg_type))
    AND (NOT urgent_only OR is_urgent);

-- Status shown to users: a source's 办理中 is kept; otherwise a reply means 已办理.
CREATE OR REPLACE MACRO message_status(source_status, first_reply_at) AS
    CASE WHEN source_status = '办理中' THEN '办理中'
         WHEN first_reply_at IS NOT NULL THEN '已办理'
         ELSE coalesce(source_status, '待回复') END;
