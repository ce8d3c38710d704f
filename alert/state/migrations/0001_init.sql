-- Alert state between evaluate runs, keyed by fingerprint (16 hex digits,
-- as users see it; a uint64 does not fit SQLite's signed INTEGER).
-- Times are unix milliseconds, NULL for never. States are their names so
-- the file reads well in the sqlite3 shell.
CREATE TABLE alerts (
	fingerprint      TEXT PRIMARY KEY,
	rule             TEXT NOT NULL,
	labels           TEXT NOT NULL,  -- JSON object, keys sorted
	state            TEXT NOT NULL,
	value            REAL,           -- NULL when never observed (NaN)
	active_since_ms  INTEGER,
	fired_at_ms      INTEGER,
	resolved_at_ms   INTEGER,
	last_eval_ms     INTEGER,
	last_notified_ms INTEGER,
	notify_count     INTEGER NOT NULL DEFAULT 0,
	acked            INTEGER NOT NULL DEFAULT 0,
	ack_comment      TEXT NOT NULL DEFAULT ''
) STRICT;

CREATE INDEX alerts_rule ON alerts(rule);

-- State transitions, appended by Put; pruned by age.
CREATE TABLE events (
	id          INTEGER PRIMARY KEY,
	fingerprint TEXT NOT NULL,
	rule        TEXT NOT NULL,
	at_ms       INTEGER NOT NULL,
	from_state  TEXT NOT NULL,
	to_state    TEXT NOT NULL,
	value       REAL
) STRICT;

CREATE INDEX events_fingerprint ON events(fingerprint, at_ms);
CREATE INDEX events_at ON events(at_ms);

-- Who runs now. One row; holder '' when nobody. Mutual exclusion comes from
-- SQLite's write lock, held for a whole run; this row only names the holder
-- for the error another run shows.
CREATE TABLE lock (
	id       INTEGER PRIMARY KEY CHECK (id = 1),
	holder   TEXT NOT NULL,
	since_ms INTEGER NOT NULL
) STRICT;

INSERT INTO lock(id, holder, since_ms) VALUES (1, '', 0);
