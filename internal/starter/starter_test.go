package starter

import (
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

type doc struct {
	DB   any `yaml:"db"`
	SLOs []struct {
		Service, SLI, Good, Total string
		Target                    float64
	} `yaml:"slos"`
}

// Service names come from the stores (anyone who can push can name one):
// they must come back from the YAML as they were, whatever they hold, and
// land inside the metric path's matcher as one quoted string.
func TestRenderQuotesServices(t *testing.T) {
	in := Inputs{Stores: []string{"hosts/*.db", "a b.db"}, Metrics: []string{"http_requests_total"},
		Services: []string{`we"ird`, "x: y", "#not-a-comment"}, StatusLabel: true}
	text, err := Render(in)
	if err != nil {
		t.Fatal(err)
	}
	var d doc
	if err := yaml.Unmarshal(text, &d); err != nil {
		t.Fatalf("%v\n%s", err, text)
	}
	if db, _ := d.DB.([]any); len(db) != 2 || db[0] != "hosts/*.db" || db[1] != "a b.db" {
		t.Errorf("db: %#v", d.DB)
	}
	if len(d.SLOs) != 3 {
		t.Fatalf("slos: %+v", d.SLOs)
	}
	for i, want := range in.Services {
		s := d.SLOs[i]
		if s.Service != want || s.Target != 99.9 {
			t.Errorf("slo %d: %+v, want service %q", i, s, want)
		}
		wantGood := `http_requests_total{service=` + quote(want) + `,status!~"5.."}.increase`
		if s.Good != wantGood || s.Total != `http_requests_total{service=`+quote(want)+`}.increase` {
			t.Errorf("slo %d: good %q total %q", i, s.Good, s.Total)
		}
	}
}

// Without SLI metrics the skeleton is a comment; with sli_requests_total
// the objectives use the built-in availability SLI.
func TestRenderSLOModes(t *testing.T) {
	for _, c := range []struct {
		in       Inputs
		want     string
		slos     int
		disabled bool
	}{
		{Inputs{}, "# slos:\n", 0, true},
		{Inputs{}, "\nslos: []\n", 0, true}, // h30 D28: not the reference design's defaults
		{Inputs{Metrics: []string{"http_requests_total"}, Services: []string{"api"}}, "# slos:\n", 0, true}, // no status label
		{Inputs{Metrics: []string{"sli_requests_total"}, Services: []string{"api", "web"}}, "slos:\n  - service: \"api\"\n    target: 99.9\n    window: 30d\n  - service", 2, false},
	} {
		text, err := Render(c.in)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(text), c.want) {
			t.Errorf("%+v: no %q in\n%s", c.in, c.want, text)
		}
		var d doc
		if err := yaml.Unmarshal(text, &d); err != nil || len(d.SLOs) != c.slos {
			t.Errorf("%+v: %d slos, %v", c.in, len(d.SLOs), err)
		}
		if !strings.Contains(string(text), "metric_path: "+Heartbeat+".last\n    condition: absent") {
			t.Errorf("no heartbeat rule in\n%s", text)
		}
	}
}

// The crontab line runs in the written file's folder (h30 D1), quoted for
// sh and for cron (which reads % as a newline).
func TestCronLineQuotes(t *testing.T) {
	for dir, want := range map[string]string{
		"/etc/vigil":      "cd /etc/vigil && vigil evaluate --config v.yaml ",
		"/srv/my conf":    "cd '/srv/my conf' && ",
		"/srv/it's":       `cd '/srv/it'\''s' && `,
		"/srv/100%":       `cd '/srv/100\%' && `,
		"/srv/$HOME;rm x": "cd '/srv/$HOME;rm x' && ",
	} {
		text, err := Render(Inputs{Dir: dir, Config: "v.yaml"})
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(text), "#   * * * * *  vigil  "+want) {
			t.Errorf("%s: no %q in the crontab line", dir, want)
		}
	}
}

// Data-named lists in comments stay one bounded line.
func TestQuoteListBounded(t *testing.T) {
	names := make([]string, 25)
	for i := range names {
		names[i] = "a\nb"
	}
	got := quoteList(names)
	if strings.Contains(got, "\n") || !strings.HasSuffix(got, `"a\nb", and 15 more`) {
		t.Errorf("quoteList: %q", got)
	}
}
