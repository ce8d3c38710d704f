-- SQLite. Rows up to the watermark that retention keeps (ts >= horizon).
SELECT count(*) FROM samples WHERE id <= ? AND ts >= ?
