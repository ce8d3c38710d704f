package analyze

import (
	"context"
	"database/sql"
	"fmt"
	"math"
	"math/big"
	"strings"

	"github.com/vigil-metrics/vigil/internal/metricpath"
)

// PercentilesInGo reads the selected values out of DuckDB in bulk (Arrow)
// and selects the order statistics in Go, which at 10M rows is about twice
// as fast as quantile_cont, which keeps and sorts every value of every group
// (docs/performance.md); the answers are the same to the bit. Builds
// without the duckdb_arrow tag, and tests that compare the two, use
// quantile_cont.
var PercentilesInGo = true

type groupValue struct {
	v   float64
	n   int64
	abs float64 // sum of magnitudes, where the query gives it
}

// The aggregations whose floating-point result depends on the order rows
// are combined in. They run on one DuckDB thread, so the same query on the
// same data gives the same bits every run (parallel partial sums combine
// in whatever order threads finish).
func orderSensitive(k metricpath.AggKind) bool {
	switch k {
	case metricpath.Sum, metricpath.Rate, metricpath.Increase, metricpath.Avg, metricpath.Stddev:
		return true
	}
	return false
}

// aggregate runs the aggregation's query over the selection and returns
// each group's value and sample count.
//
// The answer over one selection and window is kept for the DB's lifetime
// (memo.go), keyed by the query that computes it: the rate, the increase
// and the count of a counter share one agg_sum.
func (d *DB) aggregate(ctx context.Context, agg metricpath.Agg, start, end int64, perSeries bool, set int64, selStore, selID, selGrp []int64) (map[int]groupValue, error) {
	var qname string
	args := []any{start, end}
	// Only the order-sensitive aggregations run on one thread; the others
	// take DuckDB's default, as they always did.
	if err := d.oneThread(ctx, orderSensitive(agg.Kind)); err != nil {
		return nil, err
	}
	switch agg.Kind {
	case metricpath.Sum, metricpath.Rate, metricpath.Increase, metricpath.Count:
		qname = "agg_sum"
	case metricpath.Min, metricpath.Max, metricpath.Avg, metricpath.Last:
		qname = "agg_" + string(agg.Kind)
	case metricpath.Stddev:
		qname = "agg_stddev_pop"
	case metricpath.CountLE:
		qname = "agg_count_le"
		args = append(args, agg.Threshold)
	case metricpath.Percentile:
		if PercentilesInGo && arrowBuild {
			k := aggKey{query: "agg_values", set: set, start: start, end: end, quantile: agg.Quantile}
			if vals, ok := d.keptAgg(k); ok {
				return vals, nil
			}
			groups := 0
			for _, g := range selGrp {
				groups = max(groups, int(g)+1)
			}
			vals, ok, err := d.keptGroupValues(ctx, start, end, set, groups)
			if err != nil {
				return nil, err
			}
			if ok {
				pv := percentiles(vals, agg.Quantile)
				d.keepAgg(k, pv)
				return pv, nil
			}
		}
		qname = "agg_quantile"
		if perSeries {
			qname = "agg_quantile_series"
		}
		args = append(args, agg.Quantile)
	default:
		return nil, fmt.Errorf("unsupported aggregation %s", agg.Text)
	}
	k := aggKey{query: qname, set: set, start: start, end: end}
	switch agg.Kind {
	case metricpath.Percentile:
		k.quantile = agg.Quantile
	case metricpath.CountLE:
		// count_le(300) and count_le(500) are two questions.
		k.threshold = agg.Threshold
	}
	if vals, ok := d.keptAgg(k); ok {
		return vals, nil
	}
	args = append(args, set) // every query over the selection takes its id last
	if vals, ok, err := d.pooledFirst(ctx, qname, args, start, end, set, selGrp); err != nil || ok {
		if ok {
			d.keepAgg(k, vals)
		}
		return vals, err
	}
	var vals map[int]groupValue
	var err error
	whole := false // every group's sum is of whole numbers, exact in any order
	switch {
	case len(d.Stores) > 1 && (qname == "agg_sum" || qname == "agg_avg"):
		vals, err = d.sumByStore(ctx, args, qname == "agg_avg")
	case len(d.Stores) > 1 && qname == "agg_stddev_pop":
		vals, err = d.stddevByStore(ctx, args)
	case qname == "agg_sum" && parallelWholeSums:
		var ok bool
		if vals, ok = d.sumFromCells(set, start, end); !ok {
			vals, whole, err = d.wholeSumsOr(ctx, args, selStore, selID, selGrp)
		} else {
			whole = true
		}
	default:
		vals, err = d.runAgg(ctx, qname, args, selStore, selID, selGrp)
	}
	if err != nil && isOutOfRange(err) && agg.Kind == metricpath.Stddev {
		vals, err = d.scaled(ctx, qname, args, selStore, selID, selGrp)
	}
	if err == nil {
		vals, err = d.exactAfter(ctx, qname, args, vals, whole, selGrp)
	}
	if err != nil {
		return nil, err
	}
	d.keepAgg(k, vals)
	return vals, nil
}

// exactWhereNeeded replaces Kahan's sum (or mean) by the exact one for the
// groups where it may be off: the running sum overflowed (a sum out of
// range is ±Inf, where the compensation makes NaN, and a mean of values
// near 1.7e308 is finite all the same), or terms cancelled so much that the
// result is far below the sum of magnitudes (1e100 + 1 - 1e100 is 1, as
// Prometheus's Kahan-Babuska sum says, where Kahan's says 0). Sums of
// counters, never negative, do not cancel and stay on the fast path.
func (d *DB) exactWhereNeeded(ctx context.Context, qname string, args []any, vals map[int]groupValue) (map[int]groupValue, error) {
	need := false
	for _, gv := range vals {
		need = need || math.IsInf(gv.v, 0) || math.IsNaN(gv.v) ||
			(gv.abs > 0 && (gv.v == 0 || gv.abs > 0x1p26*math.Abs(gv.v)))
	}
	if !need {
		return vals, nil
	}
	exact, err := d.exactSums(ctx, args...)
	if err != nil {
		return nil, err
	}
	for g, gv := range vals {
		sum, ok := exact[g]
		if !ok {
			sum = new(big.Float) // every value was 0
		}
		if qname == "agg_avg" {
			sum.Quo(sum, new(big.Float).SetInt64(gv.n))
		}
		gv.v, _ = sum.Float64()
		vals[g] = gv
	}
	return vals, nil
}

// exactSums adds agg_sum_exact's parts: sum over e of m_e * 2^e, as one
// big integer times 2^min(e), exact until the final rounding to float64.
func (d *DB) exactSums(ctx context.Context, args ...any) (map[int]*big.Float, error) {
	rows, err := d.query(ctx, "agg_sum_exact", args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	type part struct {
		e int
		m *big.Int
	}
	parts := map[int][]part{}
	for rows.Next() {
		var g, e int
		var m *big.Int
		if err := rows.Scan(&g, &e, &m); err != nil {
			return nil, err
		}
		parts[g] = append(parts[g], part{e, m})
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	out := map[int]*big.Float{}
	for g, ps := range parts {
		emin := ps[0].e
		for _, p := range ps {
			emin = min(emin, p.e)
		}
		acc := new(big.Int)
		for _, p := range ps {
			acc.Add(acc, new(big.Int).Lsh(p.m, uint(p.e-emin)))
		}
		f := new(big.Float).SetPrec(uint(max(acc.BitLen(), 64)) + 64).SetInt(acc)
		out[g] = f.SetMantExp(f, emin)
	}
	return out, nil
}

// scaled reruns a standard deviation whose squares overflowed over values
// scaled per group (agg_stddev_pop_scaled).
func (d *DB) scaled(ctx context.Context, qname string, args []any, selStore, selID, selGrp []int64) (map[int]groupValue, error) {
	return d.runAgg(ctx, qname+"_scaled", args, selStore, selID, selGrp)
}

func isOutOfRange(err error) bool {
	return strings.Contains(err.Error(), "out of range")
}

func (d *DB) runAgg(ctx context.Context, qname string, args []any, selStore, selID, selGrp []int64) (map[int]groupValue, error) {
	res, err := d.query(ctx, qname, args...)
	if err != nil {
		return nil, err
	}
	defer res.Close()
	// The per-series shape answers (store, series) instead of a group.
	var groupOf map[[2]int64]int
	if strings.HasSuffix(qname, "_series") {
		groupOf = make(map[[2]int64]int, len(selID))
		for i := range selID {
			groupOf[[2]int64{selStore[i], selID[i]}] = int(selGrp[i])
		}
	}
	cols, err := res.Columns()
	if err != nil {
		return nil, err
	}
	vals := map[int]groupValue{}
	for res.Next() {
		var g int
		var v, abs sql.NullFloat64
		var n int64
		if len(cols) == 4 && groupOf == nil {
			if err := res.Scan(&g, &v, &n, &abs); err != nil {
				return nil, err
			}
		} else if groupOf != nil {
			var key [2]int64
			if err := res.Scan(&key[0], &key[1], &v, &n); err != nil {
				return nil, err
			}
			g = groupOf[key]
		} else if err := res.Scan(&g, &v, &n); err != nil {
			return nil, err
		}
		vals[g] = groupValue{v.Float64, n, abs.Float64}
	}
	return vals, res.Err()
}

// exactAfter replaces sums and means by the exact ones where Kahan's may be
// off (exactWhereNeeded), and a pooled group's sum (not whole), mean or
// standard deviation by the exact one where pooledFirst did not answer
// (pooled.go).
func (d *DB) exactAfter(ctx context.Context, qname string, args []any, vals map[int]groupValue, whole bool, selGrp []int64) (map[int]groupValue, error) {
	var err error
	switch {
	case (qname == "agg_avg" || qname == "agg_sum") && !whole && pooled(selGrp):
		vals, err = d.pooledExact(ctx, args, vals, qname == "agg_avg", false)
		if err == nil {
			vals, err = d.exactWhereNeeded(ctx, qname, args, vals)
		}
	case qname == "agg_avg" || qname == "agg_sum":
		vals, err = d.exactWhereNeeded(ctx, qname, args, vals)
	case qname == "agg_stddev_pop" && pooled(selGrp):
		vals, err = d.pooledExact(ctx, args, vals, false, true)
	}
	return vals, err
}
