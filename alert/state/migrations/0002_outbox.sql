-- Format 2: notification delivery. The run lock moved to the sidecar file
-- vigil-state.db.lock (held across a run's several transactions); the lock
-- table of format 1 is no longer written.

-- Per alert: the incident it belongs to, the escalation steps done in its
-- current firing episode, and when it was acknowledged.
ALTER TABLE alerts ADD COLUMN incident TEXT NOT NULL DEFAULT '';
ALTER TABLE alerts ADD COLUMN esc_policy TEXT NOT NULL DEFAULT '';
ALTER TABLE alerts ADD COLUMN esc_steps INTEGER NOT NULL DEFAULT 0;
ALTER TABLE alerts ADD COLUMN acked_at_ms INTEGER;

-- One notification owed to one channel about one alert. A run records the
-- row (queued) before it sends, marks it sending (committed) right before
-- the request, and records the outcome after: a row found sending was
-- interrupted mid-send and is never sent again (unknown).
CREATE TABLE outbox (
	id          INTEGER PRIMARY KEY,
	fingerprint TEXT NOT NULL,
	rule        TEXT NOT NULL,
	channel     TEXT NOT NULL,
	kind        TEXT NOT NULL,            -- firing | resolved
	step        INTEGER,                  -- escalation step (0-based); NULL: none
	incident    TEXT NOT NULL DEFAULT '',
	episode_ms  INTEGER NOT NULL,         -- fired_at of the alert's episode
	recipients  TEXT NOT NULL DEFAULT '[]',
	alert       TEXT NOT NULL,            -- JSON: what the message says
	created_ms  INTEGER NOT NULL,
	status      TEXT NOT NULL,            -- queued | sending | sent | failed | unknown
	tries       INTEGER NOT NULL DEFAULT 0,
	last_error  TEXT NOT NULL DEFAULT '',
	done_ms     INTEGER
) STRICT;

CREATE INDEX outbox_status ON outbox(status, id);
CREATE INDEX outbox_episode ON outbox(fingerprint, episode_ms);
CREATE INDEX outbox_done ON outbox(done_ms);

-- Every delivery attempt, for vigil alerts history. Errors are stored
-- redacted by the channel that produced them.
CREATE TABLE attempts (
	id          INTEGER PRIMARY KEY,
	outbox_id   INTEGER NOT NULL,
	fingerprint TEXT NOT NULL,
	rule        TEXT NOT NULL,
	channel     TEXT NOT NULL,
	at_ms       INTEGER NOT NULL,
	try         INTEGER NOT NULL,
	result      TEXT NOT NULL,            -- ok | error | unknown
	status      INTEGER,                  -- HTTP status, when there was one
	error       TEXT NOT NULL DEFAULT ''
) STRICT;

CREATE INDEX attempts_at ON attempts(at_ms);

-- Correlated alerts: one incident per correlation rule and group value
-- while its members fire.
CREATE TABLE incidents (
	id          TEXT PRIMARY KEY,
	correlation TEXT NOT NULL,
	group_value TEXT NOT NULL,
	opened_ms   INTEGER NOT NULL,
	closed_ms   INTEGER
) STRICT;

CREATE INDEX incidents_open ON incidents(correlation, group_value, closed_ms);
