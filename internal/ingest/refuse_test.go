package ingest

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vigil-metrics/vigil/internal/store"
)

// importText imports one text source into a fresh store and returns the
// error's text ("" when none) and the store.
func importText(t *testing.T, name, text string) (string, *store.Store) {
	t.Helper()
	s := newStore(t)
	_, err := Import(context.Background(), s, []Source{{Name: name, R: strings.NewReader(text)}})
	if err == nil {
		return "", s
	}
	var ie *InputError
	if !errors.As(err, &ie) {
		t.Errorf("%s: error %v is not an InputError", name, err)
	}
	return err.Error(), s
}

// Every text format refuses invalid UTF-8 (naming the field), times
// outside 2000..2100 (naming the unit when it looks like one), reserved
// label names, and in JSON Lines what encoding/json would quietly accept.
// The expected errors are written out by hand.
func TestImportRefusals(t *testing.T) {
	const good = `{"ts":1795946400,"name":"ok","type":"gauge","value":1}` + "\n"
	const csvHead = "ts,name,type,value,labels,service\n"
	cases := []struct{ name, text, want string }{
		// Invalid UTF-8 (encoding/json would store U+FFFD).
		{"v.jsonl", good + `{"ts":1795946400,"name":"m","type":"gauge","value":1,"labels":{"host":"a` + "\xff" + `"}}`, `v.jsonl:2: label "host" value is not valid UTF-8`},
		{"k.jsonl", good + `{"ts":1795946400,"name":"m","type":"gauge","value":1,"labels":{"h` + "\xff" + `":"a"}}`, `k.jsonl:2: label name "h\xff" is not valid UTF-8`},
		{"n.jsonl", good + `{"ts":1795946400,"name":"m` + "\xff" + `","type":"gauge","value":1}`, `n.jsonl:2: metric name "m\xff" is not valid UTF-8`},
		{"s.jsonl", good + `{"ts":1795946400,"name":"m","type":"gauge","value":1,"service":"` + "\xc3" + `"}`, `s.jsonl:2: service "\xc3" is not valid UTF-8`},
		{"l.jsonl", good + `{"ts":1795946400,"name":"m","type":"gauge","value":1} ` + "\xff", `l.jsonl:2: line is not valid UTF-8 (byte 55)`},
		{"v.csv", csvHead + `1795946400,m,gauge,1,"{""host"":""a` + "\xff" + `""}",`, `v.csv:2: label "host" value is not valid UTF-8`},
		{"s.csv", csvHead + "1795946400,m,gauge,1,,api\xff", `s.csv:2: service "api\xff" is not valid UTF-8`},
		{"n.csv", csvHead + "1795946400,m\xff,gauge,1,,", `n.csv:2: metric name "m\xff" is not valid UTF-8`},
		{"v.om", "m{host=\"a\xff\"} 1 1795946400\n# EOF\n", `v.om:1: malformed line: invalid UTF-8 label value: "\"a\xff\""`},
		// Times: 0, the year 5138, milliseconds given as seconds, 9999.
		{"t0.jsonl", good + `{"ts":0,"name":"m","type":"gauge","value":1}`, "t0.jsonl:2: ts 0 is in the year 1970 (want a time from 2000-01-01 to 2100-01-01)"},
		{"t1.jsonl", good + `{"ts":99999999999,"name":"m","type":"gauge","value":1}`, "t1.jsonl:2: ts 99999999999 is in the year 5138 (want a time from 2000-01-01 to 2100-01-01)"},
		{"t2.jsonl", good + `{"ts":1795946400000,"name":"m","type":"gauge","value":1}`, "t2.jsonl:2: ts 1795946400000 is in the year 58881; looks like milliseconds (want unix seconds)"},
		{"t3.jsonl", good + `{"ts":1795946400000000,"name":"m","type":"gauge","value":1}`, "t3.jsonl:2: ts 1795946400000000 is in the year 56913245; looks like microseconds (want unix seconds)"},
		{"t4.jsonl", good + `{"ts":"9999-01-01T00:00:00Z","name":"m","type":"gauge","value":1}`, "t4.jsonl:2: ts 9999-01-01T00:00:00Z is in the year 9999 (want a time from 2000-01-01 to 2100-01-01)"},
		{"t5.jsonl", good + `{"ts":"1795946400000","name":"m","type":"gauge","value":1}`, "t5.jsonl:2: ts 1795946400000 is in the year 58881; looks like milliseconds (want unix seconds)"},
		{"t0.csv", csvHead + "0,m,gauge,1,,", "t0.csv:2: ts 0 is in the year 1970 (want a time from 2000-01-01 to 2100-01-01)"},
		{"t1.csv", csvHead + "9999-01-01T00:00:00Z,m,gauge,1,,", "t1.csv:2: ts 9999-01-01T00:00:00Z is in the year 9999 (want a time from 2000-01-01 to 2100-01-01)"},
		{"t2.csv", csvHead + "1795946400000,m,gauge,1,,", "t2.csv:2: ts 1795946400000 is in the year 58881; looks like milliseconds (want unix seconds)"},
		{"t0.om", "m 1 0\n# EOF\n", "t0.om:1: ts 0 is in the year 1970 (want a time from 2000-01-01 to 2100-01-01)"},
		{"t1.om", "m 1 1795946400000\n# EOF\n", "t1.om:1: ts 1795946400000 is in the year 58881; looks like milliseconds (want unix seconds)"},
		// The rest of a record is checked before its time.
		{"t6.jsonl", `{"ts":0,"name":"m","type":"gauge","value":"NaN"}`, "t6.jsonl:1: value is NaN"},
		// Reserved label names.
		{"r.jsonl", `{"ts":1795946400,"name":"m","type":"gauge","value":1,"labels":{"__name__":"x"}}`, `r.jsonl:1: label name "__name__" is reserved (Prometheus reserves names starting with __)`},
		{"r.csv", csvHead + `1795946400,m,gauge,1,"{""__x"":""y""}",`, `r.csv:2: label name "__x" is reserved`},
		{"r.om", "m{__x=\"y\"} 1 1795946400\n# EOF\n", `r.om:1: label name "__x" is reserved`},
		// Field names are exact and given once; labels too.
		{"c.jsonl", `{"ts":1795946400,"Name":"m","type":"gauge","value":1}`, `c.jsonl:1: bad JSON: unknown field "Name" (field names are case-sensitive: want "name")`},
		{"d.jsonl", `{"ts":1795946400,"name":"m","type":"gauge","value":1,"value":2}`, `d.jsonl:1: bad JSON: field "value" appears twice`},
		{"dl.jsonl", `{"ts":1795946400,"name":"m","type":"gauge","value":1,"labels":{"a":"1","a":"2"}}`, `dl.jsonl:1: bad JSON: label "a" appears twice`},
		{"dl.csv", csvHead + `1795946400,m,gauge,1,"{""a"":""1"",""a"":""2""}",`, `dl.csv:2: label "a" appears twice`},
		// A syntax error still comes first.
		{"x.jsonl", `{"ts":1795946400,"Name":"m","type":"gauge","value":1`, `x.jsonl:1: bad JSON: unexpected EOF`},
	}
	for _, c := range cases {
		for _, fast := range []bool{true, false} {
			fastPath = fast
			got, s := importText(t, c.name, c.text)
			prefixOK := strings.HasSuffix(c.want, "reserved") && strings.HasPrefix(got, c.want)
			if got != c.want && !prefixOK {
				t.Errorf("fast=%v %s:\n got  %q\n want %q", fast, c.name, got, c.want)
			}
			if n := len(dump(t, s)); n != 0 {
				t.Errorf("%s: %d rows stored after a refusal", c.name, n)
			}
		}
	}
	fastPath = true
}

// Refusals in the reference SQLite schema, and what it now accepts: text
// times (RFC 3339, SQLite's own "YYYY-MM-DD HH:MM:SS" in UTC, numeric
// text) and numeric label values (as written), which the reference
// design's collector may store.
func TestReferenceSQLiteColumnTypes(t *testing.T) {
	mk := func(t *testing.T, rows string) string {
		p := filepath.Join(t.TempDir(), "ref.db")
		db, err := sql.Open("sqlite", p)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		if _, err := db.Exec("CREATE TABLE metrics (timestamp REAL, name TEXT, type TEXT, value REAL, labels TEXT, service_name TEXT);" + rows); err != nil {
			t.Fatal(err)
		}
		return p
	}
	p := mk(t, `INSERT INTO metrics VALUES ('2026-11-29T10:00:00Z', 'a', 'gauge', 1, '{"status": 200, "ratio": 0.5}', NULL);
INSERT INTO metrics VALUES ('2026-11-29 10:00:01', 'a', 'gauge', '2', '{"status": "200", "ratio": "0.5"}', 'api');
INSERT INTO metrics VALUES ('2026-11-29 10:00:02.250', 'a', 'gauge', 3, NULL, '');
INSERT INTO metrics VALUES ('1795946403', 'a', 'gauge', 4, '', NULL);
INSERT INTO metrics VALUES (1795946404, 'a', 'gauge', 5, '{}', NULL);`)
	s := newStore(t)
	if n, err := Import(context.Background(), s, []Source{{Name: "ref.db", Path: p}}); err != nil || n != 5 {
		t.Fatalf("Import = %d, %v", n, err)
	}
	want := []string{
		`1795946400.000 a gauge 1 {"ratio":"0.5","status":"200"} `,
		`1795946401.000 a gauge 2 {"ratio":"0.5","status":"200"} api`,
		`1795946402.250 a gauge 3 {} `,
		`1795946403.000 a gauge 4 {} `,
		`1795946404.000 a gauge 5 {} `,
	}
	if got := dump(t, s); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	const ok = `INSERT INTO metrics VALUES (1795946400, 'a', 'gauge', 1, NULL, NULL);`
	for _, c := range []struct{ row, want string }{
		{`INSERT INTO metrics VALUES ('yesterday', 'a', 'gauge', 1, NULL, NULL)`, `ref.db:2: timestamp "yesterday" is not a time (want unix seconds, RFC 3339 or YYYY-MM-DD HH:MM:SS in UTC)`},
		{`INSERT INTO metrics VALUES (X'00', 'a', 'gauge', 1, NULL, NULL)`, `ref.db:2: timestamp is a blob`},
		{`INSERT INTO metrics VALUES (NULL, 'a', 'gauge', 1, NULL, NULL)`, `ref.db:2: timestamp is NULL`},
		{`INSERT INTO metrics VALUES (1795946400000, 'a', 'gauge', 1, NULL, NULL)`, `ref.db:2: ts 1795946400000 is in the year 58881; looks like milliseconds (want unix seconds)`},
		{`INSERT INTO metrics VALUES ('1970-01-01 00:00:00', 'a', 'gauge', 1, NULL, NULL)`, `ref.db:2: ts 1970-01-01 00:00:00 is in the year 1970 (want a time from 2000-01-01 to 2100-01-01)`},
		{`INSERT INTO metrics VALUES (1795946400, 'a', 'gauge', 'many', NULL, NULL)`, `ref.db:2: value "many" is not a number`},
		{`INSERT INTO metrics VALUES (1795946400, 'a', 'gauge', 1, '{"up": true}', NULL)`, `ref.db:2: labels: label "up" value is a bool, want a string or a number`},
		{`INSERT INTO metrics VALUES (1795946400, 'a', 'gauge', 1, '{"a": "1", "a": "2"}', NULL)`, `ref.db:2: label "a" appears twice`},
		{`INSERT INTO metrics VALUES (1795946400, 'a', 'gauge', 1, CAST(X'7B2261223A2278FF227D' AS TEXT), NULL)`, `ref.db:2: label "a" value is not valid UTF-8`},
		{`INSERT INTO metrics VALUES (1795946400, CAST(X'61FF' AS TEXT), 'gauge', 1, NULL, NULL)`, `ref.db:2: metric name "a\xff" is not valid UTF-8`},
		{`INSERT INTO metrics VALUES (1795946400, 'a', 'gauge', 1, NULL, CAST(X'61FF' AS TEXT))`, `ref.db:2: service "a\xff" is not valid UTF-8`},
		{`INSERT INTO metrics VALUES (1795946400, 'a', 'gauge', 1, 7, NULL)`, `ref.db:2: labels: want a JSON object of strings, got a number`},
	} {
		p := mk(t, ok+c.row)
		s := newStore(t)
		_, err := Import(context.Background(), s, []Source{{Name: "ref.db", Path: p}})
		if err == nil || err.Error() != c.want {
			t.Errorf("%s:\n got  %v\n want %s", c.row, err, c.want)
		}
	}
}

// A line over the 16 MiB limit is refused with its line number and the
// limit, in every text format.
func TestImportLongLine(t *testing.T) {
	long := strings.Repeat("x", 16<<20)
	for _, c := range []struct{ name, text, want string }{
		{"a.jsonl", `{"ts":1795946400,"name":"m","type":"gauge","value":1}` + "\n\n" + `{"name":"` + long + `"}` + "\n", "a.jsonl:3: line longer than the limit of 16 MiB"},
		{"a.csv", "ts,name,type,value\n1795946400,m,gauge,1\n1795946400," + long + ",gauge,1\n", "a.csv:3: line longer than the limit of 16 MiB"},
		{"a.om", "m 1 1795946400\nm{a=\"" + long + "\"} 1 1795946401\n# EOF\n", "a.om:2: line longer than 16 MiB"},
	} {
		got, _ := importText(t, c.name, c.text)
		if got != c.want {
			t.Errorf("%s: error %q, want %q", c.name, got, c.want)
		}
	}
}

func gz(t *testing.T, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := gzip.NewWriter(&buf)
	w.Write(b)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// Gzip is detected by its magic bytes, whatever the name; the format then
// comes from the name without .gz, or from the content. SQLite goes
// through a temporary copy.
func TestImportGzip(t *testing.T) {
	jsonl := []byte(`{"ts":1795946400,"name":"m","type":"gauge","value":1}` + "\n")
	csvText := []byte("ts,name,type,value\n1795946401,m,gauge,2\n")
	om := []byte("m 3 1795946402\n# EOF\n")
	ref := filepath.Join(t.TempDir(), "ref.db")
	db, _ := sql.Open("sqlite", ref)
	if _, err := db.Exec(`CREATE TABLE metrics (timestamp REAL, name TEXT, type TEXT, value REAL, labels TEXT, service_name TEXT);
INSERT INTO metrics VALUES (1795946403, 'm', 'gauge', 4, NULL, NULL);`); err != nil {
		t.Fatal(err)
	}
	db.Close()
	refBytes, err := os.ReadFile(ref)
	if err != nil {
		t.Fatal(err)
	}
	s := newStore(t)
	n, err := Import(context.Background(), s, []Source{
		{Name: "a.jsonl.gz", R: bytes.NewReader(gz(t, jsonl))},
		{Name: "b.csv.GZ", R: bytes.NewReader(gz(t, csvText))},
		{Name: "c.om", R: bytes.NewReader(gz(t, om))}, // no .gz: found by content
		{Name: "d.db.gz", R: bytes.NewReader(gz(t, refBytes))},
		{Name: "-", R: bytes.NewReader(gz(t, []byte(strings.ReplaceAll(string(jsonl), "1795946400", "1795946404"))))},
	})
	if err != nil || n != 5 {
		t.Fatalf("Import = %d, %v", n, err)
	}
	want := []string{
		"1795946400.000 m gauge 1 {} ", "1795946401.000 m gauge 2 {} ", "1795946402.000 m gauge 3 {} ",
		"1795946403.000 m gauge 4 {} ", "1795946404.000 m gauge 1 {} ",
	}
	if got := dump(t, s); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	// SQLite from standard input goes through a temporary copy too.
	s2 := newStore(t)
	if n, err := Import(context.Background(), s2, []Source{{Name: "<stdin>", R: bytes.NewReader(refBytes), Format: SQLite}}); err != nil || n != 1 {
		t.Errorf("SQLite from stdin = %d, %v", n, err)
	}
	// A corrupt stream is an input error naming the file.
	bad := gz(t, jsonl)
	bad[len(bad)-5] ^= 0xff // the CRC
	got, _ := importText(t, "e.jsonl.gz", string(bad))
	if !strings.HasPrefix(got, "e.jsonl.gz:") || !strings.Contains(got, "gzip: invalid checksum") {
		t.Errorf("corrupt gzip: %q", got)
	}
}

// The store remembers each imported content by SHA-256 of the bytes read
// (of a compressed file, the compressed bytes) and refuses it again, or
// twice in one import, unless forced.
func TestImportRefusesSameContent(t *testing.T) {
	ctx := context.Background()
	text := `{"ts":1795946400,"name":"m","type":"gauge","value":1}` + "\n" + `{"ts":1795946401,"name":"m","type":"gauge","value":2}` + "\n"
	s := newStore(t)
	at := func() time.Time { return time.Date(2026, 11, 29, 10, 0, 0, 0, time.UTC) }
	if n, err := ImportWith(ctx, s, []Source{{Name: "a.jsonl", R: strings.NewReader(text)}}, Options{Now: at}); err != nil || n != 2 {
		t.Fatalf("first import = %d, %v", n, err)
	}
	sum := sha256.Sum256([]byte(text))
	var v string
	if err := s.DBForTest().QueryRow("SELECT value FROM meta WHERE key = ?", "import_sha256:"+hex.EncodeToString(sum[:])).Scan(&v); err != nil ||
		v != `{"file":"a.jsonl","imported_at":"2026-11-29T10:00:00Z","samples":2}` {
		t.Errorf("meta record = %q, %v", v, err)
	}
	count := func() int {
		var n int
		s.DBForTest().QueryRow("SELECT count(*) FROM samples").Scan(&n)
		return n
	}
	// The same bytes under another name, after a good file: refused, and
	// the good file does not land either.
	_, err := Import(ctx, s, []Source{
		{Name: "other.jsonl", R: strings.NewReader(`{"ts":1795946500,"name":"m","type":"gauge","value":3}`)},
		{Name: "copy.jsonl", R: strings.NewReader(text)},
	})
	var ie *InputError
	if !errors.As(err, &ie) || err.Error() != "copy.jsonl: already imported into this store (as a.jsonl at 2026-11-29T10:00:00Z, 2 samples; --force imports it again)" {
		t.Errorf("second import: %v", err)
	}
	if count() != 2 {
		t.Errorf("%d samples after a refused import, want 2", count())
	}
	// Twice in one import.
	s2 := newStore(t)
	_, err = Import(ctx, s2, []Source{{Name: "x.jsonl", R: strings.NewReader(text)}, {Name: "<stdin>", R: strings.NewReader(text)}})
	if !errors.As(err, &ie) || err.Error() != "<stdin>: same content as x.jsonl, given earlier in this import (--force imports it twice)" {
		t.Errorf("same content twice: %v", err)
	}
	// Forced: imported again.
	if n, err := ImportWith(ctx, s, []Source{{Name: "copy.jsonl", R: strings.NewReader(text)}}, Options{Force: true}); err != nil || n != 2 {
		t.Errorf("forced import = %d, %v", n, err)
	}
	if count() != 4 {
		t.Errorf("%d samples after a forced import, want 4", count())
	}
	// A compressed file's digest is of the compressed bytes.
	z := gz(t, []byte(strings.ReplaceAll(text, "17959464", "17959465")))
	if _, err := Import(ctx, s, []Source{{Name: "z.jsonl.gz", R: bytes.NewReader(z)}}); err != nil {
		t.Fatal(err)
	}
	zs := sha256.Sum256(z)
	var n int
	s.DBForTest().QueryRow("SELECT count(*) FROM meta WHERE key = ?", "import_sha256:"+hex.EncodeToString(zs[:])).Scan(&n)
	if n != 1 {
		t.Errorf("no record of the compressed bytes' digest")
	}
	// A SQLite file's digest covers the whole file, read once by the import.
	ref := filepath.Join(t.TempDir(), "ref.db")
	db, _ := sql.Open("sqlite", ref)
	db.Exec(`CREATE TABLE metrics (timestamp REAL, name TEXT, type TEXT, value REAL, labels TEXT, service_name TEXT);
INSERT INTO metrics VALUES (1795946403, 'm', 'gauge', 4, NULL, NULL);`)
	db.Close()
	for i, want := range []string{"", "ref.db: already imported into this store"} {
		_, err := Import(ctx, s, []Source{{Name: "ref.db", Path: ref}})
		if (err == nil) != (want == "") || err != nil && !strings.HasPrefix(err.Error(), want) {
			t.Errorf("SQLite import %d: %v, want %q", i+1, err, want)
		}
	}
}

// A backfill below the retention horizon moves the horizon back to its
// oldest sample, in the import's transaction.
func TestImportBelowHorizon(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	if _, err := Import(ctx, s, []Source{{Name: "new.jsonl", R: strings.NewReader(`{"ts":1795946400,"name":"m","type":"gauge","value":1}`)}}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Prune(ctx, 1795946000000, 100); err != nil {
		t.Fatal(err)
	}
	old := `{"ts":1795900000,"name":"m","type":"gauge","value":1}` + "\n" + `{"ts":1795800000.5,"name":"m","type":"gauge","value":1}` + "\n"
	if n, err := Import(ctx, s, []Source{{Name: "old.jsonl", R: strings.NewReader(old)}}); err != nil || n != 2 {
		t.Fatalf("backfill = %d, %v", n, err)
	}
	m, err := s.Meta(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if m.HorizonMS != 1795800000500 {
		t.Errorf("horizon = %d after the backfill, want 1795800000500", m.HorizonMS)
	}
	// A refused backfill leaves it alone.
	bad := `{"ts":1700000000,"name":"m","type":"gauge","value":1}` + "\n" + `{"ts":1700000001,"name":"m","type":"gauge","value":"NaN"}`
	if _, err := Import(ctx, s, []Source{{Name: "bad.jsonl", R: strings.NewReader(bad)}}); err == nil {
		t.Fatal("NaN accepted")
	}
	if m, _ := s.Meta(ctx); m.HorizonMS != 1795800000500 {
		t.Errorf("horizon = %d after a refused import", m.HorizonMS)
	}
}
