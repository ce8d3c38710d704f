package analyze_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vigil-metrics/vigil/analyze"
	"github.com/vigil-metrics/vigil/analyze/promsrc"
	"github.com/vigil-metrics/vigil/internal/ingest"
	"github.com/vigil-metrics/vigil/internal/metricpath"
	"github.com/vigil-metrics/vigil/internal/promtest"
	"github.com/vigil-metrics/vigil/internal/store"
)

// A counter whose sample before the window is older than counter_lookback
// answers from what is in the window, as a store answers for a series
// whose first sample ever is there: the first in-window sample is a
// baseline, the later ones increments (so one sample alone is "no data",
// as in that store). A warning names the series and counter_lookback
// (issue 26: a bare "no data"); a series born in the window is not named.
func TestCounterPreviousBeyondLookback(t *testing.T) {
	end := promtest.FixtureEnd
	series := []promtest.Series{
		// Previous sample 3h back, then one sample in the window.
		{Name: "lk_one_total", Family: "lk_one", Type: "counter", Labels: map[string]string{"h": "a"},
			Points: []promtest.Sample{{MS: end - 3*3600_000, Value: 10}, {MS: end - 60_000, Value: 25}}},
		// Previous sample 3h back, then three in the window: 30, 34, 40.
		{Name: "lk_three_total", Family: "lk_three", Type: "counter", Labels: map[string]string{"h": "a"},
			Points: []promtest.Sample{{MS: end - 3*3600_000, Value: 10}, {MS: end - 90_000, Value: 30}, {MS: end - 60_000, Value: 34}, {MS: end - 30_000, Value: 40}}},
		// Born in the window: 1, 6.
		{Name: "lk_new_total", Family: "lk_new", Type: "counter", Labels: map[string]string{"h": "n"},
			Points: []promtest.Sample{{MS: end - 90_000, Value: 1}, {MS: end - 60_000, Value: 6}}},
	}
	om, _ := promtest.Fixture(series)
	srv := promtest.Start(t, promtest.Blocks(t, om))
	ctx := context.Background()
	var logs bytes.Buffer
	db, err := analyze.Open(ctx, []string{srv.URL}, analyze.Options{CacheDir: t.TempDir(), Timeout: 30 * time.Second,
		Logger:  slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelWarn})),
		Sources: map[string]promsrc.Config{srv.URL: {CounterLookback: time.Hour}}})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	win := analyze.Window{At: time.UnixMilli(end), Length: 5 * time.Minute}
	// A store holding the in-window samples alone, imported as OpenMetrics:
	// each series' first sample ever is a baseline there.
	var inWin []promtest.Series
	for _, s := range series {
		var ps []promtest.Sample
		for _, pt := range s.Points {
			if pt.MS > end-5*60_000 {
				ps = append(ps, pt)
			}
		}
		s.Points = ps
		inWin = append(inWin, s)
	}
	omWin, _ := promtest.Fixture(inWin)
	p := filepath.Join(t.TempDir(), "lk.db")
	st, err := store.Open(ctx, p, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ingest.Import(ctx, st, []ingest.Source{{Name: "lk.om", R: strings.NewReader(omWin), Format: ingest.OpenMetrics}}); err != nil {
		t.Fatal(err)
	}
	st.Close()
	sdb, err := analyze.Open(ctx, []string{p}, analyze.Options{CacheDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer sdb.Close()
	for _, c := range []struct{ path, want string }{
		{"lk_one_total.increase", "[]"},
		{"lk_one_total.count", "[]"},
		{"lk_new_total.increase", "[{map[] 5 1}]"},
		{"lk_three_total.increase", "[{map[] 10 2}]"},
		{"lk_three_total.count", "[{map[] 2 2}]"},
	} {
		e, _ := metricpath.Parse(c.path)
		rs, err := db.Eval(ctx, e, win)
		if err != nil {
			t.Errorf("%s: %v", c.path, err)
			continue
		}
		if got := fmt.Sprint(rs); got != c.want {
			t.Errorf("%s = %s, want %s", c.path, got, c.want)
		}
		if ws, err := sdb.Eval(ctx, e, win); err != nil || fmt.Sprint(ws) != c.want {
			t.Errorf("%s on the store = %v (%v), want %s", c.path, ws, err, c.want)
		}
	}
	for _, w := range []string{`lk_one_total{h=\"a\"}`, `lk_three_total{h=\"a\"}`, "counter_lookback"} {
		if !strings.Contains(logs.String(), w) {
			t.Errorf("the warnings do not name %s:\n%s", w, logs.String())
		}
	}
	if strings.Contains(logs.String(), "lk_new_total") {
		t.Errorf("a series born in the window is warned of:\n%s", logs.String())
	}
}
