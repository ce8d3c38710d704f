package report

import (
	"fmt"

	"go.yaml.in/yaml/v3"
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
}

// File is what report reads of a config file: its report: section and
// the metric paths of its alert rules.
type File struct {
	Report    Config
	HasReport bool
	RulePaths []string
}

// ParseFile reads data (a vigil.yaml) for the report: section and the
// alert rules' metric_path values. Other sections are ignored.
func ParseFile(name string, data []byte) (File, error) {
	var doc struct {
		Report     yaml.Node `yaml:"report"`
		AlertRules []struct {
			MetricPath string `yaml:"metric_path"`
		} `yaml:"alert_rules"`
	}
	var f File
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return f, fmt.Errorf("%s: %w", name, err)
	}
	for _, r := range doc.AlertRules {
		if r.MetricPath != "" {
			f.RulePaths = append(f.RulePaths, r.MetricPath)
		}
	}
	if doc.Report.Kind != 0 {
		f.HasReport = true
		if err := doc.Report.Decode(&f.Report); err != nil {
			return f, fmt.Errorf("%s: report: %w", name, err)
		}
		if doc.Report.Kind == yaml.MappingNode {
			for i := 0; i < len(doc.Report.Content); i += 2 {
				switch k := doc.Report.Content[i]; k.Value {
				case "title", "metrics", "hosts":
				default:
					return f, fmt.Errorf("%s:%d: report: unknown key %q (want title, metrics, hosts)", name, k.Line, k.Value)
				}
			}
		}
	}
	return f, nil
}
