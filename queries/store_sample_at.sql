-- SQLite. The row at one sample id (the watermark check).
SELECT series_id, ts, value FROM samples WHERE id = ?
