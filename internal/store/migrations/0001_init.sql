-- Store format version 1. See docs/storage.md.
CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
) WITHOUT ROWID;

CREATE TABLE series (
    id      INTEGER PRIMARY KEY,
    name    TEXT NOT NULL,
    type    TEXT NOT NULL CHECK (type IN ('counter', 'gauge', 'histogram')),
    labels  TEXT NOT NULL DEFAULT '{}',
    service TEXT NOT NULL DEFAULT '',
    UNIQUE (name, labels, service)
);

-- AUTOINCREMENT: ids never go backwards, even after the newest rows are
-- deleted, so an analytics cache can use the id as a sync watermark.
-- No secondary index: every read is a rowid range scan into the DuckDB
-- cache, and an index on (series_id, ts) costs ~10x on ingest.
CREATE TABLE samples (
    id        INTEGER PRIMARY KEY AUTOINCREMENT,
    series_id INTEGER NOT NULL,
    ts        INTEGER NOT NULL,
    value     REAL NOT NULL
);

CREATE TRIGGER samples_append_only BEFORE UPDATE ON samples
BEGIN
    SELECT RAISE(ABORT, 'samples are append-only');
END;

-- Every delete, by vigil or by hand, is counted so that a cache notices
-- rows that disappeared under its watermark.
CREATE TRIGGER samples_deleted AFTER DELETE ON samples
BEGIN
    UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key = 'deleted_samples';
END;

CREATE TRIGGER series_deleted AFTER DELETE ON series
BEGIN
    UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key = 'deleted_series';
END;

CREATE TRIGGER series_immutable BEFORE UPDATE ON series
BEGIN
    SELECT RAISE(ABORT, 'series are immutable');
END;

-- The reference design's table, so its users' SQL keeps working.
CREATE VIEW metrics AS
SELECT s.ts / 1000.0 AS timestamp,
       se.name       AS name,
       se.type       AS type,
       s.value       AS value,
       se.labels     AS labels,
       se.service    AS service_name
FROM samples s
JOIN series se ON se.id = s.series_id;
