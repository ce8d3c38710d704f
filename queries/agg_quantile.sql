-- Hyndman-Fan type 7 percentile (numpy's default) per group over (start, end].
-- $4 is the selection's id in sel (one table holds every selection).
SELECT g.grp, quantile_cont(s.value, $3), count(*)
FROM all_samples s
JOIN sel g ON g.sel_id = $4 AND g.store = s.store AND g.series_id = s.series_id
WHERE s.ts > $1 AND s.ts <= $2
GROUP BY g.grp
