-- Format 5: the instant of the last run of each source of alerts
-- (evaluate's rules, budget --notify's burn alerts), so a run at an
-- earlier --at is refused instead of stepping alerts back in time and
-- notifying a past episode again. A state DB from before format 5 has no
-- row until its next run.
CREATE TABLE runs (
	source TEXT PRIMARY KEY,
	at_ms  INTEGER NOT NULL
) STRICT;
