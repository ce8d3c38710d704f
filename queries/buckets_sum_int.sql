-- buckets_sum on DuckDB's threads, for cells of whole numbers at or above
-- 0 (counters' increments): per cell, group * $5 + bucket, with buckets of
-- $3 ms over ($1, $2] as buckets_sum has them, the sum, the count, and
-- whether every value is a whole number at or above 0 (then the sum is the
-- sum of magnitudes too). Where every value of a cell is so and the sum is
-- below 2^53, every partial sum is exact in any order, so the sum is
-- buckets_sum's one-thread Kahan sum to the bit (analyze.DB.wholeCells
-- checks, and runs buckets_sum where a cell is not so). One key and three
-- aggregates keep DuckDB's table of cells small.
-- $4 is the selection's id in sel (one table holds every selection); the
-- rows come from sel_samples (the selection joined store by store on the
-- series id alone, analyze/duckdb.go), in no order, which these sums do
-- not need: 30 days of 40 series at 10 s into one-minute cells took about
-- half the time of the join on (store, series_id).
SELECT CAST(grp AS BIGINT) * CAST($5 AS BIGINT) + (ts - CAST($1 AS BIGINT) - 1) // CAST($3 AS BIGINT) AS c, sum(value), count(*), bool_and(value >= 0 AND value = trunc(value))
FROM sel_samples
WHERE sel_id = $4 AND ts > $1 AND ts <= $2
GROUP BY c
