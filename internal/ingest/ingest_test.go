package ingest

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vigil-metrics/vigil/internal/store"
)

func newStore(t *testing.T) *store.Store {
	t.Helper()
	s, err := store.Open(context.Background(), filepath.Join(t.TempDir(), "v.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func dump(t *testing.T, s *store.Store) []string {
	t.Helper()
	rows, err := s.DBForTest().Query("SELECT timestamp, name, type, value, labels, service_name FROM metrics ORDER BY timestamp, name")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var ts, v float64
		var n, ty, l, sv string
		rows.Scan(&ts, &n, &ty, &v, &l, &sv)
		out = append(out, fmt.Sprintf("%.3f %s %s %g %s %s", ts, n, ty, v, l, sv))
	}
	return out
}

func TestImportJSONLAndCSV(t *testing.T) {
	s := newStore(t)
	jsonl := `{"ts": 1795946400.5, "name": "http_requests_total", "type": "counter", "value": 1, "labels": {"method": "GET"}, "service": "api"}

{"ts": "2026-11-29T10:00:01Z", "name": "temp", "type": "gauge", "value": -3}
`
	csvText := "name,ts,type,value,labels,service\n" +
		`latency_ms,2026-11-29T10:00:02Z,histogram,12.5,"{""route"":""/a""}",web` + "\n" +
		"latency_ms,1795946403,histogram,7,,web\n"
	n, err := Import(context.Background(), s, []Source{
		{Name: "a.jsonl", R: strings.NewReader(jsonl)},
		{Name: "b.csv", R: strings.NewReader(csvText)},
	})
	if err != nil || n != 4 {
		t.Fatalf("Import = %d, %v", n, err)
	}
	want := []string{
		`1795946400.500 http_requests_total counter 1 {"method":"GET"} api`,
		`1795946401.000 temp gauge -3 {} `,
		`1795946402.000 latency_ms histogram 12.5 {"route":"/a"} web`,
		`1795946403.000 latency_ms histogram 7 {} web`,
	}
	if got := dump(t, s); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestImportReferenceSQLite(t *testing.T) {
	ref := filepath.Join(t.TempDir(), "ref.db")
	db, err := sql.Open("sqlite", ref)
	if err != nil {
		t.Fatal(err)
	}
	// The reference design's schema, created the way its collector does.
	_, err = db.Exec(`CREATE TABLE metrics (timestamp REAL, name TEXT, type TEXT, value REAL, labels TEXT, service_name TEXT);
INSERT INTO metrics VALUES (1795946400.25, 'errors_total', 'counter', 1.0, '{"component": "user_service", "error_type": "validation_error"}', 'users');
INSERT INTO metrics VALUES (1795946401, 'cpu_usage_percent', 'gauge', 42.5, '{"host": "worker-01"}', NULL);
INSERT INTO metrics VALUES (1795946402, 'response_time_ms', 'histogram', 250, NULL, 'api');`)
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	s := newStore(t)
	n, err := Import(context.Background(), s, []Source{{Name: ref, Path: ref}})
	if err != nil || n != 3 {
		t.Fatalf("Import = %d, %v", n, err)
	}
	want := []string{
		`1795946400.250 errors_total counter 1 {"component":"user_service","error_type":"validation_error"} users`,
		`1795946401.000 cpu_usage_percent gauge 42.5 {"host":"worker-01"} `,
		`1795946402.000 response_time_ms histogram 250 {} api`,
	}
	if got := dump(t, s); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	// A vigil store exposes the same shape, so it imports into another.
	s2 := newStore(t)
	if n, err := Import(context.Background(), s2, []Source{{Name: s.Path, Path: s.Path}}); err != nil || n != 3 {
		t.Fatalf("store-to-store import = %d, %v", n, err)
	}
	if got := dump(t, s2); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("store-to-store: got\n%s", strings.Join(got, "\n"))
	}
}

func TestImportRejectsBadInputAtomically(t *testing.T) {
	good := `{"ts": 1795946400, "name": "ok_total", "type": "counter", "value": 1}` + "\n"
	cases := []struct {
		name, text, want string
	}{
		{"bad.jsonl", good + `{"ts": 1795946400, "name": "x", "type": "counter", "value": 1` + "\n", "bad.jsonl:2: bad JSON"},
		{"t.jsonl", good + good + `{"ts": 1795946400, "name": "x", "type": "summary", "value": 1}`, `t.jsonl:3: unknown type "summary"`},
		{"nan.jsonl", good + `{"ts": 1795946400, "name": "x", "type": "gauge", "value": "NaN"}`, "nan.jsonl:2: value is NaN"},
		{"inf.jsonl", good + `{"ts": 1795946400, "name": "x", "type": "gauge", "value": "+Inf"}`, "inf.jsonl:2: value is infinite"},
		{"name.jsonl", good + `{"ts": 1795946400, "name": "", "type": "gauge", "value": 1}`, "name.jsonl:2: empty metric name"},
		{"name2.jsonl", good + `{"ts": 1795946400, "name": "http-requests", "type": "gauge", "value": 1}`, `name2.jsonl:2: invalid metric name "http-requests"`},
		{"label.jsonl", good + `{"ts": 1795946400, "name": "x", "type": "gauge", "value": 1, "labels": {"bad-name": "v"}}`, `label.jsonl:2: invalid label name "bad-name"`},
		{"many.jsonl", good + `{"ts": 1795946400, "name": "x", "type": "gauge", "value": 1, "labels": {` + manyLabels(65) + `}}`, "many.jsonl:2: 65 labels, more than the limit of 64"},
		{"long.jsonl", good + `{"ts": 1795946400, "name": "x", "type": "gauge", "value": 1, "labels": {"k": "` + strings.Repeat("v", 4097) + `"}}`, `long.jsonl:2: label "k" value is 4097 bytes`},
		{"ts.jsonl", good + `{"ts": "yesterday", "name": "x", "type": "gauge", "value": 1}`, `ts.jsonl:2: ts: invalid time "yesterday"`},
		{"nots.jsonl", good + `{"name": "x", "type": "gauge", "value": 1}`, "nots.jsonl:2: missing ts"},
		{"field.jsonl", good + `{"ts": 1, "name": "x", "type": "gauge", "value": 1, "lables": {}}`, `field.jsonl:2: bad JSON: unknown field "lables"`},
		{"clash.jsonl", good + `{"ts": 1795946400, "name": "ok_total", "type": "gauge", "value": 1}`, "clash.jsonl:2: metric ok_total is a counter, not a gauge"},
		{"bad.csv", "ts,name,type,value\n1795946400,a,gauge,1\n1795946400,a,gauge,NaN\n", "bad.csv:3: value is NaN"},
		{"col.csv", "ts,name,kind,value\n", `col.csv:1: unknown column "kind"`},
		{"fields.csv", "ts,name,type,value\n1795946400,a,gauge,1\n1795946400,a,gauge\n", "fields.csv:3: bad CSV: wrong number of fields"},
		{"lab.csv", "ts,name,type,value,labels\n1795946400,a,gauge,1,not-json\n", "lab.csv:2: labels: want a JSON object"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := newStore(t)
			// A good first source proves the whole invocation rolls back.
			_, err := Import(context.Background(), s, []Source{
				{Name: "first.jsonl", R: strings.NewReader(good + good)},
				{Name: c.name, R: strings.NewReader(c.text)},
			})
			var ie *InputError
			if !errors.As(err, &ie) || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err = %v, want InputError containing %q", err, c.want)
			}
			var n int
			s.DBForTest().QueryRow("SELECT (SELECT count(*) FROM samples) + (SELECT count(*) FROM series)").Scan(&n)
			if n != 0 {
				t.Errorf("store has %d rows after a rejected import, want 0", n)
			}
		})
	}
}

func manyLabels(n int) string {
	var parts []string
	for i := 0; i < n; i++ {
		parts = append(parts, fmt.Sprintf(`"l%d": "v"`, i))
	}
	return strings.Join(parts, ",")
}

func TestDetect(t *testing.T) {
	cases := []struct {
		name, head string
		want       Format
	}{
		{"x.jsonl", "", JSONL}, {"x.csv", "", CSV}, {"x.db", "", SQLite},
		{"-", `  {"ts":1}`, JSONL}, {"-", "ts,name", CSV}, {"x.bin", "SQLite format 3\x00...", SQLite},
	}
	for _, c := range cases {
		if got := Detect(c.name, []byte(c.head)); got != c.want {
			t.Errorf("Detect(%q, %q) = %s, want %s", c.name, c.head, got, c.want)
		}
	}
}

// The three formats of testdata/import hold the same four samples, so
// importing each gives the same store content.
func TestSharedFixturesAgree(t *testing.T) {
	want := []string{
		`1795946400.000 http_requests_total counter 1 {"endpoint":"/api/users","method":"GET","status":"200"} api`,
		`1795946401.500 http_requests_total counter 1 {"endpoint":"/api/users","method":"GET","status":"500"} api`,
		`1795946402.000 cpu_usage_percent gauge 42.5 {"host":"worker-01"} `,
		`1795946403.250 response_time_ms histogram 123.4 {"endpoint":"/api/users"} api`,
	}
	ref := filepath.Join(t.TempDir(), "ref.db")
	script, err := os.ReadFile("../../testdata/import/reference.sql")
	if err != nil {
		t.Fatal(err)
	}
	db, _ := sql.Open("sqlite", ref)
	if _, err := db.Exec(string(script)); err != nil {
		t.Fatal(err)
	}
	db.Close()
	for _, src := range []Source{
		{Name: "sample.jsonl", Path: "../../testdata/import/sample.jsonl"},
		{Name: "sample.csv", Path: "../../testdata/import/sample.csv"},
		{Name: "ref.db", Path: ref},
	} {
		s := newStore(t)
		if src.Path != ref {
			f, err := os.Open(src.Path)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			src.R = f
		}
		if n, err := Import(context.Background(), s, []Source{src}); err != nil || n != 4 {
			t.Fatalf("%s: Import = %d, %v", src.Name, n, err)
		}
		if got := dump(t, s); strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Errorf("%s:\n%s\nwant\n%s", src.Name, strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
	}
}

// An insert that fails mid-import (here a trigger; in life a full disk,
// after which SQLite may roll the transaction back by itself) stops the
// import with the error, and nothing the reader resolves afterwards (new
// series) is written on its own: the store is unchanged.
func TestWriterFailureLeavesStoreUnchanged(t *testing.T) {
	s := newStore(t)
	if _, err := Import(context.Background(), s, []Source{{Name: "a.jsonl", R: strings.NewReader(`{"ts":1795946400,"name":"m","type":"gauge","value":1}` + "\n")}}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.DBForTest().Exec(`CREATE TRIGGER boom BEFORE INSERT ON samples WHEN NEW.value = 666 BEGIN SELECT RAISE(ABORT, 'disk on fire'); END`); err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for i := 0; i < 20000; i++ {
		v := i % 100
		if i == 100 {
			v = 666
		}
		// A new series on every line: the reader keeps creating them
		// while the writer has already failed.
		fmt.Fprintf(&b, `{"ts":1795946400,"name":"m","type":"gauge","value":%d,"labels":{"i":"%d"}}`+"\n", v, i)
	}
	_, err := Import(context.Background(), s, []Source{{Name: "b.jsonl", R: strings.NewReader(b.String())}})
	if err == nil || !strings.Contains(err.Error(), "disk on fire") {
		t.Fatalf("Import = %v, want the insert's error", err)
	}
	var samples, series int
	s.DBForTest().QueryRow("SELECT count(*) FROM samples").Scan(&samples)
	s.DBForTest().QueryRow("SELECT count(*) FROM series").Scan(&series)
	if samples != 1 || series != 1 {
		t.Errorf("after a failed import: %d samples, %d series; want 1 and 1", samples, series)
	}
}

// A series insert that fails and takes the transaction with it (SQLite
// rolls back by itself after a full disk) must not leave the batches
// already queued to commit on their own: the store is unchanged.
func TestSeriesFailureLeavesStoreUnchanged(t *testing.T) {
	s := newStore(t)
	if _, err := s.DBForTest().Exec(`CREATE TRIGGER boom BEFORE INSERT ON series WHEN NEW.name = 'boom' BEGIN SELECT RAISE(ROLLBACK, 'database or disk is full'); END`); err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for i := 0; i < 5*4096; i++ {
		fmt.Fprintf(&b, `{"ts":1795946400,"name":"m","type":"gauge","value":%d}`+"\n", i)
	}
	b.WriteString(`{"ts":1795946400,"name":"boom","type":"gauge","value":1}` + "\n")
	_, err := Import(context.Background(), s, []Source{{Name: "a.jsonl", R: strings.NewReader(b.String())}})
	if err == nil || !strings.Contains(err.Error(), "disk is full") {
		t.Fatalf("Import = %v, want the series insert's error", err)
	}
	var samples, series int
	s.DBForTest().QueryRow("SELECT count(*) FROM samples").Scan(&samples)
	s.DBForTest().QueryRow("SELECT count(*) FROM series").Scan(&series)
	if samples != 0 || series != 0 {
		t.Errorf("after a failed import: %d samples, %d series; want none", samples, series)
	}
}
