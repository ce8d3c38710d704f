INSERT INTO cache_meta (format, store_id, watermark, series_watermark, horizon_ms, deleted_samples,
                        deleted_series, last_series_id, last_ts, last_value)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
