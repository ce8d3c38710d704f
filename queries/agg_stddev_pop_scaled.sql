-- agg_stddev_pop over values times $3, a power of two small enough that
-- squares cannot overflow (the caller scales the result back).
SELECT g.grp, stddev_pop(s.value * $3), count(*)
FROM all_samples s
JOIN sel g ON g.store = s.store AND g.series_id = s.series_id
WHERE s.ts > $1 AND s.ts <= $2
GROUP BY g.grp
