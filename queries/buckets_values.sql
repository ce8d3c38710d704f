-- The selected samples' values over ($1, $2] by cell: group * $4 + bucket,
-- the bucket (ts - $1 - 1) // $3 as in buckets_partials, $4 the number of
-- buckets; for percentiles of every bucket computed in Go.
-- $5 is the selection's id in sel (one table holds every selection).
SELECT CAST(g.grp * CAST($4 AS BIGINT) + (s.ts - CAST($1 AS BIGINT) - 1) // CAST($3 AS BIGINT) AS INTEGER) AS cell, s.value
FROM all_samples s
JOIN sel g ON g.sel_id = $5 AND g.store = s.store AND g.series_id = s.series_id
WHERE s.ts > $1 AND s.ts <= $2
