SELECT format, store_id, watermark, series_watermark, horizon_ms, deleted_samples, deleted_series,
       last_series_id, last_ts, last_value
FROM cache_meta
