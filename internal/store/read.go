package store

import (
	"context"
	"database/sql"
	"errors"
	"strings"

	"github.com/vigil-metrics/vigil/queries"
)

// Reads of a store's tables for the rest of vigil: each method is one
// question, so that SQL over the store stays in this package (and in
// queries/store_*.sql).

// Meta reads the store's meta table.
func (s *Store) Meta(ctx context.Context) (Meta, error) { return ReadMeta(ctx, s.db) }

// ReadConn is a connection of its own on the store, for a reader of its
// tables through queries/store_*.sql: the analytics cache reads its
// bookkeeping in one snapshot on one, and a cold sync's samples over
// several at once. The caller closes it.
func (s *Store) ReadConn(ctx context.Context) (*sql.Conn, error) { return s.db.Conn(ctx) }

// Totals are a store's size and time range (vigil store info and stats).
type Totals struct {
	Series, Samples int64
	// First and Last are the oldest and newest sample (unix ms); not
	// valid without samples.
	First, Last sql.NullInt64
	// Bytes are the database file's pages (without its WAL); FreeBytes
	// those on the freelist, what VACUUM would return.
	Bytes, FreeBytes int64
}

// Totals counts the store's series and samples and sizes its file.
func (s *Store) Totals(ctx context.Context) (Totals, error) {
	var t Totals
	err := s.db.QueryRowContext(ctx, queries.Get("store_stats_totals")).
		Scan(&t.Series, &t.Samples, &t.First, &t.Last, &t.Bytes, &t.FreeBytes)
	return t, err
}

// SeriesRows is one series and how many sample rows it has.
type SeriesRows struct {
	Name, Type, Labels, Service string
	Rows                        int64
	// First and Last are its oldest and newest sample (unix ms).
	First, Last int64
}

// TopSeries are the n series with the most sample rows, most first.
func (s *Store) TopSeries(ctx context.Context, n int) ([]SeriesRows, error) {
	rows, err := s.db.QueryContext(ctx, queries.Get("store_stats_top_series"), n)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []SeriesRows
	for rows.Next() {
		var r SeriesRows
		if err := rows.Scan(&r.Name, &r.Type, &r.Labels, &r.Service, &r.Rows, &r.First, &r.Last); err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// SeriesActivity is a series as stored (labels as canonical JSON) and
// whether it has samples in a window.
type SeriesActivity struct {
	Name, Type, Labels, Service string
	Active                      bool
}

// Activity lists every series, by id, marking those with samples in
// (start, end] (unix ms): vigil lint's view of a store.
func (s *Store) Activity(ctx context.Context, start, end int64) ([]SeriesActivity, error) {
	rows, err := s.db.QueryContext(ctx, queries.Get("store_lint_series"), start, end)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []SeriesActivity
	for rows.Next() {
		var a SeriesActivity
		if err := rows.Scan(&a.Name, &a.Type, &a.Labels, &a.Service, &a.Active); err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, rows.Err()
}

// LabelSet is a series' labels (canonical JSON) and service.
type LabelSet struct{ Labels, Service string }

// LabelSets are the label sets of metric's series.
func (s *Store) LabelSets(ctx context.Context, metric string) ([]LabelSet, error) {
	// The series table's UNIQUE (name, labels, service) index makes this a
	// range lookup, not a scan.
	rows, err := s.db.QueryContext(ctx, "SELECT labels, service FROM series WHERE name = ?", metric)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []LabelSet
	for rows.Next() {
		var l LabelSet
		if err := rows.Scan(&l.Labels, &l.Service); err != nil {
			return nil, err
		}
		out = append(out, l)
	}
	return out, rows.Err()
}

// MetricType is the type of metric's series; ok is false when the store
// has none.
func (s *Store) MetricType(ctx context.Context, metric string) (t Type, ok bool, err error) {
	var typ string
	err = s.db.QueryRowContext(ctx, "SELECT type FROM series WHERE name = ? LIMIT 1", metric).Scan(&typ)
	if errors.Is(err, sql.ErrNoRows) {
		return "", false, nil
	}
	return Type(typ), err == nil, err
}

// MetricTypes are the types of every metric the store holds (by name).
func (s *Store) MetricTypes(ctx context.Context) (map[string]Type, error) {
	rows, err := s.db.QueryContext(ctx, "SELECT name, min(type) FROM series GROUP BY name")
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]Type{}
	for rows.Next() {
		var name, typ string
		if rows.Scan(&name, &typ) == nil {
			out[name] = Type(typ)
		}
	}
	return out, rows.Err()
}

// FirstSample is the time (unix ms) of the store's first row: rows are
// appended in time order, so this is its oldest sample unless older ones
// were imported later (a min(ts) would scan the whole table). ok is false
// for an empty store.
func (s *Store) FirstSample(ctx context.Context) (ms int64, ok bool, err error) {
	var first sql.NullInt64
	err = s.db.QueryRowContext(ctx, "SELECT ts FROM samples ORDER BY id LIMIT 1").Scan(&first)
	if errors.Is(err, sql.ErrNoRows) || (err == nil && !first.Valid) {
		return 0, false, nil
	}
	return first.Int64, err == nil, err
}

// SampledAt lists which of the series ids (sorted) have a sample at ts.
// It reads through the store's pool, not a transaction: in WAL mode it
// sees what is committed.
func (s *Store) SampledAt(ctx context.Context, ts int64, ids []int64) (map[int64]bool, error) {
	present := map[int64]bool{}
	const chunk = 500 // far below SQLite's limit on parameters
	for len(ids) > 0 {
		part := ids[:min(chunk, len(ids))]
		ids = ids[len(part):]
		args := []any{ts}
		marks := make([]string, len(part))
		for i, id := range part {
			args = append(args, id)
			marks[i] = "?"
		}
		rows, err := s.db.QueryContext(ctx,
			"SELECT DISTINCT series_id FROM samples WHERE ts = ? AND series_id IN ("+strings.Join(marks, ",")+")", args...)
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			var id int64
			if err := rows.Scan(&id); err != nil {
				rows.Close()
				return nil, err
			}
			present[id] = true
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
	}
	return present, nil
}

// StoredSample is a sample as stored, with its series' type and labels
// (canonical JSON).
type StoredSample struct {
	Type, Labels string
	TS           int64
	Value        float64
}

// SamplesOf are the samples of metric's series in time order (ties in the
// order they were written): what a test of instrumentation reads back.
func (s *Store) SamplesOf(ctx context.Context, metric string) ([]StoredSample, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT se.type, se.labels, s.ts, s.value FROM samples s JOIN series se ON se.id = s.series_id
		WHERE se.name = ? ORDER BY s.ts, s.id`, metric)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []StoredSample
	for rows.Next() {
		var x StoredSample
		if err := rows.Scan(&x.Type, &x.Labels, &x.TS, &x.Value); err != nil {
			return nil, err
		}
		out = append(out, x)
	}
	return out, rows.Err()
}
