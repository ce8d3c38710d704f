-- count_le(T): per group over the window (start, end], the number of
-- samples whose value is <= $3 (compared as DOUBLE: a NaN value is never
-- counted), and the number of samples in all. A group with samples but
-- none at or below the threshold answers 0, not "no data".
-- $4 is the selection's id in sel (one table holds every selection).
SELECT g.grp, CAST(count(*) FILTER (WHERE s.value <= CAST($3 AS DOUBLE)) AS DOUBLE), count(*)
FROM all_samples s
JOIN sel g ON g.sel_id = $4 AND g.store = s.store AND g.series_id = s.series_id
WHERE s.ts > $1 AND s.ts <= $2
GROUP BY g.grp
