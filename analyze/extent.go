package analyze

import (
	"context"
	"database/sql"
	"fmt"
	"math"
	"time"

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
