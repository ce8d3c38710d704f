package replay

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/vigil-metrics/vigil/alert/channels"
	alertconfig "github.com/vigil-metrics/vigil/alert/config"
	alertrun "github.com/vigil-metrics/vigil/alert/run"
	"github.com/vigil-metrics/vigil/analyze"
	"github.com/vigil-metrics/vigil/internal/metricpath"
)

// A dynamic rule's threshold is the one tuned at each step: load_0 reads
// 100, the threshold is 200 before 10:10 and 50 from then on, so the rule
// fires at 10:10 and not before. The runs before keep the rule they were
// decided with (a change copies the config, never edits a rule an earlier
// item points to).
func TestReplayThresholdsPerStep(t *testing.T) {
	cfg, err := alertconfig.ParseEnv("dyn.yaml", []byte(`
alert_rules:
  - {name: dyn, metric_path: load_0, condition: greater_than, threshold: 1000, severity: high, evaluation_window: 60, labels: {dynamic_threshold: "true"}}
  - {name: fixed, metric_path: load_0, condition: greater_than, threshold: 1000, severity: high, evaluation_window: 60}
channels:
  - {name: ops, type: webhook, url: "http://127.0.0.1:1/ops"}
`), func(string) (string, bool) { return "", false }, channels.Types())
	if err != nil {
		t.Fatal(err)
	}
	if !cfg.Rules[0].Dynamic {
		t.Fatal("dyn is not dynamic")
	}
	switchAt := e0.Add(10 * time.Minute)
	type seen struct {
		at        time.Time
		rule      *alertconfig.Rule
		threshold float64
	}
	var items []seen
	o := Options{Config: cfg, From: e0, To: e0.Add(20 * time.Minute), Step: time.Minute, NoSkip: true, querier: constQuerier{busy: true},
		Thresholds: func(rule string, at time.Time) (float64, bool) {
			if rule != "dyn" {
				t.Errorf("threshold asked for %s, which is not dynamic", rule)
			}
			if at.Before(switchAt) {
				return 200, true
			}
			return 50, true
		},
		observe: func(_ string, at time.Time, res alertrun.Result) {
			for _, it := range res.Alerts {
				if it.Rule.Name == "dyn" {
					items = append(items, seen{at, it.Rule, it.Rule.Threshold})
				}
			}
		}}
	rep, err := Run(context.Background(), nil, o)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Episodes) != 1 || rep.Episodes[0].Rule != "dyn" || !rep.Episodes[0].Start.Equal(switchAt) {
		t.Fatalf("episodes %+v, want dyn's from 10:10", rep.Episodes)
	}
	if len(items) != 20 {
		t.Fatalf("%d runs saw dyn, want 20", len(items))
	}
	for _, s := range items {
		want := 200.0
		if !s.at.Before(switchAt) {
			want = 50
		}
		if s.threshold != want || s.rule.Threshold != want {
			t.Errorf("at %s: the run used %v, its rule now says %v; want %v", s.at.Format("15:04"), s.threshold, s.rule.Threshold, want)
		}
	}
	if cfg.Rules[0].Threshold != 1000 {
		t.Errorf("the caller's config changed: threshold %v", cfg.Rules[0].Threshold)
	}
}

// Bad ranges are usage errors (exit 2) with a hint; a range not a whole
// number of steps ends at the last step inside it.
func TestReplayRange(t *testing.T) {
	cfg := &alertconfig.Config{}
	for _, c := range []struct {
		name     string
		from, to time.Time
		step     time.Duration
	}{
		{"no step", e0, e0.Add(time.Hour), 0},
		{"to before from", e0, e0.Add(-time.Hour), time.Minute},
		{"no run in range", e0, e0.Add(30 * time.Second), time.Minute},
		{"too many runs", e0, e0.Add(time.Duration(MaxSteps+1) * time.Second), time.Second},
	} {
		_, err := Run(context.Background(), nil, Options{Config: cfg, From: c.from, To: c.to, Step: c.step, querier: constQuerier{}})
		var u *UsageError
		if !errors.As(err, &u) || !u.UsageError() || u.Hint() == "" {
			t.Errorf("%s: %v, want a usage error with a hint", c.name, err)
		}
	}
	rep, err := Run(context.Background(), nil, Options{Config: cfg, From: e0, To: e0.Add(150 * time.Second), Step: time.Minute, querier: constQuerier{}})
	if err != nil || rep.Steps != 2 || !rep.To.Equal(e0.Add(2*time.Minute)) {
		t.Errorf("2.5 steps: %v, %+v; want 2 steps to 10:02", err, rep)
	}
}

// A --from before the oldest sample replays what there is, from the last
// step instant at or before it, and says how much history there is; a
// step finer than the samples (1m) is warned of, not refused.
func TestReplayHistoryWarnings(t *testing.T) {
	f := newEquivFixture(t, equivYAML)
	db, err := f.open(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	// The samples run from 08:00 (e0-120m) to 11:10, one a minute.
	from := e0.Add(-3*time.Hour - 10*time.Second)
	rep, err := Run(context.Background(), db, Options{Config: f.cfg, From: from, To: e0.Add(-110 * time.Minute), Step: 30 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	// 07:00 minus 10 s on a 30 s grid: the last grid instant at or before
	// 08:00 is 07:59:50, and 20 runs follow up to 08:09:50 (<= 08:10).
	if want := e0.Add(-120*time.Minute - 10*time.Second); !rep.From.Equal(want) || rep.Steps != 20 {
		t.Errorf("from %s, %d steps; want %s, 20", rep.From, rep.Steps, want)
	}
	if len(rep.Warnings) != 2 || !strings.Contains(rep.Warnings[0], "oldest sample (2026-11-29T08:00:00Z)") ||
		!strings.Contains(rep.Warnings[0], "3h10m0s of history") || !strings.Contains(rep.Warnings[1], "below the data's resolution (about 1m0s") {
		t.Errorf("warnings %q", rep.Warnings)
	}
	// From one step before the oldest sample: the first run, at From+Step,
	// sees it. Nothing is missing, nothing to warn of (the demo's --from
	// 7d over a week of samples).
	rep, err = Run(context.Background(), db, Options{Config: f.cfg, From: e0.Add(-121 * time.Minute), To: e0.Add(-110 * time.Minute), Step: time.Minute})
	if err != nil || len(rep.Warnings) != 0 || !rep.From.Equal(e0.Add(-121*time.Minute)) {
		t.Errorf("%v, from %s, warnings %q; want from unchanged, no warning", err, rep.From, rep.Warnings)
	}
	// Past the newest sample (11:10): said, since nodata rules fire there.
	rep, err = Run(context.Background(), db, Options{Config: f.cfg, From: e0, To: e0.Add(2 * time.Hour), Step: time.Minute})
	if err != nil || len(rep.Warnings) != 1 || !strings.Contains(rep.Warnings[0], "after the stores' newest sample (2026-11-29T11:10:00Z)") {
		t.Errorf("%v, warnings %q; want the one past the newest sample", err, rep.Warnings)
	}
	// Within the history at the data's step: no warning.
	rep, err = Run(context.Background(), db, Options{Config: f.cfg, From: e0, To: e0.Add(5 * time.Minute), Step: time.Minute})
	if err != nil || len(rep.Warnings) != 0 {
		t.Errorf("%v, warnings %q; want none", err, rep.Warnings)
	}
}

// The bound on the steps counts the range replayed: a --from 700 days
// back over 3h10m of history replays those 190 steps, with the history
// warning; without stores to clamp to, the same range is refused (exit
// 2), with the shortest step that fits (h31 H10).
func TestReplayBoundAfterClamp(t *testing.T) {
	f := newEquivFixture(t, equivYAML)
	db, err := f.open(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	to := e0.Add(70 * time.Minute)
	o := Options{Config: f.cfg, From: to.Add(-700 * 24 * time.Hour), To: to, Step: time.Minute}
	rep, err := Run(context.Background(), db, o)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Steps != 190 || !rep.From.Equal(e0.Add(-120*time.Minute)) || len(rep.Warnings) == 0 || !strings.Contains(rep.Warnings[0], "3h10m0s of history") {
		t.Errorf("from %s, %d steps, warnings %q; want 08:00, 190 steps, the history warning", rep.From, rep.Steps, rep.Warnings)
	}
	o.querier = constQuerier{}
	_, err = Run(context.Background(), nil, o)
	var ue *UsageError
	if !errors.As(err, &ue) || ue.Error() != "1008000 steps of 1m over (--from, --to]: more than 1000000" || ue.Hint() != "use a longer --step (at least 1m1s here) or a shorter --from" {
		t.Errorf("no stores: %v; want the bound refused", err)
	}
}

// countingQuerier is constQuerier that calls on at each Eval: one per
// step for a config of one rule.
type countingQuerier struct {
	constQuerier
	on func()
}

func (c countingQuerier) Eval(ctx context.Context, e *metricpath.Expr, w analyze.Window) ([]analyze.Result, error) {
	c.on()
	return c.constQuerier.Eval(ctx, e, w)
}

// A replay whose context is cancelled (a SIGTERM) stops before its next
// step and says so, instead of running its tens of thousands of steps to
// the end: the runs it steps write past a cancelled context, as a cron
// run must.
func TestReplayStopsWhenCancelled(t *testing.T) {
	cfg, err := alertconfig.ParseEnv("c.yaml", []byte(`alert_rules:
  - {name: r, metric_path: m, condition: greater_than, threshold: 1, severity: high, evaluation_window: 60}
`), func(string) (string, bool) { return "", false }, channels.Types())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancelCause(context.Background())
	stop := errors.New("terminated")
	steps := 0
	q := countingQuerier{on: func() {
		steps++
		if steps == 3 {
			cancel(stop)
		}
	}}
	from := time.Date(2026, 11, 29, 10, 0, 0, 0, time.UTC)
	_, err = Run(ctx, nil, Options{Config: cfg, From: from, To: from.Add(1000 * time.Minute), Step: time.Minute, querier: q, NoSkip: true})
	if !errors.Is(err, stop) {
		t.Fatalf("err = %v, want the cancellation's cause", err)
	}
	if steps != 3 {
		t.Fatalf("%d steps ran after the cancellation at step 3", steps-3)
	}
}
