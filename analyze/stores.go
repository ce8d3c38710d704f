package analyze

import (
	"context"
	"fmt"
	"math"
)

// Over several stores, DuckDB unites their rows in either order from one
// run to the next, even on one thread, so a floating-point sum, mean or
// standard deviation of a group that spans stores could differ in its last
// bits between two runs of the same question. Each store's rows reach a
// group in the same order every run, so for a DB over several stores these
// aggregations are computed per group and store in SQL and combined here,
// in store order: the same bits every run. (Over one store the queries
// stay as they are.)

// neumaier adds partial sums with Neumaier's compensation, in order.
type neumaier struct{ sum, c float64 }

func (n *neumaier) add(x float64) {
	t := n.sum + x
	if math.Abs(n.sum) >= math.Abs(x) {
		n.c += (n.sum - t) + x
	} else {
		n.c += (x - t) + n.sum
	}
	n.sum = t
}

func (n *neumaier) value() float64 {
	if math.IsInf(n.sum, 0) || math.IsNaN(n.sum) {
		return n.sum // the exact path takes over (exactWhereNeeded)
	}
	return n.sum + n.c
}

// sumByStore is agg_sum (or, with mean, agg_avg) over several stores.
func (d *DB) sumByStore(ctx context.Context, args []any, mean bool) (map[int]groupValue, error) {
	rows, err := d.query(ctx, "agg_sum_stores", args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	type acc struct {
		sum, abs neumaier
		n        int64
	}
	accs := map[int]*acc{}
	for rows.Next() {
		var g, store int
		var v, abs float64
		var n int64
		if err := rows.Scan(&g, &store, &v, &n, &abs); err != nil {
			return nil, err
		}
		a := accs[g]
		if a == nil {
			a = &acc{}
			accs[g] = a
		}
		a.sum.add(v)
		a.abs.add(abs)
		a.n += n
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	out := make(map[int]groupValue, len(accs))
	for g, a := range accs {
		v := a.sum.value()
		if mean {
			v /= float64(a.n)
		}
		out[g] = groupValue{v: v, n: a.n, abs: a.abs.value()}
	}
	return out, nil
}

// stddevByStore is agg_stddev_pop over several stores: the stores' counts,
// means and variances combined pairwise in store order (Chan, Golub and
// LeVeque's update, as a parallel Welford combines its partitions).
func (d *DB) stddevByStore(ctx context.Context, args []any) (map[int]groupValue, error) {
	rows, err := d.query(ctx, "agg_stddev_pop_stores", args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	type acc struct {
		n        int64
		mean, m2 float64
	}
	accs := map[int]*acc{}
	for rows.Next() {
		var g, store int
		var n int64
		var mean, vr float64
		if err := rows.Scan(&g, &store, &n, &mean, &vr); err != nil {
			return nil, err
		}
		a := accs[g]
		if a == nil {
			accs[g] = &acc{n: n, mean: mean, m2: vr * float64(n)}
			continue
		}
		na, nb := float64(a.n), float64(n)
		nt := na + nb
		delta := mean - a.mean
		a.mean += delta * nb / nt
		a.m2 += vr*nb + delta*delta*na*nb/nt
		a.n += n
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	out := make(map[int]groupValue, len(accs))
	for g, a := range accs {
		v := math.Sqrt(math.Max(a.m2/float64(a.n), 0))
		if math.IsInf(v, 0) || math.IsNaN(v) {
			return nil, fmt.Errorf("stddev: out of range") // the scaled query takes over
		}
		out[g] = groupValue{v: v, n: a.n}
	}
	return out, nil
}

// cellsByStore is cells for buckets_sum (or, with mean, buckets_avg) over
// several stores.
func (d *DB) cellsByStore(ctx context.Context, mean bool, start, end, b, set int64, m, ng int) ([]cell, error) {
	rows, err := d.query(ctx, "buckets_sum_stores", start, end, b, set)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	sums := make([]neumaier, ng*m)
	abss := make([]neumaier, ng*m)
	out := make([]cell, ng*m)
	for rows.Next() {
		var g, bk, store int
		var v, abs float64
		var n int64
		if err := rows.Scan(&g, &bk, &store, &v, &n, &abs); err != nil {
			return nil, err
		}
		if g < 0 || g >= ng || bk < 0 || bk >= m {
			return nil, fmt.Errorf("buckets_sum_stores: cell (%d, %d) out of range", g, bk)
		}
		i := g*m + bk
		sums[i].add(v)
		abss[i].add(abs)
		out[i].ok = true
		out[i].n += n
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	for i := range out {
		if !out[i].ok {
			continue
		}
		out[i].v, out[i].x = sums[i].value(), abss[i].value()
		if mean {
			out[i].v /= float64(out[i].n)
		}
	}
	return out, nil
}
