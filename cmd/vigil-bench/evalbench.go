package main

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// The evaluate target, at the shape (evalFullRules rules over
// evalFullSeries series for a day at 10 s, 8.64M samples): a warm run
// within evalTargetS and evalRSSMiB. A smaller shape (-eval-series,
// -eval-rules, -eval-span) shows its figures for reference only.
const (
	evalTargetS    = 1.0
	evalRSSMiB     = 500
	evalRuns       = 5
	evalFullRules  = 200
	evalFullSeries = 1000
	evalFullSpan   = 24 * time.Hour
	evalInterval   = 10 * time.Second
	// evalLead is how far before the data's end the warm-up run is; the
	// measured runs follow it a minute apart, so that every run's windows
	// end inside the data and each run steps the state the previous one
	// left, as cron runs do.
	evalLead = 10 * time.Minute
)

// evalResult is the section's measurements.
type evalResult struct {
	stored        // first: the first evaluate
	series, rules int
	warm          runs // evaluate at successive --at, cache warm
	states        map[string]int
}

// benchEvaluate builds a store of a day of metrics as a service fleet
// sends them (gauges, counters and latency histograms, labelled by
// service, host, endpoint and more), then times `vigil evaluate` of a mix
// of alert rules over it, warm, as cron runs it a minute apart. The config
// has no channels, so that a run notifies nothing.
func benchEvaluate(cfg *config) ([]row, error) {
	res := evalResult{rules: cfg.evalRules}
	fams := evalFamilies(cfg.evalSeries)
	for _, f := range fams {
		res.series += f.n
	}
	steps := max(1, int(cfg.evalSpan/evalInterval))
	res.samples = steps * res.series
	rows, err := evalStore(cfg, fams, steps, &res)
	printEvalTable(cfg, fams, res)
	return rows, err
}

// evalStore does the section's work into res and returns its rows; on
// error, the rows of what could not be measured fail.
func evalStore(cfg *config, fams []evalFamily, steps int, res *evalResult) ([]row, error) {
	name := fmt.Sprintf("evaluate %d rules %s", res.rules, humanCount(res.samples))
	fail := func(err error) ([]row, error) {
		target, rss := "ref", "ref"
		if fullEval(res) {
			target, rss = secsTarget(evalTargetS), fmt.Sprintf("<= %d", evalRSSMiB)
		}
		// The same rows as a success, so that the layout never moves.
		return []row{res.importFailed("evaluate"), failed(name+" first run (s)", "ref"),
			failed(bestOf(name, evalRuns), target), failed(name+" warm peak RSS (MiB)", rss)}, err
	}
	db, err := res.importJSONL(cfg, "evaluate", func(path string) error { return writeEvalData(path, fams, steps) })
	if err != nil {
		return fail(err)
	}
	conf := filepath.Join(cfg.dir, "evaluate.yaml")
	if err := writeEvalRules(conf, res.rules); err != nil {
		return fail(fmt.Errorf("write %s: %w", conf, err))
	}
	// A fresh state DB each time: the runs' --at restart from the same
	// instant, and a state DB is one timeline (an earlier --at is refused).
	statePath := filepath.Join(cfg.dir, "evaluate-state.db")
	if err := removeStore(statePath); err != nil {
		return fail(err)
	}
	at := end.Add(-evalLead)
	evaluate := func(at time.Time) (run, error) {
		return measure(cfg.vigil, "evaluate", "--config", conf, "--db", db, "--state", statePath,
			"--at", at.Format(time.RFC3339), "-o", "json")
	}
	if err := res.runFirst("evaluate", func() (run, error) { return evaluate(at) }); err != nil {
		return fail(err)
	}
	i := 0
	warm, err := repeat(evalRuns, func() (run, error) {
		i++
		return evaluate(at.Add(time.Duration(i) * time.Minute))
	})
	if err != nil {
		return fail(fmt.Errorf("warm evaluate: %w", err))
	}
	res.warm = warm
	if res.states, err = alertStates(warm[len(warm)-1].out); err != nil {
		return fail(err)
	}
	return evalRows(name, res), nil
}

// fullEval says whether the run has the shape or a bigger one,
// where the targets apply.
func fullEval(res *evalResult) bool {
	return res.rules >= evalFullRules && res.samples >= evalFullSeries*int(evalFullSpan/evalInterval)
}

// alertStates counts a run's alerts by state, to show that the rules see
// data (a run of nodata alone would time nothing worth having).
func alertStates(out []byte) (map[string]int, error) {
	var doc struct {
		Alerts []struct {
			State string `json:"state"`
		} `json:"alerts"`
	}
	if err := json.Unmarshal(out, &doc); err != nil {
		return nil, fmt.Errorf("vigil evaluate -o json: %w", err)
	}
	states := map[string]int{}
	for _, a := range doc.Alerts {
		states[a.State]++
	}
	return states, nil
}

func printEvalTable(cfg *config, fams []evalFamily, res evalResult) {
	var mix []string
	for _, f := range fams {
		mix = append(mix, fmt.Sprintf("%d %s %s", f.n, f.typ, f.name))
	}
	fmt.Printf("evaluate: %d rules over %d series (%s), one sample per %s for %s: %d samples\n",
		res.rules, res.series, strings.Join(mix, ", "), evalInterval, cfg.evalSpan, res.samples)
	t := newStepTable(40)
	t.stored(&res.stored, "vigil evaluate")
	if len(res.warm) > 0 {
		t.warm("vigil evaluate", res.warm, "")
	}
	if res.states != nil {
		var ss []string
		for _, s := range []string{"firing", "pending", "resolved", "inactive", "nodata"} {
			ss = append(ss, fmt.Sprintf("%d %s", res.states[s], s))
		}
		fmt.Printf("alerts of the last run: %s\n", strings.Join(ss, ", "))
	}
	fmt.Println()
}

// evalRows are the section's rows of the final table.
func evalRows(name string, res *evalResult) []row {
	rss := mib(res.warm.peakRSS())
	rssRow := mibRow(name+" warm peak RSS (MiB)", res.warm.peakRSS())
	rssRow.ratio, rssRow.vs = rss/evalRSSMiB, fmt.Sprintf("%d MiB", evalRSSMiB)
	if fullEval(res) {
		rssRow.target, rssRow.ok = fmt.Sprintf("<= %d", evalRSSMiB), verdict(rss <= evalRSSMiB)
	}
	return []row{
		res.importRow("evaluate"),
		secsRow(name+" first run (s)", res.first.wall),
		targetRow(bestOf(name, len(res.warm)), res.warm.best(), evalTargetS, fullEval(res)),
		rssRow,
	}
}

// ---- the data ----

// dim is one label of a family and its values. The service dimension
// goes to the store's service column (visible to paths as the label
// service); a family without one takes its host's service.
type dim struct {
	label  string
	values []string
}

// evalFamily is a metric family of the evaluate data: n series, the
// first dimension varying fastest, so that a scaled-down family still
// spans the services.
type evalFamily struct {
	name, typ string
	share     int // of every evalFullSeries series
	dims      []dim
	n         int
	value     func(*point) float64
}

// point is one sample to make: the series (its index over all families,
// its service and labels) and the step, also counted back from the end.
type point struct {
	id, step, left int
	service        string
	labels         map[string]string
}

var (
	evalServices  = []string{"api", "web", "auth", "billing", "search", "checkout", "catalog", "users", "notify", "reports"}
	evalEndpoints = []string{"/", "/login", "/search", "/cart", "/items"}
	evalHosts     = numbered("host-", 50)
	evalInstances = numbered("i-", 6)
)

func numbered(prefix string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("%s%02d", prefix, i)
	}
	return out
}

// hostService is the service a host serves: hosts go round the services.
func hostService(host string) string {
	i, _ := strconv.Atoi(strings.TrimPrefix(host, "host-"))
	return evalServices[i%len(evalServices)]
}

// evalFamilies are the data's families, each with its share of series
// (their shares make 1000); fewer series scale each family down, to one
// series at least.
func evalFamilies(series int) []evalFamily {
	fams := []evalFamily{
		{name: "cpu_usage_percent", typ: "gauge", share: 100,
			dims:  []dim{{"host", evalHosts}, {"cpu", []string{"0", "1"}}},
			value: cpuValue},
		{name: "memory_usage_percent", typ: "gauge", share: 50,
			dims: []dim{{"host", evalHosts}},
			value: func(p *point) float64 {
				return math.Round(clamp(50+float64(p.id%7)*5+10*math.Sin(float64(p.step)/2000+float64(p.id))+p.noise(2), 0, 100)*10) / 10
			}},
		{name: "queue_depth", typ: "gauge", share: 50,
			dims: []dim{{"service", evalServices}, {"queue", []string{"email", "events", "jobs", "webhooks", "exports"}}},
			value: func(p *point) float64 {
				return math.Round(clamp(40+30*math.Sin(float64(p.step)/300+float64(p.id))+p.noise(20), 0, 1e6))
			}},
		{name: "http_requests_total", typ: "counter", share: 300,
			dims:  []dim{{"service", evalServices}, {"endpoint", evalEndpoints}, {"status", []string{"200", "404", "500"}}, {"instance", evalInstances[:2]}},
			value: requestsValue},
		{name: "response_time_ms", typ: "histogram", share: 300,
			dims:  []dim{{"service", evalServices}, {"endpoint", evalEndpoints}, {"instance", evalInstances}},
			value: latencyValue(80)},
		{name: "db_query_duration_ms", typ: "histogram", share: 100,
			dims:  []dim{{"service", evalServices}, {"query", []string{"select", "insert", "update", "delete", "join"}}, {"instance", evalInstances[:2]}},
			value: latencyValue(8)},
		{name: "disk_written_bytes_total", typ: "counter", share: 100,
			dims: []dim{{"host", evalHosts}, {"device", []string{"sda", "sdb"}}},
			value: func(p *point) float64 {
				return math.Round(1e6 * (5 + float64(p.id%11) + p.noise(3)))
			}},
	}
	for i := range fams {
		fams[i].n = max(1, fams[i].share*series/evalFullSeries)
	}
	return fams
}

// labels are series i's labels (service apart) in the family.
func (f *evalFamily) labels(i int) (service string, labels map[string]string) {
	labels = map[string]string{}
	for _, d := range f.dims {
		v := d.values[i%len(d.values)]
		i /= len(d.values)
		if d.label == "service" {
			service = v
			continue
		}
		labels[d.label] = v
	}
	if h, ok := labels["host"]; ok && service == "" {
		service = hostService(h)
	}
	// Past every combination of the values, a generation label keeps
	// series apart (only with more series than the issue's).
	if i > 0 {
		labels["gen"] = strconv.Itoa(i)
	}
	return service, labels
}

// noise is a pure function of series and step in [-scale, scale].
func (p *point) noise(scale float64) float64 {
	return (float64(splitmix(uint64(p.id)<<32|uint64(p.step))%2001)/1000 - 1) * scale
}

// unit is a pure function of series and step in (0, 1].
func (p *point) unit() float64 {
	return float64(splitmix(uint64(p.id)<<32|uint64(p.step)^0x5bd1e995)%1_000_000+1) / 1_000_000
}

func clamp(v, lo, hi float64) float64 { return min(max(v, lo), hi) }

// cpuValue is a day's curve per host; one host in ten runs hot.
func cpuValue(p *point) float64 {
	base := 25 + float64(p.id%9)*5
	if strings.HasSuffix(p.labels["host"], "7") {
		base = 80
	}
	day := 15 * math.Sin(2*math.Pi*float64(p.step)/8640)
	return math.Round(clamp(base+day+p.noise(8), 0, 100)*10) / 10
}

// requestsValue is a counter's increment per interval: mostly 200s, some
// 404s, and 500s that climb for the api service in the last two hours.
func requestsValue(p *point) float64 {
	base := 20 + float64(p.id%13)*10
	switch p.labels["status"] {
	case "404":
		base /= 20
	case "500":
		base /= 50
		if p.service == "api" && p.left < int(2*time.Hour/evalInterval) {
			base *= 5
		}
	}
	return math.Round(base * (1 + p.noise(0.3)))
}

// latencyValue is one observed latency per interval, exponential around a
// mean that differs by series.
func latencyValue(mean float64) func(*point) float64 {
	return func(p *point) float64 {
		m := mean * (1 + float64(p.id%10)/9)
		return math.Round(-math.Log(p.unit())*m*10) / 10
	}
}

// writeEvalData writes the families' samples as JSON Lines, step by step
// across every series, ending at end.
func writeEvalData(path string, fams []evalFamily, steps int) error {
	return writeFamilyData(path, fams, steps, 1)
}

// writeFamilyData writes steps samples of each series, one every stride
// evalIntervals, ending at end: the evaluate data's values at every
// stride-th of its steps (the values are functions of the 10 s step), so
// that a longer store at a coarser interval (the replay section's) holds
// the same series.
func writeFamilyData(path string, fams []evalFamily, steps, stride int) error {
	return writeJSONL(path, func(j *jsonlWriter) error {
		// Each series' line up to its value, spelled once.
		type seriesLine struct {
			fam        *evalFamily
			p          point
			head, tail []byte
		}
		var lines []seriesLine
		id := 0
		for i := range fams {
			fam := &fams[i]
			for k := range fam.n {
				service, labels := fam.labels(k)
				lb, err := json.Marshal(labels)
				if err != nil {
					return err
				}
				tail := []byte(`,"labels":` + string(lb) + `,"service":"` + service + "\"}\n")
				head := []byte(`,"name":"` + fam.name + `","type":"` + fam.typ + `","value":`)
				lines = append(lines, seriesLine{fam: fam, p: point{id: id, service: service, labels: labels}, head: head, tail: tail})
				id++
			}
		}
		every := time.Duration(stride) * evalInterval
		first := end.Add(-time.Duration(steps-1) * every).Unix()
		for step := range steps {
			ts := strconv.AppendInt(nil, first+int64(step)*int64(every/time.Second), 10)
			for i := range lines {
				l := &lines[i]
				l.p.step, l.p.left = step*stride, (steps-1-step)*stride
				j.sample(ts, l.head, l.fam.value(&l.p), l.tail)
			}
		}
		return nil
	})
}

// ---- the rules ----

// ruleTemplate makes rule i of its kind: a path, and how it is judged.
type ruleTemplate struct {
	kind      string
	path      func(i int) string
	condition string
	threshold float64
	severity  string
	groupBy   []string
}

// evalTemplates mix what alert rules ask of such a fleet: percentiles,
// averages and maxima of gauges and latencies, counters' rates and
// increases, error ratios; grouped by the path or by group_by, or for one
// service or host.
var evalTemplates = []ruleTemplate{
	{kind: "hot_host", path: fixed("cpu_usage_percent.avg"), condition: "greater_than", threshold: 85, severity: "high", groupBy: []string{"host"}},
	{kind: "cpu_spike", path: func(i int) string { return fmt.Sprintf(`cpu_usage_percent{host="%s"}.max`, evalHosts[i%10]) },
		condition: "greater_than", threshold: 95, severity: "low"},
	{kind: "memory_high", path: fixed("memory_usage_percent.max by (host)"), condition: "greater_or_equal", threshold: 90, severity: "critical"},
	{kind: "queue_backlog", path: fixed("queue_depth.last by (service, queue)"), condition: "greater_than", threshold: 150, severity: "medium"},
	{kind: "queue_avg", path: func(i int) string { return fmt.Sprintf(`queue_depth{service="%s"}.avg`, svc(i)) },
		condition: "greater_than", threshold: 100, severity: "low"},
	{kind: "traffic_drop", path: fixed("http_requests_total.rate by (service)"), condition: "less_than", threshold: 1, severity: "high"},
	{kind: "error_ratio", path: fixed(`http_requests_total{status=~"5.."}.increase by (service) / http_requests_total.increase by (service)`),
		condition: "greater_than", threshold: 0.03, severity: "high"},
	{kind: "not_found", path: func(i int) string {
		return fmt.Sprintf(`http_requests_total{service="%s",status="404"}.increase`, svc(i))
	}, condition: "greater_than", threshold: 5000, severity: "low"},
	{kind: "slow_endpoint", path: fixed("response_time_ms.p95 by (service, endpoint)"), condition: "greater_than", threshold: 450, severity: "medium"},
	{kind: "tail_latency", path: func(i int) string { return fmt.Sprintf(`response_time_ms{service="%s"}.p99`, svc(i)) },
		condition: "greater_than", threshold: 800, severity: "high", groupBy: []string{"endpoint"}},
	{kind: "latency_avg", path: fixed("response_time_ms.avg"), condition: "greater_than", threshold: 150, severity: "medium", groupBy: []string{"service"}},
	{kind: "slow_query", path: fixed("db_query_duration_ms.p99 by (service, query)"), condition: "greater_than", threshold: 70, severity: "medium"},
	{kind: "slow_join", path: fixed(`db_query_duration_ms{query="join"}.max by (service)`), condition: "greater_than", threshold: 120, severity: "low"},
	{kind: "disk_writes", path: fixed("disk_written_bytes_total.rate by (host)"), condition: "greater_than", threshold: 2.6e6, severity: "low"},
	{kind: "service_cpu", path: fixed("cpu_usage_percent.p90 by (service)"), condition: "greater_than", threshold: 90, severity: "medium"},
	{kind: "checkout_errors", path: func(i int) string {
		return fmt.Sprintf(`http_requests_total{service="%s",status="500"}.increase / http_requests_total{service="%s"}.increase`, svc(i), svc(i))
	}, condition: "greater_than", threshold: 0.05, severity: "critical"},
}

func fixed(p string) func(int) string { return func(int) string { return p } }

func svc(i int) string { return evalServices[i%len(evalServices)] }

var evalWindows = []string{"5m", "10m", "15m", "30m", "1h"}

// writeEvalRules writes a config of n alert rules, going round the
// templates and the windows, and no channels.
func writeEvalRules(path string, n int) error {
	return os.WriteFile(path, []byte(evalRulesYAML(n)), 0o644)
}

// evalRulesYAML is that config's text (the replay section adds its
// channels, routing and settings to the same rules).
func evalRulesYAML(n int) string {
	var b strings.Builder
	b.WriteString("# vigil-bench evaluate: alert rules over the bench's fleet; no channels,\n# so that a run notifies nothing.\nalert_rules:\n")
	for i := range n {
		t := evalTemplates[i%len(evalTemplates)]
		round := i / len(evalTemplates)
		fmt.Fprintf(&b, "  - name: %s_%03d\n", t.kind, i)
		fmt.Fprintf(&b, "    metric_path: '%s'\n", t.path(round))
		fmt.Fprintf(&b, "    condition: %s\n", t.condition)
		fmt.Fprintf(&b, "    threshold: %g\n", t.threshold)
		fmt.Fprintf(&b, "    severity: %s\n", t.severity)
		fmt.Fprintf(&b, "    evaluation_window: %s\n", evalWindows[(i+round)%len(evalWindows)])
		fmt.Fprintf(&b, "    cooldown_period: %s\n", []string{"10m", "30m", "1h"}[i%3])
		if len(t.groupBy) > 0 {
			fmt.Fprintf(&b, "    group_by: [%s]\n", strings.Join(t.groupBy, ", "))
		}
	}
	return b.String()
}
