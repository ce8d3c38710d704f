-- DuckDB, over the united views. The histogram metrics with samples in
-- ($1, $2] (unix ms), most sampled first, at most $3: the report's
-- latency section when no rule, objective or report.metrics names a key
-- histogram.
SELECT se.name, count(*) AS n
FROM all_samples s
JOIN all_series se ON se.store = s.store AND se.id = s.series_id
WHERE se.type = 'histogram' AND s.ts > $1 AND s.ts <= $2
GROUP BY se.name
ORDER BY n DESC, se.name
LIMIT $3
