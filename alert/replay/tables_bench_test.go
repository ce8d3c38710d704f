package replay

import (
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/vigil-metrics/vigil/alert/config"
	"github.com/vigil-metrics/vigil/alert/eval"
	"github.com/vigil-metrics/vigil/analyze"
	"github.com/vigil-metrics/vigil/internal/store"
)

// The evaluate bench's fleet (cmd/vigil-bench/evalbench.go), smaller:
// its families at their shares of VIGIL_BENCH_SERIES series (default
// 200; the bench's is 1000), sampled every minute for VIGIL_BENCH_DAYS
// days (default 7), and its 200 rules going round the same templates and
// windows. BenchmarkTables evaluates every rule (eval.Rules) at every
// step of the range at 1m from the tables, as a replay asks them; read-s
// is the part spent reading the chunks.

var (
	benchServices  = []string{"api", "web", "auth", "billing", "search", "checkout", "catalog", "users", "notify", "reports"}
	benchEndpoints = []string{"/", "/login", "/search", "/cart", "/items"}
)

func benchNumbered(prefix string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("%s%02d", prefix, i)
	}
	return out
}

type benchFamily struct {
	name  string
	typ   store.Type
	share int
	dims  [][2][]string // label name (one element), values
}

func benchDim(label string, values ...string) [2][]string { return [2][]string{{label}, values} }

func benchFamilies() []benchFamily {
	hosts, inst := benchNumbered("host-", 50), benchNumbered("i-", 6)
	return []benchFamily{
		{"cpu_usage_percent", store.Gauge, 100, [][2][]string{benchDim("host", hosts...), benchDim("cpu", "0", "1")}},
		{"memory_usage_percent", store.Gauge, 50, [][2][]string{benchDim("host", hosts...)}},
		{"queue_depth", store.Gauge, 50, [][2][]string{benchDim("service", benchServices...), benchDim("queue", "email", "events", "jobs", "webhooks", "exports")}},
		{"http_requests_total", store.Counter, 300, [][2][]string{benchDim("service", benchServices...), benchDim("endpoint", benchEndpoints...),
			benchDim("status", "200", "404", "500"), benchDim("instance", inst[:2]...)}},
		{"response_time_ms", store.Histogram, 300, [][2][]string{benchDim("service", benchServices...), benchDim("endpoint", benchEndpoints...), benchDim("instance", inst...)}},
		{"db_query_duration_ms", store.Histogram, 100, [][2][]string{benchDim("service", benchServices...),
			benchDim("query", "select", "insert", "update", "delete", "join"), benchDim("instance", inst[:2]...)}},
		{"disk_written_bytes_total", store.Counter, 100, [][2][]string{benchDim("host", hosts...), benchDim("device", "sda", "sdb")}},
	}
}

func benchMix(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ x>>30) * 0xbf58476d1ce4e5b9
	x = (x ^ x>>27) * 0x94d049bb133111eb
	return x ^ x>>31
}

// benchStore writes the fleet's samples ending at end, one a minute.
func benchStore(b *testing.B, path string, series, steps int, end time.Time) {
	st, err := store.Open(context.Background(), path, store.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	type line struct {
		fam    *benchFamily
		labels map[string]string
		id     int
		cum    float64
	}
	var lines []line
	fams := benchFamilies()
	for f := range fams {
		n := max(1, fams[f].share*series/1000)
		for k := range n {
			labels := map[string]string{}
			i := k
			for _, d := range fams[f].dims {
				labels[d[0][0]] = d[1][i%len(d[1])]
				i /= len(d[1])
			}
			lines = append(lines, line{fam: &fams[f], labels: labels, id: len(lines)})
		}
	}
	var batch []store.Sample
	first := end.Add(-time.Duration(steps-1) * time.Minute)
	for s := range steps {
		ts := first.Add(time.Duration(s) * time.Minute).UnixMilli()
		for i := range lines {
			l := &lines[i]
			u := float64(benchMix(uint64(l.id)<<32|uint64(s))%1_000_000+1) / 1_000_000
			var v float64
			switch l.fam.typ {
			case store.Gauge:
				v = math.Round((40+20*math.Sin(float64(s)/700+float64(l.id))+10*u)*10) / 10
			case store.Counter:
				l.cum += math.Round(20 + 50*u)
				v = l.cum
			default:
				v = math.Round(-math.Log(u)*80*10) / 10
			}
			batch = append(batch, store.Sample{Name: l.fam.name, Type: l.fam.typ, Labels: l.labels, TS: ts, Value: v})
		}
		if len(batch) >= 200_000 || s == steps-1 {
			if _, err := st.Write(context.Background(), batch); err != nil {
				b.Fatal(err)
			}
			batch = batch[:0]
		}
	}
}

// benchRules are the evaluate bench's 200 rules (its templates, windows
// and group_by), as config.Rules.
func benchRules(n int) []config.Rule {
	svc := func(i int) string { return benchServices[i%len(benchServices)] }
	type tmpl struct {
		path    func(i int) string
		groupBy []string
	}
	fixed := func(p string) func(int) string { return func(int) string { return p } }
	tmpls := []tmpl{
		{fixed("cpu_usage_percent.avg"), []string{"host"}},
		{func(i int) string { return fmt.Sprintf(`cpu_usage_percent{host="host-%02d"}.max`, i%10) }, nil},
		{fixed("memory_usage_percent.max by (host)"), nil},
		{fixed("queue_depth.last by (service, queue)"), nil},
		{func(i int) string { return fmt.Sprintf(`queue_depth{service="%s"}.avg`, svc(i)) }, nil},
		{fixed("http_requests_total.rate by (service)"), nil},
		{fixed(`http_requests_total{status=~"5.."}.increase by (service) / http_requests_total.increase by (service)`), nil},
		{func(i int) string {
			return fmt.Sprintf(`http_requests_total{service="%s",status="404"}.increase`, svc(i))
		}, nil},
		{fixed("response_time_ms.p95 by (service, endpoint)"), nil},
		{func(i int) string { return fmt.Sprintf(`response_time_ms{service="%s"}.p99`, svc(i)) }, []string{"endpoint"}},
		{fixed("response_time_ms.avg"), []string{"service"}},
		{fixed("db_query_duration_ms.p99 by (service, query)"), nil},
		{fixed(`db_query_duration_ms{query="join"}.max by (service)`), nil},
		{fixed("disk_written_bytes_total.rate by (host)"), nil},
		{fixed("cpu_usage_percent.p90 by (service)"), nil},
		{func(i int) string {
			return fmt.Sprintf(`http_requests_total{service="%s",status="500"}.increase / http_requests_total{service="%s"}.increase`, svc(i), svc(i))
		}, nil},
	}
	windows := []time.Duration{5 * time.Minute, 10 * time.Minute, 15 * time.Minute, 30 * time.Minute, time.Hour}
	out := make([]config.Rule, n)
	for i := range out {
		t, round := tmpls[i%len(tmpls)], i/len(tmpls)
		out[i] = config.Rule{Name: fmt.Sprintf("r%03d", i), MetricPath: t.path(round), Condition: "greater_than", Threshold: 100,
			EvaluationWindow: windows[(i+round)%len(windows)], GroupBy: t.groupBy}
	}
	return out
}

func benchEnv(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

func BenchmarkTables(b *testing.B) {
	series, days := benchEnv("VIGIL_BENCH_SERIES", 200), benchEnv("VIGIL_BENCH_DAYS", 7)
	dir := b.TempDir()
	p := filepath.Join(dir, "fleet.db")
	steps := days * 1440
	end := t0
	benchStore(b, p, series, steps+60, end) // an hour before the first step's windows
	db, err := analyze.Open(context.Background(), []string{p}, analyze.Options{CacheDir: filepath.Join(dir, "cache")})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	rules := benchRules(200)
	var qs [][]eval.Query // per rule
	var all []eval.Query
	for i := range rules {
		q, err := eval.Queries(&rules[i])
		if err != nil {
			b.Fatal(err)
		}
		qs, all = append(qs, q), append(all, q...)
	}
	from := end.Add(-time.Duration(steps) * time.Minute)
	ctx := context.Background()
	b.ResetTimer()
	for range b.N {
		tb, err := NewTables(db, all, from, time.Minute, steps, TablesOptions{})
		if err != nil {
			b.Fatal(err)
		}
		results := 0
		var read time.Duration
		for j := range steps {
			if j == 0 || (j >= minChunkSteps && (j-minChunkSteps)%tb.ChunkSteps() == 0) {
				start := time.Now()
				if _, err := tb.Eval(ctx, qs[0][0].Expr, analyze.Window{At: from.Add(time.Duration(j+1) * time.Minute), Length: qs[0][0].Length}); err != nil {
					b.Fatal(err)
				}
				read += time.Since(start)
			}
			at := from.Add(time.Duration(j+1) * time.Minute)
			obs, errs, err := eval.Rules(ctx, tb, rules, at)
			if err != nil || errs != nil {
				b.Fatal(err, errs)
			}
			results += len(obs)
		}
		if tb.Fallbacks() != 0 {
			b.Fatalf("%d fallbacks", tb.Fallbacks())
		}
		b.ReportMetric(float64(tb.Reads()), "reads")
		b.ReportMetric(read.Seconds(), "read-s")
		b.ReportMetric(float64(tb.ChunkSteps()), "K")
		b.ReportMetric(float64(tb.LiveCells()), "cells")
		b.ReportMetric(float64(results)/float64(steps), "observations/step")
	}
	b.ReportMetric(b.Elapsed().Seconds()*1e6/float64(b.N)/float64(steps*len(rules)), "µs/rule-step")
}
