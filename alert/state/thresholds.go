package state

import (
	"database/sql"
	"errors"
	"fmt"
	"math"
	"time"
)

// Threshold is a dynamic rule's tuned threshold (vigil threshold tune):
// what vigil evaluate uses instead of the config's value.
type Threshold struct {
	Rule    string
	Value   float64
	Method  string
	Reason  string
	TunedAt time.Time
}

// ThresholdChange is one applied change of a rule's threshold.
type ThresholdChange struct {
	Rule    string
	TunedAt time.Time
	Old     float64 // NaN when unknown
	New     float64
	Method  string
	Reason  string
	Samples int
	// Written says the config file was rewritten with it too (--write).
	Written bool
}

// Thresholds loads every stored threshold, keyed by rule.
func (r *Run) Thresholds() (map[string]Threshold, error) {
	tx, err := r.q()
	if err != nil {
		return nil, err
	}
	rows, err := tx.QueryContext(r.ctx, `SELECT rule, value, method, reason, tuned_at_ms FROM thresholds`)
	if err != nil {
		return nil, fmt.Errorf("load thresholds: %w", err)
	}
	defer rows.Close()
	out := map[string]Threshold{}
	for rows.Next() {
		var t Threshold
		var at int64
		if err := rows.Scan(&t.Rule, &t.Value, &t.Method, &t.Reason, &at); err != nil {
			return nil, fmt.Errorf("load thresholds: %w", err)
		}
		t.TunedAt = time.UnixMilli(at).UTC()
		out[t.Rule] = t
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("load thresholds: %w", err)
	}
	return out, nil
}

// PutThreshold stores c.New as c.Rule's threshold (replacing the stored
// one) and appends c to the history.
func (r *Run) PutThreshold(c ThresholdChange) error {
	tx, err := r.writable()
	if err != nil {
		return err
	}
	if c.Rule == "" {
		return errors.New("put threshold: empty rule")
	}
	if math.IsNaN(c.New) || math.IsInf(c.New, 0) {
		return fmt.Errorf("put threshold %s: not a finite number: %v", c.Rule, c.New)
	}
	if c.TunedAt.IsZero() {
		return fmt.Errorf("put threshold %s: no time", c.Rule)
	}
	at := c.TunedAt.UnixMilli()
	if _, err := tx.ExecContext(r.ctx, `INSERT INTO thresholds(rule, value, method, reason, tuned_at_ms)
		VALUES (?,?,?,?,?)
		ON CONFLICT(rule) DO UPDATE SET value=excluded.value, method=excluded.method,
		reason=excluded.reason, tuned_at_ms=excluded.tuned_at_ms`,
		c.Rule, c.New, c.Method, c.Reason, at); err != nil {
		return fmt.Errorf("put threshold %s: %w", c.Rule, err)
	}
	if _, err := tx.ExecContext(r.ctx, `INSERT INTO threshold_history(rule, tuned_at_ms, old, new, method, reason, samples, written)
		VALUES (?,?,?,?,?,?,?,?)`, c.Rule, at, toNullFloat(c.Old), c.New, c.Method, c.Reason, c.Samples, c.Written); err != nil {
		return fmt.Errorf("put threshold %s: history: %w", c.Rule, err)
	}
	return nil
}

// DeleteThreshold forgets rule's stored threshold, so that the config's
// applies again; its history stays.
func (r *Run) DeleteThreshold(rule string) error {
	tx, err := r.writable()
	if err != nil {
		return err
	}
	if _, err := tx.ExecContext(r.ctx, "DELETE FROM thresholds WHERE rule = ?", rule); err != nil {
		return fmt.Errorf("delete threshold %s: %w", rule, err)
	}
	return nil
}

// ThresholdHistory returns the applied changes, oldest first; of one rule
// when rule is not "".
func (r *Run) ThresholdHistory(rule string) ([]ThresholdChange, error) {
	tx, err := r.q()
	if err != nil {
		return nil, err
	}
	rows, err := tx.QueryContext(r.ctx, `SELECT rule, tuned_at_ms, old, new, method, reason, samples, written
		FROM threshold_history WHERE ? = '' OR rule = ? ORDER BY tuned_at_ms, id`, rule, rule)
	if err != nil {
		return nil, fmt.Errorf("threshold history: %w", err)
	}
	defer rows.Close()
	var out []ThresholdChange
	for rows.Next() {
		var c ThresholdChange
		var at int64
		var old sql.NullFloat64
		if err := rows.Scan(&c.Rule, &at, &old, &c.New, &c.Method, &c.Reason, &c.Samples, &c.Written); err != nil {
			return nil, fmt.Errorf("threshold history: %w", err)
		}
		c.TunedAt = time.UnixMilli(at).UTC()
		c.Old = fromNullFloat(old)
		out = append(out, c)
	}
	return out, rows.Err()
}
