package state

import (
	"context"
	"database/sql"
)

// stx is a run's transaction. On a memory DB (replay's, stepped by tens of
// thousands of runs back to back) each statement is prepared once and
// reused by every later run: parsing them anew cost a third of a replayed
// run. A statement is prepared on the DB when its first run is over (the
// one connection is busy until then); a file DB prepares per call, as it
// always did.
type stx struct {
	tx *sql.Tx
	d  *DB
}

func (t *stx) stmt(ctx context.Context, query string) *sql.Stmt {
	if !t.d.mem {
		return nil
	}
	if st, ok := t.d.stmts[query]; ok {
		return t.tx.StmtContext(ctx, st)
	}
	if t.d.want == nil {
		t.d.want = map[string]bool{}
	}
	t.d.want[query] = true
	return nil
}

func (t *stx) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	if st := t.stmt(ctx, query); st != nil {
		return st.ExecContext(ctx, args...)
	}
	return t.tx.ExecContext(ctx, query, args...)
}

func (t *stx) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	if st := t.stmt(ctx, query); st != nil {
		return st.QueryContext(ctx, args...)
	}
	return t.tx.QueryContext(ctx, query, args...)
}

func (t *stx) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	if st := t.stmt(ctx, query); st != nil {
		return st.QueryRowContext(ctx, args...)
	}
	return t.tx.QueryRowContext(ctx, query, args...)
}

// prepareWanted prepares the statements runs asked for since, once the
// connection is free (between runs). One that fails to prepare is left
// to be parsed per call.
func (d *DB) prepareWanted(ctx context.Context) {
	if !d.mem || len(d.want) == 0 {
		return
	}
	if d.stmts == nil {
		d.stmts = map[string]*sql.Stmt{}
	}
	for q := range d.want {
		if st, err := d.db.PrepareContext(ctx, q); err == nil {
			d.stmts[q] = st
		}
	}
	clear(d.want)
}
