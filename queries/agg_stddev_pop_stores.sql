-- agg_stddev_pop per group and store, for a DB over several stores (see
-- agg_sum_stores): each store's count, mean and population variance,
-- combined in Go in store order (Chan et al.'s pairwise update).
-- $3 is the selection's id in sel (one table holds every selection).
SELECT g.grp, g.store, count(*), favg(s.value), var_pop(s.value)
FROM all_samples s
JOIN sel g ON g.sel_id = $3 AND g.store = s.store AND g.series_id = s.series_id
WHERE s.ts > $1 AND s.ts <= $2
GROUP BY g.grp, g.store
ORDER BY g.grp, g.store
