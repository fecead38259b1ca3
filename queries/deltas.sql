-- Incremental rollup maintenance (queries/deltas.py): a write registers `states`, the rollup
-- state of every message it changes, once as it was (sign -1) and once as it is now (sign +1),
-- with the columns
--   sign, created_at, province, city, category, msg_type, is_urgent, source_status,
--   first_reply_at, rated_at (NULL: no evaluation), verdict.
-- Each statement appends the signed sums per rollup key (groups whose sums are all zero are
-- skipped); readers sum the rollups, so a key may have several rows until compaction merges
-- them. Delays are rows, not sums: the net count of each exact delay row is added or removed.

-- name: append_created()!
INSERT INTO roll_created
SELECT * FROM (
    SELECT created_at::DATE AS day, province, category, msg_type, is_urgent,
           sum(sign) AS messages,
           sum(sign * (first_reply_at IS NOT NULL)::INT) AS replied,
           sum(sign * (message_status(source_status, first_reply_at) = '待回复')::INT) AS pending,
           sum(sign * (message_status(source_status, first_reply_at) = '办理中')::INT) AS in_progress
    FROM states
    GROUP BY ALL
)
WHERE messages <> 0 OR replied <> 0 OR pending <> 0 OR in_progress <> 0
ORDER BY day;

-- name: append_answered()!
INSERT INTO roll_answered
SELECT * FROM (
    SELECT first_reply_at::DATE AS day, province, category, msg_type, is_urgent, sum(sign) AS replies
    FROM states
    WHERE first_reply_at IS NOT NULL
    GROUP BY ALL
)
WHERE replies <> 0
ORDER BY day;

-- name: append_rated()!
INSERT INTO roll_rated
SELECT * FROM (
    SELECT rated_at::DATE AS day, province, category, msg_type, is_urgent,
           sum(sign * (verdict IS NOT NULL)::INT) AS evaluations,
           sum(sign * coalesce(verdict, false)::INT) AS satisfied
    FROM states
    WHERE rated_at IS NOT NULL
    GROUP BY ALL
)
WHERE evaluations <> 0 OR satisfied <> 0
ORDER BY day;

-- name: append_province()!
INSERT INTO roll_province
SELECT * FROM (
    SELECT day, province, sum(messages) AS messages, sum(replied) AS replied, sum(pending) AS pending,
           sum(in_progress) AS in_progress, sum(urgent_messages) AS urgent_messages, sum(replies) AS replies,
           sum(evaluations) AS evaluations, sum(satisfied) AS satisfied
    FROM (
        SELECT created_at::DATE AS day, province, sign AS messages,
               sign * (first_reply_at IS NOT NULL)::INT AS replied,
               sign * (message_status(source_status, first_reply_at) = '待回复')::INT AS pending,
               sign * (message_status(source_status, first_reply_at) = '办理中')::INT AS in_progress,
               sign * is_urgent::INT AS urgent_messages, 0 AS replies, 0 AS evaluations, 0 AS satisfied
        FROM states
        UNION ALL
        SELECT first_reply_at::DATE, province, 0, 0, 0, 0, 0, sign, 0, 0
        FROM states WHERE first_reply_at IS NOT NULL
        UNION ALL
        SELECT rated_at::DATE, province, 0, 0, 0, 0, 0, 0, sign * (verdict IS NOT NULL)::INT,
               sign * coalesce(verdict, false)::INT
        FROM states WHERE rated_at IS NOT NULL
    )
    GROUP BY day, province
)
WHERE messages <> 0 OR replied <> 0 OR pending <> 0 OR in_progress <> 0 OR urgent_messages <> 0
   OR replies <> 0 OR evaluations <> 0 OR satisfied <> 0
ORDER BY day, province;

-- name: append_category()!
-- (queries/deltas.py also runs it for msg_type, with `category` replaced by `msg_type`)
INSERT INTO roll_category
SELECT * FROM (
    SELECT day, category, sum(messages) AS messages, sum(replied) AS replied, sum(replies) AS replies,
           sum(evaluations) AS evaluations, sum(satisfied) AS satisfied
    FROM (
        SELECT created_at::DATE AS day, category, sign AS messages,
               sign * (first_reply_at IS NOT NULL)::INT AS replied, 0 AS replies, 0 AS evaluations, 0 AS satisfied
        FROM states
        UNION ALL
        SELECT first_reply_at::DATE, category, 0, 0, sign, 0, 0
        FROM states WHERE first_reply_at IS NOT NULL
        UNION ALL
        SELECT rated_at::DATE, category, 0, 0, 0, sign * (verdict IS NOT NULL)::INT,
               sign * coalesce(verdict, false)::INT
        FROM states WHERE rated_at IS NOT NULL
    )
    GROUP BY day, category
)
WHERE messages <> 0 OR replied <> 0 OR replies <> 0 OR evaluations <> 0 OR satisfied <> 0
ORDER BY day, category;

-- name: delay_changes()
-- Net change of each exact delay row (the same expression as the rebuild, so equal rows are equal bits).
SELECT * FROM (
    SELECT first_reply_at::DATE AS day, province, city, category, msg_type, is_urgent,
           epoch(first_reply_at - created_at) / 3600.0 AS hours, sum(sign)::BIGINT AS n
    FROM states
    WHERE first_reply_at IS NOT NULL
    GROUP BY ALL
)
WHERE n <> 0;

-- name: add_delays()!
-- Insert each row of `delay_rows` (day, province, city, category, msg_type, is_urgent, hours, n) n times.
INSERT INTO roll_delays
SELECT day, province, city, category, msg_type, is_urgent, hours
FROM (SELECT *, unnest(range(n)) FROM delay_rows WHERE n > 0)
ORDER BY day;

-- name: delete_delays(first, last)
-- Delete every stored copy of the rows of `delay_rows`; returns how many copies of each went.
DELETE FROM roll_delays d USING delay_rows r
WHERE d.day >= :first AND d.day <= :last
  AND d.day = r.day AND d.province = r.province AND d.city IS NOT DISTINCT FROM r.city
  AND d.category = r.category AND d.msg_type = r.msg_type AND d.is_urgent = r.is_urgent AND d.hours = r.hours
RETURNING d.day, d.province, d.city, d.category, d.msg_type, d.is_urgent, d.hours;

-- name: bump_revisions(days)
-- A new revision (one above every earlier one) for the reply days whose delays changed; returns the days updated.
UPDATE roll_delay_revisions SET rev = (SELECT max(rev) + 1 FROM roll_delay_revisions)
WHERE list_contains(:days, day)
RETURNING day;

-- name: add_revisions(days, bump)
-- Days without a revision yet: the newest revision (`bump` 1 when no day was updated just before).
INSERT INTO roll_delay_revisions
SELECT unnest(:days), (SELECT coalesce(max(rev), 0) + :bump FROM roll_delay_revisions);

-- name: message_states()
-- The rollup state of the stored messages listed in `state_ids` (with their evaluation, if any).
SELECT m.message_id, m.created_at, m.province, m.city, m.category, m.msg_type, m.is_urgent, m.source_status,
       m.first_reply_at, e.rated_at, e.verdict
FROM messages m
LEFT JOIN (SELECT message_id, rated_at, verdict FROM evaluations
           WHERE message_id IN (SELECT message_id FROM state_ids)) e ON e.message_id = m.message_id
WHERE m.message_id IN (SELECT message_id FROM state_ids);
