-- Compensated (Kahan) sum of sample values per group over the window
-- (start, end]: ten samples of 0.1 sum to 1, as in Prometheus. The sum of
-- magnitudes tells the caller when cancellation may have cost digits
-- (1e100 + 1 - 1e100): it then takes agg_sum_exact.
-- $3 is the selection's id in sel (one table holds every selection).
SELECT g.grp, fsum(s.value), count(*), fsum(abs(s.value))
FROM all_samples s
JOIN sel g ON g.sel_id = $3 AND g.store = s.store AND g.series_id = s.series_id
WHERE s.ts > $1 AND s.ts <= $2
GROUP BY g.grp
