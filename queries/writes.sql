-- Upserts of validated batches. `batch` is a registered DataFrame/Arrow table
-- holding the canonical columns of its kind, one row per id.

-- name: upsert_messages()!
-- Insert new messages, update known ones; derived reply columns are left alone.
INSERT INTO messages (message_id, created_at, province, city, district, addressee, category,
                      msg_type, title, is_urgent, source_status)
SELECT message_id, created_at, province, city, district, addressee, category,
       msg_type, title, is_urgent, source_status
FROM batch
ON CONFLICT (message_id) DO UPDATE SET
    created_at = excluded.created_at, province = excluded.province, city = excluded.city,
    district = excluded.district, addressee = excluded.addressee, category = excluded.category,
    msg_type = excluded.msg_type, title = excluded.title, is_urgent = excluded.is_urgent,
    source_status = excluded.source_status;

-- name: upsert_replies()!
-- Store linked replies.
INSERT INTO replies (reply_id, message_id, replied_at, unit)
SELECT reply_id, message_id, replied_at, unit FROM batch
ON CONFLICT (reply_id) DO UPDATE SET
    message_id = excluded.message_id, replied_at = excluded.replied_at, unit = excluded.unit;

-- name: upsert_held_replies()!
-- Keep replies whose message is not known yet.
INSERT INTO held_replies (reply_id, message_id, replied_at, unit, received_at, problem)
SELECT reply_id, message_id, replied_at, unit, now() AT TIME ZONE 'Asia/Shanghai', problem FROM batch
ON CONFLICT (reply_id) DO UPDATE SET
    message_id = excluded.message_id, replied_at = excluded.replied_at, unit = excluded.unit,
    problem = excluded.problem;

-- name: delete_held(ids)!
-- Held replies that are now linked (or re-sent with a known message).
DELETE FROM held_replies WHERE list_contains(:ids, reply_id);

-- name: drop_boilerplate_near(ids)!
-- Before replies lose their feature rows: their flags go, and so do the flags they may have made boilerplate, those
-- in the 90 days after their day (supervision/boilerplate.py): flagged by a shared text they share, or by clauses.
DELETE FROM reply_boilerplate
WHERE list_contains(:ids, reply_id)
   OR (boilerplate
       AND replied_at >= (SELECT date_trunc('day', min(replied_at)) FROM reply_features WHERE list_contains(:ids, reply_id))
       AND replied_at < (SELECT date_trunc('day', max(replied_at)) + INTERVAL 91 DAY
                         FROM reply_features WHERE list_contains(:ids, reply_id))
       AND (NOT exact OR text_key IN (SELECT text_key FROM reply_features WHERE list_contains(:ids, reply_id))))
RETURNING message_id;

-- name: first_flags(ids)
-- The flag of the first reply of each league facts row of the messages :ids (null without one), as
-- `fill_league_facts` reads it (migration 15). Both tables are narrowed to the ids before the join: a correlated
-- lookup per row, or an UPDATE joined to this, scanned every facts row (0.7 s at 6 M messages for 200 ids).
SELECT l.message_id, bool_or(b.boilerplate) AS flag
FROM (SELECT message_id, first_reply_at, unit FROM league_facts WHERE message_id IN (SELECT unnest(:ids))) l
LEFT JOIN (SELECT message_id, replied_at, unit, boilerplate FROM reply_boilerplate
           WHERE message_id IN (SELECT unnest(:ids))) b
  ON b.message_id = l.message_id AND b.replied_at = l.first_reply_at AND b.unit = l.unit
GROUP BY l.message_id;

-- name: set_first_flags(ids, flagged, plain)!
-- The facts rows of :ids take the flags first_flags found (true for :flagged, false for :plain, else null).
UPDATE league_facts SET first_boilerplate = CASE
    WHEN list_contains(:flagged, message_id) THEN true
    WHEN list_contains(:plain, message_id) THEN false
END
WHERE message_id IN (SELECT unnest(:ids));

-- name: set_first_flags_joined()!
-- As set_first_flags, the flags given as rows (first_flag_batch: message_id, flag): one join where thousands of
-- ids would each be looked up in the bound lists.
UPDATE league_facts SET first_boilerplate = b.flag
FROM first_flag_batch b
WHERE league_facts.message_id = b.message_id;

-- name: refresh_all_first_flags()!
-- Every league facts row takes its first reply's flag (migration 15's backfill, and after all flags are dropped).
UPDATE league_facts SET first_boilerplate = b.boilerplate
FROM reply_boilerplate b
WHERE b.message_id = league_facts.message_id AND b.replied_at = league_facts.first_reply_at
  AND b.unit = league_facts.unit;

-- name: drop_reply_features(ids)!
-- Re-sent or held replies lose their stored reply features (their time or message may have changed; see
-- supervision/features.py, which recomputes them).
DELETE FROM reply_features WHERE list_contains(:ids, reply_id);

-- name: drop_boilerplate_near_batch()!
-- As drop_boilerplate_near, for the replies of re-sent messages (batch).
DELETE FROM reply_boilerplate
WHERE reply_id IN (SELECT reply_id FROM reply_features WHERE message_id IN (SELECT message_id FROM batch))
   OR (boilerplate
       AND replied_at >= (SELECT date_trunc('day', min(replied_at)) FROM reply_features
                          WHERE message_id IN (SELECT message_id FROM batch))
       AND replied_at < (SELECT date_trunc('day', max(replied_at)) + INTERVAL 91 DAY FROM reply_features
                         WHERE message_id IN (SELECT message_id FROM batch))
       AND (NOT exact OR text_key IN (SELECT text_key FROM reply_features
                                      WHERE message_id IN (SELECT message_id FROM batch))))
RETURNING message_id;

-- name: drop_reply_features_of_batch()!
-- Replies of re-sent messages lose their stored reply features (the message's title, text or place may have
-- changed; supervision/features.py recomputes them).
DELETE FROM reply_features WHERE message_id IN (SELECT message_id FROM batch);

-- name: league_facts_span(ids)
-- The creation times of the batch's messages, as sent and as stored: the answered messages they may restate (or may
-- have restated) were first answered in [low, high), which bounds the scan of league_facts_near_batch.
SELECT min(created_at) - INTERVAL 30 DAY AS low, max(created_at) AS high
FROM (SELECT created_at FROM batch
      UNION ALL
      SELECT created_at FROM messages WHERE message_id IN (SELECT unnest(:ids)));

-- name: league_facts_near_batch(ids, low, high)
-- The answered messages that the batch's messages (before their upsert: as stored and as sent) may restate or may
-- have restated: same place and domain, first answered in the 30 days before one of them was posted. Their league
-- facts go (drop_league_facts; supervision/league_facts.py computes them again).
SELECT f.message_id
FROM league_facts f
JOIN (SELECT province, coalesce(city, '') AS city, coalesce(district, '') AS district, category, created_at
      FROM batch
      UNION
      SELECT province, coalesce(city, ''), coalesce(district, ''), category, created_at
      FROM messages WHERE message_id IN (SELECT unnest(:ids))) b
  ON f.province = b.province AND f.city = b.city AND f.district = b.district
 AND f.category IS NOT DISTINCT FROM b.category
 AND f.first_reply_at >= b.created_at - INTERVAL 30 DAY AND f.first_reply_at < b.created_at
WHERE f.first_reply_at >= :low AND f.first_reply_at < :high;

-- name: drop_league_facts(ids)!
-- Messages re-sent, whose first reply moved or whose evaluation was written lose their league facts (computed
-- again; the ids are looked up in the table's key index).
DELETE FROM league_facts WHERE message_id IN (SELECT unnest(:ids));

-- name: delete_replies(ids)!
-- Linked replies moved back to held (re-sent pointing to an unknown message).
DELETE FROM replies WHERE list_contains(:ids, reply_id);

-- name: refresh_first_reply(ids)!
-- Recompute the first-reply columns of the given messages from their replies (the unit of the first reply, even
-- when it names none: arg_min would take a later reply's).
UPDATE messages SET
    first_reply_at = s.first_at, first_reply_unit = s.first_unit, reply_count = coalesce(s.n, 0)
FROM (
    SELECT ids.message_id, r.first_at, r.first_unit, r.n
    FROM (SELECT unnest(:ids) AS message_id) ids
    LEFT JOIN (
        SELECT message_id, min(replied_at) AS first_at, arg_min_null(unit, replied_at) AS first_unit, count(*) AS n
        FROM replies WHERE list_contains(:ids, message_id) GROUP BY message_id
    ) r USING (message_id)
) s
WHERE messages.message_id = s.message_id;

-- name: upsert_units()!
-- Units that joined the platform.
INSERT INTO units SELECT unit_id, name, province, level, joined_at FROM batch
ON CONFLICT (unit_id) DO UPDATE SET
    name = excluded.name, province = excluded.province, level = excluded.level, joined_at = excluded.joined_at;

-- name: upsert_leaders()!
-- Leaders that joined the platform.
INSERT INTO leaders SELECT leader_id, name, province, level, joined_at FROM batch
ON CONFLICT (leader_id) DO UPDATE SET
    name = excluded.name, province = excluded.province, level = excluded.level, joined_at = excluded.joined_at;

-- name: insert_new_messages()
-- Insert the batch's messages that are not stored yet; returns their ids (the others are updates).
INSERT INTO messages (message_id, created_at, province, city, district, addressee, category,
                      msg_type, title, is_urgent, source_status)
SELECT message_id, created_at, province, city, district, addressee, category,
       msg_type, title, is_urgent, source_status
FROM batch
ON CONFLICT (message_id) DO NOTHING
RETURNING message_id;

-- name: insert_new_replies()
-- Store the batch's linked replies that are not stored yet; returns their ids (the others are re-sent).
INSERT INTO replies (reply_id, message_id, replied_at, unit)
SELECT reply_id, message_id, replied_at, unit FROM batch
ON CONFLICT (reply_id) DO NOTHING
RETURNING reply_id;

-- name: count_new_replies()
-- The same insert returning only how many replies were new (the fast path needs no ids: fetching a bulk chunk's
-- costs more than the insert's conflict check).
INSERT INTO replies (reply_id, message_id, replied_at, unit)
SELECT reply_id, message_id, replied_at, unit FROM batch
ON CONFLICT (reply_id) DO NOTHING;

-- name: stored_reply_count()
-- How many replies of a bulk chunk (`batch`) are stored already: one scan of the ids (reply ids in time order
-- leave most row groups out), cheaper for a large chunk than a conflict check per row.
SELECT count(*) FROM replies WHERE reply_id IN (SELECT reply_id FROM batch);

-- name: insert_replies()!
-- Insert replies known to be new (stored_reply_count found none of the bulk chunk: a plain insert costs two thirds
-- of one with a conflict check per row).
INSERT INTO replies (reply_id, message_id, replied_at, unit)
SELECT reply_id, message_id, replied_at, unit FROM batch;

-- name: stored_replies()
-- The message each reply of the batch answered when it was stored before (re-sent replies only).
SELECT b.reply_id, r.message_id AS previous_message_id
FROM batch b JOIN replies r ON r.reply_id = b.reply_id;

-- name: waiting_for_batch()
-- Held replies and held evaluations whose message is in the batch (`kind` 'r' or 'e').
SELECT 'r' AS kind, h.reply_id, h.message_id, h.replied_at, h.unit, m.created_at,
       NULL::TIMESTAMP AS rated_at, NULL::BOOLEAN AS verdict
FROM held_replies h JOIN batch m USING (message_id)
UNION ALL
SELECT 'e', NULL, e.message_id, NULL, NULL, NULL, e.rated_at, e.verdict
FROM held_evaluations e JOIN batch m USING (message_id);

-- name: delete_held_evaluations(ids)!
-- Evaluations whose message is now stored.
DELETE FROM held_evaluations WHERE list_contains(:ids, message_id);

-- name: insert_messages()!
-- Insert messages known to be new (bulk chunks).
INSERT INTO messages (message_id, created_at, province, city, district, addressee, category,
                      msg_type, title, is_urgent, source_status)
SELECT message_id, created_at, province, city, district, addressee, category,
       msg_type, title, is_urgent, source_status
FROM batch;

-- name: message_targets(low, high)
-- The stored messages, created in [low, high), of the ids in `batch`, with their rollup state (and row id:
-- valid until the write's transaction ends).
SELECT message_id, created_at AS message_created_at, first_reply_at, first_reply_unit, reply_count,
       province, city, category, msg_type, is_urgent, source_status, rowid AS rid
FROM messages
WHERE created_at >= :low AND created_at < :high AND message_id IN (SELECT message_id FROM batch);

-- name: stored_evaluations()
-- The stored evaluations of the batch's messages.
SELECT message_id, rated_at AS old_rated_at, verdict AS old_verdict
FROM evaluations WHERE message_id IN (SELECT message_id FROM batch);

-- name: upsert_evaluations_returning()
-- One evaluation per message; the verdict follows the spec's satisfaction rule. Returns the stored rows.
INSERT INTO evaluations
SELECT message_id, rated_at, satisfied, score_resolution, score_attitude, score_speed,
       coalesce(satisfied,
                (coalesce(score_resolution, 0) + coalesce(score_attitude, 0) + coalesce(score_speed, 0))
                / nullif((score_resolution IS NOT NULL)::INT + (score_attitude IS NOT NULL)::INT
                         + (score_speed IS NOT NULL)::INT, 0) >= 4)
FROM batch
ON CONFLICT (message_id) DO UPDATE SET
    rated_at = excluded.rated_at, satisfied = excluded.satisfied,
    score_resolution = excluded.score_resolution, score_attitude = excluded.score_attitude,
    score_speed = excluded.score_speed, verdict = excluded.verdict
RETURNING message_id, rated_at, verdict;

-- name: upsert_held_evaluations()!
-- Evaluations of messages not stored (yet), as the rollups need them.
INSERT INTO held_evaluations SELECT message_id, rated_at, verdict FROM batch
ON CONFLICT (message_id) DO UPDATE SET rated_at = excluded.rated_at, verdict = excluded.verdict;

-- name: delete_held_in_batch()!
-- Held replies that are now linked (re-sent with a known message).
DELETE FROM held_replies WHERE reply_id IN (SELECT reply_id FROM batch);

-- name: message_lookup()
-- For a bulk chunk of messages, in one statement: the ids stored already ('s': one scan of the ids, cheaper
-- than a conflict check per row for a large chunk), held replies ('r') and held evaluations ('e') waiting
-- for a message of the batch.
SELECT 's' AS kind, message_id, NULL::VARCHAR AS reply_id, NULL::TIMESTAMP AS replied_at, NULL::VARCHAR AS unit,
       NULL::TIMESTAMP AS created_at, NULL::TIMESTAMP AS rated_at, NULL::BOOLEAN AS verdict
FROM messages WHERE message_id IN (SELECT message_id FROM batch)
UNION ALL
SELECT 'r', h.message_id, h.reply_id, h.replied_at, h.unit, m.created_at, NULL, NULL
FROM held_replies h JOIN batch m USING (message_id)
UNION ALL
SELECT 'e', e.message_id, NULL, NULL, NULL, NULL, e.rated_at, e.verdict
FROM held_evaluations e JOIN batch m USING (message_id);

-- name: reply_lookup(low, high)
-- For a batch of replies, in one statement: the stored messages created in [low, high) that they answer,
-- with their state ('m'; ids looked up in the span's row groups only, see REPLY_LOOKBACK_DAYS), and the
-- held replies of the batch ('h').
SELECT 'm' AS kind, message_id AS id, created_at, first_reply_at, first_reply_unit, reply_count, province, city,
       category, msg_type, is_urgent, source_status, rowid AS rid
FROM messages
WHERE created_at >= :low AND created_at < :high AND message_id IN (SELECT message_id FROM batch)
UNION ALL
SELECT 'h', reply_id, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL
FROM held_replies WHERE reply_id IN (SELECT reply_id FROM batch);

-- name: delete_held_ids(ids)!
-- Held replies now linked (listed ids).
DELETE FROM held_replies WHERE reply_id IN (SELECT unnest(:ids));

-- name: set_first_reply_by_row()!
-- New first-reply columns of messages that received only new replies (`batch`: rid, the message's row id
-- read in this transaction, first_at, first_unit, n): the rows are updated in place, without a scan.
UPDATE messages SET first_reply_at = b.first_at, first_reply_unit = b.first_unit, reply_count = b.n
FROM batch b
WHERE messages.rowid = b.rid;
