-- Every series' first sample time: buckets_first_ts for every end at
-- once (a group's first sample at or before an end is the least of its
-- series' first times that are), read once instead of once an end.
SELECT store, series_id, min(ts)
FROM all_samples
GROUP BY store, series_id
