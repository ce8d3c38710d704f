package analyze

import (
	"context"
	"database/sql"
	"fmt"
	"math"
	"time"

	"github.com/vigil-metrics/vigil/internal/metricpath"
	"github.com/vigil-metrics/vigil/queries"
)

// Extent is the stores' oldest and newest sample, as the DB synced them.
// ok is false when there is none, or when a Prometheus-compatible source
// is among the stores: its history is not known without asking for every
// metric, so a caller must not warn from it.
func (d *DB) Extent(ctx context.Context) (oldest, newest time.Time, ok bool, err error) {
	x, err := d.extent(ctx)
	if err != nil || !x.ok {
		return time.Time{}, time.Time{}, false, err
	}
	return time.UnixMilli(x.lo).UTC(), time.UnixMilli(x.hi).UTC(), true, nil
}

// Resolution estimates the interval between the stores' samples: the
// median over series (of two samples or more) of each series' mean
// interval, so that a few sparse or short-lived series do not move it.
// ok is false as for Extent, or when no series has two samples. A replay
// warns of a step below it: consecutive steps would then often read the
// same samples.
func (d *DB) Resolution(ctx context.Context) (time.Duration, bool, error) {
	x, err := d.extent(ctx)
	if err != nil || !x.ok || !x.res.Valid {
		return 0, false, err
	}
	return time.Duration(math.Round(x.res.Float64)) * time.Millisecond, true, nil
}

type extent struct {
	ok     bool
	lo, hi int64
	res    sql.NullFloat64
}

func (d *DB) extent(ctx context.Context) (extent, error) {
	if len(d.remotes) > 0 {
		return extent{}, nil
	}
	// Kept with the other answers over the attached caches: a replay
	// asks Extent then Resolution, each a scan of every sample.
	if d.memo.extent != nil {
		return *d.memo.extent, nil
	}
	var lo, hi sql.NullInt64
	var x extent
	d.memo.extentReads++
	if err := d.conn.QueryRowContext(ctx, queries.Get("extent_samples")).Scan(&lo, &hi, &x.res); err != nil {
		return extent{}, fmt.Errorf("extent of the stores: %w", err)
	}
	x.ok, x.lo, x.hi = lo.Valid && hi.Valid, lo.Int64, hi.Int64
	d.memo.extent = &x
	return x, nil
}

// FirstSample is the first sample of any series that one of sels matches
// (their names and matchers; aggregations and by labels aside), across
// the stores. An objective's data coverage is judged from its own series:
// the stores' first sample of anything (Extent) may be a host metric
// years older than a service that began pushing minutes ago. ok is false
// when no series matched has a sample, or, as for Extent, when a
// Prometheus-compatible source is among the stores.
func (d *DB) FirstSample(ctx context.Context, sels ...metricpath.Selector) (first time.Time, ok bool, err error) {
	if len(d.remotes) > 0 {
		return time.Time{}, false, nil
	}
	if err := d.loadFirstTS(ctx); err != nil {
		return time.Time{}, false, fmt.Errorf("first samples: %w", err)
	}
	var least int64
	for i := range sels {
		s := &sels[i]
		series, err := d.seriesOf(ctx, s.Name)
		if err != nil {
			return time.Time{}, false, err
		}
		for _, sr := range series {
			if !s.Match(s.Name, sr.labels) {
				continue
			}
			if ts, has := d.memo.firstTS[[2]int64{sr.store, sr.id}]; has && (!ok || ts < least) {
				least, ok = ts, true
			}
		}
	}
	if !ok {
		return time.Time{}, false, nil
	}
	return time.UnixMilli(least).UTC(), true, nil
}

// loadFirstTS reads every series' first sample time into memo.firstTS,
// once.
func (d *DB) loadFirstTS(ctx context.Context) error {
	if d.memo.firstTS != nil {
		return nil
	}
	first := map[[2]int64]int64{}
	rows, err := d.query(ctx, "buckets_series_first_ts")
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var k [2]int64
		var ts int64
		if err := rows.Scan(&k[0], &k[1], &ts); err != nil {
			return err
		}
		first[k] = ts
	}
	if err := rows.Err(); err != nil {
		return err
	}
	d.memo.firstTS = first
	return nil
}
