package yamlconf

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"
)

func root(t *testing.T, text string) *yaml.Node {
	t.Helper()
	n, ps := Parse("f.yaml", []byte(text))
	if len(ps) > 0 || n == nil {
		t.Fatalf("parse %q: %v", text, ps)
	}
	return n
}

func messages(ps Problems) string {
	s := make([]string, len(ps))
	for i, p := range ps {
		s[i] = p.Error()
	}
	return strings.Join(s, "\n")
}

func TestProblemError(t *testing.T) {
	for _, c := range []struct {
		p    Problem
		want string
	}{
		{Problem{File: "f.yaml", Line: 3, Col: 7, Message: "bad"}, "f.yaml:3:7: bad"},
		{Problem{File: "f.yaml", Line: 3, Message: "bad"}, "f.yaml:3: bad"},
		{Problem{File: "f.yaml", Message: "bad"}, "f.yaml: bad"},
	} {
		if got := c.p.Error(); got != c.want {
			t.Errorf("got %q, want %q", got, c.want)
		}
	}
	ps := Problems{{File: "f", Line: 2, Col: 9, Message: "b"}, {File: "f", Line: 2, Col: 1, Message: "a"}, {File: "f", Line: 1, Message: "c"}}
	ps.Sort()
	if got := messages(ps); got != "f:1: c\nf:2:1: a\nf:2:9: b" {
		t.Errorf("sorted:\n%s", got)
	}
	var err error = fmt.Errorf("load: %w", ps)
	if got, ok := AsProblems(err); !ok || len(got) != 3 || !got.UsageError() {
		t.Errorf("AsProblems(%v) = %v, %v", err, got, ok)
	}
	if Problems(nil).Err() != nil {
		t.Error("no problems must be a nil error")
	}
}

// Fields refuses unknown and repeated keys at the key, and Required
// reports a missing one at the mapping; the messages name the place and
// the keys there are.
func TestFields(t *testing.T) {
	n := root(t, "a: 1\nzz: 2\nb: x\na: 3\n")
	d := &Decoder{File: "f.yaml"}
	var a int
	seen := d.Fields(n, "thing", map[string]func(*yaml.Node){
		"a": func(v *yaml.Node) { a, _ = d.Int(v, "a", 0) },
		"b": nil,
		"c": nil,
	})
	if !d.Required(n, seen, "thing", "a", "c") && a == 1 && seen["b"].Value == "x" {
		want := `f.yaml:2:1: unknown field "zz" in thing (want a, b, c)` + "\n" +
			`f.yaml:4:1: field "a" appears twice in thing` + "\n" +
			`f.yaml:1:1: thing: missing required field "c"`
		if got := messages(d.Problems); got != want {
			t.Errorf("got:\n%s\nwant:\n%s", got, want)
		}
	} else {
		t.Errorf("a = %d, seen = %v, problems %v", a, seen, d.Problems)
	}
	d = &Decoder{File: "f.yaml"}
	d.Fields(root(t, "[1]"), "thing", Keys("a"))
	if got := messages(d.Problems); got != "f.yaml:1:1: thing: want a mapping, got a list" {
		t.Errorf("not a mapping: %s", got)
	}
}

// A file may keep its own wording, and name lines only.
func TestWordingAndLines(t *testing.T) {
	d := &Decoder{File: "t.yaml", Lines: true, Wording: Wording{
		Unknown: func(what, key string, want []string) string {
			return fmt.Sprintf("%s: unknown field %q (want %s)", what, key, strings.Join(want, ", "))
		},
		Missing: func(what, key string) string { return what + ": missing " + key },
		NotList: func(what string, _ *yaml.Node) string { return what + ": want a list" },
	}}
	n := root(t, "x: 1\n  \ny: 2\n")
	seen := d.Fields(n, "test", Keys("y", "z"))
	d.Required(n, seen, "test", "z")
	d.List(seen["y"], "y", func(*yaml.Node) {})
	want := "t.yaml:1: test: unknown field \"x\" (want y, z)\nt.yaml:1: test: missing z\nt.yaml:3: y: want a list"
	if err := d.Err(); err == nil || err.Error() != want {
		t.Errorf("got:\n%v\nwant:\n%s", err, want)
	}
}

func TestValues(t *testing.T) {
	env := func(k string) (string, bool) {
		if k == "HOOK" {
			return "https://h", true
		}
		return "", false
	}
	n := root(t, `s: ${HOOK}/x
secret: ${TOKEN}
missing: ${NOPE}
dur: 5m
secs: 90
neg: -5m
zero: 0
flag: yes
num: "3"
labels: {a: 1, "b-c": x}
list: [a, 2]
`)
	d := &Decoder{File: "f.yaml", Env: env}
	v := func(k string) *yaml.Node { return Value(n, k) }
	if s, ok := d.Str(v("s"), "s"); !ok || s != "https://h/x" {
		t.Errorf("Str = %q, %v", s, ok)
	}
	if s, ok := d.Secret(v("secret"), "secret"); !ok || s != "" {
		t.Errorf("Secret = %q, %v", s, ok)
	}
	if _, ok := d.Str(v("missing"), "missing"); ok {
		t.Error("an unset variable is an error")
	}
	if x, ok := d.Duration(v("dur"), "dur", false); !ok || x != 5*time.Minute {
		t.Errorf("Duration(5m) = %v", x)
	}
	if x, ok := d.Duration(v("secs"), "secs", false); !ok || x != 90*time.Second {
		t.Errorf("Duration(90) = %v", x)
	}
	d.Duration(v("neg"), "neg", true)
	d.Duration(v("zero"), "zero", false)
	d.Boolean(v("flag"), "flag")
	d.Number(v("num"), "num")
	d.LabelMap(v("labels"), "labels")
	d.Strings(v("list"), "list")
	want := `f.yaml:3:10: missing: environment variable NOPE is not set
f.yaml:6:6: neg: duration "-5m" is negative
f.yaml:7:7: zero: want a positive duration, got 0
f.yaml:8:7: flag: want true or false, got the string "yes"
f.yaml:9:6: num: want a number, got the string "3"
f.yaml:10:16: labels: invalid label name the string "b-c" (want [a-zA-Z_][a-zA-Z0-9_]*)
f.yaml:11:11: list: want a string, got the number 2`
	if got := messages(d.Problems); got != want {
		t.Errorf("got:\n%s\nwant:\n%s", got, want)
	}
	if got := messages(d.Warnings); got != "f.yaml:2:9: secret: environment variable TOKEN is not set (needed at send time)" {
		t.Errorf("warnings: %s", got)
	}
}

func TestSyntaxProblem(t *testing.T) {
	_, ps := Parse("f.yaml", []byte("a:\n  - [\n"))
	if len(ps) != 1 || ps[0].Error() != "f.yaml:2: did not find expected node content" {
		t.Errorf("got %v", ps)
	}
	if n, ps := Parse("f.yaml", []byte("# nothing\n")); n != nil || ps != nil {
		t.Errorf("empty: %v %v", n, ps)
	}
}

// A relative path in a config file is the file's folder's; an absolute
// or empty one, or one from no file, is kept.
func TestFromFile(t *testing.T) {
	for _, c := range [][3]string{
		{"/etc/vigil/vigil.yaml", "st.db", "/etc/vigil/st.db"},
		{"/etc/vigil/vigil.yaml", "../lib/st.db", "/etc/lib/st.db"},
		{"/etc/vigil/vigil.yaml", "/var/lib/st.db", "/var/lib/st.db"},
		{"/etc/vigil/vigil.yaml", "", ""},
		{"vigil.yaml", "st.db", "st.db"},
		{"etc/vigil.yaml", "hosts/*.db", "etc/hosts/*.db"},
		{"", "st.db", "st.db"},
		// ~/ is the home directory, as a shell reads it (h31 H5); ~user is not.
		{"/etc/vigil/vigil.yaml", "~/st.db", "/home/op/st.db"},
		{"/etc/vigil/vigil.yaml", "~", "/home/op"},
		{"", "~/hosts/*.db", "/home/op/hosts/*.db"},
		{"/etc/vigil/vigil.yaml", "~op/st.db", "/etc/vigil/~op/st.db"},
	} {
		t.Setenv("HOME", "/home/op")
		if got := FromFile(c[0], c[1]); got != c[2] {
			t.Errorf("FromFile(%q, %q) = %q, want %q", c[0], c[1], got, c[2])
		}
	}
}
