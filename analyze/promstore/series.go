// Package promstore serves vigil's stores to Prometheus's own PromQL
// engine (github.com/prometheus/prometheus/promql) as a
// storage.Queryable, and answers the read side of Prometheus's HTTP API
// over it (vigil serve, vigil query --promql).
//
// A stored series becomes the series a scrape of it would have given:
// its name as __name__, its labels and its service as the label
// "service"; gauges as stored; counters as running totals rebuilt from
// the stored increments, always from the series' first stored sample
// whatever the query's range (Prometheus's rate extrapolates towards a
// counter's zero, so the absolute value matters); raw-observation
// histograms as NAME_count and NAME_sum totals, and NAME_bucket{le} for
// the buckets configured per metric (Config.Buckets). Series with equal
// labels in several stores (or with a label stored empty beside none:
// Prometheus has no empty labels) are one series: their increments and
// observations add up, and of two gauge samples at one millisecond the
// larger is kept. A stored series that would be served with a derived
// one's label set (a gauge x_count beside histogram x) is served as
// stored and the derived one left out, with a warning. docs/serve.md has the mapping and its one mismatch
// (windows just after a counter reset).
//
// It reads the stores through package analyze (the DuckDB caches) and
// never writes them.
package promstore

import (
	"fmt"
	"math"
	"slices"
	"sort"
	"strconv"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/vigil-metrics/vigil/analyze"
	"github.com/vigil-metrics/vigil/internal/store"
)

// kind is how a served series is made from its stored samples.
type kind uint8

const (
	gauge   kind = iota // the stored values
	counter             // running total of the increments
	hcount              // running count of the observations
	hsum                // running sum of the observations
	hbucket             // running count of the observations <= le
)

// vseries is one served series.
type vseries struct {
	lset   labels.Labels
	kind   kind
	le     float64 // hbucket's bound
	group  int     // index in catalog.groups
	lo, hi int64   // oldest and newest stored sample of its group
	n      int64   // its group's stored samples
}

// catalog is every served series of one sync of the stores.
type catalog struct {
	series   []vseries // sorted by labels
	groups   [][]analyze.SeriesRef
	families map[string]string // metric family -> counter, gauge, histogram
	// checkpoints are running totals already read, by index in series
	// (source.go): they hold until the next sync.
	checkpoints map[int]checkpoint
	// kept are the points reads built, by index in series: they hold
	// until the next sync too.
	kept keptPoints
	// clashes are the series left out: another had their label set.
	clashes []clash
}

// buildCatalog turns the stored series into served ones. Stored series
// with equal name, type and labels (in several stores, or one with a
// label stored empty beside one without it: Prometheus has no empty
// labels, {k=""} matches their absence) are one group, merged as the
// fleet merge merges one series of several stores. Where two series
// would still be served with one label set (a stored x_count beside
// histogram x's derived one, one name stored with two types), one is
// served and the other left out (dedupe): c.clashes say which.
func buildCatalog(stored []analyze.StoredSeries, buckets map[string][]float64) *catalog {
	c := &catalog{families: map[string]string{}, checkpoints: map[int]checkpoint{},
		kept: keptPoints{byIndex: map[int]kept{}, grown: map[int]growth{}, max: maxKeptPoints}}
	byKey := map[string]int{}
	var infos []groupInfo
	for _, s := range stored {
		if !s.HasSamples {
			continue
		}
		ls := nonEmpty(s.Labels)
		key := s.Name + "\xff" + string(s.Type) + "\xff" + store.CanonicalLabels(ls)
		g, ok := byKey[key]
		if !ok {
			g = len(c.groups)
			byKey[key] = g
			c.groups = append(c.groups, nil)
			infos = append(infos, groupInfo{name: s.Name, typ: s.Type, labels: ls, lo: s.Oldest, hi: s.Newest})
		}
		c.groups[g] = append(c.groups[g], analyze.SeriesRef{Store: s.Store, ID: s.ID})
		infos[g].lo, infos[g].hi = min(infos[g].lo, s.Oldest), max(infos[g].hi, s.Newest)
		infos[g].n += s.Samples
	}
	for g, in := range infos {
		c.families[in.name] = string(in.typ)
		add := func(name string, k kind, le float64, extra ...string) {
			b := labels.NewScratchBuilder(len(in.labels) + 2)
			for n, v := range in.labels {
				b.Add(n, v)
			}
			b.Add(labels.MetricName, name)
			for i := 0; i+1 < len(extra); i += 2 {
				b.Add(extra[i], extra[i+1])
			}
			b.Sort()
			c.series = append(c.series, vseries{lset: b.Labels(), kind: k, le: le, group: g, lo: in.lo, hi: in.hi, n: in.n})
		}
		switch in.typ {
		case store.Counter:
			add(in.name, counter, 0)
		case store.Histogram:
			add(in.name+"_count", hcount, 0)
			add(in.name+"_sum", hsum, 0)
			if _, ok := in.labels["le"]; !ok { // a stored le would be named twice
				for _, le := range bucketBounds(buckets[in.name]) {
					add(in.name+"_bucket", hbucket, le, "le", formatLE(le))
				}
			}
		default:
			add(in.name, gauge, 0)
		}
	}
	c.dedupe(infos)
	return c
}

// groupInfo is what a group's served series are made from.
type groupInfo struct {
	name   string
	typ    store.Type
	labels map[string]string
	lo, hi int64
	n      int64
}

// nonEmpty is a series' labels without those stored with an empty value.
func nonEmpty(ls map[string]string) map[string]string {
	out := make(map[string]string, len(ls))
	for n, v := range ls {
		if v != "" {
			out[n] = v
		}
	}
	return out
}

// dedupe sorts the served series by labels and keeps one of each label
// set: a series served as stored (a gauge, a counter) before one derived
// from a histogram, then gauges before counters before derived kinds,
// then the group first listed. Each one left out is a clash.
func (c *catalog) dedupe(infos []groupInfo) {
	sort.Slice(c.series, func(i, j int) bool {
		a, b := &c.series[i], &c.series[j]
		if d := labels.Compare(a.lset, b.lset); d != 0 {
			return d < 0
		}
		if a.kind != b.kind {
			return a.kind < b.kind
		}
		return a.group < b.group
	})
	out := c.series[:0]
	for _, v := range c.series {
		if n := len(out); n > 0 && labels.Equal(out[n-1].lset, v.lset) {
			c.clashes = append(c.clashes, clash{served: describe(out[n-1], infos), left: describe(v, infos)})
			continue
		}
		out = append(out, v)
	}
	c.series = out
}

// clash is a label set two stored series would be served with.
type clash struct{ served, left string }

// describe names a served series and what it is made from.
func describe(v vseries, infos []groupInfo) string {
	in := infos[v.group]
	name := v.lset.Get(labels.MetricName) + v.lset.MatchLabels(false, labels.MetricName).String()
	switch v.kind {
	case hcount, hsum, hbucket:
		return fmt.Sprintf("%s (from histogram %s)", name, in.name)
	}
	return fmt.Sprintf("%s (stored %s)", name, in.typ)
}

// bucketBounds are a metric's configured bounds, sorted, with +Inf last.
func bucketBounds(bs []float64) []float64 {
	if len(bs) == 0 {
		return nil
	}
	out := slices.Clone(bs)
	slices.Sort(out)
	out = slices.Compact(out)
	if !math.IsInf(out[len(out)-1], 1) {
		out = append(out, math.Inf(1))
	}
	return out
}

// formatLE writes a bound as Prometheus's client libraries do.
func formatLE(le float64) string {
	if math.IsInf(le, 1) {
		return "+Inf"
	}
	return strconv.FormatFloat(le, 'g', -1, 64)
}

// matches reports whether a served series matches every matcher.
func (v *vseries) matches(ms []*labels.Matcher) bool {
	for _, m := range ms {
		if !m.Matches(v.lset.Get(m.Name)) {
			return false
		}
	}
	return true
}

// checkpoint is a running total as of a time: the total after every
// sample at or before ts. Continuing from it adds the same increments in
// the same order as a read from the first sample: the same bits.
type checkpoint struct {
	ts    int64
	total float64
}

// noCheckpoint starts a total at zero before any sample.
var noCheckpoint = checkpoint{ts: minTime - 1}

// room is about how many of its group's samples a read of [a, b] gives:
// all of them when the range holds them all, else their share of the
// range by time (most stores take samples at a steady rate). A read makes
// room for them at once (analyze.DB.RawSamplesInto).
func (v *vseries) room(a, b int64) int {
	if a <= v.lo && b >= v.hi {
		return int(v.n)
	}
	a, b = max(a, v.lo), min(b, v.hi)
	if b < a || v.hi <= v.lo {
		return 0
	}
	return int(float64(v.n)*(float64(b-a)+1)/(float64(v.hi-v.lo)+1)) + 16
}

// points makes a served series' points from its group's samples (sorted
// by time), keeping those with ts >= mint. A running total starts from
// cp (samples at or before cp.ts are skipped); last is its total as of
// its last point before mint (cp when there is none), the checkpoint a
// later read may start from. The points are kept between queries
// (keptPoints): where the caller gives raw away (own) and the points
// fill most of it, they are built in its place, else allocated once, at
// most one a sample from mint on.
func (v *vseries) points(raw []analyze.RawSample, mint int64, cp checkpoint, own bool) (pts fpoints, last checkpoint) {
	first := sort.Search(len(raw), func(i int) bool { return raw[i].TS >= mint })
	switch {
	case own && 4*(len(raw)-first) >= 3*cap(raw):
		// Each point is written at or before the sample it is made of,
		// which was read already.
		pts = fpoints(raw[:0])
	case first < len(raw):
		pts = make(fpoints, 0, len(raw)-first)
	}
	total, last := cp.total, cp
	for i := 0; i < len(raw); i++ {
		s := raw[i]
		if v.kind != gauge && s.TS <= cp.ts {
			continue
		}
		switch v.kind {
		case gauge:
			// Of equal times the larger value (sorted last) is kept.
			if i+1 < len(raw) && raw[i+1].TS == s.TS {
				continue
			}
			if s.TS >= mint {
				pts = append(pts, s)
			}
			continue
		case counter, hsum:
			total += s.Value
		case hcount:
			total++
		case hbucket:
			if s.Value <= v.le {
				total++
			}
		}
		if i+1 < len(raw) && raw[i+1].TS == s.TS {
			continue // one point per millisecond: the total after all of them
		}
		if s.TS >= mint {
			pts = append(pts, analyze.RawSample{TS: s.TS, Value: total})
		} else {
			last = checkpoint{s.TS, total}
		}
	}
	return pts, last
}
