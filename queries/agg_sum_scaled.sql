-- agg_sum over values times $3, a power of two small enough that the
-- running sum cannot overflow (the caller scales the result back, to ±Inf
-- when the true sum is out of range, where Kahan's sum would give NaN).
SELECT g.grp, fsum(s.value * $3), count(*)
FROM all_samples s
JOIN sel g ON g.store = s.store AND g.series_id = s.series_id
WHERE s.ts > $1 AND s.ts <= $2
GROUP BY g.grp
