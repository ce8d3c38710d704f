package yamledit

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A config as people write them: comments everywhere, blank lines, block
// and flow rules, quoted numbers that are strings (and must stay so), a
// tagged quoted threshold, a non-ASCII description before a value on the
// same line (columns count characters, not bytes), CRLF-free text.
const src = `# vigil alerting config
settings:
  evaluation_interval: 1m   # every minute

alert_rules:
  # CPU: tuned from history
  - name: cpu_high
    metric_path: cpu.avg by (host)
    condition: greater_than
    threshold: 90          # percent; tuned nightly
    severity: high
    evaluation_window: 5m
    labels:
      dynamic_threshold: "true"
      team: "90"

  - {name: latency, description: "p99 — ms", metric_path: http.p99, condition: greater_than, threshold: 250.5, severity: medium, evaluation_window: 5m, labels: {dynamic_threshold: "true"}}

  - name: queue   # flow labels, quoted tagged threshold
    metric_path: queue.max
    condition: less_than
    threshold: !!float "12"
    severity: low
    evaluation_window: 10m
    labels: {dynamic_threshold: "true", note: '12'}
  - name: static
    metric_path: disk.max
    condition: greater_than
    threshold: 90
    severity: low
    evaluation_window: 10m
`

func TestSetThresholdsOne(t *testing.T) {
	got, err := SetThresholds([]byte(src), map[string]float64{"cpu_high": 108.25})
	if err != nil {
		t.Fatal(err)
	}
	// Written by hand: the one number changes, nothing else.
	want := `# vigil alerting config
settings:
  evaluation_interval: 1m   # every minute

alert_rules:
  # CPU: tuned from history
  - name: cpu_high
    metric_path: cpu.avg by (host)
    condition: greater_than
    threshold: 108.25          # percent; tuned nightly
    severity: high
    evaluation_window: 5m
    labels:
      dynamic_threshold: "true"
      team: "90"

  - {name: latency, description: "p99 — ms", metric_path: http.p99, condition: greater_than, threshold: 250.5, severity: medium, evaluation_window: 5m, labels: {dynamic_threshold: "true"}}

  - name: queue   # flow labels, quoted tagged threshold
    metric_path: queue.max
    condition: less_than
    threshold: !!float "12"
    severity: low
    evaluation_window: 10m
    labels: {dynamic_threshold: "true", note: '12'}
  - name: static
    metric_path: disk.max
    condition: greater_than
    threshold: 90
    severity: low
    evaluation_window: 10m
`
	if string(got) != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}

func TestSetThresholdsFlowAndQuoted(t *testing.T) {
	got, err := SetThresholds([]byte(src), map[string]float64{"latency": 300, "queue": 9.5})
	if err != nil {
		t.Fatal(err)
	}
	want := strings.Replace(src, "threshold: 250.5, severity", "threshold: 300, severity", 1)
	want = strings.Replace(want, `threshold: !!float "12"`, `threshold: !!float "9.5"`, 1)
	if want == src {
		t.Fatal("test is broken")
	}
	if string(got) != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
	// The static rule's 90 and the label "90" are untouched, and the
	// byte-level difference is exactly the two numbers.
	if d := len(got) - len(src); d != (3-5)+(3-2) {
		t.Errorf("length changed by %d", d)
	}
}

// An empty threshold ("threshold:" with nothing after it, at the end of
// the file or of its line) gets the number after a space: written right
// after the colon, "threshold:562.5" was one plain scalar, not a mapping
// (found by FuzzSetThresholds in CI).
func TestSetThresholdsEmptyValue(t *testing.T) {
	for in, want := range map[string]string{
		"alert_rules:\n  - name: cpu_high\n    threshold:":             "alert_rules:\n  - name: cpu_high\n    threshold: 562.5",
		"alert_rules:\n  - name: cpu_high\n    threshold:\n    x: 1\n": "alert_rules:\n  - name: cpu_high\n    threshold: 562.5\n    x: 1\n",
	} {
		got, err := SetThresholds([]byte(in), map[string]float64{"cpu_high": 562.5})
		if err != nil || string(got) != want {
			t.Errorf("SetThresholds(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
}

func TestSetThresholdsRefuses(t *testing.T) {
	for name, c := range map[string]struct {
		src  string
		rule string
		want string
	}{
		"unknown rule": {src, "nope", `rule "nope" not found`},
		"alias":        {"base: &t 5\nalert_rules:\n  - {name: a, threshold: *t}\n", "a", "alias"},
		"anchor":       {"alert_rules:\n  - {name: a, threshold: &t 5}\n  - {name: b, threshold: *t}\n", "a", "anchor"},
		"merge":        {"x: &base {threshold: 5}\nalert_rules:\n  - {<<: *base, name: a}\n", "a", "merge key"},
		"no rules":     {"settings: {}\n", "a", "no alert_rules"},
		"duplicate":    {"alert_rules:\n  - {name: a, threshold: 1}\n  - {name: a, threshold: 2}\n", "a", "twice"},
	} {
		_, err := SetThresholds([]byte(c.src), map[string]float64{c.rule: 1})
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want it to say %q", name, err, c.want)
		}
	}
}

func TestFormatNumber(t *testing.T) {
	for v, want := range map[float64]string{120: "120", 0.25: "0.25", -3.5: "-3.5", 0: "0", 1e20: "1e+20", 123456.789: "123456.789", 1e-7: "1e-07"} {
		if got := FormatNumber(v); got != want {
			t.Errorf("FormatNumber(%v) = %q, want %q", v, got, want)
		}
	}
}

func TestWriteFileAtomic(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "vigil.yaml")
	if err := os.WriteFile(p, []byte("old\n"), 0o640); err != nil {
		t.Fatal(err)
	}
	st0, _ := os.Stat(p)
	if err := WriteFile(p, []byte("new\n")); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(p)
	st, _ := os.Stat(p)
	if string(b) != "new\n" || st.Mode().Perm() != 0o640 {
		t.Errorf("content %q mode %v, want new and 0640", b, st.Mode().Perm())
	}
	// Replaced by rename: a new inode, not a rewrite of the old one (a
	// reader holding the old file still reads the old content).
	if os.SameFile(st0, st) {
		t.Error("the file was rewritten in place, not renamed over")
	}
	// No temporary file left behind.
	ents, _ := os.ReadDir(dir)
	if len(ents) != 1 {
		t.Errorf("folder holds %v", ents)
	}

	// A symlink is followed: the target is replaced, the link stays.
	link := filepath.Join(dir, "link.yaml")
	if err := os.Symlink("vigil.yaml", link); err != nil {
		t.Fatal(err)
	}
	if err := WriteFile(link, []byte("via link\n")); err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Lstat(link); fi.Mode()&os.ModeSymlink == 0 {
		t.Error("the link was replaced by a file")
	}
	if b, _ := os.ReadFile(p); string(b) != "via link\n" {
		t.Errorf("target holds %q", b)
	}

	// A failure at the rename (the path is a folder) leaves the original
	// as it was and no temporary file behind; this one fails for root too.
	sub := filepath.Join(dir, "sub")
	if err := os.MkdirAll(filepath.Join(sub, "inner"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := WriteFile(sub, []byte("lost\n")); err == nil {
		t.Error("renaming over a folder succeeded")
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 3 { // vigil.yaml, link.yaml, sub
		t.Errorf("folder holds %v after a failed write", ents)
	}
	if ents, _ := os.ReadDir(sub); len(ents) != 1 {
		t.Errorf("the original folder holds %v", ents)
	}

	// A folder that is not writable: nothing can be written.
	if os.Getuid() != 0 {
		ro := filepath.Join(dir, "ro")
		q := filepath.Join(ro, "c.yaml")
		if err := os.Mkdir(ro, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(q, []byte("keep\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(ro, 0o555); err != nil {
			t.Fatal(err)
		}
		defer os.Chmod(ro, 0o755) //nolint:errcheck // the test's temporary folder
		if err := WriteFile(q, []byte("lost\n")); err == nil {
			t.Error("write into a read-only folder succeeded")
		}
		if b, _ := os.ReadFile(q); string(b) != "keep\n" {
			t.Errorf("original now %q", b)
		}
	}
}
