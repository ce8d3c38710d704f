package config

import (
	"strings"
	"testing"
)

// inhibit_rules take Alertmanager's names and matcher syntax: a label, an
// operator (=, !=, =~, !~: regexps anchored) and a value, quoted or not.
func TestInhibitRules(t *testing.T) {
	src := "inhibit_rules:\n" +
		"  - source_matchers: ['alertname=\"node_down\"', 'severity=~\"critical|high\"']\n" +
		"    target_matchers: [severity!=critical, 'alertname!~\"node_.*\"']\n" +
		"    equal: [instance]\n"
	cfg, err := Parse("c.yaml", []byte(src), nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.InhibitRules) != 1 {
		t.Fatalf("InhibitRules = %+v", cfg.InhibitRules)
	}
	r := cfg.InhibitRules[0]
	if r.Pos.Line != 2 || strings.Join(r.Equal, ",") != "instance" || len(r.SourceMatchers) != 2 || len(r.TargetMatchers) != 2 {
		t.Fatalf("rule = %+v", r)
	}
	src1 := map[string]string{"alertname": "node_down", "severity": "high", "instance": "a"}
	if !MatchAll(r.SourceMatchers, src1) {
		t.Errorf("source matchers do not match %v", src1)
	}
	if MatchAll(r.SourceMatchers, map[string]string{"alertname": "node_down", "severity": "highest"}) {
		t.Error("=~ is anchored: highest is not high")
	}
	if !MatchAll(r.TargetMatchers, map[string]string{"alertname": "disk_full", "severity": "high"}) {
		t.Error("target matchers: disk_full (high) should match")
	}
	if MatchAll(r.TargetMatchers, map[string]string{"alertname": "node_cpu", "severity": "high"}) {
		t.Error("target matchers: node_cpu matches node_.*, so !~ excludes it")
	}
}

// What vigil check says about a bad inhibit rule: FILE:LINE:COL.
func TestInhibitRulesBad(t *testing.T) {
	for _, c := range []struct{ yaml, want string }{
		{"inhibit_rules:\n  - source_matchers: ['alertname']\n    target_matchers: [severity=high]\n",
			`c.yaml:2:23: source_matchers: "alertname" is not a matcher (want label="value", with =, !=, =~ or !~)`},
		{"inhibit_rules:\n  - source_matchers: ['x=~\"(\"']\n    target_matchers: [severity=high]\n",
			`c.yaml:2:23: source_matchers: x=~"(": bad regexp`},
		{"inhibit_rules:\n  - target_matchers: [severity=high]\n",
			`c.yaml:2:5: inhibit rule: missing required field "source_matchers"`},
		{"inhibit_rules:\n  - source_matchers: [a=b]\n    target_matchers: [c=d]\n    equals: [x]\n",
			`c.yaml:4:5: unknown field "equals" in inhibit rule (want equal, source_matchers, target_matchers)`},
	} {
		_, err := Parse("c.yaml", []byte(c.yaml), nil)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: error %v, want %q", c.yaml, err, c.want)
		}
	}
}
