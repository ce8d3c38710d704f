package main

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// echoServer is a receiver that refuses every request (400) and answers
// with the request written back: its URL with the query, every header but
// the few that say nothing, and the body, in the encoding mode names, as
// careless servers and proxies do.
type echoServer struct {
	*httptest.Server
	mu   sync.Mutex
	mode string
}

// echoModes are the encodings the echo comes back in: as is, in a
// Prometheus-style JSON error (JSON-escaped), URL-escaped, and in HTML.
var echoModes = []string{"raw", "json", "query", "html"}

func newEchoServer(t *testing.T) *echoServer {
	e := &echoServer{mode: "raw"}
	e.Server = httptest.NewServer(http.HandlerFunc(e.serve))
	t.Cleanup(e.Close)
	return e
}

func (e *echoServer) setMode(m string) {
	e.mu.Lock()
	e.mode = m
	e.mu.Unlock()
}

func (e *echoServer) serve(w http.ResponseWriter, r *http.Request) {
	e.mu.Lock()
	mode := e.mode
	e.mu.Unlock()
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s", r.Method, r.URL.RequestURI())
	var keys []string
	for k := range r.Header {
		switch k {
		case "Content-Length", "Content-Type", "Accept-Encoding", "User-Agent", "Idempotency-Key", "Content-Encoding":
		default:
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	for _, k := range keys {
		fmt.Fprintf(&b, " %s: %s;", k, strings.Join(r.Header[k], ","))
	}
	body, _ := io.ReadAll(r.Body)
	if ct := r.Header.Get("Content-Type"); !strings.Contains(ct, "protobuf") {
		fmt.Fprintf(&b, " body: %s", body)
	}
	echo := b.String()
	w.Header().Set("Content-Type", "text/plain")
	switch mode {
	case "json":
		j, _ := json.Marshal(echo)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadRequest)
		fmt.Fprintf(w, `{"status":"error","errorType":"bad_data","error":%s}`, j)
	case "query":
		w.WriteHeader(http.StatusBadRequest)
		io.WriteString(w, url.QueryEscape(echo))
	case "html":
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(http.StatusBadRequest)
		io.WriteString(w, "<pre>"+html.EscapeString(echo)+"</pre>")
	default:
		w.WriteHeader(http.StatusBadRequest)
		io.WriteString(w, echo)
	}
}

// leakForms are the ways a secret may show: as is, URL-escaped, inside a
// JSON string (also with / as \/), HTML-escaped, Go-quoted.
func leakForms(v string) []string {
	j, _ := json.Marshal(v)
	js := string(j[1 : len(j)-1])
	q := strconv.Quote(v)
	forms := []string{v, url.QueryEscape(v), url.PathEscape(v), js, strings.ReplaceAll(js, "/", `\/`), html.EscapeString(v), q[1 : len(q)-1]}
	out := forms[:0]
	for _, f := range forms {
		if !slices.Contains(out, f) {
			out = append(out, f)
		}
	}
	return out
}

// secretCase is one channel or source with the secrets its config gives
// and the command that makes vigil talk to it.
type secretCase struct {
	name    string
	secrets []string
	run     []string // the command (vigil's arguments), run once per echo mode
}

// TestNoSecretLeaks runs every channel and every source against a
// receiver that echoes the request in its error answer, then greps every
// output (stdout, stderr, the history in text and JSON, notify test's
// output, the agent's log) and the state DB's raw bytes for every
// secret in every encoded form (issue 24, "Error paths leak").
func TestNoSecretLeaks(t *testing.T) {
	echo := newEchoServer(t)
	dir := t.TempDir()
	host := strings.TrimPrefix(echo.URL, "http://")
	amBasic := base64.StdEncoding.EncodeToString([]byte("am-user:am-pass-word-1"))
	env := map[string]string{
		"WH_URL":     echo.URL + "/hook/Wh00kPathT0ken?token=wh-query%2Btok%2F1",
		"WH_KEY":     "wh-api-key&<9>",
		"WH_BEARER":  "wh-bearer-tok-1",
		"AM_URL":     echo.URL + "/am?apikey=am-query-secret-1",
		"SLACK_URL":  echo.URL + "/services/T0SLACK01/B0SLACK02/sl4ckT0kenABCDEFGH",
		"GH_TOKEN_X": "ghp_GitHubT0ken123456",
		"SENTRY_DSN": "http://sentrypub0123456@" + host + "/42",
		"PD_ROUTING": "pdR0utingKey0123456789",
		"PROM_TOKEN": "prom-bearer-T0k3n",
	}
	for k, v := range env {
		t.Setenv(k, v)
	}
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	write("prom-pw", "prom-basic-pw-77\n")
	write("rw-token", "rw-bearer-file-tok\n")
	cfg := write("c.yaml", fmt.Sprintf(`alert_rules:
  - name: high_cpu
    metric_path: cpu_usage_percent.max
    condition: greater_than
    threshold: 80
    severity: high
    evaluation_window: 60
channels:
  - name: wh
    type: webhook
    url: ${WH_URL}
    retry_attempts: 0
    headers:
      X-Api-Key: ${WH_KEY}
      Authorization: Bearer ${WH_BEARER}
  - name: am
    type: alertmanager
    url: ${AM_URL}
    retry_attempts: 0
    headers:
      Authorization: Basic %[2]s
  - name: sl
    type: slack
    url: ${SLACK_URL}
    retry_attempts: 0
  - name: gh
    type: github
    repo: owner/repo
    token_env: GH_TOKEN_X
    api_url: %[1]s/gh
    retry_attempts: 0
  - name: se
    type: sentry
    dsn_env: SENTRY_DSN
    retry_attempts: 0
  - name: pd
    type: pagerduty
    routing_key_env: PD_ROUTING
    url: %[1]s/pd
    retry_attempts: 0
sources:
  %[1]s/p1:
    bearer_token_env: PROM_TOKEN
    headers:
      X-Scope-OrgID: tenant-0rg-42
  %[1]s/p2:
    basic_auth:
      username: prom-user
      password_file: %[3]s/prom-pw
  %[1]s/rw2:
    bearer_token_file: %[3]s/rw-token
    headers:
      X-Api-Key: rw-api-key-8
`, echo.URL, amBasic, dir))

	notifyTest := func(ch string) []string { return []string{"notify", "test", ch, "--config", cfg} }
	cases := []secretCase{
		{"webhook", []string{"wh-query+tok/1", "Wh00kPathT0ken", "wh-api-key&<9>", "wh-bearer-tok-1"}, notifyTest("wh")},
		{"alertmanager", []string{"am-query-secret-1", "am-pass-word-1", amBasic}, notifyTest("am")},
		{"slack", []string{"T0SLACK01", "B0SLACK02", "sl4ckT0kenABCDEFGH"}, notifyTest("sl")},
		{"github", []string{"ghp_GitHubT0ken123456"}, notifyTest("gh")},
		{"sentry", []string{"sentrypub0123456"}, notifyTest("se")},
		{"pagerduty", []string{"pdR0utingKey0123456789"}, notifyTest("pd")},
		{"source bearer and X-Scope-OrgID", []string{"prom-bearer-T0k3n", "tenant-0rg-42"},
			[]string{"query", "--config", cfg, "--db", echo.URL + "/p1", "up.last", "--at", "2026-11-29T10:00:30Z"}},
		{"source basic auth", []string{"prom-basic-pw-77", base64.StdEncoding.EncodeToString([]byte("prom-user:prom-basic-pw-77"))},
			[]string{"query", "--config", cfg, "--db", echo.URL + "/p2", "up.last", "--at", "2026-11-29T10:00:30Z"}},
		{"remote write", []string{"rw-query-tok-5", "rw-bearer-file-tok", "rw-api-key-8"},
			[]string{"collect", "--config", cfg, "--once", "--gpu", "off", "--no-store", "--log-level", "debug",
				"--remote-write", echo.URL + "/rw1?token=rw-query-tok-5", "--remote-write", echo.URL + "/rw2"}},
	}
	var all []string
	for _, c := range cases {
		all = append(all, c.secrets...)
	}
	check := func(t *testing.T, what string, out []byte) {
		t.Helper()
		for _, s := range all {
			for _, f := range leakForms(s) {
				if bytes.Contains(out, []byte(f)) {
					t.Errorf("%s shows the secret %q (as %q):\n%s", what, s, f, out)
				}
			}
		}
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			for _, m := range echoModes {
				echo.setMode(m)
				code, out := runVigil(t, dir, c.run...)
				if code == 0 && c.name != "remote write" {
					t.Errorf("echo %s: exit 0, want a failure:\n%s", m, out)
				}
				if !regexp.MustCompile(`400|Bad Request|refused`).Match(out) {
					t.Errorf("echo %s: the receiver's refusal is not reported:\n%s", m, out)
				}
				check(t, fmt.Sprintf("vigil %s (echo %s)", strings.Join(c.run[:2], " "), m), out)
				if os.Getenv("SHOWOUT") != "" {
					t.Logf("%s\n%s", m, out)
				}
			}
		})
	}

	// Evaluate through every channel at once, then the history and the
	// state DB's bytes (its -wal too).
	t.Run("evaluate, history and state DB", func(t *testing.T) {
		echo.setMode("raw")
		write("cpu.jsonl", `{"ts":"2026-11-29T10:00:00Z","name":"cpu_usage_percent","type":"gauge","value":95,"labels":{"host":"a"}}`+"\n")
		if code, out := runVigil(t, dir, "import", "--db", "m.db", "cpu.jsonl"); code != 0 {
			t.Fatalf("import: %d\n%s", code, out)
		}
		// One state DB per echo mode, so that every channel's first (and
		// only: a 400 is not retried) failure is in each.
		var states []string
		for _, m := range echoModes {
			echo.setMode(m)
			st, srcSt := filepath.Join(dir, "s-"+m+".db"), filepath.Join(dir, "src-"+m+".db")
			states = append(states, st, srcSt)
			at := "2026-11-29T10:00:30Z"
			code, out := runVigil(t, dir, "evaluate", "--config", cfg, "--db", "m.db", "--state", st, "--at", at, "-o", "json")
			if code != 1 || !bytes.Contains(out, []byte(`"notified":[]`)) {
				t.Errorf("evaluate (echo %s): exit %d, want 1 and nothing delivered:\n%s", m, code, out)
			}
			check(t, "vigil evaluate (echo "+m+")", out)
			// A rule over a source whose answer echoes its credentials.
			code, out = runVigil(t, dir, "evaluate", "--config", cfg, "--db", echo.URL+"/p1", "--state", srcSt, "--at", at)
			if code != 1 {
				t.Errorf("evaluate --db http:// (echo %s): exit %d, want 1:\n%s", m, code, out)
			}
			check(t, "vigil evaluate --db http:// (echo "+m+")", out)
			if os.Getenv("SHOWOUT") != "" {
				t.Logf("%s\n%s", m, out)
			}
		}
		for _, st := range states {
			for _, args := range [][]string{{"alerts", "history"}, {"alerts", "history", "-o", "json"}} {
				_, out := runVigil(t, dir, append(args, "--config", cfg, "--state", st)...)
				check(t, "vigil "+strings.Join(args, " "), out)
				// Without the config the history must be clean too: it was
				// scrubbed before it was stored.
				_, out = runVigil(t, dir, append(args, "--state", st)...)
				if !bytes.Contains(out, []byte("error")) {
					t.Errorf("vigil %s --state %s: no error rows:\n%s", strings.Join(args, " "), st, out)
				}
				check(t, "vigil "+strings.Join(args, " ")+" without --config", out)
				if os.Getenv("SHOWOUT") != "" {
					t.Logf("%s\n%s", args, out)
				}
			}
			for _, f := range []string{st, st + "-wal"} {
				b, err := os.ReadFile(f)
				if err != nil && !os.IsNotExist(err) {
					t.Fatal(err)
				}
				check(t, "the state DB file "+filepath.Base(f), b)
			}
		}
	})
}

// runVigil runs vigil in-process in dir and returns its exit code and its
// stdout and stderr together.
func runVigil(t *testing.T, dir string, args ...string) (int, []byte) {
	t.Helper()
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Chdir(dir); err != nil {
		t.Fatal(err)
	}
	defer os.Chdir(wd) //nolint:errcheck // back where the test started
	var out bytes.Buffer
	code := run(args, strings.NewReader(""), &out, &out)
	return code, out.Bytes()
}

// TestNotHTTPURLRedacted: a URL setting whose value is not an http(s) URL
// (the scheme forgotten, a token put in the wrong variable) is never
// printed by vigil check (text and JSON) or evaluate: it may be the
// secret itself (issue 24).
func TestNotHTTPURLRedacted(t *testing.T) {
	dir := t.TempDir()
	cases := []struct{ name, channel, value string }{
		{"webhook scheme forgotten", "type: webhook\n    url: ${BAD_URL}", "hooks.example.com/T0KEN-webhook-s3cret"},
		{"slack token in the url", "type: slack\n    url: ${BAD_URL}", "xoxb-slack-T0KEN-s3cret"},
		{"slack webhook_url", "type: slack\n    webhook_url: ${BAD_URL}", "xoxb-slack-T0KEN-s3cret"},
		{"alertmanager", "type: alertmanager\n    url: ${BAD_URL}", "am-T0KEN-s3cret-value"},
		{"pagerduty", "type: pagerduty\n    url: ${BAD_URL}", "pd-R0UTING-s3cret-value"},
		{"github api_url", "type: github\n    repo: o/r\n    api_url: ${BAD_URL}", "ghp_T0KEN-s3cret-value"},
		{"github api_url with a query", "type: github\n    repo: o/r\n    api_url: ${BAD_URL}", "https://ghe.example/api/v3?token=ghp_T0KEN-s3cret-value"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Setenv("BAD_URL", c.value)
			cfg := filepath.Join(dir, "c.yaml")
			if err := os.WriteFile(cfg, []byte(`alert_rules:
  - name: r
    metric_path: m.max
    condition: greater_than
    threshold: 1
    severity: high
    evaluation_window: 60
channels:
  - name: ch
    `+c.channel+"\n"), 0o600); err != nil {
				t.Fatal(err)
			}
			for _, args := range [][]string{
				{"check", "--config", cfg},
				{"check", "--config", cfg, "-o", "json"},
				{"evaluate", "--config", cfg, "--db", "m.db", "--state", "s.db", "--dry-run"},
			} {
				code, out := runVigil(t, dir, args...)
				if code != 2 {
					t.Errorf("%s: exit %d, want 2:\n%s", args[0], code, out)
				}
				leak := c.value
				if _, q, ok := strings.Cut(c.value, "token="); ok {
					leak = q
				}
				for _, f := range leakForms(leak) {
					if bytes.Contains(out, []byte(f)) {
						t.Errorf("vigil %s prints the value (%q):\n%s", strings.Join(args[:len(args)-2], " "), f, out)
					}
				}
				want := fmt.Sprintf("value redacted, %d characters", len(c.value))
				if !bytes.Contains(out, []byte(want)) {
					t.Errorf("vigil %s: no %q:\n%s", args[0], want, out)
				}
			}
		})
	}
}

// TestCheckWarnsShortSecret: a secret shorter than secret.MinLen cannot be
// scrubbed (it would mangle all output), so vigil check says so, at the
// channel, without failing.
func TestCheckWarnsShortSecret(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "c.yaml")
	if err := os.WriteFile(cfg, []byte(`channels:
  - name: ops
    type: webhook
    url: http://127.0.0.1:9/hook
    headers:
      X-Api-Key: abc
`), 0o600); err != nil {
		t.Fatal(err)
	}
	code, out := runVigil(t, dir, "check", "--config", cfg)
	want := `vigil: warning: ` + cfg + `:2:5: channel "ops": 1 of its secrets (a token, password or header value) are shorter than 6 characters: vigil cannot scrub them from its output, logs and history`
	if code != 0 || !strings.Contains(string(out), want+"\n") {
		t.Errorf("exit %d, want 0 and\n%s\ngot:\n%s", code, want, out)
	}
}

// TestOrdinaryValuesNotScrubbed: only credentials are scrubbed (issue
// 24 review). An ordinary header (X-Team: checkout), a webhook URL's
// ordinary query value (?route=checkout) and a numeric bearer token
// (410801) leave the output of query and evaluate --dry-run exactly what
// it is without them (valid JSON, "/checkout" and 0.0410801 intact),
// while an echoing receiver still gets the credentials scrubbed and the
// ordinary values shown.
func TestOrdinaryValuesNotScrubbed(t *testing.T) {
	echo := newEchoServer(t)
	dir := t.TempDir()
	t.Setenv("OPS_TOKEN", "410801")
	t.Setenv("HOOK_URL", echo.URL+"/hook?route=checkout")
	data := `{"ts":"2026-11-29T09:59:00Z","name":"latency_s","type":"gauge","value":0.0410801,"labels":{"endpoint":"/checkout","service":"api"}}
{"ts":"2026-11-29T10:00:00Z","name":"latency_s","type":"gauge","value":0.0410801,"labels":{"endpoint":"/checkout","service":"api"}}
`
	if err := os.WriteFile(filepath.Join(dir, "m.jsonl"), []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
	if code, out := runVigil(t, dir, "import", "--db", "m.db", "m.jsonl"); code != 0 {
		t.Fatalf("import: %d\n%s", code, out)
	}
	rules := `alert_rules:
  - name: slow_checkout
    metric_path: latency_s.max
    condition: greater_than
    threshold: 0.01
    severity: high
    evaluation_window: 300
    group_by: [endpoint]
channels:
  - name: wh
    type: webhook
    retry_attempts: 0
`
	with := rules + `    url: ${HOOK_URL}
    headers:
      X-Team: checkout
      X-Scope-OrgID: "410801"
      Authorization: Bearer ${OPS_TOKEN}
`
	without := rules + "    url: " + echo.URL + "/hook\n"
	for name, text := range map[string]string{"with.yaml": with, "without.yaml": without} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	at := "2026-11-29T10:00:30Z"
	for _, args := range [][]string{
		{"query", "--db", "m.db", "--at", at, "--window", "5m", "latency_s.max by (endpoint)", "-o", "json"},
		{"query", "--db", "m.db", "--at", at, "--window", "5m", "latency_s.max by (endpoint)"},
		{"evaluate", "--db", "m.db", "--state", "s.db", "--at", at, "--dry-run", "-o", "json"},
		{"evaluate", "--db", "m.db", "--state", "s.db", "--at", at, "--dry-run"},
	} {
		_, want := runVigil(t, dir, append(args, "--config", "without.yaml")...)
		code, got := runVigil(t, dir, append(args, "--config", "with.yaml")...)
		if !bytes.Equal(got, want) {
			t.Errorf("vigil %s: exit %d, the output changed with the headers:\n%s\nwithout them:\n%s", strings.Join(args, " "), code, got, want)
		}
		if !bytes.Contains(got, []byte("/checkout")) || !bytes.Contains(got, []byte("0.0410801")) {
			t.Errorf("vigil %s: no /checkout or 0.0410801:\n%s", strings.Join(args, " "), got)
		}
		if args[len(args)-1] == "json" && !json.Valid(got) {
			t.Errorf("vigil %s: not valid JSON:\n%s", strings.Join(args, " "), got)
		}
	}
	// The echo: the credentials are scrubbed, the ordinary values shown.
	_, out := runVigil(t, dir, "notify", "test", "wh", "--config", "with.yaml")
	for _, leak := range []string{"410801", "Bearer 410801"} {
		if bytes.Contains(out, []byte(leak)) {
			t.Errorf("notify test shows %q:\n%s", leak, out)
		}
	}
	for _, keep := range []string{"route=checkout", "X-Team: checkout", "X-Scope-Orgid: " + "<redacted>", "Authorization: <redacted>"} {
		if !bytes.Contains(out, []byte(keep)) {
			t.Errorf("notify test: no %q:\n%s", keep, out)
		}
	}
}

// TestCheckWarnsPlainSecret: a credential that is all digits or one
// lowercase word is scrubbed wherever it appears, ordinary output too,
// so vigil check says so, at the channel and at the source.
func TestCheckWarnsPlainSecret(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("PLAIN_TOKEN", "service")
	cfg := filepath.Join(dir, "c.yaml")
	if err := os.WriteFile(cfg, []byte(`channels:
  - name: ops
    type: webhook
    url: http://127.0.0.1:9/hook
    headers:
      Authorization: Bearer s3rv1ce-Tok3n
      X-Scope-OrgID: "410801"
      X-Team: checkout
sources:
  http://127.0.0.1:9/prom:
    bearer_token_env: PLAIN_TOKEN
`), 0o600); err != nil {
		t.Fatal(err)
	}
	code, out := runVigil(t, dir, "check", "--config", cfg)
	for _, want := range []string{
		`vigil: warning: ` + cfg + `:2:5: channel "ops": 1 of its secrets (a token, password or header value) is all digits or a plain lowercase word: vigil scrubs it wherever it appears, ordinary output included; use a generated secret`,
		`vigil: warning: ` + cfg + `:10:3: source http://127.0.0.1:9/prom: 1 of its secrets (a token, password or header value) is all digits or a plain lowercase word: vigil scrubs it wherever it appears, ordinary output included; use a generated secret`,
	} {
		if code != 0 || !strings.Contains(string(out), want+"\n") {
			t.Errorf("exit %d, want 0 and\n%s\ngot:\n%s", code, want, out)
		}
	}
	if n := strings.Count(string(out), "warning:"); n != 2 {
		t.Errorf("%d warnings, want 2:\n%s", n, out)
	}
}

// TestCheckWarnsSourceFiles: a source's files are read at request time,
// so vigil check warns, at the source, of each that cannot be used now
// (missing, a folder, empty), naming the key and the path, and exits 0;
// a source whose files are fine gets no warning.
func TestCheckWarnsSourceFiles(t *testing.T) {
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "certs"), 0o755); err != nil {
		t.Fatal(err)
	}
	for name, text := range map[string]string{"empty-token": "\n", "empty.pem": "", "good-token": "prom-T0ken-abcdef\n", "ca.pem": "-----BEGIN CERTIFICATE-----\n"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	cfg := filepath.Join(dir, "c.yaml")
	if err := os.WriteFile(cfg, []byte(`sources:
  http://127.0.0.1:9/p1:
    bearer_token_file: missing-token
    tls:
      ca_file: certs
  http://127.0.0.1:9/p2:
    basic_auth:
      username: prom
      password_file: empty-token
    tls:
      cert_file: empty.pem
  http://127.0.0.1:9/p3:
    bearer_token_file: good-token
    tls:
      ca_file: ca.pem
`), 0o600); err != nil {
		t.Fatal(err)
	}
	code, out := runVigil(t, dir, "check", "--config", cfg)
	for _, want := range []string{
		cfg + `:2:3: source http://127.0.0.1:9/p1: bearer_token_file ` + filepath.Join(dir, "missing-token") + ` cannot be read (each request needs it): no such file or directory`,
		cfg + `:2:3: source http://127.0.0.1:9/p1: tls: ca_file ` + filepath.Join(dir, "certs") + ` is not a regular file (each request needs it)`,
		cfg + `:6:3: source http://127.0.0.1:9/p2: basic_auth: password_file ` + filepath.Join(dir, "empty-token") + ` is empty (each request needs the secret it holds)`,
		cfg + `:6:3: source http://127.0.0.1:9/p2: tls: cert_file ` + filepath.Join(dir, "empty.pem") + ` is empty (each request needs it)`,
	} {
		if !strings.Contains(string(out), "vigil: warning: "+want+"\n") {
			t.Errorf("no warning %s\ngot:\n%s", want, out)
		}
	}
	if code != 0 || strings.Contains(string(out), "p3") {
		t.Errorf("exit %d (want 0), and nothing of p3:\n%s", code, out)
	}
}
