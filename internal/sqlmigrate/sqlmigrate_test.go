package sqlmigrate

import (
	"context"
	"database/sql"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"

	_ "modernc.org/sqlite"
)

func TestApply(t *testing.T) {
	ok := fstest.MapFS{
		"m/0002_b.sql": {Data: []byte("CREATE TABLE b(x INTEGER);")},
		"m/0001_a.sql": {Data: []byte("CREATE TABLE a(x INTEGER);")},
		"m/notes.txt":  {Data: []byte("not a migration")},
	}
	bad := fstest.MapFS{"m/0003_c.sql": {Data: []byte("CREATE TABLE b(x INTEGER);")}} // b exists by then
	for k, v := range ok {
		bad[k] = v
	}
	db, err := sql.Open("sqlite", filepath.Join(t.TempDir(), "x.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()

	set := MustLoad(ok, "m/*.sql")
	if set.Version() != 2 {
		t.Fatalf("Version = %d, want 2 (files in name order, .sql only)", set.Version())
	}
	tx, _ := db.BeginTx(ctx, nil)
	if err := set.Apply(ctx, tx, 1); err != nil { // only 0002 runs
		t.Fatal(err)
	}
	var a, b int
	tx.QueryRowContext(ctx, "SELECT count(*) FROM sqlite_schema WHERE name = 'a'").Scan(&a)
	tx.QueryRowContext(ctx, "SELECT count(*) FROM sqlite_schema WHERE name = 'b'").Scan(&b)
	if a != 0 || b != 1 {
		t.Errorf("from 1: table a %d, b %d; want only b", a, b)
	}
	tx.Rollback()

	tx, _ = db.BeginTx(ctx, nil)
	defer tx.Rollback()
	err = MustLoad(bad, "m/*.sql").Apply(ctx, tx, 0)
	if err == nil || !strings.HasPrefix(err.Error(), "migrate 0003_c.sql: ") {
		t.Fatalf("Apply: %v, want the error named after 0003_c.sql", err)
	}
}
