-- agg_sum per group and store, for a DB over several stores: one store's
-- rows reach a group in the same order every run, the rows of several do
-- not (DuckDB unites them in either order, even on one thread), so the
-- stores' Kahan sums are combined in Go, in store order.
-- $3 is the selection's id in sel (one table holds every selection).
SELECT g.grp, g.store, fsum(s.value), count(*), fsum(abs(s.value))
FROM all_samples s
JOIN sel g ON g.sel_id = $3 AND g.store = s.store AND g.series_id = s.series_id
WHERE s.ts > $1 AND s.ts <= $2
GROUP BY g.grp, g.store
ORDER BY g.grp, g.store
