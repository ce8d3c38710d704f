package analyze

import "slices"

// sortRuns sorts a group's samples into compareRaw's order by merging
// the sorted runs they come in, using buf (grown as needed and returned)
// for the merges. A store's cache holds its samples as time-ordered
// stretches (each a batch of one of the readers that filled it, in no
// particular order) and DuckDB's scan hands them out whole, so a group's
// samples are a few hundred sorted runs, each of a stretch or two. The
// runs merge pairwise, each merge copying whole blocks found by
// galloping (as Timsort does): a pass costs a copy of the samples and a
// few comparisons a block, against a comparison sort's n log n (a
// quarter of vigil serve's CPU over a day of 1,000 counters,
// docs/performance.md).
func sortRuns(g, buf []RawSample) []RawSample {
	ends := []int(nil) // each run's end in g
	for i := 1; i < len(g); i++ {
		if compareRaw(g[i-1], g[i]) > 0 {
			ends = append(ends, i)
		}
	}
	if len(ends) == 0 {
		return buf // one run: sorted
	}
	ends = append(ends, len(g))
	buf = slices.Grow(buf[:0], len(g))[:len(g)]
	src, dst := g, buf
	for len(ends) > 1 {
		next := ends[:0:0]
		start := 0
		for i := 0; i < len(ends); i += 2 {
			if i+1 == len(ends) {
				copy(dst[start:ends[i]], src[start:ends[i]])
				next = append(next, ends[i])
				break
			}
			mergeRaw(dst[start:ends[i+1]], src[start:ends[i]], src[ends[i]:ends[i+1]])
			next, start = append(next, ends[i+1]), ends[i+1]
		}
		ends, src, dst = next, dst, src
	}
	if &src[0] != &g[0] {
		copy(g, src)
	}
	return buf
}

// mergeRaw merges the sorted x and y into out (len(x)+len(y) long), x's
// samples first among equal ones, copying whole blocks: the samples of x
// not after y's next, then those of y before x's next.
func mergeRaw(out, x, y []RawSample) {
	k := 0
	for len(x) > 0 && len(y) > 0 {
		n := gallop(x, func(s RawSample) bool { return compareRaw(s, y[0]) <= 0 })
		k += copy(out[k:], x[:n])
		x = x[n:]
		if len(x) == 0 {
			break
		}
		n = gallop(y, func(s RawSample) bool { return compareRaw(s, x[0]) < 0 })
		k += copy(out[k:], y[:n])
		y = y[n:]
	}
	k += copy(out[k:], x)
	copy(out[k:], y)
}

// gallop is the length of the prefix of s whose samples satisfy in (true
// then false along s), found by probing 1, 2, 4, ... ahead and then
// bisecting: a few comparisons for a short prefix.
func gallop(s []RawSample, in func(RawSample) bool) int {
	lo, hi := 0, 1 // in holds before lo; hi is the next probe
	for hi <= len(s) && in(s[hi-1]) {
		lo, hi = hi, hi*2
	}
	hi = min(hi, len(s)+1) - 1 // in fails at hi (or hi is len(s))
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if in(s[m]) {
			lo = m + 1
		} else {
			hi = m
		}
	}
	return lo
}
