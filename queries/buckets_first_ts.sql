-- Each selected group's first sample at or before $1: a counter that
-- exists by a bucket's end but has no increments in it counts 0 there
-- (groups_with_samples_by, for every bucket at once).
-- $2 is the selection's id in sel (one table holds every selection).
SELECT g.grp, min(s.ts)
FROM all_samples s
JOIN sel g ON g.sel_id = $2 AND g.store = s.store AND g.series_id = s.series_id
WHERE s.ts <= $1
GROUP BY g.grp
