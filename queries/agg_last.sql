-- The latest sample's value per group over the window (start, end]. Ties
-- (samples of several series, or duplicates, at the same latest instant)
-- go to the largest value, so the answer never depends on row order.
-- $3 is the selection's id in sel (one table holds every selection).
SELECT g.grp, arg_max(s.value, struct_pack(t := s.ts, v := s.value)), count(*)
FROM all_samples s
JOIN sel g ON g.sel_id = $3 AND g.store = s.store AND g.series_id = s.series_id
WHERE s.ts > $1 AND s.ts <= $2
GROUP BY g.grp
