-- max of sample values per group over the window (start, end].
-- $3 is the selection's id in sel (one table holds every selection).
SELECT g.grp, max(s.value), count(*)
FROM all_samples s
JOIN sel g ON g.sel_id = $3 AND g.store = s.store AND g.series_id = s.series_id
WHERE s.ts > $1 AND s.ts <= $2
GROUP BY g.grp
