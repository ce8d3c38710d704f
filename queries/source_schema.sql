-- The in-memory catalog of one Prometheus-compatible source (runs with
-- the catalog as default): a store cache's series and samples tables,
-- filled from the source on demand (analyze/remote.go).
CREATE TABLE series (
    id      BIGINT  NOT NULL,
    name    VARCHAR NOT NULL,
    type    VARCHAR NOT NULL,
    labels  VARCHAR NOT NULL,
    service VARCHAR NOT NULL
);
CREATE TABLE samples (
    series_id BIGINT NOT NULL,
    ts        BIGINT NOT NULL,
    value     DOUBLE NOT NULL
);
