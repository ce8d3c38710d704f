package config

import (
	"go.yaml.in/yaml/v3"
)

func (d *decoder) settings(n *yaml.Node) {
	if n.Tag == "!!null" {
		return
	}
	s := &d.cfg.Settings
	d.Fields(n, "settings", map[string]func(*yaml.Node){
		"evaluation_interval": func(v *yaml.Node) {
			if x, ok := d.durationIn(v, "evaluation_interval", false, MinEvaluationInterval, MaxEvaluationInterval, whyInterval); ok {
				s.EvaluationInterval = x
			}
		},
		"batch_size": func(v *yaml.Node) {
			if x, ok := d.Int(v, "batch_size", 1); ok {
				s.BatchSize = x
			}
		},
		"max_alerts_per_minute": func(v *yaml.Node) {
			if x, ok := d.Int(v, "max_alerts_per_minute", 1); ok {
				s.MaxAlertsPerMinute = x
			}
		},
		"alert_retention_days": func(v *yaml.Node) {
			if x, ok := d.intIn(v, "alert_retention_days", 1, MaxRetentionDays, whyRetention); ok {
				s.AlertRetentionDays = x
			}
		},
		"enable_correlation": func(v *yaml.Node) {
			if x, ok := d.Boolean(v, "enable_correlation"); ok {
				s.EnableCorrelation = x
			}
		},
		"enable_deduplication": func(v *yaml.Node) {
			if x, ok := d.Boolean(v, "enable_deduplication"); ok {
				s.EnableDeduplication = x
			}
		},
		"dynamic_thresholds": func(v *yaml.Node) {
			for _, f := range d.tuning(v, "dynamic_thresholds") {
				f(&s.DynamicThresholds)
			}
		},
	})
}

// tuning reads a dynamic threshold block into setters, applied over the
// settings' defaults once the whole file is read (settings may come after
// the rules).
func (d *decoder) tuning(n *yaml.Node, what string) []func(*Tuning) {
	var out []func(*Tuning)
	num := func(key string, min float64, exclusive bool, set func(*Tuning, float64)) func(*yaml.Node) {
		return func(v *yaml.Node) {
			x, ok := d.Number(v, key)
			if !ok {
				return
			}
			if x < min || exclusive && x == min {
				rel := ">="
				if exclusive {
					rel = ">"
				}
				d.Errf(v, "%s: want a number %s %v, got %s", key, rel, min, v.Value)
				return
			}
			out = append(out, func(t *Tuning) { set(t, x) })
		}
	}
	d.Fields(n, what, map[string]func(*yaml.Node){
		"method": func(v *yaml.Node) {
			if s, ok := d.Enum(v, "method", "method", TuningMethods); ok {
				out = append(out, func(t *Tuning) { t.Method = s })
			}
		},
		"season": func(v *yaml.Node) {
			if s, ok := d.Enum(v, "season", "season", Seasons); ok {
				out = append(out, func(t *Tuning) { t.Season = s })
			}
		},
		"percentile": func(v *yaml.Node) {
			x, ok := d.Number(v, "percentile")
			if ok && (x <= 0 || x >= 100) {
				d.Errf(v, "percentile: want a number strictly between 0 and 100, got %s", v.Value)
				return
			}
			out = append(out, func(t *Tuning) { t.Percentile = x })
		},
		"baseline_window": func(v *yaml.Node) {
			if x, ok := d.durationIn(v, "baseline_window", false, 0, MaxWindow, whyWindow); ok {
				out = append(out, func(t *Tuning) { t.BaselineWindow = x })
			}
		},
		"adjustment_factor":  num("adjustment_factor", 0, true, func(t *Tuning, x float64) { t.Factor = x }),
		"hysteresis":         num("hysteresis", 0, false, func(t *Tuning, x float64) { t.Hysteresis = x }),
		"hysteresis_percent": num("hysteresis_percent", 0, false, func(t *Tuning, x float64) { t.HysteresisPercent = x }),
		"mad_k":              num("mad_k", 0, true, func(t *Tuning, x float64) { t.MADK = x }),
		"min_samples": func(v *yaml.Node) {
			if x, ok := d.Int(v, "min_samples", 1); ok {
				out = append(out, func(t *Tuning) { t.MinSamples = x })
			}
		},
	})
	return out
}
