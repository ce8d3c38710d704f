-- The samples of selection $1 with $2 <= ts <= $3, for
-- analyze.DB.RawSamples (vigil serve), in no particular order: RawSamples
-- places them by group and sorts each group by time and value in Go
-- (sorting every row here was half of vigil serve's CPU over a day of
-- 1,000 counters).
SELECT grp, ts, value FROM sel_samples
WHERE sel_id = $1 AND ts >= $2 AND ts <= $3
