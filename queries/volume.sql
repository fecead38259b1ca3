-- First-reply delays for exact medians. Periods are half-open timestamp ranges [start, stop)
-- built from inclusive Beijing dates; prev_* is the same dates a year earlier.
-- (counts are read by SQL written from the catalog, queries/rollup_sql.py); medians read
-- roll_delays, one row per answered message in reply-day order. "replies" counts messages by their FIRST reply.
-- `__DIM__` is replaced by a column from the allow-list in queries/metrics.py.

-- name: median_hours(start, stop, provinces, categories, types, urgent_only)
-- Median first-reply delay (hours) of the messages first answered in the period (exact).
SELECT quantile_cont(hours, 0.5) AS median_reply_hours
FROM roll_delays
WHERE day >= :start AND day < :stop
  AND message_matches(province, category, msg_type, is_urgent, :provinces, :categories, :types, :urgent_only);

-- name: median_hours_grouped(start, stop, provinces, categories, types, urgent_only)
-- The same per value of one message dimension (province, city, category or msg_type).
SELECT __DIM__ AS key, quantile_cont(hours, 0.5) AS median_reply_hours
FROM roll_delays
WHERE day >= :start AND day < :stop
  AND message_matches(province, category, msg_type, is_urgent, :provinces, :categories, :types, :urgent_only)
GROUP BY __DIM__;

-- name: median_window(start, stop, provinces, categories, types, urgent_only, width)
-- The sorted delays around each group's median over whole days [start, stop): positions
-- n/2 - width .. n/2 + width of each group (n: the group's count), for the median cache in
-- queries/metrics.py. `__KEY__` is a dimension column or a constant (one group).
SELECT key, n, i, hours
FROM (
    SELECT __KEY__ AS key, hours,
           count(*) OVER (PARTITION BY __KEY__) AS n,
           row_number() OVER (PARTITION BY __KEY__ ORDER BY hours) - 1 AS i
    FROM roll_delays
    WHERE day >= :start AND day < :stop
      AND message_matches(province, category, msg_type, is_urgent, :provinces, :categories, :types, :urgent_only)
)
WHERE i >= n // 2 - :width AND i <= n // 2 + :width
ORDER BY key, i;

-- name: delay_rows(start, stop, provinces, categories, types, urgent_only)
-- The delays of short periods and of the days not in the cached window (usually just today),
-- with every dimension, so that one fetch serves the medians of all groupings.
SELECT province, city, category, msg_type, hours
FROM roll_delays
WHERE day >= :start AND day < :stop
  AND message_matches(province, category, msg_type, is_urgent, :provinces, :categories, :types, :urgent_only);

-- name: delay_revision(start, stop)
-- The newest revision among the reply days [start, stop) (0: none); it grows when any of them changes.
SELECT coalesce(max(rev), 0) FROM roll_delay_revisions WHERE day >= :start AND day < :stop;

-- name: days_revised_after(rev)
-- The reply days whose delays changed after revision `rev` (each change gives its days one above every earlier).
SELECT day FROM roll_delay_revisions WHERE rev > :rev;

-- name: delay_groups()
-- The (province, domain) groups of the delay index, numbered `g` in order.
SELECT row_number() OVER (ORDER BY province, category) - 1 AS g, province, category
FROM (SELECT DISTINCT province, category FROM roll_delays)
ORDER BY g;

-- name: delay_edges(bins)
-- Value edges splitting the delays into about `bins` ranges of equal size (from a sample: any edges give
-- exact medians).
SELECT quantile_cont(hours, [i / :bins FOR i IN range(1, :bins)]) FROM roll_delays USING SAMPLE 100000 ROWS;

-- name: indexed_delays()
-- Every delay with its group (as delay_groups numbers them) and its day number (days since 1970-01-01).
SELECT g.g, CAST(d.day - DATE '1970-01-01' AS INTEGER) AS day, d.hours
FROM roll_delays d
JOIN (
    SELECT row_number() OVER (ORDER BY province, category) - 1 AS g, province, category
    FROM (SELECT DISTINCT province, category FROM roll_delays)
) g USING (province, category);

-- name: delays_of_days(days, first, last)
-- The delays of some reply days (those changed after the delay index was built), with the index's group columns.
SELECT province, category, hours FROM roll_delays WHERE day >= :first AND day <= :last AND list_contains(:days, day);
