package lint

import (
	"strings"

	"github.com/vigil-metrics/vigil/collect"
	"github.com/vigil-metrics/vigil/internal/gpu"
	"github.com/vigil-metrics/vigil/internal/starter"
	"github.com/vigil-metrics/vigil/internal/system"
)

// ExporterPrefixes are the name prefixes of well-known exporters whose
// naming and label conventions lint leaves alone: their names are fixed
// upstream, so advice to rename them is noise no one can act on.
//   - node_: the Prometheus node_exporter (mixed-case /proc names such as
//     node_memory_MemTotal_bytes, unitless gauges such as node_load1,
//     labels such as path and release).
//   - go_, process_: client_golang's Go and process collectors, in every
//     Go exporter (go_goroutines, process_max_fds).
//   - promhttp_: client_golang's /metrics handler.
//   - prometheus_: Prometheus's own metrics, when it is scraped.
//
// Label cardinality is still checked on them: a label with thousands of
// values costs the same whoever named it.
var ExporterPrefixes = []string{"node_", "go_", "process_", "promhttp_", "prometheus_"}

// ownPrefix is the namespace of the agent's own /metrics (vigil_agent_up,
// vigil_samples_written_total, vigil_agent_remote_write_*): a store that
// scrapes the agent holds them.
const ownPrefix = "vigil_"

// ownNames are the metrics vigil writes itself: the agent's host and GPU
// readings, its heartbeat, and the collect library's runtime gauges.
var ownNames = func() map[string]bool {
	m := map[string]bool{starter.Heartbeat: true}
	for _, list := range [][]string{system.MetricNames, gpu.MetricNames, collect.RuntimeMetricNames()} {
		for _, n := range list {
			m[n] = true
		}
	}
	return m
}()

// Own reports whether name is one of vigil's own metrics, which lint never
// flags for its name or labels.
func Own(name string) bool { return ownNames[name] || strings.HasPrefix(name, ownPrefix) }

// exporter reports whether name follows a well-known exporter's
// conventions (ExporterPrefixes).
func exporter(name string) bool {
	for _, p := range ExporterPrefixes {
		if strings.HasPrefix(name, p) {
			return true
		}
	}
	return false
}

// conventional: lint gives no naming advice on the name and does not count
// its labels towards a synonym's convention.
func conventional(name string) bool { return Own(name) || exporter(name) }

// Family kinds: a scraped histogram or summary is stored as several names
// (internal/scrape: NAME_bucket{le}, NAME_sum, NAME_count as counters; a
// summary's quantiles as the gauge NAME{quantile}), which lint judges as
// one family named NAME.
const (
	kindHistogram = "histogram"
	kindSummary   = "summary"
)

// memberSuffixes are the suffixes of a family's member series.
var memberSuffixes = []string{"_bucket", "_count", "_sum", "_created"}

// families finds the families among the stored names: it sets in.family
// (member name -> family name) and in.kind (family name -> kind). A name
// ending in _count or _sum is a member only beside its sibling (_sum or
// _count, or _bucket with le): a counter that merely ends in _count is a
// counter.
func (in *inventory) families() {
	for name := range in.types {
		for _, suf := range memberSuffixes {
			base, ok := strings.CutSuffix(name, suf)
			if !ok || base == "" {
				continue
			}
			if kind := in.familyKind(base); kind != "" {
				in.family[name], in.kind[base] = base, kind
				if in.types[base] != nil {
					in.family[base] = base // a summary's quantile gauge
				}
			} else if suf == "_created" && in.types[base+"_total"] != nil {
				in.family[name] = base + "_total" // an OpenMetrics counter's creation time
			}
		}
	}
}

func (in *inventory) familyKind(base string) string {
	has := func(n string) bool { return in.types[n] != nil }
	switch {
	case has(base+"_bucket") && in.labelNames[base+"_bucket"]["le"] && (has(base+"_count") || has(base+"_sum")):
		return kindHistogram
	case has(base+"_count") && has(base+"_sum"):
		return kindSummary
	}
	return ""
}

// familyOf is the family a stored name belongs to: its base name for a
// histogram's or summary's member, else the name itself.
func (in *inventory) familyOf(name string) string {
	if f, ok := in.family[name]; ok {
		return f
	}
	return name
}
