-- Format 7: indexes that keep a run's cost flat as the state DB
-- grows. Every run lists the open incidents (closed_ms IS NULL) and prunes
-- the closed ones by age, and both scanned the whole table, which keeps a
-- month of closed incidents. LastWord (a channel's latest notice about an
-- alert, asked for every firing alert and channel) walked every notice
-- about the alert through outbox_episode. Replay, which runs the pipeline
-- tens of thousands of times, paid both scans at every step.
CREATE INDEX incidents_closed ON incidents(closed_ms);
CREATE INDEX outbox_word ON outbox(fingerprint, channel, id);
-- IncidentChannels (the channels told of an incident, asked when an alert
-- joins one) scanned the whole outbox.
CREATE INDEX outbox_incident ON outbox(incident, kind);
