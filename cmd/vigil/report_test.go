package main

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"encoding/xml"
	"errors"
	"flag"
	"io"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/vigil-metrics/vigil/report"
)

var updateGolden = flag.Bool("update", false, "rewrite report/testdata's golden reports")

const reportAt = "2026-11-29T12:00:00Z"

// reportFixture builds the demo store (and a state DB of
// testdata/alerting/demo.yaml evaluated at reportAt) in a temporary
// folder, makes it the working directory and returns the config
// examples/vigil.yaml's absolute path and the repository root.
func reportFixture(t *testing.T) (cfg, root string) {
	t.Helper()
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	t.Setenv("HOME", filepath.Join(dir, "no-home"))
	// "Generated" is the wall clock unless SOURCE_DATE_EPOCH fixes it:
	// 2026-11-29T12:05:00Z, five minutes after the period's end.
	t.Setenv("SOURCE_DATE_EPOCH", "1795953900")
	t.Chdir(dir)
	if code, _, stderr := sloRun(t, "store", "demo", "--db", "demo.db", "--at", reportAt); code != 0 {
		t.Fatalf("store demo: exit %d: %s", code, stderr)
	}
	if code, _, stderr := sloRun(t, "evaluate", "--config", filepath.Join(root, "testdata/alerting/demo.yaml"),
		"--db", "demo.db", "--state", "state.db", "--at", reportAt); code != 0 {
		t.Fatalf("evaluate: exit %d: %s", code, stderr)
	}
	return filepath.Join(root, "examples/vigil.yaml"), root
}

// TestReportGolden compares vigil report on the demo store with the
// golden files; go test ./cmd/vigil -run TestReportGolden -update
// rewrites them (review the diff by eye).
func TestReportGolden(t *testing.T) {
	cfg, root := reportFixture(t)
	for _, c := range []struct {
		golden string
		args   []string
	}{
		{"demo_7d.md", nil},
		{"demo_1d_berlin.md", []string{"--period", "1d", "--tz", "Europe/Berlin"}},
		// No --state and none at the default path (vigil-state.db beside
		// a copy of the config): no alert history. A --state named but
		// missing is an error instead (issue 23; state_integrity.txtar).
		{"demo_no_state.md", []string{"--period", "1d", "--compare", "none"}},
	} {
		t.Run(c.golden, func(t *testing.T) {
			base := []string{"report", "--config", cfg, "--db", "demo.db", "--state", "state.db", "--at", reportAt, "--out", "out.md"}
			if c.golden == "demo_no_state.md" {
				b, err := os.ReadFile(cfg)
				if err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile("nostate.yaml", b, 0o644); err != nil {
					t.Fatal(err)
				}
				base = []string{"report", "--config", "nostate.yaml", "--db", "demo.db", "--at", reportAt, "--out", "out.md"}
			}
			args := append(base, c.args...)
			if code, stdout, stderr := sloRun(t, args...); code != 0 || stdout != "" {
				t.Fatalf("exit %d, stdout %q, stderr %s", code, stdout, stderr)
			}
			got, err := os.ReadFile("out.md")
			if err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(root, "report/testdata", c.golden)
			if *updateGolden {
				if err := os.WriteFile(path, got, 0o644); err != nil {
					t.Fatal(err)
				}
				for _, l := range mdLink.FindAllStringSubmatch(string(got), -1) {
					svg, err := os.ReadFile(l[1])
					if err != nil {
						t.Fatal(err)
					}
					if c.golden == "demo_7d.md" {
						if err := os.WriteFile(filepath.Join(root, "report/testdata", "demo_7d"+strings.TrimPrefix(l[1], "out")), svg, 0o644); err != nil {
							t.Fatal(err)
						}
					}
				}
				return
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (go test -run TestReportGolden -update writes it)", err)
			}
			if string(got) != string(want) {
				t.Errorf("report differs from %s (go test -run TestReportGolden -update rewrites it):\n%s", path, got)
			}
			if c.golden != "demo_7d.md" {
				return
			}
			// Its charts too: demo_7d-budget-api-availability.svg, ...
			for _, l := range mdLink.FindAllStringSubmatch(string(got), -1) {
				svg, err := os.ReadFile(l[1])
				if err != nil {
					t.Fatal(err)
				}
				want, err := os.ReadFile(filepath.Join(root, "report/testdata", "demo_7d"+strings.TrimPrefix(l[1], "out")))
				if err != nil {
					t.Fatal(err)
				}
				if string(svg) != string(want) {
					t.Errorf("chart %s differs from its golden file (-update rewrites it)", l[1])
				}
			}
		})
	}
}

// TestReportMatchesCommands: the report's numbers are those of vigil slo,
// vigil budget and vigil query for the same store and time.
func TestReportMatchesCommands(t *testing.T) {
	cfg, _ := reportFixture(t)
	code, md, stderr := sloRun(t, "report", "--config", cfg, "--db", "demo.db", "--state", "state.db", "--at", reportAt)
	if code != 0 {
		t.Fatalf("report: exit %d: %s", code, stderr)
	}
	jsonOf := func(v any, args ...string) {
		t.Helper()
		code, out, stderr := sloRun(t, append(args, "--config", cfg, "--db", "demo.db", "--at", reportAt, "-o", "json")...)
		if code != 0 && code != 3 {
			t.Fatalf("%v: exit %d: %s", args, code, stderr)
		}
		if err := json.Unmarshal([]byte(out), v); err != nil {
			t.Fatalf("%v: %v", args, err)
		}
	}
	has := func(want string) {
		t.Helper()
		if !strings.Contains(md, want) {
			t.Errorf("report lacks %q:\n%s", want, md)
		}
	}
	// cell is column i (from 0) of the table row that starts with prefix.
	cell := func(prefix string, i int) string {
		t.Helper()
		for _, line := range strings.Split(md, "\n") {
			if strings.HasPrefix(line, prefix) {
				cells := strings.Split(strings.Trim(line, "|"), "|")
				return strings.TrimSpace(cells[i])
			}
		}
		t.Errorf("report has no row %q:\n%s", prefix, md)
		return ""
	}
	r4 := func(v float64, d float64) string { p := math.Pow(10, d); return report.Num(math.Round(v*p) / p) }

	var s struct{ SLOs []sloJSON }
	jsonOf(&s, "slo", "--no-fail")
	if len(s.SLOs) != 4 {
		t.Fatalf("slo: %d objectives, want 4", len(s.SLOs))
	}
	for _, x := range s.SLOs {
		has("| " + x.Service + " | " + x.SLI + " | " + x.Window + " | " + report.Num(x.TargetPercent) + "% | " + r4(x.Percent, 4) + "% | ")
	}
	var b struct{ Budgets []budgetJSON }
	jsonOf(&b, "budget")
	for _, x := range b.Budgets {
		has("| " + x.Service + " | " + x.SLI + " | " + x.Window + " | " + r4(x.ConsumptionPercent, 2) + "% | " + r4(x.RemainingMinutes, 1) + " | " + r4(*x.BurnRates["1h"], 2) + " | ")
	}
	// The incident the issue names: api overspent its availability budget.
	// (Consumption as the budget table prints it, 2 decimals: issue 25 D4.)
	has("- api used 249.43% of its availability error budget (7d): it is exhausted.")

	var q struct {
		Results []struct {
			Labels map[string]string
			Value  float64
		}
	}
	jsonOf(&q, "query", "response_time_ms.p95 by (service)", "--window", "7d")
	for _, x := range q.Results {
		if got, want := cell("| response_time_ms | "+x.Labels["service"]+" | ", 4), r4(x.Value, 2); got != want {
			t.Errorf("%s p95: report %s, query %s", x.Labels["service"], got, want)
		}
	}
	jsonOf(&q, "query", "cpu_usage_percent.max by (host)", "--window", "7d")
	if len(q.Results) != 3 {
		t.Fatalf("cpu max: %d hosts, want 3", len(q.Results))
	}
	for _, x := range q.Results {
		if got, want := cell("| "+x.Labels["host"]+" | cpu_usage_percent | ", 3), r4(x.Value, 2); got != want {
			t.Errorf("%s cpu peak: report %s, query %s", x.Labels["host"], got, want)
		}
	}
}

// svgText is the text of an SVG's <text> elements; it fails the test when
// the SVG is not well-formed XML.
func svgText(t *testing.T, name string, data []byte) []string {
	t.Helper()
	d := xml.NewDecoder(bytes.NewReader(data))
	var out []string
	in := false
	for {
		tok, err := d.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		switch x := tok.(type) {
		case xml.StartElement:
			in = x.Name.Local == "text"
		case xml.EndElement:
			in = false
		case xml.CharData:
			if in && strings.TrimSpace(string(x)) != "" {
				out = append(out, strings.TrimSpace(string(x)))
			}
		}
	}
	return out
}

var mdLink = regexp.MustCompile(`!?\[[^\]]*\]\(([^)]+)\)`)

// TestReportCharts: with --out, every link and image of the markdown is a
// file beside it, each an SVG with its title, axis labels with units and
// dates, and the budget line; --charts=false draws none and no sparklines.
func TestReportCharts(t *testing.T) {
	cfg, _ := reportFixture(t)
	run := func(args ...string) {
		t.Helper()
		args = append([]string{"report", "--config", cfg, "--db", "demo.db", "--state", "state.db", "--at", reportAt}, args...)
		if code, _, stderr := sloRun(t, args...); code != 0 {
			t.Fatalf("exit %d: %s", code, stderr)
		}
	}
	if err := os.Mkdir("out", 0o755); err != nil {
		t.Fatal(err)
	}
	run("--out", "out/weekly.md", "--tz", "Europe/Berlin")
	md, err := os.ReadFile("out/weekly.md")
	if err != nil {
		t.Fatal(err)
	}
	links := mdLink.FindAllStringSubmatch(string(md), -1)
	if len(links) != 5 { // 4 objectives' burn-down, 1 key histogram's latency
		t.Fatalf("%d links, want 5:\n%s", len(links), md)
	}
	for _, l := range links {
		data, err := os.ReadFile(filepath.Join("out", l[1]))
		if err != nil {
			t.Fatalf("link %s: %v", l[0], err)
		}
		text := strings.Join(svgText(t, l[1], data), "|")
		// The time axis spans the points with data: the burn-down's from
		// the window's start (Nov 22 12:00), labelled at midnights from
		// Nov 23; the latency's from the first day's end (Nov 23 12:00).
		for _, want := range []string{"time (Europe/Berlin)", "Nov 24", "Nov 29"} {
			if !strings.Contains(text, want) {
				t.Errorf("%s: no %q in its text %q", l[1], want, text)
			}
		}
		switch {
		case strings.HasPrefix(l[1], "weekly-budget-"):
			for _, want := range []string{"Error budget remaining: ", "budget remaining (%)", "exhausted (0%)", "Nov 23"} {
				if !strings.Contains(text, want) {
					t.Errorf("%s: no %q in its text %q", l[1], want, text)
				}
			}
		case l[1] == "weekly-latency-response_time_ms.svg":
			for _, want := range []string{"Latency p95: response_time_ms", "p95 (ms)", "|api|web"} {
				if !strings.Contains(text, want) {
					t.Errorf("%s: no %q in its text %q", l[1], want, text)
				}
			}
		default:
			t.Errorf("unexpected link %s", l[0])
		}
	}
	if !strings.Contains(string(md), " p95 trend |") || !strings.ContainsAny(string(md), "▁█") {
		t.Errorf("no sparklines:\n%s", md)
	}

	if err := os.Mkdir("off", 0o755); err != nil {
		t.Fatal(err)
	}
	run("--out", "off/weekly.md", "--tz", "Europe/Berlin", "--charts=false")
	off, err := os.ReadFile("off/weekly.md")
	if err != nil {
		t.Fatal(err)
	}
	if mdLink.Match(off) || strings.Contains(string(off), "p95 trend |") || strings.ContainsAny(string(off), "▁█") {
		t.Errorf("--charts=false drew charts:\n%s", off)
	}
	if ents, _ := os.ReadDir("off"); len(ents) != 1 {
		t.Errorf("--charts=false wrote %d files, want 1", len(ents))
	}
	// Without charts, the report is the charted one less the charts.
	strip := regexp.MustCompile(`(?m)^!\[.*\n\n|^The p95 trend is .*\n\n| [▁▂▃▄▅▆▇█·]+ \|$| p95 trend \|$`)
	got := strip.ReplaceAllString(string(md), "")
	got = strings.Replace(got, "|---:|---:|---:|---:|---:|---:|---|\n", "|---:|---:|---:|---:|---:|---:|\n", 1)
	if want := string(off); got != want {
		t.Errorf("charts changed the rest of the report:\n%s\nwithout charts:\n%s", got, want)
	}
}

var number = regexp.MustCompile(`[-+]?\d+(?:\.\d+)?%?`)

// TestReportHTML: --format html is one well-formed (XHTML) file whose
// text has the markdown report's numbers, with every chart inlined as a
// well-formed SVG data: URI and no file written beside it.
func TestReportHTML(t *testing.T) {
	cfg, _ := reportFixture(t)
	for _, f := range []string{"html", "markdown"} {
		args := []string{"report", "--config", cfg, "--db", "demo.db", "--state", "state.db", "--at", reportAt, "--format", f, "--out", "r." + f}
		if code, _, stderr := sloRun(t, args...); code != 0 {
			t.Fatalf("%s: exit %d: %s", f, code, stderr)
		}
		if ents, _ := filepath.Glob("*.svg"); f == "html" && len(ents) != 0 {
			t.Errorf("--format html wrote %v", ents)
		}
	}
	page, err := os.ReadFile("r.html")
	if err != nil {
		t.Fatal(err)
	}
	md, err := os.ReadFile("r.markdown")
	if err != nil {
		t.Fatal(err)
	}
	d := xml.NewDecoder(bytes.NewReader(page))
	var text strings.Builder
	var imgs []string
	tables := 0
	for {
		tok, err := d.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("html is not well-formed: %v", err)
		}
		switch x := tok.(type) {
		case xml.StartElement:
			switch x.Name.Local {
			case "img":
				for _, a := range x.Attr {
					if a.Name.Local == "src" {
						imgs = append(imgs, a.Value)
					}
				}
			case "table":
				tables++
			case "style", "title":
				d.Skip()
			}
		case xml.CharData:
			text.WriteString(string(x))
			text.WriteByte(' ')
		}
	}
	if tables != strings.Count(string(md), "\n|---") {
		t.Errorf("%d tables, want %d as in the markdown", tables, strings.Count(string(md), "\n|---"))
	}
	if len(imgs) != 5 {
		t.Errorf("%d images, want 5", len(imgs))
	}
	for i, src := range imgs {
		b64, ok := strings.CutPrefix(src, "data:image/svg+xml;base64,")
		if !ok {
			t.Fatalf("image %d is not inlined: %.80s", i, src)
		}
		svg, err := base64.StdEncoding.DecodeString(b64)
		if err != nil {
			t.Fatal(err)
		}
		if len(svgText(t, "image", svg)) == 0 {
			t.Errorf("image %d has no text", i)
		}
	}
	// The same numbers, in the same order (the markdown less its links).
	mdText := mdLink.ReplaceAllString(string(md), "")
	got, want := number.FindAllString(text.String(), -1), number.FindAllString(mdText, -1)
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("html numbers differ from the markdown's:\n%v\nwant:\n%v", got, want)
	}
}

// The report and its charts are written through a new file renamed into
// place (issue 23): a planted symlink is replaced, never written through,
// and a file hard-linked to the old report keeps the old text (written in
// place, it would change with it, and a reader could see half a report).
func TestReportOutputsReplaced(t *testing.T) {
	cfg, _ := reportFixture(t)
	args := []string{"report", "--config", cfg, "--db", "demo.db", "--state", "state.db", "--at", reportAt, "--out", "weekly.md"}
	if code, _, stderr := sloRun(t, args...); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	md, err := os.ReadFile("weekly.md")
	if err != nil {
		t.Fatal(err)
	}
	links := mdLink.FindAllStringSubmatch(string(md), -1)
	if len(links) == 0 {
		t.Fatal("no chart linked")
	}
	precious := []byte("someone else's file: vigil must never write here\n")
	if err := os.WriteFile("precious.txt", precious, 0o644); err != nil {
		t.Fatal(err)
	}
	// Every chart becomes a symlink to precious.txt; the report gets a
	// second name, old.md.
	for _, l := range links {
		if err := os.Remove(l[1]); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink("precious.txt", l[1]); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Link("weekly.md", "old.md"); err != nil {
		t.Fatal(err)
	}
	if code, _, stderr := sloRun(t, append(args, "--period", "1d")...); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if got, _ := os.ReadFile("precious.txt"); !bytes.Equal(got, precious) {
		t.Errorf("a symlink's target was written: %.80q", got)
	}
	if got, _ := os.ReadFile("old.md"); !bytes.Equal(got, md) {
		t.Errorf("the old report was rewritten in place")
	}
	for _, l := range links {
		st, err := os.Lstat(l[1])
		if err != nil || !st.Mode().IsRegular() {
			t.Errorf("%s: %v, %v; want a plain file", l[1], st, err)
		}
	}
	ents, _ := os.ReadDir(".")
	for _, e := range ents {
		if strings.Contains(e.Name(), ".tmp-") {
			t.Errorf("temporary file left: %s", e.Name())
		}
	}
}

// report --out: a folder is refused before any chart is written, and a
// missing folder is said as --out's error (h32 D4).
func TestReportOutNamedOnError(t *testing.T) {
	cfg, _ := reportFixture(t)
	base := []string{"report", "--config", cfg, "--db", "demo.db", "--state", "state.db", "--at", reportAt, "--out"}
	code, _, stderr := sloRun(t, append(base, "nod/r.md")...)
	if code != 1 || !strings.Contains(stderr, "vigil: error: --out nod/r.md: its chart r-") {
		t.Errorf("missing folder: exit %d, stderr %s", code, stderr)
	}
	if err := os.Mkdir("d.md", 0o755); err != nil {
		t.Fatal(err)
	}
	code, _, stderr = sloRun(t, append(base, "d.md")...)
	if code != 1 || !strings.Contains(stderr, "vigil: error: --out d.md: is a folder") {
		t.Errorf("folder: exit %d, stderr %s", code, stderr)
	}
	if svgs, _ := filepath.Glob("d-*.svg"); len(svgs) != 0 {
		t.Errorf("charts of a report never written: %v", svgs)
	}
}
