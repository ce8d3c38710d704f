-- The samples of selection $1 with $2 <= ts <= $3, by group and time
-- (equal times by value, so a read is deterministic), for
-- analyze.DB.RawSamples (vigil serve).
SELECT grp, ts, value FROM sel_samples
WHERE sel_id = $1 AND ts >= $2 AND ts <= $3
ORDER BY grp, ts, value
