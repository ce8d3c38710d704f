package config

import (
	"strings"
	"testing"
)

const checkRules = "alert_rules:\n" +
	"  - {name: node_down, metric_path: up.last, condition: less_than, threshold: 1, severity: critical, evaluation_window: 60}\n" +
	"  - {name: high_cpu, metric_path: cpu.last, condition: greater_than, threshold: 90, severity: high, evaluation_window: 60}\n"

func warnings(cfg *Config) string {
	var ws []string
	for _, w := range cfg.Warnings {
		ws = append(ws, w.Error())
	}
	return strings.Join(ws, "\n")
}

// `alertname=="x"` reads as the value `="x"`: an error, not a matcher
// that never matches (h30 D15).
func TestInhibitDoubleEquals(t *testing.T) {
	for _, m := range []string{`alertname=="node_down"`, `alertname!==node_down`} {
		src := checkRules + "inhibit_rules:\n  - source_matchers: ['" + m + "']\n    target_matchers: [alertname=high_cpu]\n"
		_, err := Parse("c.yaml", []byte(src), nil)
		if err == nil || !strings.Contains(err.Error(), "c.yaml:5:23: source_matchers:") || !strings.Contains(err.Error(), "quote a value that starts with =") {
			t.Errorf("%s: error %v", m, err)
		}
	}
	// Quoted, a value may start with =.
	src := checkRules + "inhibit_rules:\n  - source_matchers: ['team=\"=x\"']\n    target_matchers: [alertname=high_cpu]\n"
	if _, err := Parse("c.yaml", []byte(src), nil); err != nil {
		t.Errorf("quoted =x: %v", err)
	}
}

// An alertname equality that names no rule nor SLO alert is a warning:
// a typo there mutes nothing, silently (h30 D15).
func TestInhibitUnknownAlertname(t *testing.T) {
	src := checkRules + "inhibit_rules:\n" +
		"  - source_matchers: ['alertname=\"node_dwon\"']\n    target_matchers: [alertname=high_cpu]\n" +
		"  - source_matchers: [alertname=slo_burn_rate_page]\n    target_matchers: ['alertname!=\"nothing\"']\n"
	cfg, err := Parse("c.yaml", []byte(src), nil)
	if err != nil {
		t.Fatal(err)
	}
	w := warnings(cfg)
	if !strings.Contains(w, `c.yaml:5:23: source_matchers: alertname "node_dwon" is no rule's name nor an SLO alert's`) {
		t.Errorf("warnings:\n%s", w)
	}
	if strings.Count(w, "\n") != 0 {
		t.Errorf("want one warning (slo_burn_rate_page is known; != is not checked):\n%s", w)
	}
}

// Two inhibit rules whose sources and targets can mute each other are a
// warning: both alerts held, neither is ever told (h30 D5).
func TestInhibitCycle(t *testing.T) {
	src := checkRules + "inhibit_rules:\n" +
		"  - {source_matchers: ['alertname=\"node_down\"'], target_matchers: ['alertname=\"high_cpu\"'], equal: [host]}\n" +
		"  - {source_matchers: ['alertname=\"high_cpu\"'], target_matchers: ['alertname=\"node_down\"'], equal: [host]}\n"
	cfg, err := Parse("c.yaml", []byte(src), nil)
	if err != nil {
		t.Fatal(err)
	}
	if w := warnings(cfg); !strings.Contains(w, "c.yaml:6:5: inhibit rule: it and the one at line 5 can mute each other") {
		t.Errorf("warnings:\n%s", w)
	}
	// One way only, or by severity with no rule on both sides: no warning.
	src = checkRules + "inhibit_rules:\n" +
		"  - {source_matchers: ['alertname=\"node_down\"'], target_matchers: ['alertname=\"high_cpu\"']}\n" +
		"  - {source_matchers: [severity=critical], target_matchers: [severity=high]}\n"
	if cfg, err = Parse("c.yaml", []byte(src), nil); err != nil || len(cfg.Warnings) != 0 {
		t.Errorf("no cycle: %v, warnings:\n%s", err, warnings(cfg))
	}
}

// A runbook_url holding {{ is a warning: annotations are not templated,
// so a Prometheus-style template is a broken link in every notice (h30 D31).
func TestRunbookTemplateWarning(t *testing.T) {
	src := "alert_rules:\n  - name: r\n    metric_path: cpu.last\n    condition: greater_than\n    threshold: 1\n    severity: high\n    evaluation_window: 60\n" +
		"    annotations: {runbook_url: 'http://x/{{ .Labels.host }}'}\n"
	cfg, err := Parse("c.yaml", []byte(src), nil)
	if err != nil {
		t.Fatal(err)
	}
	if w := warnings(cfg); !strings.Contains(w, "c.yaml:8:32: annotations: runbook_url holds {{: annotations are not templated") {
		t.Errorf("warnings:\n%s", w)
	}
}

// The SLO alerts' names are vigil budget's: a rule of the same name and
// labels would step budget's alert (and resolve its page) (h30 D35).
func TestSLOAlertNamesReserved(t *testing.T) {
	src := "alert_rules:\n  - {name: slo_burn_rate_page, metric_path: cpu.last, condition: greater_than, threshold: 1, severity: high, evaluation_window: 60}\n"
	_, err := Parse("c.yaml", []byte(src), nil)
	if err == nil || !strings.Contains(err.Error(), `c.yaml:2:12: rule name "slo_burn_rate_page" is vigil budget's SLO alert's`) {
		t.Errorf("error %v", err)
	}
}

// `alertname=~""` (or `alertname=""`) matches only an alert with no name,
// and every alert has one: a matcher that matches no alert, muting nothing.
// An error at its place with a hint (h30 D15, its minor part).
func TestInhibitEmptyAlertname(t *testing.T) {
	for _, m := range []string{`alertname=~""`, `alertname=~`, `alertname=""`, `alertname = ""`} {
		src := checkRules + "inhibit_rules:\n  - source_matchers: ['" + m + "']\n    target_matchers: [alertname=high_cpu]\n"
		_, err := Parse("c.yaml", []byte(src), nil)
		if err == nil || !strings.Contains(err.Error(), "c.yaml:5:23: source_matchers: "+strings.ReplaceAll(m, " ", "")) ||
			!strings.Contains(err.Error(), "matches no alert (every alert has a name)") || !strings.Contains(err.Error(), `alertname=~".+"`) {
			t.Errorf("%s: error %v", m, err)
		}
	}
	// The negations match every alert: Alertmanager's "any alert", kept.
	for _, m := range []string{`alertname!~""`, `alertname!=""`} {
		src := checkRules + "inhibit_rules:\n  - source_matchers: [alertname=node_down]\n    target_matchers: ['" + m + "']\n"
		if cfg, err := Parse("c.yaml", []byte(src), nil); err != nil || len(cfg.Warnings) != 0 {
			t.Errorf("%s: %v, warnings:\n%s", m, err, warnings(cfg))
		}
	}
}

// An alertname regexp that matches no rule's name nor an SLO alert's is a
// warning, as an equality naming none is.
func TestInhibitAlertnameRegexMatchesNone(t *testing.T) {
	src := checkRules + "inhibit_rules:\n" +
		"  - source_matchers: ['alertname=~\"nod_.*\"']\n    target_matchers: ['alertname=~\"high_.*|slo_.*\"']\n"
	cfg, err := Parse("c.yaml", []byte(src), nil)
	if err != nil {
		t.Fatal(err)
	}
	w := warnings(cfg)
	if !strings.Contains(w, `c.yaml:5:23: source_matchers: alertname=~"nod_.*" matches no rule's name nor an SLO alert's`) || strings.Count(w, "\n") != 0 {
		t.Errorf("want one warning, for the source:\n%s", w)
	}
}

// A negation every known name fails (alertname!~".*") matches nothing
// too: a warning (h31 H7); alertname!~"" (any alert) is none.
func TestInhibitAlertnameNegationMatchesNone(t *testing.T) {
	src := checkRules + "inhibit_rules:\n" +
		"  - source_matchers: ['alertname!~\".*\"']\n    target_matchers: ['alertname!~\"\"']\n"
	cfg, err := Parse("c.yaml", []byte(src), nil)
	if err != nil {
		t.Fatal(err)
	}
	w := warnings(cfg)
	if !strings.Contains(w, `c.yaml:5:23: source_matchers: alertname!~".*" matches no rule's name nor an SLO alert's`) || strings.Count(w, "\n") != 0 {
		t.Errorf("want one warning, for the source:\n%s", w)
	}
}

// alertname matchers that each match a known name but none together
// (alertname=~"high_.*" and alertname!~"high_.*") make the rule match
// nothing: a warning (h31 H13); ones some name passes together are fine.
func TestInhibitAlertnamesTogether(t *testing.T) {
	src := checkRules + "inhibit_rules:\n" +
		"  - source_matchers: ['alertname=~\"nod.*\"', 'alertname!~\"nod.*\"']\n    target_matchers: ['alertname=~\"high_.*|nod.*\"', 'alertname!=\"nope\"']\n"
	cfg, err := Parse("c.yaml", []byte(src), nil)
	if err != nil {
		t.Fatal(err)
	}
	w := warnings(cfg)
	if !strings.Contains(w, `c.yaml:5:22: source_matchers: no rule's name nor an SLO alert's passes alertname=~"nod.*" and alertname!~"nod.*" together: the rule matches nothing`) || strings.Count(w, "\n") != 0 {
		t.Errorf("want one warning, for the source:\n%s", w)
	}
}

// A runbook_url holding a space, a quote or <> is no URL a notice can
// link: refused as a relative or non-http one is, with the escape to
// write instead (h30 D31, its sub-part). Templates ({{ }}) stay a warning.
func TestRunbookBadCharacters(t *testing.T) {
	// And invisible format characters: U+202E shows the link reversed,
	// U+200B and U+FEFF hide in it (h31 H6).
	for _, u := range []string{`http://x/run book`, `http://x/a"><script>`, "http://x/a\tb", `http://x/<a>`, "http://x/a\u202eb", "http://x/a\u200bb", "http://x/\ufeffa"} {
		src := "alert_rules:\n  - name: r\n    metric_path: cpu.last\n    condition: greater_than\n    threshold: 1\n    severity: high\n    evaluation_window: 60\n" +
			"    annotations:\n      runbook_url: " + strconvQuote(u) + "\n"
		_, err := Parse("c.yaml", []byte(src), nil)
		if err == nil || !strings.Contains(err.Error(), "c.yaml:9:20: annotations: runbook_url ") || !strings.Contains(err.Error(), "percent-encode it") {
			t.Errorf("%q: error %v", u, err)
		}
	}
	src := "alert_rules:\n  - name: r\n    metric_path: cpu.last\n    condition: greater_than\n    threshold: 1\n    severity: high\n    evaluation_window: 60\n" +
		"    annotations: {runbook_url: 'https://wiki.example.com/run%20book?a=1&b=%22#x'}\n"
	if cfg, err := Parse("c.yaml", []byte(src), nil); err != nil || len(cfg.Warnings) != 0 {
		t.Errorf("encoded: %v, warnings:\n%s", err, warnings(cfg))
	}
}

// A runbook_url's port must be one: 99999 is no link (h31 H6).
func TestRunbookPort(t *testing.T) {
	src := "alert_rules:\n  - name: r\n    metric_path: cpu.last\n    condition: greater_than\n    threshold: 1\n    severity: high\n    evaluation_window: 60\n" +
		"    annotations: {runbook_url: 'https://x.example:99999/run'}\n"
	if _, err := Parse("c.yaml", []byte(src), nil); err == nil || !strings.Contains(err.Error(), "c.yaml:8:32: annotations: runbook_url \"https://x.example:99999/run\": port 99999 is not 1 to 65535") {
		t.Errorf("error %v", err)
	}
}

// strconvQuote is s as a YAML double-quoted scalar.
func strconvQuote(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\t", `\t`).Replace(s) + `"`
}
