-- The largest magnitude among the selected samples in (start, end], to
-- pick the scale of agg_*_scaled.
SELECT max(abs(s.value))
FROM all_samples s
JOIN sel g ON g.store = s.store AND g.series_id = s.series_id
WHERE s.ts > $1 AND s.ts <= $2
