package analyze

import (
	"context"
	"database/sql"
	"fmt"
)

// parallelWholeSums lets sums of whole numbers run on DuckDB's threads
// (wholeCells); a variable for the tests, which compare both ways.
var parallelWholeSums = true

// maxExactWhole is 2^53: below it every whole number is a float64, so a
// sum of whole numbers whose magnitudes add up to less is exact at every
// step, whatever the order of the additions.
const maxExactWhole = 0x1p53

// wholeCells is cells for buckets_sum on DuckDB's threads
// (buckets_sum_int): ok when every cell is made of whole numbers at or
// above 0 whose sum is below 2^53. Then every partial sum of the cell, in
// any order and however the threads split it, is exact, and so is Kahan's
// (its compensation stays 0): the cells are buckets_sum's one-thread ones to
// the bit, the sum of magnitudes (the sum) too. Counters' increments, which
// the SLIs sum, are such numbers. Where some cell is not so (a fraction, a
// negative value, NaN or ±Inf, whose sum is not below 2^53, or too large a
// sum: a sum of numbers at or above 0 rounds below 2^53 only when it is
// below), !ok, and the caller runs buckets_sum on one thread.
func (d *DB) wholeCells(ctx context.Context, start, end, b, set int64, m, ng int) ([]cell, bool, error) {
	if err := d.oneThread(ctx, false); err != nil {
		return nil, false, err
	}
	out := make([]cell, ng*m)
	args := []any{start, end, b, set, int64(m)}
	if arrowBuild {
		ok, err := d.wholeCellRows(ctx, args, m, ng, out)
		if !ok || err != nil {
			return nil, false, err
		}
		d.memo.whole++
		return out, true, nil
	}
	rows, err := d.query(ctx, "buckets_sum_int", args...)
	if err != nil {
		return nil, false, err
	}
	defer rows.Close()
	for rows.Next() {
		var c int64
		var v float64
		var n int64
		var whole bool
		if err := rows.Scan(&c, &v, &n, &whole); err != nil {
			return nil, false, err
		}
		if !whole || !(v < maxExactWhole) {
			return nil, false, nil
		}
		if c < 0 || c >= int64(ng)*int64(m) {
			return nil, false, fmt.Errorf("buckets_sum_int: cell %d out of range", c)
		}
		out[c] = cell{ok: true, v: v, n: n, x: v}
	}
	if err := rows.Err(); err != nil {
		return nil, false, err
	}
	d.memo.whole++
	return out, true, nil
}

// wholeSumsOr is agg_sum's answer: from agg_sum_int on DuckDB's threads
// where every group is made of whole numbers whose magnitudes add up to
// less than 2^53 (exact in any order, as wholeCells says; whole), else from
// agg_sum on one thread.
func (d *DB) wholeSumsOr(ctx context.Context, args []any, selStore, selID, selGrp []int64) (map[int]groupValue, bool, error) {
	vals, ok, err := d.wholeSums(ctx, args)
	if err != nil || ok {
		return vals, ok, err
	}
	if err := d.oneThread(ctx, true); err != nil {
		return nil, false, err
	}
	vals, err = d.runAgg(ctx, "agg_sum", args, selStore, selID, selGrp)
	return vals, false, err
}

// wholeSums runs agg_sum_int; ok when every group is whole (wholeSumsOr).
func (d *DB) wholeSums(ctx context.Context, args []any) (map[int]groupValue, bool, error) {
	if err := d.oneThread(ctx, false); err != nil {
		return nil, false, err
	}
	rows, err := d.query(ctx, "agg_sum_int", args...)
	if err != nil {
		return nil, false, err
	}
	defer rows.Close()
	vals := map[int]groupValue{}
	for rows.Next() {
		var g int
		var v, abs sql.NullFloat64
		var n int64
		var whole sql.NullBool
		if err := rows.Scan(&g, &v, &n, &abs, &whole); err != nil {
			return nil, false, err
		}
		if !whole.Bool || !(abs.Float64 < maxExactWhole) {
			return nil, false, nil
		}
		vals[g] = groupValue{v.Float64, n, abs.Float64}
	}
	if err := rows.Err(); err != nil {
		return nil, false, err
	}
	d.memo.whole++
	return vals, true, nil
}

// sumFromCells answers agg_sum over selection set and window (start, end]
// from kept bucket sums of the same selection (wholeCells'), when their
// buckets tile the window: each group's sum is its cells' sum, exact as
// every cell is a sum of whole numbers at or above 0 and the total is
// below 2^53 (a sum of such numbers rounds below 2^53 only when it is
// below), so it is agg_sum's to the bit, and so is the sum of magnitudes.
// A sliced objective's slices cover its window (the SLO's 30 days of
// one-minute buckets): the occurrences over the same counters need no scan
// of their own.
func (d *DB) sumFromCells(set, start, end int64) (map[int]groupValue, bool) {
	for k := range d.memo.wholeKeys {
		if k.set != set || k.start > start || k.end < end || (start-k.start)%k.b != 0 || (end-k.start)%k.b != 0 {
			continue
		}
		cs, ok := d.memo.cells[k]
		if !ok {
			continue // dropped since
		}
		m := int((k.end - k.start) / k.b)
		lo, hi := int((start-k.start)/k.b), int((end-k.start)/k.b)
		vals := map[int]groupValue{}
		for g := 0; g < len(cs)/m; g++ {
			var gv groupValue
			seen := false
			for _, c := range cs[g*m+lo : g*m+hi] {
				if c.ok {
					gv.v += c.v
					gv.n += c.n
					seen = true
				}
			}
			if !seen {
				continue
			}
			if !(gv.v < maxExactWhole) {
				return nil, false
			}
			gv.abs = gv.v
			vals[g] = gv
		}
		d.memo.fromCells++
		return vals, true
	}
	return nil, false
}
