-- The selected samples' values over ($1, $2] by cell: group * $4 + bucket,
-- the bucket (ts - $1 - 1) // $3 as in buckets_partials, $4 the number of
-- buckets; for percentiles of every bucket computed in Go, in no particular
-- order (sel_samples joins each store on its own: see analyze/duckdb.go
-- selectedView).
-- $5 is the selection's id in sel (one table holds every selection).
SELECT CAST(grp * CAST($4 AS BIGINT) + (ts - CAST($1 AS BIGINT) - 1) // CAST($3 AS BIGINT) AS INTEGER) AS cell, value
FROM sel_samples
WHERE sel_id = $5 AND ts > $1 AND ts <= $2
