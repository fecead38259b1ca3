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

-- name: all()
-- Every joiner's time and province, in time order (the metrics count any period from them in memory).
SELECT joined_at, province FROM __TABLE__ ORDER BY joined_at;
