package report

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/vigil-metrics/vigil/alert/replay"
	"github.com/vigil-metrics/vigil/internal/configfile"
	"github.com/vigil-metrics/vigil/internal/metricpath"
	"github.com/vigil-metrics/vigil/internal/vtime"
	"github.com/vigil-metrics/vigil/internal/yamlconf"
)

// Config is the config file's report: section: what the user chose to
// report on. Empty lists mean the defaults (docs/report.md).
type Config struct {
	// Title replaces the report's heading.
	Title string `yaml:"title"`
	// Metrics are extra histogram metrics for the latency section.
	Metrics []string `yaml:"metrics"`
	// Hosts limits the resources section to these hosts.
	Hosts []string `yaml:"hosts"`
	// AlertNoise, when written, adds the "Alert noise" section: the alert
	// config replayed over the history (vigil replay). Off by default: a
	// replay reads every rule's metrics over the range.
	AlertNoise *NoiseConfig `yaml:"alert_noise"`
}

// NoiseConfig is report: alert_noise:.
type NoiseConfig struct {
	// From and Step as written: the range replayed back from the report's
	// end (default: the report's period), and the interval between two
	// runs (default: settings.evaluation_interval).
	From string `yaml:"from"`
	Step string `yaml:"step"`
	// FromDuration and StepDuration are From and Step parsed (0: the
	// default).
	FromDuration time.Duration `yaml:"-"`
	StepDuration time.Duration `yaml:"-"`
}

// configKeys are the report: section's keys, in the order messages list
// them.
var configKeys = []string{"title", "metrics", "hosts", "alert_noise"}

// noiseKeys are report: alert_noise:'s keys.
var noiseKeys = []string{"from", "step"}

// File is what report reads of a config file: its report: section and
// the metric paths of its alert rules.
type File struct {
	Report    Config
	HasReport bool
	RulePaths []string
}

// ParseFile reads data (a vigil.yaml) for the report: section and the
// alert rules' metric_path values, through configfile (so its top level
// is checked as every command's is).
func ParseFile(name string, data []byte) (File, error) {
	f, err := configfile.Parse(name, data)
	if err != nil {
		return File{}, err
	}
	return FromConfig(f)
}

// FromConfig reads the report: section and the alert rules' metric_path
// values of a read config file. The rules are not validated here (that is
// alert/config's, for vigil check and evaluate).
func FromConfig(cf *configfile.File) (File, error) {
	var f File
	name := cf.Path
	if n := cf.Section("alert_rules"); n != nil {
		var rules []struct {
			MetricPath string `yaml:"metric_path"`
		}
		if err := n.Decode(&rules); err != nil {
			return f, placed(name, "alert_rules: ", err)
		}
		for _, r := range rules {
			if r.MetricPath != "" {
				f.RulePaths = append(f.RulePaths, r.MetricPath)
			}
		}
	}
	n := cf.Section("report")
	if n == nil {
		return f, nil
	}
	f.HasReport = true
	if v := yamlconf.Value(n, "alert_noise"); v != nil && v.Kind != yaml.MappingNode {
		// Before Decode, whose words would name a Go type.
		return f, fmt.Errorf("%s:%d: report: alert_noise: want a mapping (from:, step:), got %s", name, v.Line, yamlconf.Kind(v))
	}
	if err := n.Decode(&f.Report); err != nil {
		return f, placed(name, "report: ", err)
	}
	if n.Kind == yaml.MappingNode {
		d := &yamlconf.Decoder{File: name, Lines: true, Wording: yamlconf.Wording{
			Unknown: func(what, key string, _ []string) string {
				if what == "report: alert_noise" {
					return fmt.Sprintf("%s: unknown key %q (want %s)", what, key, strings.Join(noiseKeys, ", "))
				}
				return fmt.Sprintf("report: unknown key %q (want %s)", key, strings.Join(configKeys, ", "))
			},
		}}
		d.Fields(n, "report", yamlconf.Keys(configKeys...))
		checkMetrics(d, yamlconf.Value(n, "metrics"))
		checkNoise(d, yamlconf.Value(n, "alert_noise"), f.Report.AlertNoise)
		if len(d.Problems) > 0 {
			return f, d.Problems[0] // the first, as a decode error is
		}
	}
	return f, nil
}

// checkMetrics refuses a metrics: entry that is not a histogram's name
// (optionally with label matchers), at its line: the report asks
// NAME.p50 by (service) and the like of each, so an entry written as a
// path (x.p95) would fail only when the report runs, quoting a path the
// user never wrote.
func checkMetrics(d *yamlconf.Decoder, list *yaml.Node) {
	if list == nil || list.Kind != yaml.SequenceNode {
		return
	}
	for _, item := range list.Content {
		m := strings.TrimSpace(item.Value)
		e, err := metricpath.Parse(m)
		switch {
		case err != nil:
			d.Errf(item, "report: metrics: %q: not a metric name (%v)", m, err)
		case e.Den != nil || e.Num.Agg.Kind != metricpath.Default || len(e.Num.By) > 0:
			d.Errf(item, "report: metrics: %q: want a histogram's name (such as response_time_ms, or with labels response_time_ms{service=\"api\"}), not a path: the report asks each for its percentiles by service", m)
		}
	}
}

// checkNoise checks report: alert_noise: (a mapping of from and step,
// positive durations) and sets the parsed durations on c.
func checkNoise(d *yamlconf.Decoder, n *yaml.Node, c *NoiseConfig) {
	if n == nil || c == nil {
		return
	}
	d.Fields(n, "report: alert_noise", yamlconf.Keys(noiseKeys...))
	for _, k := range []struct {
		key, example string
		into         *time.Duration
	}{{"from", "30d", &c.FromDuration}, {"step", "1m", &c.StepDuration}} {
		v := yamlconf.Value(n, k.key)
		if v == nil {
			continue
		}
		x, err := vtime.ParseDuration(v.Value)
		if err != nil || x <= 0 {
			d.Errf(v, "report: alert_noise: %s: %q: want a positive duration (%s)", k.key, v.Value, k.example)
			continue
		}
		*k.into = x
	}
	// With both given, the run count is known here: vigil check refuses
	// what vigil report would (a step of 1ns over 30d is 2.6e15 runs).
	// Without from:, it depends on the report's --period.
	if c.FromDuration > 0 && c.StepDuration > 0 {
		if runs := int64(c.FromDuration / c.StepDuration); runs < 1 || runs > replay.MaxSteps {
			step := yamlconf.Value(n, "step")
			d.Errf(step, "report: alert_noise: step: %s over from: %s is %d runs: want 1 to %d (a longer step: or a shorter from:)",
				step.Value, yamlconf.Value(n, "from").Value, runs, replay.MaxSteps)
		}
	}
}

// placed words yaml's type errors ("line 3: cannot unmarshal ...", after
// a line of its own) as every config error is: FILE:LINE: what.
func placed(name, what string, err error) error {
	var te *yaml.TypeError
	if !errors.As(err, &te) {
		return fmt.Errorf("%s: %s%w", name, what, err)
	}
	lines := make([]string, len(te.Errors))
	for i, e := range te.Errors {
		if at, msg, ok := strings.Cut(e, ": "); ok && strings.HasPrefix(at, "line ") {
			lines[i] = name + ":" + strings.TrimPrefix(at, "line ") + ": " + what + msg
		} else {
			lines[i] = name + ": " + what + e
		}
	}
	return errors.New(strings.Join(lines, "\n"))
}
