package dashboards

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/vigil-metrics/vigil/analyze/slo"
)

func boards(t *testing.T, in Input) (map[string]*Dashboard, []string) {
	t.Helper()
	files, warnings, err := Build(in)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]*Dashboard{}
	for _, f := range files {
		var d Dashboard
		if err := json.Unmarshal(f.Data, &d); err != nil {
			t.Fatal(err)
		}
		out[f.Name] = &d
	}
	return out, warnings
}

func titles(d *Dashboard) []string {
	var out []string
	for _, p := range d.Panels {
		out = append(out, p.Title)
	}
	return out
}

func TestBuildPlacesRulesAndServices(t *testing.T) {
	in := testInput(t)
	in.Catalog.add("orders_total", Counter, "a.b", nil)
	in.Catalog.add("orders_total", Counter, "a-b", nil)
	in.Catalog.add("orders_total", Counter, "shop$x", nil)
	in.Rules = append(in.Rules, Rule{Name: "req_p95", Path: "http_requests_total.p95", Condition: "greater_than", Threshold: 1})
	bs, warnings := boards(t, in)

	// Services: the stores' (api, search, checkout, a.b, a-b), never
	// shop$x; a.b and a-b get distinct files.
	var names []string
	for n := range bs {
		names = append(names, n)
	}
	slices.Sort(names)
	if len(names) != 7 || !slices.Contains(names, "vigil-service-api.json") || !slices.Contains(names, "vigil-service-a-b.json") ||
		!slices.Contains(names, "vigil-overview.json") || !slices.Contains(names, "vigil-hosts.json") {
		t.Fatalf("files %v", names)
	}
	if !slices.ContainsFunc(warnings, func(w string) bool { return strings.Contains(w, `service "shop$x": left out`) }) {
		t.Errorf("no warning for shop$x: %v", warnings)
	}
	// The counter's p95 has no PromQL equal: no panel, a warning.
	if !slices.ContainsFunc(warnings, func(w string) bool {
		return strings.Contains(w, "rule req_p95") && strings.Contains(w, "no PromQL equal")
	}) {
		t.Errorf("no warning for req_p95: %v", warnings)
	}
	// slow (by service) on api's and search's dashboards, errors
	// (service="api") on api's only, cpu on hosts, queue on the overview.
	want := map[string][]string{
		"vigil-service-api.json":      {"slow", "errors"},
		"vigil-service-search.json":   {"slow"},
		"vigil-service-checkout.json": {},
		"vigil-hosts.json":            {"cpu"},
		"vigil-overview.json":         {"queue"},
	}
	for file, rules := range want {
		ts := titles(bs[file])
		for _, r := range []string{"slow", "errors", "cpu", "queue", "req_p95"} {
			if slices.Contains(ts, r) != slices.Contains(rules, r) {
				t.Errorf("%s: panels %v, want rules %v", file, ts, rules)
			}
		}
	}
	// api's agent runs with --service api: its CPU on api's dashboard.
	var apiCPU *Panel
	for _, p := range bs["vigil-service-api.json"].Panels {
		if p.Title == "CPU" {
			apiCPU = p
		}
	}
	if apiCPU == nil || apiCPU.Targets[0].Expr != `avg by (host) (avg_over_time(cpu_usage_percent{service="api"}[$__interval]))` ||
		slices.Contains(titles(bs["vigil-service-search.json"]), "CPU") {
		t.Errorf("api's CPU panel %+v; search's panels %v", apiCPU, titles(bs["vigil-service-search.json"]))
	}
	// The hosts dashboard graphs what the store holds: CPU and network
	// received, not memory.
	ts := titles(bs["vigil-hosts.json"])
	if !slices.Contains(ts, "CPU") || !slices.Contains(ts, "Network received") || slices.Contains(ts, "Memory") {
		t.Errorf("hosts panels %v", ts)
	}
	// Each dashboard's panel ids are unique; each panel has a place.
	for file, d := range bs {
		seen := map[int]bool{}
		for _, p := range d.Panels {
			if seen[p.ID] || p.GridPos.W == 0 || p.GridPos.X+p.GridPos.W > 24 {
				t.Errorf("%s: panel %d %q at %+v", file, p.ID, p.Title, p.GridPos)
			}
			seen[p.ID] = true
		}
	}
}

// The api availability SLO at 99.9% over 30d: a budget of 0.001, the
// burn windows of vigil budget (1h, 6h, 1d, 3d for 30d), the target as
// the compliance stat's red line.
func TestBuildSLO(t *testing.T) {
	bs, _ := boards(t, testInput(t))
	d := bs["vigil-overview.json"]
	var burn, compliance *Panel
	for _, p := range d.Panels {
		switch {
		case p.Title == "Burn rate" && burn == nil:
			burn = p
		case p.Title == "Compliance (30d)" && compliance == nil:
			compliance = p
		}
	}
	if burn == nil || compliance == nil {
		t.Fatalf("panels %v", titles(d))
	}
	for i, w := range []string{"[1h]", "[6h]", "[1d]", "[3d]"} {
		e := burn.Targets[i].Expr
		if !strings.Contains(e, w) || !strings.HasSuffix(e, ") / 0.001") || !strings.Contains(e, `sli_requests_total{service="api", success=~"(?i:true)|1"}`) {
			t.Errorf("burn target %d: %s", i, e)
		}
	}
	if s := compliance.FieldConfig.Defaults.Thresholds.Steps; len(s) != 2 || *s[1].Value != 0.999 {
		t.Errorf("compliance thresholds %+v", s)
	}
	// The histogram SLI: the bucket at 300 over _count, search's matcher kept.
	raw, _ := json.Marshal(d)
	if !strings.Contains(string(raw), `response_time_ms_bucket{service=\"search\", le=\"300\"}[30d]`) {
		t.Errorf("no histogram SLI query in %s", raw)
	}
}

// An SLO whose counter the stores lack still gets its row (the config
// says it exists), with a warning naming what is missing.
func TestBuildWarnsOfMissingSLICounter(t *testing.T) {
	in := testInput(t)
	delete(in.Catalog.Services["search"], "sli_requests_total")
	bs, warnings := boards(t, in)
	want := "objective search/availability: the stores have no sli_requests_total of service search: its panels show no data"
	if !slices.Contains(warnings, want) || !slices.Contains(titles(bs["vigil-overview.json"]), "search availability: 99% over 30d") {
		t.Errorf("warnings %q, panels %v", warnings, titles(bs["vigil-overview.json"]))
	}
	in = testInput(t)
	if _, warnings := boards(t, in); slices.ContainsFunc(warnings, func(w string) bool { return strings.Contains(w, "no data") }) {
		t.Errorf("warnings %q", warnings)
	}
}

// Timeslice budgeting (an OpenSLO method) judges slices: no PromQL
// equal, so the objective is left out with a warning.
func TestBuildSlicedSLOLeftOut(t *testing.T) {
	ob := testInput(t).Objectives[0]
	ob.Method = "Timeslices"
	bs, warnings := boards(t, Input{DatasourceUID: "vigil", Objectives: []slo.Objective{ob}, At: time.Date(2026, 11, 29, 0, 0, 0, 0, time.UTC)})
	if len(titles(bs["vigil-overview.json"])) != 0 || len(warnings) != 1 || !strings.Contains(warnings[0], "per time slice") {
		t.Errorf("panels %v, warnings %v", titles(bs["vigil-overview.json"]), warnings)
	}
}

func TestWriteAllRefusesFilesNotOurs(t *testing.T) {
	dir := t.TempDir()
	files := []File{{Name: "vigil-hosts.json", Data: []byte(`{"tags":["vigil","vigil-generated"]}`)},
		{Name: "provisioning/dashboards/vigil.yaml", Data: []byte(ProvisionMarker + "\n")}}
	if err := WriteAll(dir, files, false); err != nil {
		t.Fatal(err)
	}
	// Ours: replaced.
	if err := WriteAll(dir, files, false); err != nil {
		t.Fatal(err)
	}
	// A link planted at a file's place, to a file of someone else's.
	target := filepath.Join(t.TempDir(), "theirs")
	if err := os.WriteFile(target, []byte("theirs"), 0o644); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, "vigil-hosts.json")
	os.Remove(p)
	if err := os.Symlink(target, p); err != nil {
		t.Fatal(err)
	}
	var no *NotOursError
	if err := WriteAll(dir, files, false); !errors.As(err, &no) || no.Path != p {
		t.Fatalf("link: %v", err)
	}
	// A YAML file without the marker.
	y := filepath.Join(dir, "provisioning", "dashboards", "vigil.yaml")
	if err := os.WriteFile(y, []byte("apiVersion: 1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	os.Remove(p)
	if err := WriteAll(dir, files, false); !errors.As(err, &no) || no.Path != y {
		t.Fatalf("yaml: %v", err)
	}
	if data, _ := os.ReadFile(p); data != nil {
		t.Errorf("wrote %s before refusing", p)
	}
	// --force: replaced; the link's target is never written.
	if err := os.Symlink(target, p); err != nil {
		t.Fatal(err)
	}
	if err := WriteAll(dir, files, true); err != nil {
		t.Fatal(err)
	}
	if data, _ := os.ReadFile(target); string(data) != "theirs" {
		t.Errorf("link target written: %q", data)
	}
}

func TestProvisioningFiles(t *testing.T) {
	fs := Provisioning{DatasourceUID: "vigil-prod", URL: "http://vigil:9464", ScrapeInterval: "15s", DashboardsPath: "/srv/a$b/grafana"}.Files()
	if len(fs) != 2 || fs[0].Name != "provisioning/datasources/vigil.yaml" || fs[1].Name != "provisioning/dashboards/vigil.yaml" {
		t.Fatalf("files %+v", fs)
	}
	ds, dash := string(fs[0].Data), string(fs[1].Data)
	for _, want := range []string{"\n    type: prometheus\n", "\n    uid: \"vigil-prod\"\n", "\n    url: \"http://vigil:9464\"\n", "\n      httpMethod: POST\n", "\n      timeInterval: \"15s\"\n"} {
		if !strings.Contains(ds, want) {
			t.Errorf("datasource file lacks %q:\n%s", want, ds)
		}
	}
	// Both are YAML of Grafana's provisioning shape.
	var d struct {
		APIVersion  int `yaml:"apiVersion"`
		Datasources []struct {
			Name, Type, UID, Access, URL string
			JSONData                     map[string]string `yaml:"jsonData"`
		}
	}
	var p struct {
		Providers []struct {
			Name, Folder, Type string
			Options            map[string]string
		}
	}
	if err := yaml.Unmarshal(fs[0].Data, &d); err != nil || d.APIVersion != 1 || len(d.Datasources) != 1 || d.Datasources[0].UID != "vigil-prod" || d.Datasources[0].Name != "vigil-prod" ||
		d.Datasources[0].JSONData["timeInterval"] != "15s" {
		t.Errorf("datasource YAML: %+v, %v", d, err)
	}
	if err := yaml.Unmarshal(fs[1].Data, &p); err != nil || len(p.Providers) != 1 || p.Providers[0].Type != "file" || p.Providers[0].Options["path"] != "/srv/a$$b/grafana" {
		t.Errorf("provider YAML: %+v, %v", p, err)
	}
	// Grafana would expand $b from its environment; $$ is a $.
	if !strings.Contains(dash, "\n      path: \"/srv/a$$b/grafana\"\n") || !Owned(fs[1].Name, fs[1].Data) || !Owned(fs[0].Name, fs[0].Data) {
		t.Errorf("dashboards file:\n%s", dash)
	}
}

func TestTimeInterval(t *testing.T) {
	for d, want := range map[time.Duration]string{0: "10s", 60 * time.Second: "60s", 59998 * time.Millisecond: "60s",
		90 * time.Second: "90s", 200 * time.Millisecond: "1s", 12 * time.Second: "12s"} {
		if got := TimeInterval(d); got != want {
			t.Errorf("TimeInterval(%s) = %s, want %s", d, got, want)
		}
	}
}

// A histogram vigil serve has no buckets for (serve: buckets: names
// others) has no NAME_bucket series: its latency panel graphs the mean
// only and says how to get percentiles, and a rule's pNN of it is left
// out with a warning naming serve: buckets:. With buckets, the
// percentiles are there.
func TestBuildWithoutBuckets(t *testing.T) {
	in := testInput(t)
	in.Rules = append(in.Rules, Rule{Name: "lat_p95", Path: `response_time_ms{service="api"}.p95`, Condition: "greater_than", Threshold: 1})
	for _, c := range []struct {
		buckets map[string][]float64
		legends []string
	}{
		{map[string][]float64{"other_ms": {1, 2}}, []string{"mean"}},
		{map[string][]float64{"response_time_ms": {100, 200}}, []string{"p50", "p90", "p95", "p99", "mean"}},
	} {
		in.Buckets = c.buckets
		bs, warnings := boards(t, in)
		var lat *Panel
		for _, p := range bs["vigil-service-api.json"].Panels {
			if p.Title == "response_time_ms" {
				lat = p
			}
		}
		if lat == nil {
			t.Fatalf("buckets %v: no response_time_ms panel in %v", c.buckets, titles(bs["vigil-service-api.json"]))
		}
		var legends []string
		for _, tg := range lat.Targets {
			legends = append(legends, tg.LegendFormat)
		}
		if !slices.Equal(legends, c.legends) {
			t.Errorf("buckets %v: latency targets %v, want %v", c.buckets, legends, c.legends)
		}
		warned := slices.ContainsFunc(warnings, func(w string) bool {
			return strings.Contains(w, "rule lat_p95") && strings.Contains(w, "serve: buckets:")
		})
		if _, has := c.buckets["response_time_ms"]; warned == has {
			t.Errorf("buckets %v: warnings %v", c.buckets, warnings)
		}
	}
}
