-- agg_sum on DuckDB's threads, for groups of whole numbers: per group over
-- the window (start, end], the sum, the count, the sum of magnitudes, and
-- whether every value is a whole number. Where every value of a group is
-- whole and the sum of magnitudes is below 2^53, every partial sum is exact
-- in any order, so these sums are agg_sum's one-thread Kahan sums to the
-- bit (analyze.DB.wholeSums checks, and runs agg_sum where a group is not
-- so).
-- $3 is the selection's id in sel (one table holds every selection); the
-- rows come from sel_samples (the selection joined store by store on the
-- series id alone, analyze/duckdb.go), in no order, which these sums do
-- not need.
SELECT grp, sum(value), count(*), sum(abs(value)), bool_and(value = trunc(value))
FROM sel_samples
WHERE sel_id = $3 AND ts > $1 AND ts <= $2
GROUP BY grp
