-- Units and leaders joining the platform (filtered by province only).
-- `__TABLE__` is units or leaders, from the allow-list in queries/metrics.py.

-- name: latest(start, stop, provinces, limit)
-- The most recent joiners of the period.
SELECT name, province, level, joined_at
FROM __TABLE__
WHERE joined_at >= :start AND joined_at < :stop
  AND (len(:provinces) = 0 OR list_contains(:provinces, province))
ORDER BY joined_at DESC, name
LIMIT :limit;

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
