package state

import (
	"context"
	"database/sql"
)

// maxPrepared bounds a memory DB's prepared statements: the queries are
// the package's own, a few dozen texts, but one built from a list
// (Notices) could vary.
const maxPrepared = 256

// A memory DB prepares the statements its runs execute. Replay runs the
// pipeline tens of thousands of times on one, and parsing each statement
// anew cost more than executing it. A statement seen in a run is prepared
// at the next Begin, when the memory DB's only connection is free (a
// statement is prepared on a connection of the pool); the runs then use it
// inside their transaction on that same connection. File DBs keep parsing:
// a cron run is one run per process.

// exec is tx.ExecContext, through the prepared statement when there is one.
func (r *Run) exec(tx *sql.Tx, query string, args ...any) (sql.Result, error) {
	if st := r.d.stmt(query); st != nil {
		return tx.StmtContext(r.ctx, st).ExecContext(r.ctx, args...)
	}
	return tx.ExecContext(r.ctx, query, args...)
}

// query is tx.QueryContext, through the prepared statement when there is one.
func (r *Run) query(tx *sql.Tx, query string, args ...any) (*sql.Rows, error) {
	if st := r.d.stmt(query); st != nil {
		return tx.StmtContext(r.ctx, st).QueryContext(r.ctx, args...)
	}
	return tx.QueryContext(r.ctx, query, args...)
}

// queryRow is tx.QueryRowContext, through the prepared statement when there
// is one.
func (r *Run) queryRow(tx *sql.Tx, query string, args ...any) *sql.Row {
	if st := r.d.stmt(query); st != nil {
		return tx.StmtContext(r.ctx, st).QueryRowContext(r.ctx, args...)
	}
	return tx.QueryRowContext(r.ctx, query, args...)
}

// stmt is the prepared query on a memory DB, nil when there is none yet
// (the query is then noted, to be prepared at the next Begin).
func (d *DB) stmt(query string) *sql.Stmt {
	if !d.mem {
		return nil
	}
	d.stmtMu.Lock()
	defer d.stmtMu.Unlock()
	if st, ok := d.stmts[query]; ok {
		return st
	}
	if len(d.stmts) < maxPrepared {
		if d.stmts == nil {
			d.stmts = map[string]*sql.Stmt{}
		}
		d.stmts[query] = nil
	}
	return nil
}

// prepareSeen prepares the statements noted since the last call. It runs
// at Begin on a memory DB, while no run holds the connection.
func (d *DB) prepareSeen(ctx context.Context) error {
	d.stmtMu.Lock()
	defer d.stmtMu.Unlock()
	for q, st := range d.stmts {
		if st != nil {
			continue
		}
		p, err := d.db.PrepareContext(ctx, q)
		if err != nil {
			return err
		}
		d.stmts[q] = p
	}
	return nil
}

// closeStmts closes the prepared statements.
func (d *DB) closeStmts() {
	d.stmtMu.Lock()
	defer d.stmtMu.Unlock()
	for _, st := range d.stmts {
		if st != nil {
			st.Close()
		}
	}
	d.stmts = nil
}
