-- Incremental rollup maintenance (queries/deltas.py): a write registers `states`, the rollup
-- state of every message it changes, once as it was (sign -1) and once as it is now (sign +1),
-- with the columns
--   sign, created_at, province, city, category, msg_type, is_urgent, source_status,
--   first_reply_at, first_reply_unit, rated_at (NULL: no evaluation), verdict.
-- The signed sums per rollup key are computed in numpy (deltas.py); delays are rows, not sums:
-- the net count of each exact delay row is added or removed here.

-- name: delay_changes()
-- Net change of each exact delay row (the same expression as the rebuild, so equal rows are equal bits).
SELECT * FROM (
    SELECT first_reply_at::DATE AS day, province, city, category, msg_type, is_urgent, first_reply_unit AS unit,
           epoch(first_reply_at - created_at) / 3600.0 AS hours, sum(sign)::BIGINT AS n
    FROM states
    WHERE first_reply_at IS NOT NULL
    GROUP BY ALL
)
WHERE n <> 0;

-- name: add_delays()!
-- Insert each row of `delay_rows` (day, province, city, category, msg_type, is_urgent, unit, hours, n) n times.
INSERT INTO roll_delays (day, province, city, category, msg_type, is_urgent, unit, hours)
SELECT day, province, city, category, msg_type, is_urgent, unit, hours
FROM (SELECT *, unnest(range(n)) FROM delay_rows WHERE n > 0)
ORDER BY day;

-- name: delete_delays(first, last)
-- Delete every stored copy of the rows of `delay_rows`; returns how many copies of each went.
DELETE FROM roll_delays d USING delay_rows r
WHERE d.day >= :first AND d.day <= :last
  AND d.day = r.day AND d.province = r.province AND d.city IS NOT DISTINCT FROM r.city
  AND d.category = r.category AND d.msg_type = r.msg_type AND d.is_urgent = r.is_urgent
  AND d.unit IS NOT DISTINCT FROM r.unit AND d.hours = r.hours
RETURNING d.day, d.province, d.city, d.category, d.msg_type, d.is_urgent, d.unit, d.hours;

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
       m.first_reply_at, m.first_reply_unit, e.rated_at, e.verdict
FROM messages m
LEFT JOIN (SELECT message_id, rated_at, verdict FROM evaluations
           WHERE message_id IN (SELECT message_id FROM state_ids)) e ON e.message_id = m.message_id
WHERE m.message_id IN (SELECT message_id FROM state_ids);

-- name: add_state_delays()!
-- When no answered state leaves (every state with a first reply has sign +1): each is one new delay row.
INSERT INTO roll_delays (day, province, city, category, msg_type, is_urgent, unit, hours)
SELECT first_reply_at::DATE, province, city, category, msg_type, is_urgent, first_reply_unit,
       epoch(first_reply_at - created_at) / 3600.0
FROM states
WHERE first_reply_at IS NOT NULL
ORDER BY 1;
