-- SQLite. Hands the samples of one id range (lo, hi] at or after the
-- horizon to the Go sink registered under the token (the first argument);
-- vigil_copy_rows is the aggregate analyze/cache registers (copyFunc).
SELECT vigil_copy_rows(?, series_id, ts, value) FROM samples WHERE id > ? AND id <= ? AND ts >= ?
