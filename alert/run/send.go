package run

import (
	"encoding/json"

	alertconfig "github.com/vigil-metrics/vigil/alert/config"
	"github.com/vigil-metrics/vigil/alert/notify"
	"github.com/vigil-metrics/vigil/alert/state"
)

// Send is one message a dry run would send (the would_send entries of
// `vigil evaluate --dry-run -o json`, docs/alerting.md).
type Send struct {
	Channel    string      `json:"channel"`
	Type       string      `json:"type"`
	Target     string      `json:"target,omitempty"`
	Kind       string      `json:"kind"`
	Alerts     []SendAlert `json:"alerts"`
	Step       *int        `json:"escalation_step"`
	Incident   string      `json:"incident,omitempty"`
	Recipients []string    `json:"recipients,omitempty"`
}

// SendAlert is one alert of a Send.
type SendAlert struct {
	Rule        string            `json:"rule"`
	Fingerprint string            `json:"fingerprint"`
	Labels      map[string]string `json:"labels"`
}

// describe says what a dry run would send where, one entry per message,
// with every target as o.Target names it (redacted to what identifies it
// without its secret).
func describe(o Options, ns []state.Notice) []Send {
	chans := map[string]alertconfig.Channel{}
	for _, c := range o.Config.Channels {
		chans[c.Name] = c
	}
	out := []Send{}
	for _, m := range notify.Messages(ns) {
		n := m[0]
		c := chans[n.Channel]
		s := Send{Channel: n.Channel, Type: c.Type, Kind: n.Kind, Incident: n.Incident}
		if o.Target != nil {
			s.Target = o.Target(c)
		}
		for _, x := range m {
			var body struct {
				Labels map[string]string `json:"labels"`
			}
			_ = json.Unmarshal(x.Alert, &body) // written by this vigil: plain data
			s.Alerts = append(s.Alerts, SendAlert{Rule: x.Rule, Fingerprint: state.FormatFingerprint(x.Fingerprint), Labels: body.Labels})
			s.Recipients = append(s.Recipients, x.Recipients...)
			if x.Step >= 0 && (s.Step == nil || x.Step > *s.Step) {
				step := x.Step
				s.Step = &step
			}
		}
		out = append(out, s)
	}
	return out
}
