-- SQLite. vigil store stats: the ? series with the most sample rows, with
-- their oldest and newest sample (unix ms).
SELECT se.name, se.type, se.labels, se.service, c.n, c.first, c.last
FROM (SELECT series_id, count(*) AS n, min(ts) AS first, max(ts) AS last
      FROM samples GROUP BY series_id) c
JOIN series se ON se.id = c.series_id
ORDER BY c.n DESC, se.id
LIMIT ?
