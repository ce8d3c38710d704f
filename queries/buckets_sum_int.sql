-- buckets_sum on DuckDB's threads, for cells of whole numbers: per group
-- and bucket of $3 ms over ($1, $2] (as buckets_sum), the sum, the count,
-- the sum of magnitudes, and whether every value is a whole number. Where
-- every value of a cell is whole and the sum of magnitudes is below 2^53,
-- every partial sum is exact in any order, so these sums are buckets_sum's
-- one-thread Kahan sums to the bit (analyze.DB.cells checks, and runs
-- buckets_sum where a cell is not so).
-- $4 is the selection's id in sel (one table holds every selection).
SELECT g.grp, CAST((s.ts - CAST($1 AS BIGINT) - 1) // CAST($3 AS BIGINT) AS INTEGER) AS b, sum(s.value), count(*), sum(abs(s.value)), bool_and(s.value = trunc(s.value))
FROM all_samples s
JOIN sel g ON g.sel_id = $4 AND g.store = s.store AND g.series_id = s.series_id
WHERE s.ts > $1 AND s.ts <= $2
GROUP BY g.grp, b
