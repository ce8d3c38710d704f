-- Format 7: an index on incidents' closing time. Every run lists the open
-- incidents (closed_ms IS NULL) and prunes the closed ones by age, and
-- both scanned the whole table, which keeps a month of closed incidents:
-- replay, which runs the pipeline tens of thousands of times, paid that
-- scan every step.
CREATE INDEX incidents_closed ON incidents(closed_ms);
