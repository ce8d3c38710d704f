-- The reference design's table, filled the way its MetricsCollector.flush does.
CREATE TABLE metrics (timestamp REAL, name TEXT, type TEXT, value REAL, labels TEXT, service_name TEXT);
INSERT INTO metrics VALUES (1795946400, 'http_requests_total', 'counter', 1.0, '{"method": "GET", "endpoint": "/api/users", "status": "200"}', 'api');
INSERT INTO metrics VALUES (1795946401.5, 'http_requests_total', 'counter', 1.0, '{"method": "GET", "endpoint": "/api/users", "status": "500"}', 'api');
INSERT INTO metrics VALUES (1795946402, 'cpu_usage_percent', 'gauge', 42.5, '{"host": "worker-01"}', NULL);
INSERT INTO metrics VALUES (1795946403.25, 'response_time_ms', 'histogram', 123.4, '{"endpoint": "/api/users"}', 'api');
