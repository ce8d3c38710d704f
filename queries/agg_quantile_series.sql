-- Hyndman-Fan type 7 percentile per selected series over (start, end]: the
-- shape for paths whose groups hold one series each (by every distinguishing
-- label, or one series in all). A semi join filters and the aggregate groups
-- by the series itself, which saves the join's per-row group lookup.
-- $4 is the selection's id in sel (one table holds every selection).
SELECT s.store, s.series_id, quantile_cont(s.value, $3), count(*)
FROM all_samples s
SEMI JOIN sel g ON g.sel_id = $4 AND g.store = s.store AND g.series_id = s.series_id
WHERE s.ts > $1 AND s.ts <= $2
GROUP BY s.store, s.series_id
