-- buckets_values with each value's time: (cell, value, ts), the cell
-- group * $4 + (ts - $1 - 1) // $3 over ($1, $2], for a metric's latest
-- values per bucket computed in Go (analyze.DB.SlidingMany).
-- $5 is the selection's id in sel (one table holds every selection).
SELECT CAST(grp * CAST($4 AS BIGINT) + (ts - CAST($1 AS BIGINT) - 1) // CAST($3 AS BIGINT) AS INTEGER) AS cell, value, ts
FROM sel_samples
WHERE sel_id = $5 AND ts > $1 AND ts <= $2
