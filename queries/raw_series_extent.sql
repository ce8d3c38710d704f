-- Every series of every attached store with its oldest and newest sample
-- (NULL when it has none) and how many samples it has, for
-- analyze.DB.AllSeries (vigil serve).
SELECT s.store, s.id, s.name, s.type, s.labels, s.service, e.lo, e.hi, coalesce(e.n, 0)
FROM all_series s
LEFT JOIN (SELECT store, series_id, min(ts) AS lo, max(ts) AS hi, count(*) AS n FROM all_samples GROUP BY store, series_id) e
  ON e.store = s.store AND e.series_id = s.id
ORDER BY s.name, s.store, s.id
