package cache

import (
	"bytes"
	"context"
	"database/sql"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	duckdb "github.com/duckdb/duckdb-go/v2"

	"github.com/vigil-metrics/vigil/internal/store"
	"github.com/vigil-metrics/vigil/queries"
)

func openDuck(t *testing.T, file string) *sql.Conn {
	t.Helper()
	c, err := duckdb.NewConnector("?autoinstall_known_extensions=false&autoload_known_extensions=false", nil)
	if err != nil {
		t.Fatal(err)
	}
	db := sql.OpenDB(c)
	t.Cleanup(func() { db.Close() })
	conn, err := db.Conn(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	if _, err := conn.ExecContext(context.Background(), "ATTACH '"+file+"' AS c0"); err != nil {
		t.Fatal(err)
	}
	return conn
}

// A cold sync large enough to take the parallel path copies every row
// exactly: same count, and the same values bit for bit (integral REALs,
// which SQLite stores as integers, included).
func TestColdSyncCopiesExactly(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	p := filepath.Join(dir, "v.db")
	st, err := store.Open(ctx, p, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	tx, _ := st.Begin(ctx)
	ids := make([]int64, 7)
	for i := range ids {
		ids[i], _ = tx.Series(ctx, "m", store.Gauge, map[string]string{"i": string(rune('a' + i))}, "")
	}
	special := []float64{0.1, 1e300, -1e-300, 3, math.Copysign(0, -1), math.MaxFloat64, 123456789.123456789}
	const n = 300_000
	for i := 0; i < n; i++ {
		v := special[i%len(special)] * float64(i%3+1) / 3
		if i%len(special) == 1 {
			v = 1e300
		}
		if err := tx.Append(ctx, ids[i%7], int64(i), v); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	st.Close()

	conn := openDuck(t, filepath.Join(dir, "c.duckdb"))
	stats, err := Sync(ctx, conn, "c0", p)
	if err != nil {
		t.Fatal(err)
	}
	if !stats.Rebuilt || stats.Added != n {
		t.Fatalf("Sync = %+v, want a build of %d rows", stats, n)
	}
	// Compare row by row against SQLite, in id order (ts = position).
	src, _ := sql.Open("sqlite", p)
	defer src.Close()
	rows, err := src.Query("SELECT series_id, ts, value FROM samples ORDER BY id")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	got, err := conn.QueryContext(ctx, "SELECT series_id, ts, value FROM c0.main.samples ORDER BY ts")
	if err != nil {
		t.Fatal(err)
	}
	defer got.Close()
	count := 0
	for rows.Next() {
		if !got.Next() {
			t.Fatalf("cache has only %d rows", count)
		}
		var a, b [2]int64
		var av, bv float64
		rows.Scan(&a[0], &a[1], &av)
		got.Scan(&b[0], &b[1], &bv)
		if a != b || math.Float64bits(av) != math.Float64bits(bv) {
			t.Fatalf("row %d: store (%v %v %v), cache (%v %v %v)", count, a[0], a[1], av, b[0], b[1], bv)
		}
		count++
	}
	if got.Next() {
		t.Fatal("cache has extra rows")
	}
}

// A store rewritten under the same identity (a restored copy with other
// rows at the same ids) is caught by the row at the watermark.
func TestRewrittenStoreRebuilds(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	p := filepath.Join(dir, "v.db")
	st, _ := store.Open(ctx, p, store.Options{})
	st.Write(ctx, []store.Sample{{Name: "g", Type: store.Gauge, TS: 1, Value: 1}, {Name: "g", Type: store.Gauge, TS: 2, Value: 2}})
	conn := openDuck(t, filepath.Join(dir, "c.duckdb"))
	if _, err := Sync(ctx, conn, "c0", p); err != nil {
		t.Fatal(err)
	}
	// Rewrite behind the triggers' back, as a restore of another copy would.
	st.DBForTest().Exec("DROP TRIGGER samples_deleted")
	st.DBForTest().Exec("DELETE FROM samples")
	st.DBForTest().Exec("DELETE FROM sqlite_sequence")
	st.DBForTest().Exec("INSERT INTO samples(series_id, ts, value) VALUES (1, 5, 50), (1, 6, 60), (1, 7, 70)")
	st.Close()
	stats, err := Sync(ctx, conn, "c0", p)
	if err != nil {
		t.Fatal(err)
	}
	if !stats.Rebuilt || stats.Reason != "store was rewritten" || stats.Added != 3 {
		t.Errorf("Sync = %+v, want a rebuild because the store was rewritten", stats)
	}
	var sum float64
	conn.QueryRowContext(ctx, "SELECT sum(value) FROM c0.main.samples").Scan(&sum)
	if sum != 180 {
		t.Errorf("sum = %v, want 180", sum)
	}
}

// A store whose sqlite_sequence row was lost still syncs all its rows.
func TestLostSequenceRow(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	p := filepath.Join(dir, "v.db")
	st, _ := store.Open(ctx, p, store.Options{})
	st.Write(ctx, []store.Sample{{Name: "g", Type: store.Gauge, TS: 1, Value: 1}, {Name: "g", Type: store.Gauge, TS: 2, Value: 2}})
	st.DBForTest().Exec("DELETE FROM sqlite_sequence")
	st.Close()
	conn := openDuck(t, filepath.Join(dir, "c.duckdb"))
	stats, err := Sync(ctx, conn, "c0", p)
	if err != nil || stats.Added != 2 {
		t.Fatalf("Sync = %+v, %v; want 2 rows", stats, err)
	}
	stats, err = Sync(ctx, conn, "c0", p)
	if err != nil || stats.Rebuilt || stats.Added != 0 {
		t.Errorf("second Sync = %+v, %v; want no change", stats, err)
	}
}

// The copy statement names the aggregate literally; it must be the one
// registered here.
func TestCopyStatementNamesCopyFunc(t *testing.T) {
	if q := queries.Get("store_copy_rows"); !strings.Contains(q, copyFunc+"(") {
		t.Errorf("queries/store_copy_rows.sql does not call %s: %s", copyFunc, q)
	}
}

// A sync that finds nothing new writes nothing: no WAL, no change to the
// cache file, so a cron job's warm run costs no fsync. A sync after new
// rows does write.
func TestUnchangedSyncWritesNothing(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	p := filepath.Join(dir, "v.db")
	st, err := store.Open(ctx, p, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	write := func(v float64) {
		t.Helper()
		if _, err := st.Write(ctx, []store.Sample{{Name: "m", Type: store.Gauge, TS: 1795946400000, Value: v}}); err != nil {
			t.Fatal(err)
		}
	}
	write(1)
	file := filepath.Join(dir, "v.duckdb")
	sync := func() (Stats, []byte) {
		t.Helper()
		c, err := duckdb.NewConnector("?autoinstall_known_extensions=false&autoload_known_extensions=false", nil)
		if err != nil {
			t.Fatal(err)
		}
		db := sql.OpenDB(c)
		conn, err := db.Conn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := conn.ExecContext(ctx, "ATTACH '"+file+"' AS c0"); err != nil {
			t.Fatal(err)
		}
		s, err := Sync(ctx, conn, "c0", p)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := os.Stat(file + ".wal"); err == nil && s.Added == 0 {
			t.Error("an unchanged sync left a WAL")
		}
		conn.Close()
		db.Close()
		b, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		return s, b
	}
	_, first := sync()
	s, second := sync()
	if s.Added != 0 || s.Rebuilt || !bytes.Equal(first, second) {
		t.Fatalf("unchanged sync: %+v, file changed: %v", s, !bytes.Equal(first, second))
	}
	write(2)
	s, third := sync()
	if s.Added != 1 || bytes.Equal(second, third) {
		t.Fatalf("sync after a new row: %+v, file changed: %v", s, !bytes.Equal(second, third))
	}
}
