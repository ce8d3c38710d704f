-- The selected samples' values with their group over (start, end], for
-- percentiles computed in Go (read through Arrow, in bulk).
SELECT g.grp, s.value
FROM all_samples s
JOIN sel g ON g.store = s.store AND g.series_id = s.series_id
WHERE s.ts > $1 AND s.ts <= $2
