-- Supervision (督办) counts over the raw tables, one named query per count (supervision/*.py reads them).
-- Periods are half-open timestamp ranges [start, stop) from inclusive Beijing dates; every value is bound.
-- A unit is credited with a message when the message's FIRST reply is in the period and came from it
-- (messages.first_reply_unit), as the analyst drill-down does. These are written so that each can later
-- become one declaration of the metrics engine (issue 10): one row per (unit, province), plain sums.

-- The unit league reads the stored per-message facts (table league_facts, migration 12; supervision/league_facts.py
-- keeps them current), one row per answered message: a league is a scan of the period's rows of that table.

-- name: league_counts(start, stop, on_time_seconds, provinces, categories, types, urgent_only)
-- Per replying unit and province, from the stored facts (supervision/league_facts.py) with their first reply's
-- boilerplate flag (supervision/boilerplate.py; copied into the facts, migration 15), which the caller ensures: messages first answered in the period, those within the
-- on-time limit, the exact median first-reply delay in hours, those restated after the answer, those whose first
-- reply has text and of them the boilerplate ones; and evaluations rated in the period (with a verdict) of the
-- messages the unit answered first, and the satisfied ones. A unit only answering or only rated has nulls. Grouped
-- by the pair's integer code (migration 18), named at the end. Ordered as the league lists its unranked units
-- (supervision/league.py `score`).
WITH answered AS (
    SELECT
        m.unit_code,
        count(*) AS answered,
        count(*) FILTER (WHERE m.delay_seconds <= :on_time_seconds) AS on_time,
        quantile_cont(m.delay_seconds / 3600.0, 0.5) AS median_reply_hours,
        count(*) FILTER (WHERE m.restated) AS repeats,
        count(m.first_boilerplate) AS with_text,
        count(*) FILTER (WHERE m.first_boilerplate) AS boilerplate
    FROM league_facts m
    WHERE m.first_reply_at >= :start AND m.first_reply_at < :stop AND m.unit_code IS NOT NULL
      AND message_matches(m.province, m.category, m.msg_type, m.is_urgent,
                          :provinces, :categories, :types, :urgent_only)
    GROUP BY m.unit_code
), rated AS (
    SELECT unit_code, count(*) AS rated, count(*) FILTER (WHERE verdict) AS satisfied
    FROM league_facts
    WHERE rated_at >= :start AND rated_at < :stop
      AND verdict IS NOT NULL AND unit_code IS NOT NULL
      AND message_matches(province, category, msg_type, is_urgent, :provinces, :categories, :types, :urgent_only)
    GROUP BY unit_code
)
SELECT u.unit, u.province, a.answered, a.on_time, a.median_reply_hours, a.repeats, a.with_text, a.boilerplate,
       r.rated, r.satisfied
FROM answered a FULL JOIN rated r USING (unit_code) JOIN league_units u ON u.code = unit_code
ORDER BY coalesce(a.answered, 0) DESC, u.unit, u.province;

-- name: add_league_units(low, high)!
-- A code for every (unit, province) pair first answering in [low, high) (null: all time) that has none yet.
INSERT INTO league_units
SELECT (SELECT coalesce(max(code), 0) FROM league_units) + row_number() OVER (ORDER BY unit, province), unit, province
FROM (
    SELECT DISTINCT first_reply_unit AS unit, province
    FROM messages
    WHERE first_reply_unit IS NOT NULL
      AND (:low IS NULL OR first_reply_at >= :low) AND (:high IS NULL OR first_reply_at < :high)
) pairs
ANTI JOIN league_units u USING (unit, province);

-- name: code_league_facts()!
-- Every facts row takes its pair's code (migration 18's backfill).
UPDATE league_facts SET unit_code = u.code
FROM league_units u
WHERE u.unit = league_facts.unit AND u.province = league_facts.province;

-- name: league_facts_complete()
-- Whether every answered message has its facts row. Rows are only ever of current answered messages (rows that
-- may have changed are dropped, see queries/schema_league_facts.sql), so equal counts mean none is missing; the
-- answered messages are counted from the rollup (first replies per day), kept in the same transactions.
SELECT (SELECT coalesce(sum(replies), 0) FROM roll_province) = (SELECT count(*) FROM league_facts);

-- name: messages_without_league_facts(start, stop, n)
-- Up to :n messages first answered in [start, stop) without their facts row (the background indexer's question).
SELECT m.message_id
FROM messages m ANTI JOIN league_facts f USING (message_id)
WHERE m.first_reply_at >= :start AND m.first_reply_at < :stop
LIMIT :n;

-- name: league_facts_gaps()
-- The quarters (by first reply) whose answered messages, counted by the rollup, outnumber their facts rows: the
-- spans to fill, newest first.
WITH answered AS (
    SELECT date_trunc('quarter', day) AS q, sum(replies) AS n FROM roll_province GROUP BY 1
), stored AS (
    SELECT date_trunc('quarter', first_reply_at) AS q, count(*) AS n FROM league_facts GROUP BY 1
)
SELECT CAST(a.q AS TIMESTAMP) AS low, CAST(a.q + INTERVAL 3 MONTH AS TIMESTAMP) AS high
FROM answered a LEFT JOIN stored s ON s.q = a.q
WHERE a.n <> coalesce(s.n, 0)
ORDER BY low DESC;

-- name: league_facts_window_gaps(start, stop)
-- The quarters (by first reply) holding messages a league of [start, stop) reads without their facts row: those first
-- answered in the period and those rated in it (answered at any time), newest first.
WITH wanted AS (
    SELECT message_id, first_reply_at FROM messages WHERE first_reply_at >= :start AND first_reply_at < :stop
    UNION
    SELECT m.message_id, m.first_reply_at
    FROM evaluations e JOIN messages m USING (message_id)
    WHERE e.rated_at >= :start AND e.rated_at < :stop AND m.first_reply_at IS NOT NULL
), quarters AS (
    SELECT DISTINCT date_trunc('quarter', w.first_reply_at) AS q FROM wanted w ANTI JOIN league_facts f USING (message_id)
)
SELECT CAST(q AS TIMESTAMP) AS low, CAST(q + INTERVAL 3 MONTH AS TIMESTAMP) AS high FROM quarters ORDER BY low DESC;

-- name: fill_league_facts(similarity, low, high, start, stop)!
-- (after `add_league_units` of [low, high): the pairs' codes)
-- The facts of every message first answered in [low, high) without a row (with or without a unit) that is first
-- answered or rated in [start, stop) (a whole span: start = low, stop = high). `restated`: a later message from the same place (province,
-- city, district; the named location when both give one) about the same domain, posted after the first reply and
-- within 30 days of it, whose title is similar (character-set Jaccard >= :similarity) or that names the same
-- location. This depends on the message and the messages posted after it only, never on a period, so it is
-- stored. Pairs are found by an equality join on the place, the domain and a 30-day window number (an answer in
-- window w can only be restated in w or w + 1), which keeps the join to the candidates; pairs naming a location
-- each are joined on it too, so titles are compared only where one names none.
INSERT INTO league_facts
WITH todo AS MATERIALIZED (
    SELECT m.message_id, m.first_reply_unit AS unit, m.province, coalesce(m.city, '') AS city,
           coalesce(m.district, '') AS district, m.category, m.msg_type, m.is_urgent, m.created_at, m.first_reply_at,
           coalesce(m.title, '') AS title
    FROM messages m ANTI JOIN league_facts f USING (message_id)
    WHERE m.first_reply_at >= :low AND m.first_reply_at < :high
      AND (m.first_reply_at >= :start AND m.first_reply_at < :stop
           OR m.message_id IN (SELECT message_id FROM evaluations WHERE rated_at >= :start AND rated_at < :stop))
), bounds AS (
    SELECT min(first_reply_at) AS low, max(first_reply_at) + INTERVAL 30 DAY AS high FROM todo
), answered AS MATERIALIZED (
    SELECT t.*, nullif(trim(coalesce(x.location, '')), '') AS location,
           CAST(floor(epoch(t.first_reply_at) / 2592000) AS BIGINT) AS w
    FROM todo t LEFT JOIN message_texts x USING (message_id)
), candidates AS (
    SELECT message_id, province, city, district, category, first_reply_at, title, location, unnest([w, w + 1]) AS w
    FROM answered
), later AS MATERIALIZED (
    SELECT m.message_id, m.province, coalesce(m.city, '') AS city, coalesce(m.district, '') AS district, m.category,
           m.created_at, coalesce(m.title, '') AS title, nullif(trim(coalesce(x.location, '')), '') AS location,
           CAST(floor(epoch(m.created_at) / 2592000) AS BIGINT) AS w
    FROM messages m LEFT JOIN message_texts x USING (message_id), bounds
    WHERE m.created_at > bounds.low AND m.created_at <= bounds.high
), pairs AS (
    -- both name a location: the same one (an equality key, no title comparison needed)
    SELECT a.message_id
    FROM candidates a
    JOIN later b
      ON b.province = a.province AND b.category = a.category AND b.city = a.city AND b.district = a.district
     AND b.w = a.w AND b.location = a.location
     AND b.created_at > a.first_reply_at AND b.created_at <= a.first_reply_at + INTERVAL 30 DAY
    WHERE b.message_id <> a.message_id
    UNION ALL
    -- the answered message names none: a similar title
    SELECT a.message_id
    FROM (SELECT * FROM candidates WHERE location IS NULL) a
    JOIN later b
      ON b.province = a.province AND b.category = a.category AND b.city = a.city AND b.district = a.district
     AND b.w = a.w
     AND b.created_at > a.first_reply_at AND b.created_at <= a.first_reply_at + INTERVAL 30 DAY
    WHERE b.message_id <> a.message_id AND jaccard(a.title, b.title) >= :similarity
    UNION ALL
    -- the later message names none: a similar title
    SELECT a.message_id
    FROM (SELECT * FROM candidates WHERE location IS NOT NULL) a
    JOIN (SELECT * FROM later WHERE location IS NULL) b
      ON b.province = a.province AND b.category = a.category AND b.city = a.city AND b.district = a.district
     AND b.w = a.w
     AND b.created_at > a.first_reply_at AND b.created_at <= a.first_reply_at + INTERVAL 30 DAY
    WHERE b.message_id <> a.message_id AND jaccard(a.title, b.title) >= :similarity
), restated AS (
    SELECT DISTINCT message_id FROM pairs
)
SELECT a.message_id, a.unit, a.province, a.city, a.district, a.category, a.msg_type, a.is_urgent, a.first_reply_at,
       epoch(a.first_reply_at - a.created_at) AS delay_seconds, r.message_id IS NOT NULL AS restated,
       e.rated_at, e.verdict,
       (SELECT bool_or(b.boilerplate) FROM reply_boilerplate b
        WHERE b.message_id = a.message_id AND b.replied_at = a.first_reply_at AND b.unit = a.unit) AS first_boilerplate,
       u.code AS unit_code
FROM answered a
LEFT JOIN restated r USING (message_id)
LEFT JOIN evaluations e USING (message_id)
LEFT JOIN league_units u ON u.unit = a.unit AND u.province = a.province
ORDER BY a.first_reply_at;

-- name: unanswered(start, stop, provinces, categories, types, urgent_only)
-- Messages created in the period with no reply yet (the overdue list's input), 办理中 told apart.
SELECT m.message_id, m.created_at, m.province, m.city, m.district, coalesce(m.addressee, '') AS addressee,
       m.category, m.msg_type, m.title, t.content,
       (m.source_status = '办理中') AS in_progress
FROM messages m LEFT JOIN message_texts t USING (message_id)
WHERE m.first_reply_at IS NULL
  AND m.created_at >= :start AND m.created_at < :stop
  AND message_matches(m.province, m.category, m.msg_type, m.is_urgent, :provinces, :categories, :types, :urgent_only);

-- name: low_ratings(start, stop, provinces, categories, types, urgent_only)
-- Evaluations rated in the period that are low: not satisfied, or any of the three scores at most 2.
SELECT e.message_id, e.rated_at, e.satisfied, e.score_resolution, e.score_attitude, e.score_speed,
       c.comment, m.province, m.city, m.category, m.msg_type, m.title, m.first_reply_unit AS unit
FROM evaluations e
JOIN messages m USING (message_id)
LEFT JOIN evaluation_comments c USING (message_id)
WHERE e.rated_at >= :start AND e.rated_at < :stop
  AND (e.satisfied = false OR least(e.score_resolution, e.score_attitude, e.score_speed) <= 2)
  AND message_matches(m.province, m.category, m.msg_type, m.is_urgent, :provinces, :categories, :types, :urgent_only);

-- name: suggestions(start, stop, provinces, categories, types, urgent_only)
-- 建言 messages created in the period, with their likes and every reply's text joined into one string.
SELECT m.message_id, m.created_at, m.province, m.city, m.category, m.title, coalesce(t.content, '') AS body,
       coalesce(t.likes, 0) AS likes, coalesce(t.location, '') AS location, m.first_reply_unit AS unit,
       coalesce(string_agg(rt.content, ' ' ORDER BY r.replied_at), '') AS replies
FROM messages m
LEFT JOIN message_texts t USING (message_id)
LEFT JOIN replies r ON r.message_id = m.message_id
LEFT JOIN reply_texts rt ON rt.reply_id = r.reply_id
WHERE m.msg_type = '建言'
  AND m.created_at >= :start AND m.created_at < :stop
  AND message_matches(m.province, m.category, m.msg_type, m.is_urgent, :provinces, :categories, :types, :urgent_only)
GROUP BY ALL;

-- name: unit_messages(unit, province, start, stop, provinces, categories, types, urgent_only)
-- One unit's messages first answered in the period (its page: trend, domains, slowest), with their evaluation.
SELECT m.message_id, m.created_at, m.first_reply_at, m.category, m.msg_type, m.title,
       epoch(m.first_reply_at - m.created_at) / 3600.0 AS reply_hours,
       e.rated_at, e.verdict, least(e.score_resolution, e.score_attitude, e.score_speed) AS lowest_score,
       c.comment
FROM messages m
LEFT JOIN evaluations e USING (message_id)
LEFT JOIN evaluation_comments c USING (message_id)
WHERE m.first_reply_unit = :unit AND m.province = :province
  AND m.first_reply_at >= :start AND m.first_reply_at < :stop
  AND message_matches(m.province, m.category, m.msg_type, m.is_urgent, :provinces, :categories, :types, :urgent_only);

-- Stored reply features (supervision/features.py; tables of queries/schema_reply_features.sql).

-- name: missing_reply_features(start, stop, n)
-- Replies published in [start, stop) without a features row, newest first, at most :n, with their text (null when
-- they have none) and their message's title, body and location. The ids are chosen before the text is joined.
WITH todo AS (
    SELECT r.reply_id, r.message_id, r.replied_at, r.unit
    FROM replies r ANTI JOIN reply_features f USING (reply_id)
    WHERE r.replied_at >= :start AND r.replied_at < :stop
    ORDER BY r.replied_at DESC, r.reply_id
    LIMIT :n
)
SELECT t.reply_id, t.message_id, t.replied_at, t.unit, rt.content AS reply, coalesce(m.title, '') AS title,
       coalesce(mt.content, '') AS body, coalesce(mt.location, '') AS location
FROM todo t
LEFT JOIN reply_texts rt ON rt.reply_id = t.reply_id
LEFT JOIN messages m ON m.message_id = t.message_id
LEFT JOIN message_texts mt ON mt.message_id = t.message_id
ORDER BY t.replied_at DESC, t.reply_id;

-- name: reply_feature_rows(start, stop, n, body_chars, address_min, space, not_han, neither, boundary, action, legal)
-- The features rows (supervision/features.py FEATURE_SCHEMA) of missing_reply_features' replies, worked out by the
-- database (the patterns are supervision/rules.py's in RE2 spelling, bound): whether it has text, the keys of its
-- reduced text, of its message's problem and of its distinct clauses in order (features.key: md5_number_upper),
-- and the checks: it addresses its message when it names the message's location or shares at least :address_min of the
-- message's bigrams (title, location, the body's first :body_chars characters) that are not generic (table
-- reply_generic_bigrams); a bigram of two Chinese characters is in the reply exactly when it is a substring.
WITH todo AS (
    SELECT r.reply_id, r.message_id, r.replied_at, r.unit
    FROM replies r ANTI JOIN reply_features f USING (reply_id)
    WHERE r.replied_at >= :start AND r.replied_at < :stop
    ORDER BY r.replied_at DESC, r.reply_id
    LIMIT :n
), joined AS (
    SELECT t.*, rt.content AS reply, coalesce(m.title, '') AS title, coalesce(mt.content, '') AS body,
           coalesce(mt.location, '') AS location
    FROM todo t
    LEFT JOIN reply_texts rt ON rt.reply_id = t.reply_id
    LEFT JOIN messages m ON m.message_id = t.message_id
    LEFT JOIN message_texts mt ON mt.message_id = t.message_id
), reduced AS (
    SELECT *, coalesce(regexp_matches(reply, '[^' || :space || ']'), false) AS has_text,
           regexp_replace(coalesce(reply, ''), :not_han, '', 'g') AS reduced_text,
           regexp_replace(location, :not_han, '', 'g') AS place,
           list_filter(
               string_split_regex(regexp_replace(coalesce(reply, ''), :neither, '', 'g'), :boundary), lambda c: length(c) >= 4
           ) AS parts
    FROM joined
), checked AS MATERIALIZED (
    SELECT reply_id, message_id, replied_at, unit, has_text, reduced_text, reply, title, body, location,
           CASE WHEN length(place) >= 2 THEN '@' || place
                ELSE regexp_replace(title, :not_han, '', 'g') || '|' || regexp_replace(body, :not_han, '', 'g') END
               AS problem,
           list_filter(parts, lambda c, i: list_position(parts, c) = i) AS clauses,
           length(place) >= 2 AND contains(reduced_text, place) AS names_place
    FROM reduced
), shared_words AS (
    SELECT reply_id, unnest(list_filter(
        list_distinct(flatten(list_transform(
            regexp_extract_all(title || ' ' || location || ' ' || substr(body, 1, :body_chars), '[\x{3400}-\x{9fff}]+'),
            lambda run: list_transform(range(1, length(run)), lambda i: substr(run, i, 2))
        ))),
        lambda gram: contains(reply, gram)
    )) AS gram
    FROM checked
    WHERE has_text AND NOT names_place
), words_named AS (
    SELECT reply_id FROM shared_words ANTI JOIN reply_generic_bigrams USING (gram)
    GROUP BY reply_id HAVING count(*) >= :address_min
)
SELECT c.reply_id, c.message_id, c.replied_at, c.unit, c.has_text,
       CASE WHEN c.has_text THEN md5_number_upper(c.reduced_text) END AS text_key,
       CASE WHEN c.has_text THEN md5_number_upper(c.problem) END AS problem_key,
       CASE WHEN c.has_text THEN CAST(coalesce(list_sum(list_transform(c.clauses, lambda x: length(x))), 0) AS INTEGER) END
           AS chars,
       CASE WHEN c.has_text THEN c.names_place OR w.reply_id IS NOT NULL END AS addresses,
       CASE WHEN c.has_text THEN regexp_matches(c.reply, :action) END AS action,
       CASE WHEN c.has_text THEN regexp_matches(c.reply, :legal) END AS legal,
       CASE WHEN c.has_text THEN list_transform(c.clauses, lambda x: md5_number_upper(x)) ELSE [] END::UBIGINT[]
           AS clause_keys,
       CASE WHEN c.has_text THEN list_transform(c.clauses, lambda x: length(x)) ELSE [] END::SMALLINT[] AS clause_lengths
FROM checked c LEFT JOIN words_named w USING (reply_id)
ORDER BY c.replied_at DESC, c.reply_id;

-- name: reply_features_lacking(start, stop)
-- How many replies published in [start, stop) lack a features row (see features.ensure_reply_features).
SELECT (SELECT count(*) FROM replies WHERE replied_at >= :start AND replied_at < :stop)
     - (SELECT count(*) FROM reply_features WHERE replied_at >= :start AND replied_at < :stop);

-- name: reply_reference_count(n)
-- Replies with text (counted up to :n + 1): while under the sample size the generic bigrams follow the store.
SELECT count(*) FROM (
    SELECT 1 FROM reply_texts rt JOIN replies r USING (reply_id)
    WHERE rt.content IS NOT NULL AND length(trim(rt.content)) > 0
    LIMIT :n + 1
);

-- name: reply_reference_pool(pool)
-- The :pool replies of the smallest id hashes, in that order (null: every reply).
SELECT reply_id FROM reply_texts ORDER BY hash(reply_id), reply_id LIMIT :pool;

-- name: reply_has_text(ids)
-- Whether each of the replies :ids has text (a column, not a filter: a filter on the text would read every text).
SELECT reply_id, content IS NOT NULL AND length(trim(content)) > 0 AS has_text
FROM reply_texts WHERE reply_id IN (SELECT unnest(:ids));

-- name: reply_reference_sample(ids)
-- The replies :ids (the deterministic sample of `reply_reference_ids`) with their message's text; the messages'
-- ids are chosen before their texts are joined.
WITH pairs AS (
    SELECT r.reply_id, r.message_id FROM replies r WHERE r.reply_id IN (SELECT unnest(:ids))
)
SELECT rt.content AS reply, coalesce(m.title, '') AS title, coalesce(mt.content, '') AS body,
       coalesce(mt.location, '') AS location
FROM pairs p
JOIN reply_texts rt ON rt.reply_id = p.reply_id
LEFT JOIN messages m ON m.message_id = p.message_id
LEFT JOIN message_texts mt ON mt.message_id = p.message_id;

-- name: reply_generic_bigrams()
-- The stored generic bigrams (supervision/features.py `reference`).
SELECT gram FROM reply_generic_bigrams;

-- name: drop_generic_bigrams()!
-- A new reference set: the old one goes, and with it every stored feature row, which used it.
DELETE FROM reply_generic_bigrams;

-- name: drop_reply_checks()!
-- Every stored reply check goes (then made again empty, queries/db.py `remake_tables`): dropping the tables costs
-- nothing where deleting their rows (a million features, their clauses and flags at the demo size) cost ~35 s of CPU,
-- most of it in the primary keys' indexes.
DROP TABLE reply_features;
DROP TABLE reply_clauses;
DROP TABLE reply_boilerplate;

-- name: insert_generic_bigrams(grams)!
INSERT INTO reply_generic_bigrams SELECT unnest(:grams);

-- name: delete_reply_clauses()!
DELETE FROM reply_clauses WHERE reply_id IN (SELECT reply_id FROM feature_batch);

-- name: upsert_reply_features()!
INSERT OR REPLACE INTO reply_features
SELECT reply_id, message_id, replied_at, unit, has_text, text_key, problem_key, chars, addresses, action, legal
FROM feature_batch;

-- name: insert_reply_clauses()!
INSERT INTO reply_clauses
SELECT reply_id, replied_at, problem_key, unnest(clause_keys), unnest(clause_lengths), addresses
FROM feature_batch
WHERE has_text AND len(clause_keys) > 0;

-- name: reply_flags(start, stop, provinces, categories, types, urgent_only)
-- Replies with text published in [start, stop) whose message passes the filters, with their stored checks and their
-- stored boilerplate flag (supervision/boilerplate.py; the caller ensures the flags of the period).
SELECT f.reply_id, f.message_id, f.unit, m.province, f.replied_at,
       (f.replied_at = m.first_reply_at AND f.unit IS NOT DISTINCT FROM m.first_reply_unit) AS first,
       f.text_key, f.addresses, f.action, f.legal, coalesce(b.boilerplate, false) AS boilerplate
FROM reply_features f
JOIN messages m ON m.message_id = f.message_id
LEFT JOIN reply_boilerplate b ON b.reply_id = f.reply_id
WHERE f.has_text AND f.replied_at >= :start AND f.replied_at < :stop
  AND message_matches(m.province, m.category, m.msg_type, m.is_urgent, :provinces, :categories, :types, :urgent_only);

-- name: candidate_clauses(lookback, stop, near, ids)
-- The clauses of the replies :ids, each marked `common` when replies to at least :near different problems in
-- [lookback, stop) use it.
WITH own AS (
    SELECT reply_id, clause_key, length FROM reply_clauses WHERE reply_id IN (SELECT unnest(:ids))
), common AS (
    SELECT clause_key FROM reply_clauses
    WHERE replied_at >= :lookback AND replied_at < :stop AND clause_key IN (SELECT clause_key FROM own)
    GROUP BY clause_key HAVING count(DISTINCT problem_key) >= :near
)
SELECT reply_id, clause_key, length, clause_key IN (SELECT clause_key FROM common) AS common FROM own;

-- name: shared_clause_examples(lookback, stop, near)
-- Every clause that replies to at least :near different problems in [lookback, stop) use, with one reply using it.
SELECT clause_key, min(reply_id) AS reply_id FROM reply_clauses
WHERE replied_at >= :lookback AND replied_at < :stop
GROUP BY clause_key HAVING count(DISTINCT problem_key) >= :near;

-- name: reply_texts_of(ids)
SELECT reply_id, content AS reply FROM reply_texts WHERE reply_id IN (SELECT unnest(:ids));

-- Stored boilerplate flags (supervision/boilerplate.py; table of queries/schema_reply_boilerplate.sql).

-- name: boilerplate_complete(start, stop)
-- Whether every reply with text published in [start, stop) has its flag (flags are dropped with their features row).
SELECT (SELECT count(*) FROM reply_features WHERE has_text AND replied_at >= :start AND replied_at < :stop)
     = (SELECT count(*) FROM reply_boilerplate WHERE replied_at >= :start AND replied_at < :stop);

-- name: boilerplate_missing_days(start, stop, n)
-- The days (Beijing dates) in [start, stop) with replies with text lacking a flag, newest first, at most :n.
SELECT DISTINCT date_trunc('day', f.replied_at)::TIMESTAMP AS day
FROM reply_features f ANTI JOIN reply_boilerplate b USING (reply_id)
WHERE f.has_text AND f.replied_at >= :start AND f.replied_at < :stop
ORDER BY day DESC
LIMIT :n;

-- name: boilerplate_span(start, stop, lookback, until, near)
-- The replies with text of [start, stop) lacking a flag, each with what its window (its day and the 90 before: the
-- span's windows are [lookback, until), whole days) says of it (supervision/boilerplate.py): `candidate`, it does not address
-- its message; `exact`, its reduced text answers two problems or more in the window (the smallest and the largest
-- problem of the text over the window's days differ); `share`, for candidates not exact, the part of its clauses'
-- characters in clauses that replies to at least :near problems use in the window (null without clauses). The windows
-- slide by day: per text and per clause, day aggregates over a RANGE frame of 90 days, so every day of a span is one
-- query and each reply gets the values a query of its own day alone gives.
WITH own AS MATERIALIZED (
    SELECT f.reply_id, f.message_id, f.replied_at, f.unit, f.text_key, NOT f.addresses AS candidate,
           CAST(date_trunc('day', f.replied_at) AS DATE) AS day
    FROM reply_features f ANTI JOIN reply_boilerplate b USING (reply_id)
    WHERE f.has_text AND f.replied_at >= :start AND f.replied_at < :stop
), texts AS (
    SELECT text_key, CAST(date_trunc('day', replied_at) AS DATE) AS day, min(problem_key) AS low, max(problem_key) AS high
    FROM reply_features
    WHERE has_text AND replied_at >= :lookback AND replied_at < :until AND text_key IN (SELECT text_key FROM own)
    GROUP BY ALL
), exact AS (
    SELECT text_key, day, min(low) OVER w <> max(high) OVER w AS exact
    FROM texts
    WINDOW w AS (PARTITION BY text_key ORDER BY day RANGE BETWEEN INTERVAL 90 DAY PRECEDING AND CURRENT ROW)
), judged AS MATERIALIZED (
    SELECT o.*, e.exact FROM own o JOIN exact e USING (text_key, day)
), parts AS MATERIALIZED (
    SELECT c.reply_id, c.clause_key, c.length, j.day
    FROM reply_clauses c JOIN judged j USING (reply_id)
    WHERE j.candidate AND NOT j.exact
), uses AS (
    SELECT DISTINCT clause_key, problem_key, CAST(date_trunc('day', replied_at) AS DATE) AS day
    FROM reply_clauses
    WHERE replied_at >= :lookback AND replied_at < :until AND clause_key IN (SELECT clause_key FROM parts)
), spread AS (
    SELECT DISTINCT clause_key, day,
           count(DISTINCT problem_key) OVER (PARTITION BY clause_key ORDER BY day
                                             RANGE BETWEEN INTERVAL 90 DAY PRECEDING AND CURRENT ROW) AS problems
    FROM uses
), shares AS (
    SELECT p.reply_id,
           CAST(coalesce(sum(p.length) FILTER (WHERE s.problems >= :near), 0) AS DOUBLE) / sum(p.length) AS share
    FROM parts p JOIN spread s USING (clause_key, day)
    GROUP BY p.reply_id
)
SELECT j.reply_id, j.message_id, j.replied_at, j.unit, j.text_key, j.candidate, j.exact, j.day, s.share
FROM judged j LEFT JOIN shares s USING (reply_id);

-- name: boilerplate_window_state(start, stop)
-- A fingerprint of the stored features of the replies of [start, stop) (a day's window): equal before computing
-- the day's flags and when storing them, the flags were computed from the features stored.
SELECT count(*), coalesce(sum(hash(reply_id, message_id, replied_at, unit, has_text, text_key, problem_key, addresses)), 0)
FROM reply_features WHERE replied_at >= :start AND replied_at < :stop;

-- name: insert_boilerplate()!
INSERT OR REPLACE INTO reply_boilerplate
SELECT reply_id, message_id, replied_at, unit, text_key, candidate, exact, boilerplate FROM flag_batch;

-- name: unsettle_boilerplate_after_features()!
-- New or recomputed feature rows (feature_batch) lose their flags, and may make boilerplate the replies not flagged
-- yet whose window (their day and the 90 before) holds them: those not addressing their message on the batch's days
-- and the 90 days after lose their flags too (adding replies never clears a flag: the rule is monotone).
DELETE FROM reply_boilerplate
WHERE reply_id IN (SELECT reply_id FROM feature_batch)
   OR (candidate AND NOT boilerplate
       AND replied_at >= (SELECT date_trunc('day', min(replied_at)) FROM feature_batch)
       AND replied_at < (SELECT date_trunc('day', max(replied_at)) + INTERVAL 91 DAY FROM feature_batch))
RETURNING message_id;

-- name: clear_first_flags()!
-- No flags left: no league facts row keeps its first reply's flag (migration 15).
UPDATE league_facts SET first_boilerplate = NULL WHERE first_boilerplate IS NOT NULL;
