package main

import (
	"bufio"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// matrix spells a query_range answer as Prometheus does.
func matrix(series ...string) []byte {
	return []byte(`{"status":"success","data":{"resultType":"matrix","result":[` + strings.Join(series, ",") + `]}}`)
}

// The serve section fails its row when vigil serve's answer is not
// Prometheus's: other series, other times, counters beyond docs/serve.md's
// 1e-8, gauges not bit for bit.
func TestCompareMatrices(t *testing.T) {
	const (
		a   = `{"metric":{"service":"a"},"values":[[60,"0.2"],[120,"0.25"]]}`
		b   = `{"metric":{"service":"b"},"values":[[60,"1"]]}`
		gA  = `{"metric":{"__name__":"g","series":"1","service":"svc-1"},"values":[[60,"12.3"],[120,"NaN"]]}`
		gA2 = `{"metric":{"service":"svc-1","series":"1","__name__":"g"},"values":[[60,"12.3"],[120,"NaN"]]}`
	)
	// 0.25 + 4e-9 and 0.25 + 3e-8, spelled as Go would send them.
	near := strconv.FormatFloat(0.25+4e-9, 'f', -1, 64)
	far := strconv.FormatFloat(0.25+3e-8, 'f', -1, 64)
	for _, c := range []struct {
		name      string
		got, want []byte
		tol       float64
		same      bool
		says      string
	}{
		{"equal, other series order", matrix(b, a), matrix(a, b), serveCounterTol, true, ""},
		{"labels in another order, NaN", matrix(gA2), matrix(gA), 0, true, ""},
		{"counter within 1e-8", matrix(strings.Replace(a, `"0.25"`, `"`+near+`"`, 1)), matrix(a), serveCounterTol, true, ""},
		{"counter beyond 1e-8", matrix(strings.Replace(a, `"0.25"`, `"`+far+`"`, 1)), matrix(a), serveCounterTol, false, `{service="a"} at 120`},
		{"gauge off by one ulp", matrix(strings.Replace(gA, `"12.3"`, `"`+strconv.FormatFloat(math.Nextafter(12.3, 13), 'f', -1, 64)+`"`, 1)), matrix(gA), 0, false, "tolerance 0"},
		{"a series missing", matrix(a), matrix(a, b), serveCounterTol, false, `{service="b"} missing`},
		{"a series too many", matrix(a, b), matrix(a), serveCounterTol, false, `{service="b"} not in prometheus`},
		{"a point missing", matrix(strings.Replace(a, `,[120,"0.25"]`, "", 1)), matrix(a), serveCounterTol, false, "1 points, prometheus 2"},
		{"another time", matrix(strings.Replace(a, "[120,", "[180,", 1)), matrix(a), serveCounterTol, false, "point 1 at 180, prometheus at 120"},
		{"an error answer", []byte(`{"status":"error","errorType":"bad_data","error":"x"}`), matrix(a), serveCounterTol, false, `status "error"`},
	} {
		t.Run(c.name, func(t *testing.T) {
			err := compareMatrices(c.got, c.want, c.tol)
			if (err == nil) != c.same {
				t.Fatalf("compareMatrices: %v, want same=%v", err, c.same)
			}
			if err != nil && !strings.Contains(err.Error(), c.says) {
				t.Fatalf("compareMatrices: %v, want it to say %q", err, c.says)
			}
		})
	}
}

// The two files hold the same samples: the OpenMetrics totals are the
// running sums of the JSON Lines increments, series by series, at the
// same times, 7 s past the interval (off the queries' whole minutes).
func TestServeFilesSameSamples(t *testing.T) {
	dir := t.TempDir()
	jl, om := filepath.Join(dir, "s.jsonl"), filepath.Join(dir, "s.om")
	first := end.Add(-serveSpan + serveOffset)
	const steps = 3
	if err := writeServeJSONL(jl, first, 15*time.Second, steps); err != nil {
		t.Fatal(err)
	}
	if err := writeServeOM(om, first, 15*time.Second, steps); err != nil {
		t.Fatal(err)
	}
	lines := func(path string) []string {
		f, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		var out []string
		for sc := bufio.NewScanner(f); sc.Scan(); {
			out = append(out, sc.Text())
		}
		return out
	}
	j, o := lines(jl), lines(om)
	if n := (serveCounters + serveGauges) * steps; len(j) != n || len(o) != n+3 {
		t.Fatalf("%d JSON lines and %d OpenMetrics lines, want %d and %d (+ 2 TYPE lines and EOF)", len(j), len(o), n, n+3)
	}
	ts := strconv.FormatInt(first.Unix(), 10)
	if first.Unix()%60 != 7 {
		t.Fatalf("first sample at %d, want 7 s past a minute", first.Unix())
	}
	// Counter 7 (service svc-7): increments at steps 0..2 and their totals.
	var total float64
	for i := range steps {
		inc := serveIncrement(7, i)
		if inc < 1 || inc > 5 || inc != math.Trunc(inc) {
			t.Fatalf("increment %v, want a whole number in [1, 5]", inc)
		}
		total += inc
		at := strconv.FormatInt(first.Unix()+int64(i)*15, 10)
		wantJ := `{"ts":` + at + `,"name":"x_total","type":"counter","value":` + strconv.FormatFloat(inc, 'f', -1, 64) +
			`,"labels":{"series":"7"},"service":"svc-7"}`
		if got := j[i*(serveCounters+serveGauges)+7]; got != wantJ {
			t.Fatalf("JSON line %q, want %q", got, wantJ)
		}
		wantO := `x_total{series="7",service="svc-7"} ` + strconv.FormatFloat(total, 'f', -1, 64) + " " + at
		if got := o[1+7*steps+i]; got != wantO {
			t.Fatalf("OpenMetrics line %q, want %q", got, wantO)
		}
	}
	// Gauge 3 at step 0: the same value in both.
	v := strconv.FormatFloat(serveGauge(3, 0), 'f', -1, 64)
	if got, want := j[serveCounters+3], `{"ts":`+ts+`,"name":"g","type":"gauge","value":`+v+`,"labels":{"series":"3"},"service":"svc-3"}`; got != want {
		t.Fatalf("JSON line %q, want %q", got, want)
	}
	if got, want := o[2+serveCounters*steps+3*steps], `g{series="3",service="svc-3"} `+v+" "+ts; got != want {
		t.Fatalf("OpenMetrics line %q, want %q", got, want)
	}
}
