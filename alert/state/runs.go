package state

import (
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// LastRun is when source (e.g. "evaluate") last wrote this state: the
// --at of its latest run, zero when it never ran (or ran only before
// format 5). A run must not be older: its alerts were stepped from states
// at that instant, and stepping them back would notify a past episode again.
func (r *Run) LastRun(source string) (time.Time, error) {
	if r.d.ms != nil {
		return r.memLastRun(source)
	}
	tx, err := r.q()
	if err != nil {
		return time.Time{}, err
	}
	var ms int64
	switch err := tx.QueryRowContext(r.ctx, "SELECT at_ms FROM runs WHERE source = ?", source).Scan(&ms); {
	case errors.Is(err, sql.ErrNoRows):
		return time.Time{}, nil
	case err != nil:
		return time.Time{}, fmt.Errorf("last run of %s: %w", source, err)
	}
	return time.UnixMilli(ms).UTC(), nil
}

// SetLastRun records a run of source at at. It never moves the instant
// back: a rerun at the same --at keeps it.
func (r *Run) SetLastRun(source string, at time.Time) error {
	if r.d.ms != nil {
		return r.memSetLastRun(source, at)
	}
	tx, err := r.writable()
	if err != nil {
		return err
	}
	if _, err := tx.ExecContext(r.ctx, `INSERT INTO runs(source, at_ms) VALUES (?, ?)
		ON CONFLICT(source) DO UPDATE SET at_ms = max(at_ms, excluded.at_ms)`, source, at.UnixMilli()); err != nil {
		return fmt.Errorf("record run of %s: %w", source, err)
	}
	return nil
}
