package analyze

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"math"

	"github.com/vigil-metrics/vigil/internal/store"
)

// StoredSeries is one series of one store as it is stored, for readers
// that need the samples themselves rather than an aggregate
// (analyze/promstore, behind vigil serve).
type StoredSeries struct {
	Store int // index in DB.Stores
	ID    int64
	Name  string
	Type  store.Type
	// Labels holds service too, as metric paths see it (unless the
	// series has a label of that name already).
	Labels map[string]string
	// Oldest and Newest sample (unix ms); HasSamples false when none.
	Oldest, Newest int64
	HasSamples     bool
	// Samples is how many samples it has: a reader that reads them all
	// (RawSamplesInto) can make room for them at once.
	Samples int64
}

// SeriesRef names a stored series: its store's index and its id there.
type SeriesRef struct {
	Store int
	ID    int64
}

// RawSample is one stored sample: a counter's increment, a gauge's value,
// a histogram's observation.
type RawSample struct {
	TS    int64 // unix ms
	Value float64
}

// AllSeries lists every series of every store, by name.
func (d *DB) AllSeries(ctx context.Context) ([]StoredSeries, error) {
	if len(d.remotes) > 0 {
		return nil, errors.New("raw series: a Prometheus-compatible source is not a store")
	}
	rows, err := d.query(ctx, "raw_series_extent")
	if err != nil {
		return nil, fmt.Errorf("list series: %w", err)
	}
	defer rows.Close()
	var out []StoredSeries
	for rows.Next() {
		var s StoredSeries
		var typ, labelsJSON, service string
		var lo, hi sql.NullInt64
		if err := rows.Scan(&s.Store, &s.ID, &s.Name, &typ, &labelsJSON, &service, &lo, &hi, &s.Samples); err != nil {
			return nil, err
		}
		s.Type = store.Type(typ)
		s.Labels = map[string]string{}
		if err := json.Unmarshal([]byte(labelsJSON), &s.Labels); err != nil {
			return nil, fmt.Errorf("series %d of %s has bad labels: %w", s.ID, d.Stores[s.Store], err)
		}
		if _, ok := s.Labels["service"]; !ok && service != "" {
			s.Labels["service"] = service
		}
		s.Oldest, s.Newest, s.HasSamples = lo.Int64, hi.Int64, lo.Valid
		out = append(out, s)
	}
	return out, rows.Err()
}

// RawSamples reads the samples with mint <= ts <= maxt of groups of
// series: out[g] holds the samples of every series in groups[g], by time
// (equal times by value).
func (d *DB) RawSamples(ctx context.Context, groups [][]SeriesRef, mint, maxt int64) ([][]RawSample, error) {
	out := make([][]RawSample, len(groups))
	if err := d.RawSamplesInto(ctx, out, groups, mint, maxt); err != nil {
		return nil, err
	}
	return out, nil
}

// RawSamplesInto is RawSamples appending to out (one empty slice a group,
// with the room the caller expects the group's samples to take: a day of
// 1,000 counters grown an append at a time allocated five times its
// samples, docs/performance.md).
func (d *DB) RawSamplesInto(ctx context.Context, out [][]RawSample, groups [][]SeriesRef, mint, maxt int64) error {
	if len(out) != len(groups) {
		return fmt.Errorf("read samples: %d groups, room for %d", len(groups), len(out))
	}
	var st, id, grp []int64
	for g, refs := range groups {
		for _, r := range refs {
			st, id, grp = append(st, int64(r.Store)), append(id, r.ID), append(grp, int64(g))
		}
	}
	if len(id) == 0 {
		return nil
	}
	set, err := d.fillSelection(ctx, st, id, grp)
	if err != nil {
		return err
	}
	if done, err := d.rawSamplesArrow(ctx, out, []any{set, mint, maxt}); err != nil {
		return fmt.Errorf("read samples: %w", err)
	} else if !done {
		if err := d.rawSamplesSQL(ctx, out, set, mint, maxt); err != nil {
			return err
		}
	}
	var buf []RawSample
	for _, g := range out {
		buf = sortRuns(g, buf)
	}
	return nil
}

// compareRaw orders samples by time, equal times by value, NaN after
// every number (as DuckDB's ORDER BY puts it: of two gauge samples at one
// millisecond vigil serve keeps the last).
func compareRaw(a, b RawSample) int {
	if c := cmp.Compare(a.TS, b.TS); c != 0 {
		return c
	}
	switch an, bn := math.IsNaN(a.Value), math.IsNaN(b.Value); {
	case an && bn:
		return 0
	case an:
		return 1
	case bn:
		return -1
	}
	return cmp.Compare(a.Value, b.Value)
}

// rawSamplesSQL is RawSamples's read through database/sql.
func (d *DB) rawSamplesSQL(ctx context.Context, out [][]RawSample, set, mint, maxt int64) error {
	rows, err := d.query(ctx, "raw_samples", set, mint, maxt)
	if err != nil {
		return fmt.Errorf("read samples: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var g int
		var s RawSample
		if err := rows.Scan(&g, &s.TS, &s.Value); err != nil {
			return err
		}
		if g < 0 || g >= len(out) {
			return fmt.Errorf("read samples: group %d out of range", g)
		}
		out[g] = append(out[g], s)
	}
	return rows.Err()
}
