-- Store format version 2: metric metadata (help text and unit) per metric
-- name and service, as Prometheus keeps it per metric family. Written by
-- the collect library; read by vigil serve's metadata endpoint and lint.
CREATE TABLE metric_metadata (
    name    TEXT NOT NULL,
    service TEXT NOT NULL DEFAULT '',
    help    TEXT NOT NULL DEFAULT '',
    unit    TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (name, service)
) WITHOUT ROWID;
