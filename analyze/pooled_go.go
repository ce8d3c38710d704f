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

// exactFromValues is exactGroup for one group's values; ok false where a
// value is NaN or ±Inf. acc is scratch, indexed by the biased exponent,
// left zeroed.
func exactFromValues(vs []float64, acc *[2048]expAcc, squares bool) (*exactGroup, bool) {
	x := &exactGroup{n: int64(len(vs)), finite: true}
	var touched []int
	ok := true
	for _, v := range vs {
		b := math.Float64bits(v)
		be := int(b>>52) & 0x7ff
		if be == 0x7ff {
			ok = false
			break
		}
		m := b & (1<<52 - 1)
		if be != 0 {
			m |= 1 << 52
		} else if m == 0 {
			continue // ±0
		} else {
			be = 1 // subnormal: m * 2^-1074
		}
		a := &acc[be]
		if !a.used {
			a.used = true
			touched = append(touched, be)
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
	for _, be := range touched {
		a := &acc[be]
		if ok {
			s1 := a.pos.big()
			s1.Sub(s1, a.neg.big())
			x.parts = append(x.parts, exactPart{e: be - 1075, s1: s1, hh: a.hh.big(), hl: a.hl.big(), ll: a.ll.big()})
		}
		*a = expAcc{}
	}
	return x, ok
}

// pooledFromValues answers a pooled aggregation (sum or avg, or stddev)
// from the groups' values; ok false where the build has no Arrow or some
// group holds NaN or ±Inf (the caller then takes the queries).
func (d *DB) pooledFromValues(ctx context.Context, start, end, set int64, selGrp []int64, avg, stddev bool) (map[int]groupValue, bool, error) {
	if !arrowBuild {
		return nil, false, nil
	}
	groups := 0
	for _, g := range selGrp {
		groups = max(groups, int(g)+1)
	}
	vals, ok, err := d.keptGroupValues(ctx, start, end, set, groups)
	if err != nil || !ok {
		return nil, false, err
	}
	acc := new([2048]expAcc)
	out := make(map[int]groupValue, groups)
	for g, vs := range vals {
		if len(vs) == 0 {
			continue
		}
		x, ok := exactFromValues(vs, acc, stddev)
		if !ok {
			return nil, false, nil
		}
		gv := groupValue{n: x.n}
		if stddev {
			gv.v = x.stddev()
		} else {
			gv.v = x.value(avg)
		}
		out[g] = gv
	}
	return out, true, nil
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
