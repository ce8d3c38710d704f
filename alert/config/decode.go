package config

import (
	"os"
	"slices"

	"go.yaml.in/yaml/v3"

	"github.com/vigil-metrics/vigil/internal/configfile"
	"github.com/vigil-metrics/vigil/internal/yamlconf"
)

// Sections are the top-level keys of vigil.yaml this package decodes.
var Sections = []string{"alert_rules", "channels", "escalation", "settings", "silences", "correlation_rules", "recording_rules", "inhibit_rules"}

// Load reads and validates path; its channels may be of types. The error
// is Problems when the file was read but is invalid; the config returned
// with it holds what could be decoded (and its warnings).
func Load(path string, types ChannelTypes) (*Config, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return Parse(path, b, types)
}

// Parse validates data as if read from file; ${ENV} references are
// expanded from the process environment.
func Parse(file string, data []byte, types ChannelTypes) (*Config, error) {
	return ParseEnv(file, data, os.LookupEnv, types)
}

// ParseEnv is Parse with an explicit environment lookup: the whole file
// is read (through configfile, so its top level is checked too) and its
// alerting sections decoded.
func ParseEnv(file string, data []byte, lookup func(string) (string, bool), types ChannelTypes) (*Config, error) {
	f, err := configfile.Parse(file, data)
	top, _ := yamlconf.AsProblems(err)
	cfg, err := Decode(f, lookup, types)
	ps, _ := yamlconf.AsProblems(err)
	// A key given twice is reported by configfile and by the section's
	// decoder at the same place: keep the section's words.
	at := map[[2]int]bool{}
	for _, p := range ps {
		at[[2]int{p.Line, p.Col}] = true
	}
	top = slices.DeleteFunc(top, func(p yamlconf.Problem) bool { return at[[2]int{p.Line, p.Col}] })
	ps = append(append(Problems{}, top...), ps...)
	ps.Sort()
	return cfg, ps.Err()
}

// Decode decodes and validates the alerting sections of a read config
// file; ${ENV} references are expanded with lookup, and channels may be of
// types (their settings decoded and checked by their packages). The error
// is Problems when they are invalid; the config returned with it holds
// what could be decoded (and its warnings).
func Decode(f *configfile.File, lookup func(string) (string, bool), types ChannelTypes) (*Config, error) {
	d := &decoder{Decoder: &yamlconf.Decoder{File: f.Path, Env: lookup}, types: types,
		cfg: &Config{File: f.Path, Settings: DefaultSettings()}}
	for _, s := range []struct {
		key    string
		decode func(*yaml.Node)
	}{
		{"alert_rules", d.rules},
		{"channels", d.channels},
		{"settings", d.settings},
		{"silences", d.silences},
		{"correlation_rules", d.correlationRules},
		{"recording_rules", d.recordingRules},
		{"inhibit_rules", d.inhibitRules},
		{"escalation", d.escalation}, // after channels: steps name them
	} {
		if n := f.Section(s.key); n != nil {
			s.decode(n)
		}
	}
	for i := range d.cfg.Rules {
		d.cfg.Rules[i].Tuning = d.cfg.Settings.DynamicThresholds
		if i < len(d.ruleTuning) {
			for _, set := range d.ruleTuning[i] {
				set(&d.cfg.Rules[i].Tuning)
			}
		}
	}
	d.Warnings.Sort()
	d.cfg.Warnings = d.Warnings
	return d.cfg, d.Err()
}

type decoder struct {
	*yamlconf.Decoder
	types ChannelTypes
	cfg   *Config
	// ruleTuning holds each rule's tuning block, applied over the
	// settings' dynamic_thresholds at the end.
	ruleTuning [][]func(*Tuning)
}

func pos(n *yaml.Node) Pos { return Pos{n.Line, n.Column} }

// uniqueName reads a section item's name: present, and not the name of an
// earlier item of the section (names maps each to where it first stood).
func (d *decoder) uniqueName(v *yaml.Node, names map[string]*yaml.Node, what string) (string, bool) {
	s, ok := d.NonEmpty(v, "name")
	if !ok {
		return "", false
	}
	if first, dup := names[s]; dup {
		d.Errf(v, "duplicate %s name %q (first at line %d)", what, s, first.Line)
		return "", false
	}
	names[s] = v
	return s, true
}
