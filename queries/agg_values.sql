-- The selected samples' values with their group over (start, end], for
-- percentiles computed in Go (read through Arrow, in bulk), in no
-- particular order (sel_samples joins each store on its own: see
-- analyze/duckdb.go selectedView).
-- $3 is the selection's id in sel (one table holds every selection).
SELECT grp, value
FROM sel_samples
WHERE sel_id = $3 AND ts > $1 AND ts <= $2
