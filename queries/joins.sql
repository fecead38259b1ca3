-- Units and leaders joining the platform (filtered by province only).
-- `__TABLE__` is units or leaders, from the allow-list in queries/metrics.py.

-- name: totals(start, stop, prev_start, prev_stop, provinces)
-- Newly joined in the period and a year earlier, and how many provinces they came from.
SELECT
    count(*) FILTER (WHERE joined_at >= :start AND joined_at < :stop) AS joined,
    count(*) FILTER (WHERE joined_at >= :prev_start AND joined_at < :prev_stop) AS joined_prev,
    count(DISTINCT province) FILTER (WHERE joined_at >= :start AND joined_at < :stop) AS provinces
FROM __TABLE__
WHERE joined_at >= :prev_start AND joined_at < :stop
  AND (len(:provinces) = 0 OR list_contains(:provinces, province));

-- name: by_province(start, stop, provinces)
-- Newly joined per province in the period.
SELECT province AS key, count(*) AS joined
FROM __TABLE__
WHERE joined_at >= :start AND joined_at < :stop
  AND (len(:provinces) = 0 OR list_contains(:provinces, province))
GROUP BY province;

-- name: latest(start, stop, provinces, limit)
-- The most recent joiners of the period.
SELECT name, province, level, joined_at
FROM __TABLE__
WHERE joined_at >= :start AND joined_at < :stop
  AND (len(:provinces) = 0 OR list_contains(:provinces, province))
ORDER BY joined_at DESC, name
LIMIT :limit;

-- name: totals_both(start, stop, prev_start, prev_stop, provinces)
-- `totals` of units and of leaders in one statement (one row each, `kind` names the table).
SELECT 'units' AS kind,
    count(*) FILTER (WHERE joined_at >= :start AND joined_at < :stop) AS joined,
    count(*) FILTER (WHERE joined_at >= :prev_start AND joined_at < :prev_stop) AS joined_prev,
    count(DISTINCT province) FILTER (WHERE joined_at >= :start AND joined_at < :stop) AS provinces
FROM units
WHERE joined_at >= :prev_start AND joined_at < :stop
  AND (len(:provinces) = 0 OR list_contains(:provinces, province))
UNION ALL
SELECT 'leaders',
    count(*) FILTER (WHERE joined_at >= :start AND joined_at < :stop),
    count(*) FILTER (WHERE joined_at >= :prev_start AND joined_at < :prev_stop),
    count(DISTINCT province) FILTER (WHERE joined_at >= :start AND joined_at < :stop)
FROM leaders
WHERE joined_at >= :prev_start AND joined_at < :stop
  AND (len(:provinces) = 0 OR list_contains(:provinces, province));

-- name: by_province_both(start, stop, provinces)
-- `by_province` of units and of leaders in one statement.
SELECT 'units' AS kind, province AS key, count(*) AS joined
FROM units
WHERE joined_at >= :start AND joined_at < :stop
  AND (len(:provinces) = 0 OR list_contains(:provinces, province))
GROUP BY province
UNION ALL
SELECT 'leaders', province, count(*)
FROM leaders
WHERE joined_at >= :start AND joined_at < :stop
  AND (len(:provinces) = 0 OR list_contains(:provinces, province))
GROUP BY province;
