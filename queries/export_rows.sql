-- DuckDB, over the united views. The rows vigil export writes: one per
-- sample with ts in [?, ?) (unix ms), its series' name, type, labels (a
-- JSON object) and service, and the UTC day it falls in (the partition).
-- export.go wraps it in COPY ... TO (FORMAT parquet|csv, PARTITION_BY (day)).
SELECT make_timestamptz(s.ts * 1000) AS ts,
       se.name                       AS name,
       se.type                       AS type,
       se.labels::JSON               AS labels,
       se.service                    AS service,
       s.value                       AS value,
       strftime(epoch_ms(s.ts), '%Y-%m-%d') AS day
FROM all_samples s
JOIN all_series se ON se.store = s.store AND se.id = s.series_id
WHERE s.ts >= ? AND s.ts < ?
