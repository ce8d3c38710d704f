-- DuckDB, over the united views. The oldest and newest sample of every
-- store (unix ms, NULL without samples), and the data's typical sample
-- interval: the median over series with two samples or more of each
-- series' mean interval (ms, NULL without such a series). replay warns of
-- history shorter than asked and of a step finer than the data with them.
SELECT min(lo), max(hi), median((hi - lo) / (n - 1)) FILTER (WHERE n > 1)
FROM (SELECT min(ts) AS lo, max(ts) AS hi, count(*) AS n
      FROM all_samples
      GROUP BY store, series_id)
