-- Format 3: a notice that failed transiently waits until next_ms before a
-- later run retries it (backoff across runs); NULL: due now.
ALTER TABLE outbox ADD COLUMN next_ms INTEGER;
