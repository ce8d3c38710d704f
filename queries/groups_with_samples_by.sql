-- Selected groups with a sample at or before $1: a counter that exists by
-- the window's end but has no increments in the window counts 0.
-- $2 is the selection's id in sel (one table holds every selection).
SELECT DISTINCT g.grp
FROM all_samples s
JOIN sel g ON g.sel_id = $2 AND g.store = s.store AND g.series_id = s.series_id
WHERE s.ts <= $1
