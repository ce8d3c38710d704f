-- Format 4: dynamic thresholds (vigil threshold tune). The value vigil
-- evaluate uses for a dynamic rule, when there is one; else the config's.
CREATE TABLE thresholds (
	rule        TEXT PRIMARY KEY,
	value       REAL NOT NULL,
	method      TEXT NOT NULL,
	reason      TEXT NOT NULL DEFAULT '',
	tuned_at_ms INTEGER NOT NULL
) STRICT;

-- Every applied change, oldest first by id: the value before (the stored
-- one, else the config's) and after, and whether --write also put it in
-- the config file.
CREATE TABLE threshold_history (
	id          INTEGER PRIMARY KEY,
	rule        TEXT NOT NULL,
	tuned_at_ms INTEGER NOT NULL,
	old         REAL,
	new         REAL NOT NULL,
	method      TEXT NOT NULL,
	reason      TEXT NOT NULL DEFAULT '',
	samples     INTEGER NOT NULL DEFAULT 0,
	written     INTEGER NOT NULL DEFAULT 0
) STRICT;

CREATE INDEX threshold_history_rule ON threshold_history(rule, tuned_at_ms);
