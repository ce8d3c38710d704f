package config

import (
	"strings"
	"testing"
)

// Rules take annotations (Prometheus' name); runbook_url, the one vigil
// reads, must be an http(s) URL (issue 30: notices link the runbook).
func TestRuleAnnotations(t *testing.T) {
	src := "alert_rules:\n  - {name: r1, metric_path: cpu, condition: greater_than, threshold: 80, severity: high, evaluation_window: 60,\n" +
		"     annotations: {runbook_url: 'https://runbooks.example.com/cpu', summary: CPU high}}\n"
	cfg, err := Parse("c.yaml", []byte(src), nil)
	if err != nil {
		t.Fatal(err)
	}
	if a := cfg.Rules[0].Annotations; a["runbook_url"] != "https://runbooks.example.com/cpu" || a["summary"] != "CPU high" {
		t.Errorf("annotations = %v", a)
	}
	bad := strings.Replace(src, "https://runbooks.example.com/cpu", "runbooks/cpu", 1)
	_, err = Parse("c.yaml", []byte(bad), nil)
	if want := `c.yaml:3:33: annotations: runbook_url "runbooks/cpu" is not an http(s) URL`; err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("error %v, want %q", err, want)
	}
}
