package analyze

import (
	"context"
	"fmt"
	"math"
	"math/big"

	"github.com/vigil-metrics/vigil/internal/metricpath"
)

// Pooled groups. A group that pools several series (sum, avg, stddev, a
// rate without by) gets its rows in the order the source keeps them: a
// store in the order they were written (series after series when imported
// from OpenMetrics, interleaved when the agent wrote them), a
// Prometheus-compatible source in time order. Kahan's sum and Welford's
// variance depend on that order in their last bits, so such a group's sum,
// mean and standard deviation come from exact integer sums instead
// (in Go over the Arrow values, pooled_go.go; else agg_exact_parts on
// DuckDB's threads), rounded once: the same bits whatever the order. A group of one series reads its rows in time order
// from every source and keeps the one-thread Kahan answer; sums of whole
// numbers are exact in any order already (wholesums.go).

// pooled reports whether some group of the selection holds several series.
func pooled(selGrp []int64) bool {
	seen := make(map[int64]struct{}, len(selGrp))
	for _, g := range selGrp {
		if _, ok := seen[g]; ok {
			return true
		}
		seen[g] = struct{}{}
	}
	return false
}

// exactPart is one exponent's integer sums: of m, and of m^2 as
// h^2 * 2^56 + hl * 2^29 + l^2 (agg_exact_parts).
type exactPart struct {
	e              int
	s1, hh, hl, ll *big.Int
}

// exactGroup is a group's (or a cell's) parts, its sample count and
// whether every value was finite.
type exactGroup struct {
	n      int64
	finite bool
	parts  []exactPart
}

func (x *exactGroup) emin() int {
	e := math.MaxInt
	for _, p := range x.parts {
		e = min(e, p.e)
	}
	return e
}

// sum is the exact sum: S1 * 2^emin.
func (x *exactGroup) sum() *big.Float {
	if len(x.parts) == 0 {
		return new(big.Float)
	}
	emin := x.emin()
	acc := new(big.Int)
	for _, p := range x.parts {
		acc.Add(acc, new(big.Int).Lsh(p.s1, uint(p.e-emin)))
	}
	f := new(big.Float).SetPrec(uint(max(acc.BitLen(), 64)) + 64).SetInt(acc)
	return f.SetMantExp(f, emin)
}

// value is the exact sum, or mean with avg, rounded to float64.
func (x *exactGroup) value(avg bool) float64 {
	s := x.sum()
	if avg {
		s.Quo(s, new(big.Float).SetInt64(x.n))
	}
	v, _ := s.Float64()
	return v
}

// stddev is the population standard deviation from the exact sums:
// sqrt(n*S2 - S1^2) / n, the integer under the root exact (no
// cancellation can cost digits), the root and the quotient rounded at 128
// bits, then to float64.
func (x *exactGroup) stddev() float64 {
	if len(x.parts) == 0 || x.n == 0 {
		return 0
	}
	emin := x.emin()
	s1, s2 := new(big.Int), new(big.Int)
	t := new(big.Int)
	for _, p := range x.parts {
		k := uint(p.e - emin)
		s1.Add(s1, t.Lsh(p.s1, k))
		sq := new(big.Int).Lsh(p.hh, 56)
		sq.Add(sq, t.Lsh(p.hl, 29))
		sq.Add(sq, p.ll)
		s2.Add(s2, sq.Lsh(sq, 2*k))
	}
	n := big.NewInt(x.n)
	d := new(big.Int).Mul(n, s2)
	d.Sub(d, s1.Mul(s1, s1))
	if d.Sign() <= 0 {
		return 0
	}
	f := new(big.Float).SetPrec(128).SetInt(d)
	f.Sqrt(f)
	f.Quo(f, new(big.Float).SetPrec(128).SetInt64(x.n))
	f.SetMantExp(f, emin)
	v, _ := f.Float64()
	return v
}

// exactParts runs agg_exact_parts (args as agg_sum's) on DuckDB's threads.
func (d *DB) exactParts(ctx context.Context, args []any) (map[int]*exactGroup, error) {
	if err := d.oneThread(ctx, false); err != nil {
		return nil, err
	}
	rows, err := d.query(ctx, "agg_exact_parts", args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[int]*exactGroup{}
	for rows.Next() {
		var g int
		var p exactPart
		var n int64
		var fin bool
		if err := rows.Scan(&g, &p.e, &n, &p.s1, &p.hh, &p.hl, &p.ll, &fin); err != nil {
			return nil, err
		}
		x := out[g]
		if x == nil {
			x = &exactGroup{finite: true}
			out[g] = x
		}
		x.n += n
		x.finite = x.finite && fin
		x.parts = append(x.parts, p)
	}
	return out, rows.Err()
}

// pooledExact replaces each finite group's Kahan sum or mean (avg), or its
// standard deviation (stddev), by the exact one (exactGroup). Groups with
// NaN or ±Inf keep theirs: the answer is not finite either way.
func (d *DB) pooledExact(ctx context.Context, args []any, vals map[int]groupValue, avg, stddev bool) (map[int]groupValue, error) {
	parts, err := d.exactParts(ctx, args)
	if err != nil {
		return nil, err
	}
	for g, gv := range vals {
		x, ok := parts[g]
		if !ok || !x.finite {
			continue
		}
		if stddev {
			gv.v = x.stddev()
		} else {
			gv.v = x.value(avg)
		}
		vals[g] = gv
	}
	return vals, nil
}

// exactCells gives each finite cell of a pooled selection's sums (or
// means, avg) its exact value (buckets_exact_parts), in a copy of cells:
// the cells of a grid the same whatever order the rows come in, and each
// one-bucket window Eval's pooled answer to the bit.
func (d *DB) exactCells(ctx context.Context, cells []cell, start, end, b, set int64, m int, avg bool) ([]cell, error) {
	k := cellKey{query: "buckets_exact_parts", set: set, start: start, end: end, b: b}
	if avg {
		k.query += "_avg"
	}
	if cs, ok := d.memo.cells[k]; ok {
		return cs, nil
	}
	if err := d.oneThread(ctx, false); err != nil {
		return nil, err
	}
	rows, err := d.query(ctx, "buckets_exact_parts", start, end, b, set, int64(m))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	parts := map[int64]*exactGroup{}
	for rows.Next() {
		var c int64
		var p exactPart
		var n int64
		var fin bool
		if err := rows.Scan(&c, &p.e, &n, &p.s1, &fin); err != nil {
			return nil, err
		}
		if c < 0 || c >= int64(len(cells)) {
			return nil, fmt.Errorf("buckets_exact_parts: cell %d out of range", c)
		}
		x := parts[c]
		if x == nil {
			x = &exactGroup{finite: true}
			parts[c] = x
		}
		x.n += n
		x.finite = x.finite && fin
		x.parts = append(x.parts, p)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	out := append([]cell(nil), cells...)
	for c, x := range parts {
		if x.finite && out[c].ok {
			out[c].v = x.value(avg)
		}
	}
	d.keepCells(k, out)
	return out, nil
}

// pooledCells is cells, or for a pooled selection's sums and means whose
// cells are not all of whole numbers (wholeCells'), their exact values
// (exactCells): a sliding window adds the cells in one order, so its
// answer is the same whatever order each cell's rows came in, and a
// one-bucket window (exact) is Eval's pooled answer.
func (d *DB) pooledCells(ctx context.Context, sl *selection, gr slideGrid, cells []cell, exact bool) ([]cell, error) {
	switch sl.agg.Kind {
	case metricpath.Sum, metricpath.Rate, metricpath.Increase, metricpath.Avg:
	default:
		return cells, nil
	}
	q := cellQuery(sl.agg.Kind, exact)
	if d.memo.wholeKeys[cellKey{query: q, set: sl.set, start: gr.start, end: gr.endMS, b: gr.b}] || !pooled(sl.selGrp) {
		return cells, nil
	}
	return d.exactCells(ctx, cells, gr.start, gr.endMS, gr.b, sl.set, gr.m, q == "buckets_avg")
}
