package replay

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vigil-metrics/vigil/alert/channels"
	alertconfig "github.com/vigil-metrics/vigil/alert/config"
	"github.com/vigil-metrics/vigil/alert/eval"
	"github.com/vigil-metrics/vigil/alert/notify"
	alertrun "github.com/vigil-metrics/vigil/alert/run"
	"github.com/vigil-metrics/vigil/alert/state"
	"github.com/vigil-metrics/vigil/analyze"
	"github.com/vigil-metrics/vigil/analyze/slo"
	"github.com/vigil-metrics/vigil/internal/store"
)

// e0 is the first replayed instant's base: runs at e0+1m ... e0+60m, on
// the minute, where every series has a sample (so each 60 s window holds
// exactly one).
var e0 = time.Date(2026, 11, 29, 10, 0, 0, 0, time.UTC)

// equivYAML uses every feature of the pipeline (minute m is e0+m):
//   - cpu_high: for 2m, group_by host, cooldown 10m. Host a reads 95 in
//     [5,20), [22,24) (pending only) and [40,50); host c in [10,30), but
//     c is silenced in [15,25).
//   - queue_{ok,alert,keep}: queue_depth is 20 in [25,30), missing in
//     [30,40): each nodata mode.
//   - backup_missing (absent, ungrouped): backup_done stops at 45;
//     heartbeat_missing (absent, grouped by host, lookback 1h): host b
//     stops at 35.
//   - latency_spike: latency_ms 10, 50 in [50,53): up by more than 2x its
//     previous 5 minutes.
//   - svc_errors (critical) and svc_slow correlate by service within 10m:
//     err_rate 10 in [12,18), slow_rate 10 in [13,18); critical alerts
//     escalate to ops at once and to pager after 3m.
//   - dedup on, at most 2 notifications a minute (held ones go later),
//     an alertmanager channel (refreshes), a channel that wants no
//     resolutions, a pager that hears only critical alerts.
const equivYAML = `
alert_rules:
  - {name: cpu_high, metric_path: cpu_usage_percent, condition: greater_than, threshold: 80, severity: high, evaluation_window: 60, for: 2m, group_by: [host], cooldown_period: 10m}
  - {name: queue_ok, metric_path: queue_depth, condition: greater_than, threshold: 10, severity: medium, evaluation_window: 60}
  - {name: queue_alert, metric_path: queue_depth, condition: greater_than, threshold: 10, severity: critical, evaluation_window: 60, nodata: alert}
  - {name: queue_keep, metric_path: queue_depth, condition: greater_than, threshold: 10, severity: medium, evaluation_window: 60, nodata: keep}
  - {name: backup_missing, metric_path: backup_done, condition: absent, severity: high, evaluation_window: 60}
  - {name: heartbeat_missing, metric_path: heartbeat, condition: absent, severity: high, evaluation_window: 60, group_by: [host], lookback: 1h}
  - {name: latency_spike, metric_path: latency_ms, condition: spike, spike_ratio: 2, reference_window: 5m, severity: high, evaluation_window: 60}
  - {name: svc_errors, metric_path: err_rate, condition: greater_than, threshold: 5, severity: critical, evaluation_window: 60, group_by: [service]}
  - {name: svc_slow, metric_path: slow_rate, condition: greater_than, threshold: 5, severity: high, evaluation_window: 60, group_by: [service]}
channels:
  - {name: ops, type: webhook, url: "http://127.0.0.1:1/ops"}
  - {name: quiet, type: webhook, url: "http://127.0.0.1:1/quiet", send_resolved: false}
  - {name: am, type: alertmanager, url: "http://127.0.0.1:1"}
  - {name: pager, type: webhook, url: "http://127.0.0.1:1/pager", filters: [{severity: critical}]}
escalation:
  - name: page
    triggers: [{severity: critical}]
    steps:
      - {delay: 0, channels: [ops]}
      - {delay: 3m, channels: [pager]}
silences:
  - matchers: {host: c}
    starts_at: 2026-11-29T10:15:00Z
    ends_at: 2026-11-29T10:25:00Z
correlation_rules:
  - {name: burst, group_key: service, time_window: 10m, alert_patterns: ["svc_*"]}
settings:
  enable_deduplication: true
  enable_correlation: true
  max_alerts_per_minute: 2
`

// equivSLO pages while api fails half its requests in [30,36): a 1d
// window at 99% (budget 1%), so the page's windows are 2m and 10s.
const equivSLO = `
slos:
  - service: api
    target: 99
    window: 1d
`

type equivFixture struct {
	dir, store string
	cfg        *alertconfig.Config
	objs       []slo.Objective
}

func newEquivFixture(t testing.TB, yaml string) *equivFixture {
	t.Helper()
	dir := t.TempDir()
	f := &equivFixture{dir: dir, store: filepath.Join(dir, "m.db")}
	st, err := store.Open(context.Background(), f.store, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	in := func(m, a, b int) bool { return m >= a && m < b }
	var s []store.Sample
	g := func(m int, name string, labels map[string]string, v float64) {
		s = append(s, store.Sample{Name: name, Type: store.Gauge, Labels: labels, TS: e0.Add(time.Duration(m) * time.Minute).UnixMilli(), Value: v})
	}
	for m := -120; m <= 70; m++ {
		for _, h := range []string{"a", "b", "c"} {
			v := 50.0
			if h == "a" && (in(m, 5, 20) || in(m, 22, 24) || in(m, 40, 50)) || h == "c" && in(m, 10, 30) {
				v = 95
			}
			g(m, "cpu_usage_percent", map[string]string{"host": h}, v)
		}
		switch {
		case in(m, 25, 30):
			g(m, "queue_depth", nil, 20)
		case !in(m, 30, 40):
			g(m, "queue_depth", nil, 5)
		}
		if m < 45 {
			g(m, "backup_done", nil, 1)
		}
		g(m, "heartbeat", map[string]string{"host": "a"}, 1)
		if m < 35 {
			g(m, "heartbeat", map[string]string{"host": "b"}, 1)
		}
		lat := 10.0
		if in(m, 50, 53) {
			lat = 50
		}
		g(m, "latency_ms", nil, lat)
		errs, slow := 0.0, 0.0
		if in(m, 12, 18) {
			errs = 10
		}
		if in(m, 13, 18) {
			slow = 10
		}
		for i := range 6 {
			v := 1.0
			if m == 10 {
				v = 100
			}
			g(m, "burst", map[string]string{"host": fmt.Sprint("h", i)}, v)
		}
		g(m, "err_rate", map[string]string{"service": "api"}, errs)
		g(m, "slow_rate", map[string]string{"service": "api"}, slow)
		good, bad := 100.0, 0.0
		if in(m, 30, 36) {
			good, bad = 50, 50
		}
		ts := e0.Add(time.Duration(m) * time.Minute).UnixMilli()
		s = append(s, store.Sample{Name: "sli_requests_total", Type: store.Counter, Labels: map[string]string{"service": "api", "success": "true"}, TS: ts, Value: good})
		if bad > 0 {
			s = append(s, store.Sample{Name: "sli_requests_total", Type: store.Counter, Labels: map[string]string{"service": "api", "success": "false"}, TS: ts, Value: bad})
		}
	}
	if _, err := st.Write(context.Background(), s); err != nil {
		t.Fatal(err)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	if f.cfg, err = alertconfig.ParseEnv("c.yaml", []byte(yaml), func(string) (string, bool) { return "", false }, channels.Types()); err != nil {
		t.Fatal(err)
	}
	if f.objs, _, err = slo.Parse("slo.yaml", []byte(equivSLO)); err != nil {
		t.Fatal(err)
	}
	return f
}

func (f *equivFixture) open(ctx context.Context) (*analyze.DB, error) {
	return analyze.Open(ctx, []string{f.store}, analyze.Options{CacheDir: f.dir, LockWait: time.Second})
}

// trace is what a side did, as comparable lines: per run, every item that
// is not quiet and decided anything but what its alert's last item did,
// what the rate limit held, and the notices delivered. An item that
// stays in its state and repeats its last decision is left out: replay
// does not step those (its steady rules), evaluate does.
type trace struct {
	items, held, notices []string
	last                 map[uint64]string // each alert's last item, without its time
	// evaluates counts the evaluate runs made and stepped the alerts
	// stepped by all runs, quiet ones included.
	evaluates, stepped int
}

func (tr *trace) run(source string, at time.Time, res alertrun.Result, ns []Notice) {
	if source == "evaluate" {
		tr.evaluates++
	}
	tr.stepped += len(res.Alerts)
	stamp := at.UTC().Format("15:04")
	for _, it := range res.Alerts {
		if (eval.Stepped{Prev: it.Prev, Next: it.Alert}).Quiet(true) {
			continue
		}
		q := slices.Clone(it.Queued)
		decided := fmt.Sprintf("%s by=%q queued=%v incident=%q skipped=%v", it.Alert.State, it.SuppressedBy, q, it.Alert.Incident, it.Skipped)
		if tr.last == nil {
			tr.last = map[uint64]string{}
		}
		if it.Prev.State == it.Alert.State && tr.last[it.Alert.Fingerprint] == decided {
			continue
		}
		tr.last[it.Alert.Fingerprint] = decided
		tr.items = append(tr.items, fmt.Sprintf("%s %s %s %s %s->%s", stamp, source, it.Rule.Name,
			state.FormatFingerprint(it.Alert.Fingerprint), it.Prev.State, decided))
	}
	var held []string
	for fp, chans := range res.Outcome.Held {
		for _, c := range chans {
			held = append(held, fmt.Sprintf("%s %s %s %s", stamp, source, state.FormatFingerprint(fp), c))
		}
	}
	sort.Strings(held)
	tr.held = append(tr.held, held...)
	for _, n := range ns {
		tr.notices = append(tr.notices, fmt.Sprintf("%s %s %s %s %s %s %s step=%d", n.At.UTC().Format(time.RFC3339), n.Channel, n.Kind, n.Rule, n.Fingerprint, n.State, n.Severity, n.Step))
	}
}

// chanRecorder is side A's notifier: what each channel was handed.
type chanRecorder struct {
	mu   sync.Mutex
	idx  map[string]int
	got  []notify.Notification
	seqs []int
}

func (c *chanRecorder) notifier(name string) notify.Notifier {
	return notifyFunc(func(n notify.Notification) {
		c.mu.Lock()
		defer c.mu.Unlock()
		c.got = append(c.got, n)
	})
}

type notifyFunc func(notify.Notification)

func (f notifyFunc) Notify(_ context.Context, n notify.Notification) (bool, error) {
	f(n)
	return false, nil
}

// take returns what was handed since the last take, each channel's in its
// order, the channels in the config's.
func (c *chanRecorder) take() []Notice {
	c.mu.Lock()
	got := c.got
	c.got = nil
	c.mu.Unlock()
	sort.SliceStable(got, func(i, j int) bool { return c.idx[got[i].Channel.Name] < c.idx[got[j].Channel.Name] })
	var out []Notice
	for _, n := range got {
		kind := n.Kind
		if n.Refresh {
			kind = "refresh"
		}
		for _, a := range n.Alerts {
			out = append(out, Notice{At: n.At, Channel: n.Channel.Name, Kind: kind, Rule: a.Rule, Fingerprint: a.Fingerprint,
				State: a.State, Severity: a.Severity, Step: max(a.EscalationStep, 0)})
		}
	}
	return out
}

// evaluateSide is N consecutive `vigil evaluate --at t` then `vigil
// budget --notify --at t` runs on a scratch state file.
func (f *equivFixture) evaluateSide(t *testing.T, n int) *trace {
	t.Helper()
	ctx := context.Background()
	rec := &chanRecorder{idx: map[string]int{}}
	senders := map[string]notify.Notifier{}
	for i, c := range f.cfg.Channels {
		rec.idx[c.Name] = i
		senders[c.Name] = rec.notifier(c.Name)
	}
	tr := &trace{}
	for j := 1; j <= n; j++ {
		at := e0.Add(time.Duration(j) * time.Minute)
		o := alertrun.Options{Config: f.cfg, At: at, OpenStores: f.open, StatePath: filepath.Join(f.dir, "state.db"),
			Holder: "test", LockTimeout: time.Second, Senders: senders}
		res, err := alertrun.Evaluate(ctx, o)
		if err != nil {
			t.Fatal(err)
		}
		tr.run("evaluate", at, res, rec.take())
		db, err := f.open(ctx)
		if err != nil {
			t.Fatal(err)
		}
		ev := slo.NewEvaluator(db, at)
		ev.Prepare(ctx, f.objs)
		var budgets []slo.Budget
		for _, ob := range f.objs {
			b, err := slo.BudgetOf(ctx, ev, ob)
			if err != nil {
				t.Fatal(err)
			}
			budgets = append(budgets, b)
		}
		db.Close()
		o.Source = "budget"
		if res, err = alertrun.Notify(ctx, o, alertrun.BudgetBuild(budgets, at)); err != nil {
			t.Fatal(err)
		}
		tr.run("budget", at, res, rec.take())
	}
	return tr
}

// replaySide is replay.Run over the same steps.
func (f *equivFixture) replaySide(t testing.TB, n int, noSkip bool) (*trace, *Replay) {
	t.Helper()
	ctx := context.Background()
	db, err := f.open(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	tr := &trace{}
	var rep *Replay
	var pending []alertrun.Result
	var sources []string
	var ats []time.Time
	o := Options{Config: f.cfg, Objectives: f.objs, From: e0, To: e0.Add(time.Duration(n) * time.Minute), Step: time.Minute, NoSkip: noSkip,
		observe: func(source string, at time.Time, res alertrun.Result) {
			pending, sources, ats = append(pending, res), append(sources, source), append(ats, at)
		}}
	if rep, err = Run(ctx, db, o); err != nil {
		t.Fatal(err)
	}
	// The notices of each run, from the timeline: the runs of one instant
	// are evaluate's then budget's, and each notice is one of a run's.
	byRun := map[string][]Notice{}
	for _, nt := range rep.Notices {
		k := nt.At.String()
		byRun[k] = append(byRun[k], nt)
	}
	for i, res := range pending {
		var ns []Notice
		if i == len(pending)-1 || !ats[i+1].Equal(ats[i]) { // the instant's last run: all its notices
			ns = byRun[ats[i].String()]
		}
		tr.run(sources[i], ats[i], res, ns)
	}
	return tr, rep
}

func diffLines(t *testing.T, what string, a, b []string) {
	t.Helper()
	if slices.Equal(a, b) {
		return
	}
	for i := 0; i < max(len(a), len(b)); i++ {
		var x, y string
		if i < len(a) {
			x = a[i]
		}
		if i < len(b) {
			y = b[i]
		}
		if x != y {
			t.Errorf("%s differ at %d (of %d and %d):\nevaluate: %s\nreplay:   %s", what, i, len(a), len(b), x, y)
			return
		}
	}
}

// The Done-when: replay's runs decide and notify exactly what N
// consecutive evaluate and budget --notify runs decide and notify on a
// scratch state file over the same store.
func TestReplayEqualsEvaluate(t *testing.T) {
	t.Run("every feature", func(t *testing.T) { replayEqualsEvaluate(t, equivYAML, true) })
	// Without an Alertmanager channel, replay leaves steady rules out.
	t.Run("steady", func(t *testing.T) { replayEqualsEvaluate(t, steadyYAML(), false) })
}

func replayEqualsEvaluate(t *testing.T, yaml string, features bool) {
	f := newEquivFixture(t, yaml)
	const n = 60
	a := f.evaluateSide(t, n)
	b, rep := f.replaySide(t, n, false)
	// The notices per run, in one list: side A's are per run, side B's
	// per instant (one timeline); both in delivery order within a run.
	flat := func(tr *trace) []string { return tr.notices }
	diffLines(t, "items", a.items, b.items)
	diffLines(t, "held", a.held, b.held)
	diffLines(t, "notices", flat(a), flat(b))
	if rep.Steps != n || len(rep.Notices) == 0 {
		t.Errorf("steps %d, %d notices", rep.Steps, len(rep.Notices))
	}
	if !features {
		if rep.steadied == 0 {
			t.Error("no rule was left out as steady: the comparison proves nothing")
		}
		return
	}
	// The features were exercised: without these the comparison proves little.
	joined := strings.Join(a.items, "\n") + strings.Join(a.notices, "\n")
	for _, want := range []string{"cpu_high", "queue_alert", "->nodata", "queue_keep", "backup_missing", "heartbeat_missing",
		"latency_spike", "incident=\"burst/api/", "by=\"silence\"", "by=\"dedup\"", "by=\"cooldown\"", "refresh", " pager firing ", "step=1", "slo_burn_rate_page", "slo_error_budget", " resolved "} {
		if !strings.Contains(joined, want) {
			t.Errorf("the evaluate side never shows %q", want)
		}
	}
	if len(a.held) == 0 {
		t.Error("the rate limit never held a notice")
	}
	t.Logf("%d items, %d held, %d notices", len(a.items), len(a.held), len(a.notices))
}
