package config

import (
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/vigil-metrics/vigil/internal/store"
)

var recordingAggs = []string{"last", "min", "max", "avg", "sum", "count", "stddev", "rate", "increase", "percentile"}

func (d *decoder) recordingRules(n *yaml.Node) {
	targets := map[string]*yaml.Node{}
	d.List(n, "recording_rules", func(item *yaml.Node) {
		r := RecordingRule{Pos: pos(item)}
		var aggNode, pctNode *yaml.Node
		seen := d.Fields(item, "recording rule", map[string]func(*yaml.Node){
			"source": func(v *yaml.Node) {
				s, ok := d.NonEmpty(v, "source")
				if ok && !store.ValidName(s) {
					d.Errf(v, "source: invalid metric name %q (want [a-zA-Z_:][a-zA-Z0-9_:]*)", s)
					return
				}
				r.Source = s
			},
			"target": func(v *yaml.Node) {
				s, ok := d.NonEmpty(v, "target")
				if !ok {
					return
				}
				if !store.ValidName(s) {
					d.Errf(v, "target: invalid metric name %q (want [a-zA-Z_:][a-zA-Z0-9_:]*)", s)
					return
				}
				if first, dup := targets[s]; dup {
					d.Errf(v, "duplicate recording target %q (first at line %d)", s, first.Line)
					return
				}
				targets[s] = v
				r.Target = s
			},
			"aggregation": func(v *yaml.Node) {
				aggNode = v
				s, ok := d.Str(v, "aggregation")
				if ok && !slices.Contains(recordingAggs, s) {
					d.Errf(v, "unknown aggregation %q (want %s)", s, want(recordingAggs))
					return
				}
				r.Aggregation = s
			},
			"percentile": func(v *yaml.Node) {
				pctNode = v
				f, ok := d.Number(v, "percentile")
				if ok && (f <= 0 || f > 100) {
					d.Errf(v, "percentile: want a number in (0, 100], got %s", v.Value)
					return
				}
				r.Percentile = f
			},
			"metric_path": func(v *yaml.Node) { r.MetricPath, _, _ = d.metricPath(v, "metric_path") },
			"window":      func(v *yaml.Node) { r.Window, _ = d.durationIn(v, "window", false, 0, MaxWindow, whyWindow) },
		})
		d.Required(item, seen, "recording rule", "target", "window")
		_, hasSrc := seen["source"]
		_, hasPath := seen["metric_path"]
		switch {
		case hasSrc && hasPath:
			d.Errf(seen["metric_path"], "recording rule: give either source with aggregation, or metric_path, not both")
		case hasSrc:
			if aggNode == nil {
				d.Errf(item, "recording rule: missing required field \"aggregation\" (with source)")
			}
		case hasPath:
			if aggNode != nil {
				d.Errf(aggNode, "recording rule: aggregation goes in the metric_path, not beside it")
			}
		case item.Kind == yaml.MappingNode:
			d.Errf(item, "recording rule: missing source (with aggregation) or metric_path")
		}
		if r.Aggregation == "percentile" && pctNode == nil {
			d.Errf(aggNode, "recording rule: aggregation percentile needs a percentile field (e.g. 95)")
		}
		if pctNode != nil && aggNode != nil && r.Aggregation != "" && r.Aggregation != "percentile" {
			d.Errf(pctNode, "percentile: only with aggregation percentile")
		}
		d.cfg.RecordingRules = append(d.cfg.RecordingRules, r)
	})
}

func want(set []string) string {
	if len(set) == 1 {
		return set[0]
	}
	return strings.Join(set[:len(set)-1], ", ") + " or " + set[len(set)-1]
}
