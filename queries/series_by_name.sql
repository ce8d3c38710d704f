-- Candidate series of one metric across all attached stores; label
-- matchers are applied in Go (RE2, Prometheus semantics).
SELECT store, id, type, labels, service FROM all_series WHERE name = $1
