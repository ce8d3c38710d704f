package store

import (
	"context"
	"database/sql"
	"fmt"
)

// Compact returns the store's free pages to the file system (VACUUM, or
// an incremental vacuum on a store created with auto_vacuum=INCREMENTAL),
// refreshes SQLite's statistics (ANALYZE) and truncates the WAL. It says
// which vacuum ran: "full" or "incremental".
func (s *Store) Compact(ctx context.Context) (vacuum string, err error) {
	var mode int
	if err := s.db.QueryRowContext(ctx, "PRAGMA auto_vacuum").Scan(&mode); err != nil {
		return "", fmt.Errorf("compact %s: %w", s.Path, err)
	}
	// Maintenance statements, not queries: they take no parameters and
	// write the file, so they are not in queries/ (whose store_* files run
	// on read-only stores in tests).
	steps := []string{"VACUUM", "ANALYZE", "PRAGMA wal_checkpoint(TRUNCATE)"}
	vacuum = "full"
	if mode == 2 { // INCREMENTAL: give back the free pages without rewriting the file
		steps[0], vacuum = "PRAGMA incremental_vacuum", "incremental"
	}
	for _, st := range steps {
		rows, err := s.db.QueryContext(ctx, st) // the pragmas return rows
		if err != nil {
			return vacuum, fmt.Errorf("compact %s: %s: %w", s.Path, st, err)
		}
		for rows.Next() { //nolint:revive // drain
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return vacuum, fmt.Errorf("compact %s: %s: %w", s.Path, st, err)
		}
	}
	return vacuum, nil
}

// CheckWritable begins a write transaction and writes (an update that
// changes nothing, rolled back): permission bits say nothing about a
// read-only mount, a root-owned file seen by root, or a full disk's
// journal, while SQLite's own write path does.
func (s *Store) CheckWritable(ctx context.Context) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback() //nolint:errcheck // nothing was meant to stay
	_, err = tx.ExecContext(ctx, "UPDATE meta SET value = value WHERE key = (SELECT min(key) FROM meta)")
	return err
}

// KeepOneConnection holds the store on one connection that is never
// closed: a store opened at ":memory:" exists only on its connection (a
// second one would see another, empty database).
func (s *Store) KeepOneConnection() {
	s.db.SetMaxOpenConns(1)
	s.db.SetMaxIdleConns(1)
	s.db.SetConnMaxLifetime(0)
	s.db.SetConnMaxIdleTime(0)
}

// DBForTest is the store's database handle, for tests that read a store's
// rows directly or damage it as a hand edit or another tool would. vigil
// itself never calls it: what it needs of a store is a method named for
// it.
func (s *Store) DBForTest() *sql.DB { return s.db }
