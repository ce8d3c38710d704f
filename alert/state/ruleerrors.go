package state

import (
	"fmt"
	"time"
)

// RuleError is a rule a run could not evaluate, as the history keeps it:
// the rule, the run's instant and why.
type RuleError struct {
	Rule  string
	At    time.Time
	Error string
}

// AddRuleError records e in the history.
func (r *Run) AddRuleError(e RuleError) error {
	if r.d.ms != nil {
		_, err := r.memWrite() // not kept: see memState
		return err
	}
	tx, err := r.writable()
	if err != nil {
		return err
	}
	if _, err := tx.ExecContext(r.ctx, "INSERT INTO rule_errors(rule, at_ms, error) VALUES (?,?,?)",
		e.Rule, e.At.UnixMilli(), e.Error); err != nil {
		return fmt.Errorf("record rule error: %w", err)
	}
	return nil
}

// RuleErrors lists the rule errors at or after since, oldest first.
func (r *Run) RuleErrors(since time.Time) ([]RuleError, error) {
	tx, err := r.q()
	if err != nil {
		return nil, err
	}
	rows, err := tx.QueryContext(r.ctx, "SELECT rule, at_ms, error FROM rule_errors WHERE at_ms >= ? ORDER BY at_ms, id",
		since.UnixMilli())
	if err != nil {
		return nil, fmt.Errorf("load rule errors: %w", err)
	}
	defer rows.Close()
	var out []RuleError
	for rows.Next() {
		var e RuleError
		var at int64
		if err := rows.Scan(&e.Rule, &at, &e.Error); err != nil {
			return nil, fmt.Errorf("load rule errors: %w", err)
		}
		e.At = time.UnixMilli(at).UTC()
		out = append(out, e)
	}
	return out, rows.Err()
}
