package report

import (
	"bytes"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/extension"

	"github.com/vigil-metrics/vigil/alert/state"
)

// hostile are label values a store's writer may choose.
var hostile = []string{
	"a|b",
	"x\n# H",
	"![](http://evil/x.png)",
	"[click](http://evil)",
	"<img src=http://evil>",
	"<http://evil>",
	"\x1b]52;c;ZXZpbA==\x07",
	"\x1b[2J`code`",
	"\u202eevil",
	"- item",
}

// hostileReport shows every hostile value in every place a report shows
// a value from data: hosts, resources, latency services and metrics,
// budget alerts' reasons, the noisiest rule, incidents, highlights and
// the charts' alt text.
func hostileReport() *Report {
	f := func(v float64) *float64 { return &v }
	r := &Report{Period: 24 * time.Hour, At: t0, Compare: true, Charts: true, Stores: []string{"s|1.db"}}
	pts := []Point{{t0.Add(-time.Hour), 1}, {t0, 2}}
	for _, h := range hostile {
		r.Hosts = append(r.Hosts, h)
		r.Resources = append(r.Resources, Resource{Host: h, Metric: h, Avg: 50, Max: 95, PrevAvg: f(40)})
		r.Latency = append(r.Latency, Latency{Metric: h, Service: h, P50: 1, P90: 2, P95: 3, P99: 4, PrevP95: f(1), Trend: pts, Chart: pts})
		r.SLOs = append(r.SLOs, SLO{Service: h, SLI: h, Window: "7d", TargetPercent: 99, Good: 1, Total: 2, Percent: 50})
		r.Budgets = append(r.Budgets, Budget{Service: h, SLI: h, Window: "7d", ConsumptionPercent: 100, Exhausted: true,
			Alerts: []BudgetAlert{{Severity: "page", Reason: h}}, Burn: pts})
	}
	r.Alerts = &Alerts{Fired: 3, Noisiest: []RuleCount{{hostile[2], 3}}}
	for _, h := range hostile {
		r.Alerts.Incidents = append(r.Alerts.Incidents, state.Incident{ID: h, Correlation: h, GroupValue: h, Opened: t0})
	}
	r.Highlights = Highlights(r)
	return r
}

// pipes counts the unescaped | of a table row: the cell separators.
func pipes(line string) int {
	n, bs := 0, 0
	for _, c := range line {
		switch {
		case c == '\\':
			bs++
			continue
		case c == '|' && bs%2 == 0:
			n++
		}
		bs = 0
	}
	return n
}

var tagRe = regexp.MustCompile(`<(/?[a-z0-9]+)`)

// TestHostileMarkdown: every table row has its header's cells, the only
// headings, lists and elements are the template's, no image, link, code
// span or HTML comes from data, and no control or bidi character reaches
// the output.
func TestHostileMarkdown(t *testing.T) {
	r := hostileReport()
	if err := BuildImages(r, "report"); err != nil {
		t.Fatal(err)
	}
	var md bytes.Buffer
	if err := Render(&md, r, "markdown"); err != nil {
		t.Fatal(err)
	}
	out := md.String()
	if i := strings.IndexFunc(out, func(c rune) bool {
		return c < 0x20 && c != '\n' || c == 0x7f || c >= 0x80 && c < 0xa0 || c >= 0x202a && c <= 0x202e || c >= 0x2066 && c <= 0x2069
	}); i >= 0 {
		t.Errorf("a control or bidi character at byte %d: %q", i, out[max(0, i-20):min(len(out), i+20)])
	}
	header := 0
	headings := 0
	for i, line := range strings.Split(out, "\n") {
		switch {
		case strings.HasPrefix(line, "|") && strings.HasPrefix(strings.Split(out, "\n")[i+1], "|---"):
			header = pipes(line)
		case strings.HasPrefix(line, "|---"):
		case strings.HasPrefix(line, "|"):
			if pipes(line) != header {
				t.Errorf("row with %d cell separators, its header %d: %s", pipes(line), header, line)
			}
		case strings.HasPrefix(line, "#"):
			headings++
		}
	}
	if headings != 7 {
		t.Errorf("%d headings, want the template's 7", headings)
	}
	var h bytes.Buffer
	if err := goldmark.New(goldmark.WithExtensions(extension.GFM)).Convert(md.Bytes(), &h); err != nil {
		t.Fatal(err)
	}
	counts := map[string]int{}
	for _, m := range tagRe.FindAllStringSubmatch(h.String(), -1) {
		counts[m[1]]++
	}
	// The template's: a chart per objective (budget) and per metric
	// (latency), 3 bold labels (4 with Generated), a bold BREACHED or an
	// emphasised met per objective's status, 7 headings, 1 list, no links
	// or code. GFM's autolinks may make a bare http://evil a link (it
	// shows its target); no other <a> may appear.
	met, breached := 0, 0
	for _, o := range r.SLOs {
		switch sloState(o) {
		case "_met_":
			met++
		case "**BREACHED**":
			breached++
		}
	}
	labels := 3
	if !r.Generated.IsZero() {
		labels++
	}
	want := map[string]int{"h1": 1, "h2": 6, "ul": 1, "img": 2 * len(hostile), "code": 0, "em": met, "strong": labels + breached, "del": 0, "blockquote": 0, "ol": 0, "pre": 0}
	for tag, n := range want {
		if counts[tag] != n {
			t.Errorf("%d <%s>, want %d", counts[tag], tag, n)
		}
	}
	if counts["li"] != len(r.Highlights) {
		t.Errorf("%d list items, want the %d highlights", counts["li"], len(r.Highlights))
	}
	if strings.Contains(h.String(), `src="http`) || regexp.MustCompile(`<a href="[^"]*"[^>]*>[^<]*click`).MatchString(h.String()) {
		t.Errorf("a remote image or a disguised link:\n%s", h.String())
	}
}

// TestHostileHTML: the HTML report has the CSP, loads nothing from
// outside itself and links nowhere.
func TestHostileHTML(t *testing.T) {
	r := hostileReport()
	if err := BuildImages(r, "report"); err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := Render(&b, r, "html"); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	csp := `<meta http-equiv="Content-Security-Policy" content="default-src 'none'; img-src data:; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'" />`
	if !strings.Contains(out, csp) {
		t.Errorf("no CSP meta tag %s", csp)
	}
	if i := strings.Index(out, csp); i > strings.Index(out, "<style>") || i > strings.Index(out, "<body>") {
		t.Error("the CSP comes after content")
	}
	srcs := regexp.MustCompile(`(src|href|action|srcset|poster)="([^"]*)"`).FindAllStringSubmatch(out, -1)
	if len(srcs) != 2*len(hostile) {
		t.Errorf("%d src/href attributes, want the %d charts", len(srcs), 2*len(hostile))
	}
	for _, m := range srcs {
		if m[1] != "src" || !strings.HasPrefix(m[2], "data:image/svg+xml;base64,") {
			t.Errorf("%s=%q: want only inlined charts", m[1], m[2][:min(len(m[2]), 60)])
		}
	}
	for _, bad := range []string{"<img src=http", "<a ", "\x1b", "\u202e", "<code>"} {
		if strings.Contains(out, bad) {
			t.Errorf("HTML holds %q", bad)
		}
	}
}
