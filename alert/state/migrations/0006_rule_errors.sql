-- Format 5: a rule that a run could not evaluate (the rate of a gauge, a
-- metric of two types across stores), for vigil alerts history. Its alerts
-- keep their state that run; this row says why. Pruned by age, like events.
CREATE TABLE rule_errors (
	id     INTEGER PRIMARY KEY,
	rule   TEXT NOT NULL,
	at_ms  INTEGER NOT NULL,
	error  TEXT NOT NULL
) STRICT;

CREATE INDEX rule_errors_at ON rule_errors(at_ms);
