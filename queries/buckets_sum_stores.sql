-- buckets_sum per group, bucket and store, for a DB over several stores
-- (see agg_sum_stores): the stores' Kahan sums of a cell are combined in
-- Go, in store order. Rows: group, bucket, store, value, count, and the
-- sum of magnitudes.
-- $4 is the selection's id in sel (one table holds every selection).
SELECT g.grp, CAST((s.ts - CAST($1 AS BIGINT) - 1) // CAST($3 AS BIGINT) AS INTEGER) AS b, g.store, fsum(s.value), count(*), fsum(abs(s.value))
FROM all_samples s
JOIN sel g ON g.sel_id = $4 AND g.store = s.store AND g.series_id = s.series_id
WHERE s.ts > $1 AND s.ts <= $2
GROUP BY g.grp, b, g.store
ORDER BY g.grp, b, g.store
