-- SQLite. Series added since the cache's series watermark.
SELECT id, name, type, labels, service FROM series WHERE id > ? ORDER BY id
