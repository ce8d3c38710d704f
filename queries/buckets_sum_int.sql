-- buckets_sum on DuckDB's threads, for cells of whole numbers at or above
-- 0 (counters' increments): per cell, group * $5 + bucket, with buckets of
-- $3 ms over ($1, $2] as buckets_sum has them, the sum, the count, and
-- whether every value is a whole number at or above 0 (then the sum is the
-- sum of magnitudes too). Where every value of a cell is so and the sum is
-- below 2^53, every partial sum is exact in any order, so the sum is
-- buckets_sum's one-thread Kahan sum to the bit (analyze.DB.wholeCells
-- checks, and runs buckets_sum where a cell is not so). One key and three
-- aggregates keep DuckDB's table of cells small.
-- $4 is the selection's id in sel (one table holds every selection).
SELECT CAST(g.grp AS BIGINT) * CAST($5 AS BIGINT) + (s.ts - CAST($1 AS BIGINT) - 1) // CAST($3 AS BIGINT) AS c, sum(s.value), count(*), bool_and(s.value >= 0 AND s.value = trunc(s.value))
FROM all_samples s
JOIN sel g ON g.sel_id = $4 AND g.store = s.store AND g.series_id = s.series_id
WHERE s.ts > $1 AND s.ts <= $2
GROUP BY c
