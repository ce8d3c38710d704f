package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"strings"
	"sync"
)

// rowsPerInsert is how many samples one multi-row INSERT carries; 3
// parameters a row stays far below SQLite's 32766-parameter limit.
const rowsPerInsert = 400

var insertSamplesSQL = func() string {
	var b strings.Builder
	b.WriteString("INSERT INTO samples(series_id, ts, value) VALUES ")
	for i := 0; i < rowsPerInsert; i++ {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString("(?,?,?)")
	}
	return b.String()
}()

// Tx is one atomic write: everything added through it lands on Commit, or
// nothing does.
type Tx struct {
	s        *Store
	tx       *sql.Tx
	stmt     *sql.Stmt
	buf      []any
	n        int
	added    int64
	newKeys  []string
	newTypes []string
	done     bool
	// minTS is the oldest sample appended (math.MaxInt64 when none): with
	// Backfill, a write below the retention horizon moves it back on Commit.
	minTS int64
	// Backfill lets samples older than the retention horizon move it back
	// (an import of old data after a prune is deliberate: without this its
	// rows would be stored but never queried). Other writers' old samples
	// (a pushed backlog) stay below the horizon and are pruned, rather than
	// making every query cache rebuild.
	Backfill bool

	// mu serialises Series and AppendRows (an import calls them from two
	// goroutines) so that once a statement fails for a reason other than
	// bad input, nothing else runs in the transaction: SQLite rolls a
	// transaction back by itself after some errors (a full disk), and a
	// later statement would then commit on its own, breaking "all or
	// nothing".
	mu     sync.Mutex
	broken error
}

// Begin starts a write transaction (it takes SQLite's write lock at once,
// waiting up to the busy timeout).
func (s *Store) Begin(ctx context.Context) (*Tx, error) {
	if s.readOnly {
		return nil, errors.New("store opened read-only")
	}
	if s.series == nil {
		if err := s.loadSeries(ctx); err != nil {
			return nil, err
		}
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("begin write: %w", err)
	}
	return &Tx{s: s, tx: tx, buf: make([]any, 0, 3*rowsPerInsert), minTS: math.MaxInt64}, nil
}

// MaxCachedSeries bounds the series a writer keeps in memory: a store
// with more (a long-lived agent's, after many label sets came and went) is
// looked up through its unique index for the rest, so a writer's memory
// does not grow with what is on disk.
var MaxCachedSeries = 100_000

func (s *Store) loadSeries(ctx context.Context) error {
	s.series = map[string]seriesEntry{}
	s.types = map[string]Type{}
	var n int
	if err := s.db.QueryRowContext(ctx, "SELECT count(*) FROM series").Scan(&n); err != nil {
		return fmt.Errorf("load series: %w", err)
	}
	if n > MaxCachedSeries {
		return nil
	}
	rows, err := s.db.QueryContext(ctx, "SELECT id, name, type, labels, service FROM series")
	if err != nil {
		return fmt.Errorf("load series: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		var name, typ, labels, service string
		if err := rows.Scan(&id, &name, &typ, &labels, &service); err != nil {
			return err
		}
		s.series[seriesKey(name, labels, service)] = seriesEntry{id, Type(typ)}
		s.types[name] = Type(typ)
	}
	return rows.Err()
}

// Series returns the id of a series, creating it inside this transaction if
// needed. It refuses a name already used with another type.
func (t *Tx) Series(ctx context.Context, name string, typ Type, labels map[string]string, service string) (int64, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.broken != nil {
		return 0, t.broken
	}
	canon := CanonicalLabels(labels)
	key := seriesKey(name, canon, service)
	if e, ok := t.s.series[key]; ok {
		if e.typ != typ {
			return 0, invalid("metric %s is a %s, not a %s", name, e.typ, typ)
		}
		return e.id, nil
	}
	if err := ValidateSeries(name, typ, labels); err != nil {
		return 0, err
	}
	if err := ValidateService(service); err != nil {
		return 0, err
	}
	if known, ok := t.s.types[name]; ok && known != typ {
		return 0, invalid("metric %s is a %s, not a %s", name, known, typ)
	}
	// Another process may have added series since we loaded them.
	var id int64
	var got string
	err := t.tx.QueryRowContext(ctx, "SELECT id, type FROM series WHERE name = ? AND labels = ? AND service = ?",
		name, canon, service).Scan(&id, &got)
	switch {
	case err == nil:
		if Type(got) != typ {
			t.s.types[name] = Type(got)
			return 0, invalid("metric %s is a %s, not a %s", name, got, typ)
		}
	case errors.Is(err, sql.ErrNoRows):
		if _, ok := t.s.types[name]; !ok {
			var other string
			err := t.tx.QueryRowContext(ctx, "SELECT type FROM series WHERE name = ? LIMIT 1", name).Scan(&other)
			if err == nil && Type(other) != typ {
				t.s.types[name] = Type(other) // on disk already: outlives this transaction
				return 0, invalid("metric %s is a %s, not a %s", name, other, typ)
			}
		}
		err = t.tx.QueryRowContext(ctx, "INSERT INTO series(name, type, labels, service) VALUES (?, ?, ?, ?) RETURNING id",
			name, string(typ), canon, service).Scan(&id)
		if err != nil {
			t.broken = fmt.Errorf("add series %s: %w", name, err)
			return 0, t.broken
		}
	default:
		t.broken = fmt.Errorf("look up series %s: %w", name, err)
		return 0, t.broken
	}
	if len(t.s.series) >= MaxCachedSeries {
		// Start the cache over rather than grow it: every entry is only a
		// shortcut for the lookups above.
		clear(t.s.series)
		clear(t.s.types)
	}
	t.s.series[key] = seriesEntry{id, typ}
	t.newKeys = append(t.newKeys, key)
	if _, ok := t.s.types[name]; !ok {
		t.s.types[name] = typ
		t.newTypes = append(t.newTypes, name)
	}
	return id, nil
}

// Append adds one sample of an existing series. The value must already be
// validated (ValidateValue).
func (t *Tx) Append(ctx context.Context, seriesID, tsMS int64, value float64) error {
	if t.broken != nil {
		return t.broken
	}
	t.buf = append(t.buf, seriesID, tsMS, value)
	t.minTS = min(t.minTS, tsMS)
	t.n++
	if t.n == rowsPerInsert {
		return t.flush(ctx)
	}
	return nil
}

// AppendRows adds samples of existing series (ids from Series) whose values
// are already validated. An import parses on one goroutine (calling Series)
// while another appends: that split is allowed, one goroutine each, since
// the two touch disjoint state and database/sql serialises their use of the
// connection.
func (t *Tx) AppendRows(ctx context.Context, sid, ts []int64, v []float64) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.broken != nil {
		return t.broken
	}
	for i := range sid {
		t.buf = append(t.buf, sid[i], ts[i], v[i])
		t.minTS = min(t.minTS, ts[i])
		t.n++
		if t.n == rowsPerInsert {
			if err := t.flush(ctx); err != nil {
				return err
			}
		}
	}
	return nil
}

// Add validates s, resolves its series and appends it.
func (t *Tx) Add(ctx context.Context, s Sample) error {
	if err := s.Validate(); err != nil {
		return err
	}
	id, err := t.Series(ctx, s.Name, s.Type, s.Labels, s.Service)
	if err != nil {
		return err
	}
	return t.Append(ctx, id, s.TS, s.Value)
}

func (t *Tx) flush(ctx context.Context) error {
	if t.n == 0 {
		return nil
	}
	var err error
	if t.n == rowsPerInsert {
		if t.stmt == nil {
			t.stmt, err = t.tx.PrepareContext(ctx, insertSamplesSQL)
			if err != nil {
				return fmt.Errorf("prepare insert: %w", err)
			}
		}
		_, err = t.stmt.ExecContext(ctx, t.buf...)
	} else {
		q := insertSamplesSQL[:len("INSERT INTO samples(series_id, ts, value) VALUES ")+t.n*len("(?,?,?),")-1]
		_, err = t.tx.ExecContext(ctx, q, t.buf...)
	}
	if err != nil {
		t.broken = fmt.Errorf("insert samples: %w", err)
		return t.broken
	}
	t.added += int64(t.n)
	t.n = 0
	t.buf = t.buf[:0]
	return nil
}

// Commit writes what is buffered and commits; it returns the number of
// samples written.
func (t *Tx) Commit(ctx context.Context) (int64, error) {
	if t.broken != nil {
		t.Rollback()
		return 0, t.broken
	}
	if err := t.flush(ctx); err != nil {
		t.Rollback()
		return 0, err
	}
	if err := t.lowerHorizon(ctx); err != nil {
		t.Rollback()
		return 0, err
	}
	t.done = true
	if t.stmt != nil {
		t.stmt.Close()
	}
	if err := t.tx.Commit(); err != nil {
		t.forget()
		return 0, fmt.Errorf("commit: %w", err)
	}
	return t.added, nil
}

// lowerHorizon moves the retention horizon back to the oldest sample
// written, when that is older: a write below the horizon is deliberate
// (an import of old data after a prune), and caches keep only rows at or
// after the horizon, so without this the rows would be stored but never
// seen. A cache that finds the store's horizon below its own re-reads.
func (t *Tx) lowerHorizon(ctx context.Context) error {
	if !t.Backfill || t.minTS == math.MaxInt64 {
		return nil
	}
	_, err := t.tx.ExecContext(ctx,
		"UPDATE meta SET value = CAST(? AS TEXT) WHERE key = ? AND CAST(value AS INTEGER) > ?",
		t.minTS, MetaHorizonMS, t.minTS)
	if err != nil {
		return fmt.Errorf("lower retention horizon: %w", err)
	}
	return nil
}

// Rollback discards the transaction; safe to call after Commit.
func (t *Tx) Rollback() {
	if t.done {
		return
	}
	t.done = true
	if t.stmt != nil {
		t.stmt.Close()
	}
	t.tx.Rollback() //nolint:errcheck // nothing to do about a failed rollback
	t.forget()
}

// forget drops series this transaction created from the in-memory index,
// since they no longer exist in the store.
func (t *Tx) forget() {
	for _, k := range t.newKeys {
		delete(t.s.series, k)
	}
	for _, n := range t.newTypes {
		delete(t.s.types, n)
	}
}

// Write adds samples in one transaction.
func (s *Store) Write(ctx context.Context, samples []Sample) (int64, error) {
	tx, err := s.Begin(ctx)
	if err != nil {
		return 0, err
	}
	for i := range samples {
		if err := tx.Add(ctx, samples[i]); err != nil {
			tx.Rollback()
			return 0, err
		}
	}
	return tx.Commit(ctx)
}

// TypeOf is the type this store knows for a metric name, if any.
func (t *Tx) TypeOf(name string) (Type, bool) {
	typ, ok := t.s.types[name]
	return typ, ok
}
