-- agg_sum on DuckDB's threads, for groups of whole numbers: per group over
-- the window (start, end], the sum, the count, the sum of magnitudes, and
-- whether every value is a whole number. Where every value of a group is
-- whole and the sum of magnitudes is below 2^53, every partial sum is exact
-- in any order, so these sums are agg_sum's one-thread Kahan sums to the
-- bit (analyze.DB.wholeSums checks, and runs agg_sum where a group is not
-- so).
-- $3 is the selection's id in sel (one table holds every selection).
SELECT g.grp, sum(s.value), count(*), sum(abs(s.value)), bool_and(s.value = trunc(s.value))
FROM all_samples s
JOIN sel g ON g.sel_id = $3 AND g.store = s.store AND g.series_id = s.series_id
WHERE s.ts > $1 AND s.ts <= $2
GROUP BY g.grp
