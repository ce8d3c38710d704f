package analyze_test

import (
	"context"
	"fmt"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vigil-metrics/vigil/analyze"
	"github.com/vigil-metrics/vigil/internal/ingest"
	"github.com/vigil-metrics/vigil/internal/metricpath"
	"github.com/vigil-metrics/vigil/internal/store"
)

// The same data imported as OpenMetrics (cumulative counters) and as JSON
// Lines (the increments, worked out by hand) answers every aggregation
// identically.
func TestOpenMetricsAndJSONLinesAnswerAlike(t *testing.T) {
	const base = 1795946400 // 2026-11-29T10:00:00Z, the evaluation instant
	num := func(f float64) string { return strconv.FormatFloat(f, 'g', -1, 64) }
	var om, jl strings.Builder
	jsonLine := func(ts float64, name, typ string, v float64, host, dc string) {
		fmt.Fprintf(&jl, `{"ts": %s, "name": %q, "type": %q, "value": %s, "labels": {"host": %q, "dc": %q}}`+"\n",
			num(ts), name, typ, num(v), host, dc)
	}

	// Gauges: three hosts, 30 samples each, 10s apart, at .5 seconds.
	om.WriteString("# HELP cpu CPU use.\n# TYPE cpu gauge\n")
	for h, host := range []string{"a", "b", "c"} {
		dc := []string{"x", "y", "x"}[h]
		for i := 0; i < 30; i++ {
			ts := float64(base) - 295.5 + float64(10*i)
			v := float64((i*7+h*13)%20)*0.25 + float64(h)
			fmt.Fprintf(&om, "cpu{host=%q,dc=%q} %s %s\n", host, dc, num(v), num(ts))
			jsonLine(ts, "cpu", "gauge", v, host, dc)
		}
	}

	// Counters: cumulative readings 30s apart, with resets; the first
	// reading is only a baseline.
	counters := []struct {
		host, dc   string
		cumulative []float64
		increments []float64 // by hand
	}{
		{"a", "x", []float64{5, 9, 9, 20, 3, 8, 15, 15.5, 2, 10}, []float64{4, 0, 11, 3, 5, 7, 0.5, 2, 8}},
		{"b", "y", []float64{100, 150, 0, 25, 75, 80, 80, 81, 200, 1}, []float64{50, 0, 25, 50, 5, 0, 1, 119, 1}},
	}
	om.WriteString("# TYPE req counter\n")
	for _, c := range counters {
		for i, v := range c.cumulative {
			ts := float64(base - 290 + 30*i)
			fmt.Fprintf(&om, "req_total{host=%q,dc=%q} %s %s\n", c.host, c.dc, num(v), num(ts))
			fmt.Fprintf(&om, "req_created{host=%q,dc=%q} %d %s\n", c.host, c.dc, base-3600, num(ts))
			if i > 0 {
				jsonLine(ts, "req_total", "counter", c.increments[i-1], c.host, c.dc)
			}
		}
	}
	om.WriteString("# EOF\n")

	dir := t.TempDir()
	load := func(name, text string, format ingest.Format) string {
		p := filepath.Join(dir, name+".db")
		st, err := store.Open(context.Background(), p, store.Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		n, err := ingest.Import(context.Background(), st, []ingest.Source{{Name: name, R: strings.NewReader(text), Format: format}})
		if err != nil {
			t.Fatal(err)
		}
		if n != 90+18 {
			t.Fatalf("%s: imported %d samples, want 108", name, n)
		}
		return p
	}
	omDB := load("om", om.String(), ingest.OpenMetrics)
	jlDB := load("jsonl", jl.String(), ingest.JSONL)

	open := func(p string) *analyze.DB {
		db, err := analyze.Open(context.Background(), []string{p}, analyze.Options{CacheDir: filepath.Join(dir, "cache-"+filepath.Base(p))})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		return db
	}
	dbOM, dbJL := open(omDB), open(jlDB)
	eval := func(db *analyze.DB, path string, w analyze.Window) []analyze.Result {
		t.Helper()
		e, err := metricpath.Parse(path)
		if err != nil {
			t.Fatal(err)
		}
		rs, err := db.Eval(context.Background(), e, w)
		if err != nil {
			t.Fatalf("Eval(%s): %v", path, err)
		}
		return rs
	}

	at := time.Unix(base, 0).UTC()
	aggs := []string{"last", "min", "max", "avg", "sum", "count", "stddev", "rate", "increase", "p50", "p95", "p99"}
	for _, w := range []analyze.Window{{At: at, Length: 10 * time.Minute}, {At: at, Length: time.Minute}, {At: at.Add(-2 * time.Minute), Length: 100 * time.Second}} {
		for _, sel := range []string{"cpu", "req_total", `cpu{host!="b"}`, `req_total{dc="y"}`} {
			for _, agg := range aggs {
				if (agg == "rate" || agg == "increase") && strings.HasPrefix(sel, "cpu") {
					continue // a gauge has no rate: a usage error, tested in engine_test.go
				}
				for _, by := range []string{"", " by (host)", " by (dc)", " by (dc, host)"} {
					path := sel + "." + agg + by
					got, want := eval(dbOM, path, w), eval(dbJL, path, w)
					if len(want) == 0 {
						t.Errorf("%s over %v: no results", path, w.Length)
					}
					if !reflect.DeepEqual(got, want) {
						t.Errorf("%s over %v:\nOpenMetrics %v\nJSON Lines  %v", path, w.Length, got, want)
					}
				}
			}
		}
	}

	// Known answers, so the comparison is not between two wrong stores.
	w := analyze.Window{At: at, Length: 10 * time.Minute}
	checks := []struct {
		path string
		want []analyze.Result
	}{
		{"req_total.increase", []analyze.Result{{Labels: map[string]string{}, Value: 40.5 + 251, Samples: 18}}},
		{"req_total.increase by (host)", []analyze.Result{
			{Labels: map[string]string{"host": "a"}, Value: 40.5, Samples: 9},
			{Labels: map[string]string{"host": "b"}, Value: 251, Samples: 9},
		}},
		{"req_total.max", []analyze.Result{{Labels: map[string]string{}, Value: 119, Samples: 18}}},
		{"cpu.count", []analyze.Result{{Labels: map[string]string{}, Value: 90, Samples: 90}}},
		// The last cpu samples (i=29): (203 % 20)*0.25 = 0.75, (216 % 20)*0.25+1 = 5, (229 % 20)*0.25+2 = 4.25.
		{`cpu.last by (host)`, []analyze.Result{
			{Labels: map[string]string{"host": "a"}, Value: 0.75, Samples: 30},
			{Labels: map[string]string{"host": "b"}, Value: 5, Samples: 30},
			{Labels: map[string]string{"host": "c"}, Value: 4.25, Samples: 30},
		}},
	}
	for _, c := range checks {
		for name, db := range map[string]*analyze.DB{"OpenMetrics": dbOM, "JSON Lines": dbJL} {
			if got := eval(db, c.path, w); !reflect.DeepEqual(got, c.want) {
				t.Errorf("%s: %s = %v, want %v", name, c.path, got, c.want)
			}
		}
	}
}
