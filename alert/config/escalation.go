package config

import (
	"fmt"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"
)

func (d *decoder) escalation(n *yaml.Node) {
	names := map[string]*yaml.Node{}
	d.List(n, "escalation", func(item *yaml.Node) {
		p := EscalationPolicy{Pos: pos(item)}
		what := "escalation policy"
		seen := d.Fields(item, what, map[string]func(*yaml.Node){
			"name":     func(v *yaml.Node) { p.Name, _ = d.uniqueName(v, names, "escalation policy") },
			"triggers": func(v *yaml.Node) { p.Triggers = d.filters(v, "triggers") },
			"steps": func(v *yaml.Node) {
				d.List(v, "steps", func(st *yaml.Node) { p.Steps = append(p.Steps, d.step(st)) })
				if v.Kind == yaml.SequenceNode && len(v.Content) == 0 || v.Tag == "!!null" {
					d.Errf(v, "steps: want at least one step")
				}
			},
		})
		if p.Name != "" {
			what = fmt.Sprintf("escalation policy %q", p.Name)
		}
		d.Required(item, seen, what, "name", "steps")
		d.cfg.Escalation = append(d.cfg.Escalation, p)
	})
}

func (d *decoder) step(n *yaml.Node) EscalationStep {
	var s EscalationStep
	seen := d.Fields(n, "escalation step", map[string]func(*yaml.Node){
		"delay": func(v *yaml.Node) { s.Delay, _ = d.durationIn(v, "delay", true, 0, MaxHold, whyHold) },
		"channels": func(v *yaml.Node) {
			cs, ok := d.Strings(v, "channels")
			if !ok {
				return
			}
			if len(cs) == 0 {
				d.Errf(v, "channels: want at least one channel")
			}
			s.Channels = cs
			for i, c := range cs {
				res := d.resolve(c)
				if len(res) == 0 {
					d.Errf(v.Content[i], "channel %q matches no channel name or type (have %s)", c, d.channelList())
				}
				for _, r := range res {
					if !slices.Contains(s.Resolved, r) {
						s.Resolved = append(s.Resolved, r)
					}
				}
			}
		},
		"recipients": func(v *yaml.Node) { s.Recipients, _ = d.Strings(v, "recipients") },
	})
	d.Required(n, seen, "escalation step", "channels")
	return s
}

// resolve turns a step's channel entry into channel names: a name, or a
// type meaning every channel of that type.
func (d *decoder) resolve(ref string) []string {
	var out []string
	for _, c := range d.cfg.Channels {
		if c.Name == ref && c.Name != "" {
			return []string{c.Name}
		}
	}
	for _, c := range d.cfg.Channels {
		if c.Type == ref && c.Name != "" {
			out = append(out, c.Name)
		}
	}
	return out
}

func (d *decoder) channelList() string {
	var have []string
	for _, c := range d.cfg.Channels {
		if c.Name != "" {
			have = append(have, c.Name+" ("+c.Type+")")
		}
	}
	if len(have) == 0 {
		return "no channels"
	}
	return strings.Join(have, ", ")
}
