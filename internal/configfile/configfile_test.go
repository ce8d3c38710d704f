package configfile

import (
	"maps"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/vigil-metrics/vigil/internal/yamlconf"
)

const allKeys = "alert_rules, cache_dir, channels, correlation_rules, db, escalation, inhibit_rules, lint, log_format, log_level, recording_rules, report, retention, serve, settings, silences, slos, sources, state"

func problems(t *testing.T, err error) string {
	t.Helper()
	ps, ok := yamlconf.AsProblems(err)
	if !ok {
		t.Fatalf("err = %v, want problems", err)
	}
	return ps.Error()
}

// Every top-level key is someone's; another is an error at its place,
// every one listed, and the sections that are known are still handed out.
func TestUnknownTopLevelKey(t *testing.T) {
	f, err := Parse("v.yaml", []byte("db: x.db\ncolour: blue\nslos: []\n  # a comment\nalerts: []\n"))
	want := `v.yaml:2:1: unknown field "colour" in the config file (want ` + allKeys + ")\n" +
		`v.yaml:5:1: unknown field "alerts" in the config file (want ` + allKeys + ")"
	if got := problems(t, err); got != want {
		t.Errorf("got:\n%s\nwant:\n%s", got, want)
	}
	if f.Section("slos") == nil || f.Section("colour") != nil || !reflect.DeepEqual(f.Core.DB, []string{"x.db"}) {
		t.Errorf("sections: slos %v, colour %v, db %v", f.Section("slos"), f.Section("colour"), f.Core.DB)
	}
}

func TestCore(t *testing.T) {
	f, err := Parse("v.yaml", []byte("db: [a.db, 'hosts/*.db']\ncache_dir: /tmp/c\nlog_level: debug\nretention: 30d\nstate:\n"))
	if err != nil {
		t.Fatal(err)
	}
	c := f.Core
	if !reflect.DeepEqual(c.DB, []string{"a.db", "hosts/*.db"}) || c.CacheDir != "/tmp/c" || c.LogLevel != "debug" ||
		c.Retention != "30d" || c.State != "" || c.LogFormat != "" {
		t.Errorf("core = %+v", c)
	}
	// Only what the file gives: a null state is not given.
	want := map[string]any{"db": []string{"a.db", "hosts/*.db"}, "cache_dir": "/tmp/c", "log_level": "debug", "retention": "30d"}
	if got := c.Given(); !reflect.DeepEqual(got, want) {
		t.Errorf("Given = %v, want %v", got, want)
	}
	if !f.Has("state", "nothing") || f.Has("slos") {
		t.Error("Has")
	}

	_, err = Parse("v.yaml", []byte("db: {a: 1}\nlog_level: [debug]\nretention:\n  days: 3\n"))
	want2 := "v.yaml:1:5: db: want a store path or a list of them, got a mapping\n" +
		"v.yaml:2:12: log_level: want a string, got a list\n" +
		"v.yaml:4:3: retention: want a duration like 30d"
	if got := problems(t, err); got != want2 {
		t.Errorf("got:\n%s\nwant:\n%s", got, want2)
	}
}

func TestEmptyAndBroken(t *testing.T) {
	for _, text := range []string{"", "# nothing\n", "~\n"} {
		f, err := Parse("v.yaml", []byte(text))
		if err != nil || f.Section("db") != nil || len(f.Core.Set) != 0 {
			t.Errorf("%q: %v %+v", text, err, f)
		}
	}
	_, err := Parse("v.yaml", []byte("db: [x\n"))
	if got := problems(t, err); !strings.HasPrefix(got, "v.yaml:1: ") {
		t.Errorf("syntax error: %s", got)
	}
	_, err = Parse("v.yaml", []byte("- db\n"))
	if got := problems(t, err); got != "v.yaml:1:1: the config file: want a mapping, got a list" {
		t.Errorf("not a mapping: %s", got)
	}
	var nothing *File
	if nothing.Section("db") != nil {
		t.Error("a nil File has no sections")
	}
}

// The documents after the first are OpenSLO objectives (or a slos:
// list) for the SLO reader; a broken one is an error for every reader
// (it used to stop only the SLO reader, so a typo after "---" or "..."
// went unseen by the agent: issue 24).
func TestMore(t *testing.T) {
	f, err := Parse("v.yaml", []byte("db: x.db\n---\napiVersion: openslo/v1\nkind: SLO\n---\nslos: []\n---\n"))
	if err != nil {
		t.Fatal(err)
	}
	docs, err := f.More()
	if err != nil || len(docs) != 3 || yamlconf.Value(docs[0].Content[0], "kind").Value != "SLO" {
		t.Errorf("docs = %v, %v", docs, err)
	}
	_, err = Parse("v.yaml", []byte("db: x.db\n---\nkind: SLO\n---\nkind: [\n"))
	if got := problems(t, err); got != "v.yaml:5: did not find expected node content" {
		t.Errorf("got %s", got)
	}
}

// A second document that is not an OpenSLO one is refused, not ignored:
// with the agent's config, "retension: 1s" after "---" would leave the
// default retention in force unseen (issue 24's hostile review).
func TestSecondDocument(t *testing.T) {
	for _, c := range []struct{ text, want string }{
		{"retention: 365d\n---\nretension: 1s\n", `v.yaml:2: a second YAML document ("---"); vigil reads one document per file`},
		{"retention: 365d\n---\nretention: 1s\n", `v.yaml:2: a second YAML document ("---"); vigil reads one document per file`},
		{"db: x.db\n---\napiVersion: openslo/v1\nkind: SLO\n---\nretension: 1s\n", `v.yaml:5: a second YAML document ("---"); vigil reads one document per file`},
		{"db: x.db\n---\nslos: []\nretension: 1s\n", `v.yaml:2: a second YAML document ("---"); vigil reads one document per file`},
		{"retention: 365d\n...\nretension: 1s\n", `v.yaml:2: did not find expected <document start>`},
		// A list is OpenSLO's list form only when every item is an
		// OpenSLO object (issue 25).
		{"db: x.db\n---\n- apiVersion: openslo/v1\n  kind: SLO\n- retension: 1s\n", `v.yaml:2: a second YAML document ("---"); vigil reads one document per file`},
		{"db: x.db\n---\n- retension: 1s\n", `v.yaml:2: a second YAML document ("---"); vigil reads one document per file`},
	} {
		_, err := Parse("v.yaml", []byte(c.text))
		if got := problems(t, err); !strings.HasPrefix(got, c.want) {
			t.Errorf("%q: got %q, want %q", c.text, got, c.want)
		}
	}
	for _, ok := range []string{"---\ndb: x.db\n", "db: x.db\n---\n", "db: x.db\n---\n# nothing\n", "db: x.db\n...\n",
		// OpenSLO's list form after vigil's document (issue 25).
		"db: x.db\n---\n- apiVersion: openslo/v1\n  kind: SLI\n- apiVersion: openslo/v1\n  kind: SLO\n"} {
		if _, err := Parse("v.yaml", []byte(ok)); err != nil {
			t.Errorf("%q: %v", ok, err)
		}
	}
}

// Sections names every key the unknown-key message lists, and an owner
// for each.
func TestSectionsOwned(t *testing.T) {
	if got := strings.Join(slices.Sorted(maps.Keys(Sections)), ", "); got != allKeys {
		t.Errorf("sections %s", got)
	}
	for k, owner := range Sections {
		if owner == "" {
			t.Errorf("section %q has no owner", k)
		}
	}
}

// A key given twice anywhere in the file is refused at the second one,
// whatever section it is in (counted by hand: cooldown_period twice in the
// rule at lines 4 and 5, col 5; team twice in a flow map, the second at
// col 23 of line 3; latency_target twice in an objective at
// lines 9 and 10, col 5; a list of maps and a nested map are walked). The
// top level's own duplicate is Fields', once.
func TestDuplicateKeysAnywhere(t *testing.T) {
	_, err := Parse("v.yaml", []byte(`alert_rules:
  - name: a
    labels: {team: x, team: y}
    cooldown_period: 60
    cooldown_period: 1800
slos:
  - service: api
    sli: latency
    latency_target: 99
    latency_target: 98
db: a.db
db: b.db
`))
	want := `v.yaml:3:23: field "team" appears twice (first at line 3)` + "\n" +
		`v.yaml:5:5: field "cooldown_period" appears twice (first at line 4)` + "\n" +
		`v.yaml:10:5: field "latency_target" appears twice (first at line 9)` + "\n" +
		`v.yaml:12:1: field "db" appears twice in the config file`
	if got := problems(t, err); got != want {
		t.Errorf("got:\n%s\nwant:\n%s", got, want)
	}
	// An alias is the same map again, not a key given twice.
	if _, err := Parse("v.yaml", []byte("alert_rules: [{name: r, labels: &l {k: 1}}, {name: s, labels: *l}]\n")); err != nil {
		t.Errorf("aliases: %v", err)
	}
}

// db, state and cache_dir are read relative to the config file's folder
// (h30 D1): absolute paths, globs' folders and Prometheus-compatible URLs
// as written; a comma-separated db names several stores, each resolved.
func TestCoreRelativeToFile(t *testing.T) {
	src := "db: [a.db, /abs/b.db, 'hosts/*.db', 'http://prom:9090', 'c.db, ../d.db']\nstate: st.db\ncache_dir: cache\n"
	f, err := Parse("/etc/vigil/vigil.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"/etc/vigil/a.db", "/abs/b.db", "/etc/vigil/hosts/*.db", "http://prom:9090", "/etc/vigil/c.db,/etc/d.db"}
	if !slices.Equal(f.Core.DB, want) || f.Core.State != "/etc/vigil/st.db" || f.Core.CacheDir != "/etc/vigil/cache" {
		t.Errorf("db %q, state %q, cache_dir %q", f.Core.DB, f.Core.State, f.Core.CacheDir)
	}
	// A file in the working directory: the paths as written.
	if f, err = Parse("vigil.yaml", []byte("db: a.db\nstate: st.db\n")); err != nil || !slices.Equal(f.Core.DB, []string{"a.db"}) || f.Core.State != "st.db" {
		t.Errorf("vigil.yaml: %v %q %q", err, f.Core.DB, f.Core.State)
	}
}
