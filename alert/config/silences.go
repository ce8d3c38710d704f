package config

import (
	"path"

	"go.yaml.in/yaml/v3"
)

func (d *decoder) silences(n *yaml.Node) {
	d.List(n, "silences", func(item *yaml.Node) {
		s := Silence{Pos: pos(item)}
		var endsAt *yaml.Node
		seen := d.Fields(item, "silence", map[string]func(*yaml.Node){
			"matchers": func(v *yaml.Node) {
				s.Matchers, _ = d.LabelMap(v, "matchers")
				if v.Kind == yaml.MappingNode && len(v.Content) == 0 {
					d.Errf(v, "matchers: want at least one matcher (a silence must not mute everything)")
				}
			},
			"starts_at":  func(v *yaml.Node) { s.StartsAt, _ = d.Instant(v, "starts_at") },
			"ends_at":    func(v *yaml.Node) { s.EndsAt, _ = d.Instant(v, "ends_at"); endsAt = v },
			"comment":    func(v *yaml.Node) { s.Comment, _ = d.Str(v, "comment") },
			"created_by": func(v *yaml.Node) { s.CreatedBy, _ = d.Str(v, "created_by") },
		})
		d.Required(item, seen, "silence", "matchers", "ends_at")
		if endsAt != nil && !s.StartsAt.IsZero() && !s.EndsAt.IsZero() && !s.EndsAt.After(s.StartsAt) {
			d.Errf(endsAt, "ends_at: must be after starts_at")
		}
		d.cfg.Silences = append(d.cfg.Silences, s)
	})
}

func (d *decoder) correlationRules(n *yaml.Node) {
	names := map[string]*yaml.Node{}
	d.List(n, "correlation_rules", func(item *yaml.Node) {
		r := CorrelationRule{Pos: pos(item)}
		seen := d.Fields(item, "correlation rule", map[string]func(*yaml.Node){
			"name":        func(v *yaml.Node) { r.Name, _ = d.uniqueName(v, names, "correlation rule") },
			"group_key":   func(v *yaml.Node) { r.GroupKey, _ = d.NonEmpty(v, "group_key") },
			"time_window": func(v *yaml.Node) { r.TimeWindow, _ = d.durationIn(v, "time_window", false, 0, MaxHold, whyHold) },
			"alert_patterns": func(v *yaml.Node) {
				ps, ok := d.Strings(v, "alert_patterns")
				if !ok {
					return
				}
				for i, p := range ps {
					if _, err := path.Match(p, ""); err != nil {
						d.Errf(v.Content[i], "alert_patterns: bad glob %q", p)
					}
				}
				r.AlertPatterns = ps
			},
			"label_matchers": func(v *yaml.Node) { r.LabelMatchers, _ = d.LabelMap(v, "label_matchers") },
		})
		d.Required(item, seen, "correlation rule", "name", "group_key", "time_window")
		d.cfg.CorrelationRules = append(d.cfg.CorrelationRules, r)
	})
}
