-- min per group and bucket of $3 ms over ($1, $2]: bucket
-- (ts - $1 - 1) // $3, 0 the oldest, so bucket i is
-- ($1 + i*$3, $1 + (i+1)*$3]. One query answers a path's aggregation
-- over every bucket (analyze.DB.Buckets). Rows: group, bucket, value,
-- count, and 0.
-- $4 is the selection's id in sel (one table holds every selection).
SELECT g.grp, CAST((s.ts - CAST($1 AS BIGINT) - 1) // CAST($3 AS BIGINT) AS INTEGER) AS b, min(s.value), count(*), 0.0
FROM all_samples s
JOIN sel g ON g.sel_id = $4 AND g.store = s.store AND g.series_id = s.series_id
WHERE s.ts > $1 AND s.ts <= $2
GROUP BY g.grp, b
