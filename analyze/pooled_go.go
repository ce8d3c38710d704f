package analyze

import (
	"context"
	"math"
	"math/big"
	mbits "math/bits"
)

// The exact parts of pooled.go computed in Go from the group's values read
// through Arrow (groupValues, as the percentiles read them): about as fast
// as the one-thread Kahan scan, where agg_exact_parts' log2, powers and
// 128-bit sums in DuckDB take about three times as long. The parts are
// the same numbers (each finite value m * 2^e, m an integer, its square
// split as in agg_exact_parts), so the answers are the same bits.

// u128 is an unsigned 128-bit accumulator.
type u128 struct{ hi, lo uint64 }

func (a *u128) add(x uint64) {
	var c uint64
	a.lo, c = mbits.Add64(a.lo, x, 0)
	a.hi += c
}

func (a u128) big() *big.Int {
	b := new(big.Int).SetUint64(a.hi)
	b.Lsh(b, 64)
	return b.Or(b, new(big.Int).SetUint64(a.lo))
}

// expAcc is one exponent's sums: of the positive and the negative
// mantissas, and of the squares' parts.
type expAcc struct {
	used       bool
	pos, neg   u128
	hh, hl, ll u128
}

// maxStreamGroups bounds the groups whose accumulators (about 180 KiB
// each) a streamed read keeps; above it the values are read into memory
// and each group is summed in turn with one table.
const maxStreamGroups = 64

// groupAcc is one group's exact sums while values stream by.
type groupAcc struct {
	n       int64
	nonfin  bool
	touched []int
	acc     [2048]expAcc
}

func (x *groupAcc) add(vs []float64, squares bool) {
	x.n += int64(len(vs))
	for _, v := range vs {
		x.addOne(v, squares)
	}
}

func (x *groupAcc) addOne(v float64, squares bool) {
	b := math.Float64bits(v)
	be := int(b>>52) & 0x7ff
	if be == 0x7ff {
		x.nonfin = true
		return
	}
	m := b & (1<<52 - 1)
	if be != 0 {
		m |= 1 << 52
	} else if m == 0 {
		return // ±0
	} else {
		be = 1 // subnormal: m * 2^-1074
	}
	a := &x.acc[be]
	if !a.used {
		a.used = true
		x.touched = append(x.touched, be)
	}
	if b>>63 != 0 {
		a.neg.add(m)
	} else {
		a.pos.add(m)
	}
	if squares {
		h, l := m>>28, m&(1<<28-1)
		a.hh.add(h * h)
		a.hl.add(h * l)
		a.ll.add(l * l)
	}
}

// parts is the group's exactGroup (ok false with NaN or ±Inf), leaving
// the accumulators zeroed for the next group.
func (x *groupAcc) parts() (*exactGroup, bool) {
	g := &exactGroup{n: x.n, finite: !x.nonfin}
	for _, be := range x.touched {
		a := &x.acc[be]
		s1 := a.pos.big()
		s1.Sub(s1, a.neg.big())
		g.parts = append(g.parts, exactPart{e: be - 1075, s1: s1, hh: a.hh.big(), hl: a.hl.big(), ll: a.ll.big()})
		*a = expAcc{}
	}
	x.n, x.nonfin, x.touched = 0, false, x.touched[:0]
	return g, g.finite
}

// pooledFromValues answers a pooled aggregation (sum or avg, or stddev)
// from the groups' values, streamed through Arrow where the groups are
// few, else read into memory; ok false where the build has no Arrow or
// some group holds NaN or ±Inf (the caller then takes the queries).
func (d *DB) pooledFromValues(ctx context.Context, start, end, set int64, selGrp []int64, avg, stddev bool) (map[int]groupValue, bool, error) {
	if !arrowBuild {
		return nil, false, nil
	}
	groups := 0
	for _, g := range selGrp {
		groups = max(groups, int(g)+1)
	}
	accs := map[int]*groupAcc{}
	if groups <= maxStreamGroups {
		byGroup := make([]*groupAcc, groups)
		ok, err := d.eachValueBatch(ctx, start, end, set, func(gs []int32, vs []float64) {
			for i, g := range gs {
				x := byGroup[g]
				if x == nil {
					x = new(groupAcc)
					byGroup[g], accs[int(g)] = x, x
				}
				x.n++
				x.addOne(vs[i], stddev)
			}
		})
		if err != nil || !ok {
			return nil, false, err
		}
	} else {
		vals, ok, err := d.keptGroupValues(ctx, start, end, set, groups)
		if err != nil || !ok {
			return nil, false, err
		}
		x := new(groupAcc)
		out := make(map[int]groupValue, groups)
		for g, vs := range vals {
			if len(vs) == 0 {
				continue
			}
			x.add(vs, stddev)
			gv, ok := pooledValue(x, avg, stddev)
			if !ok {
				return nil, false, nil
			}
			out[g] = gv
		}
		return out, true, nil
	}
	out := make(map[int]groupValue, len(accs))
	for g, x := range accs {
		gv, ok := pooledValue(x, avg, stddev)
		if !ok {
			return nil, false, nil
		}
		out[g] = gv
	}
	return out, true, nil
}

func pooledValue(x *groupAcc, avg, stddev bool) (groupValue, bool) {
	eg, ok := x.parts()
	if !ok {
		return groupValue{}, false
	}
	gv := groupValue{n: eg.n}
	if stddev {
		gv.v = eg.stddev()
	} else {
		gv.v = eg.value(avg)
	}
	return gv, true
}

// pooledFirst answers a pooled group's mean or standard deviation, or its
// sum where the values are not all whole (agg_sum_int's parallel sum is
// exact then and answers), from the values in Go (pooledFromValues); ok
// false where that does not apply and the queries answer.
func (d *DB) pooledFirst(ctx context.Context, qname string, args []any, start, end, set int64, selGrp []int64) (map[int]groupValue, bool, error) {
	switch qname {
	case "agg_sum", "agg_avg", "agg_stddev_pop":
	default:
		return nil, false, nil
	}
	if !arrowBuild || !pooled(selGrp) {
		return nil, false, nil
	}
	if qname == "agg_sum" && len(d.Stores) == 1 && parallelWholeSums {
		if vals, ok := d.sumFromCells(set, start, end); ok {
			return vals, true, nil
		}
		if vals, ok, err := d.wholeSums(ctx, args); err != nil || ok {
			return vals, ok, err
		}
	}
	return d.pooledFromValues(ctx, start, end, set, selGrp, qname == "agg_avg", qname == "agg_stddev_pop")
}
