package analyze

import (
	"context"
	"fmt"
	"time"

	"github.com/vigil-metrics/vigil/queries"
)

// SampledHistograms are the names of the stores' histogram metrics with
// samples in (start, end], the most sampled first, at most n. A report
// with no key histogram configured shows these rather than nothing. A
// Prometheus-compatible source has no histogram type to list: none.
func (d *DB) SampledHistograms(ctx context.Context, start, end time.Time, n int) ([]string, error) {
	if len(d.remotes) == len(d.Stores) || n <= 0 {
		return nil, nil
	}
	rows, err := d.conn.QueryContext(ctx, queries.Get("histograms_sampled"), start.UnixMilli(), end.UnixMilli(), n)
	if err != nil {
		return nil, fmt.Errorf("list histograms: %w", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var name string
		var count int64
		if err := rows.Scan(&name, &count); err != nil {
			return nil, err
		}
		out = append(out, name)
	}
	return out, rows.Err()
}
