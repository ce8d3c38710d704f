-- The DuckDB cache of one store (runs with the cache's catalog as default).
CREATE TABLE IF NOT EXISTS cache_meta (
    format           INTEGER NOT NULL,
    store_id         VARCHAR NOT NULL,
    watermark        BIGINT  NOT NULL,  -- highest samples.id copied
    series_watermark BIGINT  NOT NULL,  -- highest series.id copied
    horizon_ms       BIGINT  NOT NULL,  -- retention cut applied
    deleted_samples  BIGINT  NOT NULL,  -- the store's delete counters at the last sync
    deleted_series   BIGINT  NOT NULL,
    last_series_id   BIGINT,            -- the row at the watermark, to detect a
    last_ts          BIGINT,            -- store rewritten under the same id
    last_value       DOUBLE
);
CREATE TABLE IF NOT EXISTS series (
    id      BIGINT  NOT NULL,
    name    VARCHAR NOT NULL,
    type    VARCHAR NOT NULL,
    labels  VARCHAR NOT NULL,
    service VARCHAR NOT NULL
);
CREATE TABLE IF NOT EXISTS samples (
    series_id BIGINT NOT NULL,
    ts        BIGINT NOT NULL,
    value     DOUBLE NOT NULL
);
