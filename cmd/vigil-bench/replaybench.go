package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/vigil-metrics/vigil/internal/vtime"
)

// The replay target (issue 27), at the shape: the evaluate
// section's 200 rules over its 1,000 series, the store spanning 30 days,
// replayed at 1-minute steps (43,200 steps), warm, one run: within
// replayTargetS and replayRSSMiB. A smaller shape (-eval-series,
// -eval-rules, -replay-span) shows its figures for reference only.
const (
	replayTargetS  = 20.0
	replayRSSMiB   = 1024
	replayFullSpan = 30 * 24 * time.Hour
	// replayInterval is the data's: one sample per series a minute, the
	// evaluate data's series at every sixth of its 10 s steps. At 10 s, 30
	// days would be 259M samples, too slow to write and import for make
	// bench; a minute is also the replay's step, so every step sees new
	// samples.
	replayInterval = time.Minute
	replayStride   = int(replayInterval / evalInterval)
	replayStep     = time.Minute
	// replayMinSpan leaves room for the rules' windows (up to 1h) and the
	// three injected incidents.
	replayMinSpan = 6 * time.Hour
	// replayIncidentLen is how long an injected incident lasts.
	replayIncidentLen = time.Hour
)

// replayResult is the section's measurements.
type replayResult struct {
	stored               // first: the untimed run that builds the cache
	series, rules, steps int
	span                 time.Duration
	timed                run // the warm run
	figs                 replayFigures
}

// benchReplay builds a store of the evaluate section's series over
// -replay-span (30 days) at one sample a minute, with a few incidents
// injected, then times `vigil replay` of the evaluate section's rules,
// with channels, routing, correlation, a silence and a rate limit added so
// that the whole notification pipeline runs, over the whole store at 1m
// steps: once untimed (the cache), then once timed (warm).
func benchReplay(cfg *config) ([]row, error) {
	res := replayResult{rules: cfg.evalRules, span: cfg.replaySpan, steps: replaySteps(cfg.replaySpan)}
	fams := replayFamilies(cfg.evalSeries, cfg.replaySpan)
	for _, f := range fams {
		res.series += f.n
	}
	res.samples = (res.steps + 1) * res.series
	rows, err := replayStore(cfg, fams, &res)
	printReplayTable(fams, res)
	return rows, err
}

// replaySteps is the replay's steps over span at replayStep: the
// runs at from+1m ... to.
func replaySteps(span time.Duration) int { return int(span / replayStep) }

// fullReplay says whether the run has the shape or a bigger one,
// where the targets apply.
func fullReplay(res *replayResult) bool {
	return res.rules >= evalFullRules && res.series >= evalFullSeries && res.span >= replayFullSpan
}

// replayName is the section's measures' prefix.
func replayName(res *replayResult) string {
	return fmt.Sprintf("replay %d rules %s at 1m", res.rules, vtime.FormatDuration(res.span))
}

// replayStore does the section's work into res and returns its rows; on
// error, the rows of what could not be measured fail.
func replayStore(cfg *config, fams []evalFamily, res *replayResult) ([]row, error) {
	name := replayName(res)
	fail := func(err error) ([]row, error) {
		target, rss := "ref", "ref"
		if fullReplay(res) {
			target, rss = secsTarget(replayTargetS), fmt.Sprintf("<= %d", replayRSSMiB)
		}
		// The same rows as a success, so that the layout never moves; the
		// import's figure stands once it was measured.
		imp := res.importFailed("replay")
		if res.load.wall > 0 {
			imp = res.importRow("replay")
		}
		return []row{imp, failed(name+" first run (s)", "ref"),
			failed(name+" warm, one run (s)", target), failed(name+" warm peak RSS (MiB)", rss),
			failed(name+" per rule-step (µs)", "ref")}, err
	}
	db, err := res.importJSONL(cfg, "replay", func(path string) error { return writeReplayData(path, fams, res.span) })
	if err != nil {
		return fail(err)
	}
	conf := filepath.Join(cfg.dir, "replay.yaml")
	if err := os.WriteFile(conf, []byte(replayConfigYAML(res.rules, res.span)), 0o644); err != nil {
		return fail(fmt.Errorf("write %s: %w", conf, err))
	}
	out := filepath.Join(cfg.dir, "replay.json")
	replay := func() (run, error) {
		// Each run's file is its own: a failed run leaves none to check.
		if err := os.Remove(out); err != nil && !errors.Is(err, os.ErrNotExist) {
			return run{}, err
		}
		r, err := measure(cfg.vigil, "replay", "--config", conf, "--db", db,
			"--from", end.Add(-res.span).Format(time.RFC3339), "--to", end.Format(time.RFC3339),
			"--step", vtime.FormatDuration(replayStep), "-o", "json", "--out", out)
		if err != nil {
			return r, fmt.Errorf("vigil replay: %w (the section needs issue 27's `vigil replay` in %s)", err, cfg.vigil)
		}
		return r, nil
	}
	if err := res.runFirst("replay", replay); err != nil {
		return fail(err)
	}
	timed, err := replay()
	if err != nil {
		return fail(fmt.Errorf("warm: %w", err))
	}
	doc, err := os.ReadFile(out)
	if err != nil {
		return fail(fmt.Errorf("vigil replay --out: %w", err))
	}
	if res.figs, err = checkReplay(doc, res.steps); err != nil {
		return fail(err)
	}
	res.timed = timed
	return replayRows(name, res), nil
}

// replayRows are the section's rows of the final table.
func replayRows(name string, res *replayResult) []row {
	rss := mib(res.timed.rssKiB)
	rssRow := mibRow(name+" warm peak RSS (MiB)", res.timed.rssKiB)
	rssRow.ratio, rssRow.vs = rss/replayRSSMiB, fmt.Sprintf("%d MiB", replayRSSMiB)
	if fullReplay(res) {
		rssRow.target, rssRow.ok = fmt.Sprintf("<= %d", replayRSSMiB), verdict(rss <= replayRSSMiB)
	}
	return []row{
		res.importRow("replay"),
		secsRow(name+" first run (s)", res.first.wall),
		targetRow(name+" warm, one run (s)", res.timed.wall, replayTargetS, fullReplay(res)),
		rssRow,
		{measure: name + " per rule-step (µs)", value: fmt.Sprintf("%.2f", perRuleStep(res)), target: "ref", ok: noTarget},
	}
}

// perRuleStep is the warm run's wall time over rules x steps, in µs.
func perRuleStep(res *replayResult) float64 {
	return float64(res.timed.wall.Microseconds()) / float64(res.rules*res.steps)
}

func printReplayTable(fams []evalFamily, res replayResult) {
	var mix, incs []string
	for _, f := range fams {
		mix = append(mix, fmt.Sprintf("%d %s %s", f.n, f.typ, f.name))
	}
	for _, inc := range replayIncidents(res.span) {
		incs = append(incs, fmt.Sprintf("%s at %s", inc.service, inc.from.Format(time.RFC3339)))
	}
	fmt.Printf("replay: %d rules over %d series (%s), one sample per %s for %s: %d samples; "+
		"5xx incidents of %s injected (%s); replayed at %s: %d steps\n",
		res.rules, res.series, strings.Join(mix, ", "), replayInterval, vtime.FormatDuration(res.span), res.samples,
		replayIncidentLen, strings.Join(incs, ", "), replayStep, res.steps)
	t := newStepTable(40)
	t.stored(&res.stored, "vigil replay")
	if res.timed.wall > 0 {
		t.line("vigil replay warm, one run", res.timed.wall, res.timed.rssKiB)
		f := res.figs
		fmt.Printf("%.2f µs per rule-step (%d rules x %d steps); %d notices (%s), %d pages, %d incidents\n",
			perRuleStep(&res), res.rules, res.steps, f.notices, f.perChannel(), f.pages, f.incidents)
	}
	fmt.Println()
}

// ---- the data ----

// replayIncident is an injected incident: the service's 5xx at five
// times their rate over (from, to].
type replayIncident struct {
	service  string
	from, to time.Time
}

// replayIncidents are three incidents, a quarter, half and three quarters
// of the span before its end, on services the evaluate data keeps quiet
// (its own climb is api's, in the last two hours): the error-ratio rules
// (error_ratio_*, checkout_errors_*) fire on them, several at once, which
// is what the correlation rule groups.
func replayIncidents(span time.Duration) []replayIncident {
	var out []replayIncident
	for i, s := range []string{"billing", "search", "checkout"} {
		from := end.Add(-span * time.Duration(3-i) / 4).Truncate(time.Minute)
		out = append(out, replayIncident{service: s, from: from, to: from.Add(replayIncidentLen)})
	}
	return out
}

// replayFamilies are the evaluate data's families (-eval-series of them)
// at one sample a minute: a counter's sample carries the minute's
// increase (stride times the 10 s one, so that rates are the evaluate
// data's), and http_requests_total's 5xx climb in the span's incidents.
func replayFamilies(series int, span time.Duration) []evalFamily {
	fams := evalFamilies(series)
	incs := replayIncidents(span)
	for i := range fams {
		value, counter, requests := fams[i].value, fams[i].typ == "counter", fams[i].name == "http_requests_total"
		fams[i].value = func(p *point) float64 {
			v := value(p)
			if requests && strings.HasPrefix(p.labels["status"], "5") {
				at := end.Add(-time.Duration(p.left) * evalInterval)
				if slices.ContainsFunc(incs, func(inc replayIncident) bool {
					return inc.service == p.service && at.After(inc.from) && !at.After(inc.to)
				}) {
					v *= 5
				}
			}
			if counter {
				v *= float64(replayStride)
			}
			return v
		}
	}
	return fams
}

// writeReplayData writes the families' samples over span, both ends
// included, so that a replay from the oldest to the newest sample has
// span/replayStep steps.
func writeReplayData(path string, fams []evalFamily, span time.Duration) error {
	return writeFamilyData(path, fams, replaySteps(span)+1, replayStride)
}

// ---- the config ----

// replayConfigYAML is the evaluate section's rules with what makes the
// notification pipeline run: three webhook channels routed by severity
// (to the discard port on loopback: replay never sends), an escalation
// policy for critical alerts, a correlation rule over the error and
// latency rules by service, a day's silence of one hot host, and a rate
// limit that the daily cpu peaks reach. The rules keep their cooldowns
// (10m, 30m, 1h), so that firing alerts are reminded.
func replayConfigYAML(rules int, span time.Duration) string {
	silence := end.Add(-span / 3).Truncate(time.Hour)
	var b strings.Builder
	b.WriteString(evalRulesYAML(rules))
	b.WriteString(`# vigil-bench replay: the evaluate rules above, with channels and routing,
# so that a replay exercises the notification pipeline.
channels:
  - name: ops
    type: webhook
    url: http://127.0.0.1:9/ops
    filters: [{severity: [critical, high]}]
  - name: pager
    type: webhook
    url: http://127.0.0.1:9/pager
    filters: [{severity: critical}]
  - name: tickets
    type: webhook
    url: http://127.0.0.1:9/tickets
    filters: [{severity: [medium, low]}]
escalation:
  - name: page
    triggers: [{severity: critical}]
    steps:
      - {delay: 0, channels: [pager]}
      - {delay: 30m, channels: [ops]}
correlation_rules:
  - name: service_trouble
    group_key: service
    time_window: 30m
    alert_patterns: ["error_ratio_*", "latency_avg_*", "traffic_drop_*", "slow_endpoint_*"]
`)
	fmt.Fprintf(&b, `silences:
  - matchers: {host: host-17}
    starts_at: %s
    ends_at: %s
    comment: a day of maintenance on a hot host
settings:
  evaluation_interval: 60
  max_alerts_per_minute: 20
  enable_correlation: true
  enable_deduplication: true
`, silence.Format(time.RFC3339), silence.Add(24*time.Hour).Format(time.RFC3339))
	return b.String()
}

// ---- the output ----

// replayFigures are what the section reads from vigil replay's JSON.
type replayFigures struct {
	steps, rules, notices, pages, incidents int
	channels                                map[string]int
}

// perChannel is the notices by channel, "ops 3, pager 1".
func (f replayFigures) perChannel() string {
	var out []string
	for _, c := range slices.Sorted(maps.Keys(f.channels)) {
		out = append(out, fmt.Sprintf("%s %d", c, f.channels[c]))
	}
	return strings.Join(out, ", ")
}

// checkReplay reads vigil replay's JSON (issue 27's stable shape) and
// checks that it replayed wantSteps steps (its "steps" if given, else
// (to - from) / step) and that something was notified: a replay that
// notifies nothing has not run the pipeline the section times.
func checkReplay(doc []byte, wantSteps int) (replayFigures, error) {
	var d struct {
		From, To  time.Time
		Step      json.RawMessage
		Steps     *int
		Rules     []struct{ Pages int }
		Incidents []json.RawMessage
		Notices   []struct{ Channel string }
	}
	if err := json.Unmarshal(doc, &d); err != nil {
		return replayFigures{}, fmt.Errorf("vigil replay -o json: %w", err)
	}
	step, err := jsonDuration(d.Step)
	if err != nil {
		return replayFigures{}, fmt.Errorf("vigil replay -o json: step: %w", err)
	}
	if step != replayStep {
		return replayFigures{}, fmt.Errorf("vigil replay -o json: step %s, want %s", step, replayStep)
	}
	f := replayFigures{steps: int(d.To.Sub(d.From) / step), rules: len(d.Rules), notices: len(d.Notices),
		incidents: len(d.Incidents), channels: map[string]int{}}
	if d.Steps != nil && *d.Steps != f.steps {
		return f, fmt.Errorf("vigil replay -o json: %d steps, but %s to %s at %s is %d", *d.Steps, d.From, d.To, step, f.steps)
	}
	if f.steps != wantSteps {
		return f, fmt.Errorf("vigil replay -o json: %d steps (%s to %s), want %d", f.steps, d.From, d.To, wantSteps)
	}
	if f.notices == 0 {
		return f, errors.New("vigil replay -o json: no notices; the bench's data and rules should notify")
	}
	for _, r := range d.Rules {
		f.pages += r.Pages
	}
	for _, n := range d.Notices {
		f.channels[n.Channel]++
	}
	return f, nil
}

// jsonDuration reads a duration written as a string ("1m", "60s") or a
// number of seconds.
func jsonDuration(raw json.RawMessage) (time.Duration, error) {
	var s string
	if err := json.Unmarshal(raw, &s); err == nil {
		return vtime.ParseDuration(s)
	}
	var secs float64
	if err := json.Unmarshal(raw, &secs); err != nil {
		return 0, fmt.Errorf("%q: want a duration", raw)
	}
	return time.Duration(secs * float64(time.Second)), nil
}
