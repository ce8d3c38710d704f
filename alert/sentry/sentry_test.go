package sentry

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	sentrygo "github.com/getsentry/sentry-go"

	"github.com/vigil-metrics/vigil/alert/config"
	"github.com/vigil-metrics/vigil/alert/httpsend/httpsendtest"
	"github.com/vigil-metrics/vigil/alert/notify"
	"github.com/vigil-metrics/vigil/alert/notify/notifytest"
)

const key = "5eb1c0ffee5eb1c0ffee5eb1c0ffee00"

type answer = httpsendtest.Answer

var ok = answer{Code: 200, Body: `{"id":"x"}`}

// envelopeReq is one envelope the fake Sentry received, decoded.
type envelopeReq struct {
	path   string
	header http.Header
	head   map[string]any // the envelope header
	item   map[string]any // the item header
	event  map[string]any // the event
	raw    []byte
}

// server is a fake Sentry: httpsendtest's scripted receiver, whose
// requests are read as envelopes.
type server struct {
	httpsendtest.Server
	t *testing.T
}

func (s *server) requests() []envelopeReq {
	var out []envelopeReq
	for _, r := range s.Requests() {
		out = append(out, s.envelope(r))
	}
	return out
}

func (s *server) envelope(r httpsendtest.Request) envelopeReq {
	s.t.Helper()
	body := r.Body
	e := envelopeReq{path: r.Path, header: r.Header, raw: body}
	lines := bytes.Split(bytes.TrimSuffix(body, []byte("\n")), []byte("\n"))
	if len(lines) != 3 {
		s.t.Errorf("envelope has %d lines, want 3:\n%s", len(lines), body)
		return e
	}
	for i, dst := range []*map[string]any{&e.head, &e.item, &e.event} {
		if err := json.Unmarshal(lines[i], dst); err != nil {
			s.t.Errorf("envelope line %d: %v: %s", i+1, err, lines[i])
		}
	}
	if n, _ := e.item["length"].(float64); int(n) != len(lines[2]) {
		s.t.Errorf("item length %v, event is %d bytes", e.item["length"], len(lines[2]))
	}
	return e
}

func env(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

func channel(s Config) config.Channel {
	s.Environment, s.Project = "production", "backend"
	return config.Channel{Name: "sentry", Type: "sentry", Enabled: true, SendResolved: true,
		RetryDelay: time.Millisecond, RetryAttempts: 3, RetryAttemptsSet: true, Timeout: 5 * time.Second, Settings: &s}
}

// start serves answers as the DSN's host and returns a channel sending
// there; dsn is the DSN, given by the config.
func start(t *testing.T, answers ...answer) (*Channel, *server, string) {
	t.Helper()
	s := &server{t: t, Server: httpsendtest.Server{Answers: answers}}
	ts := httptest.NewServer(s)
	t.Cleanup(ts.Close)
	dsn := strings.Replace(ts.URL, "http://", "http://"+key+"@", 1) + "/42"
	c, err := New(channel(Config{DSN: dsn}), env(nil), ts.Client())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	c.tr.p.MaxRetryAfter = 20 * time.Millisecond
	return c, s, dsn
}

func tags(e map[string]any) map[string]string {
	out := map[string]string{}
	m, _ := e["tags"].(map[string]any)
	for k, v := range m {
		out[k], _ = v.(string)
	}
	return out
}

func sameMap(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

func TestFiring(t *testing.T) {
	c, s, dsn := start(t, ok)
	n := notifytest.Firing(config.Channel{Name: "sentry", Type: "sentry"})
	var tries []int
	n.Attempt = func(try, status int, err error) {
		tries = append(tries, try)
		if status != 200 || err != nil {
			t.Errorf("attempt %d: %d, %v", try, status, err)
		}
	}
	if retry, err := c.Notify(context.Background(), n); err != nil || retry {
		t.Fatalf("Notify = %v, %v", retry, err)
	}
	got := s.requests()
	if len(got) != 1 || len(tries) != 1 || tries[0] != 1 {
		t.Fatalf("%d envelopes, tries %v; want 1, [1]", len(got), tries)
	}
	r := got[0]
	if r.path != "/api/42/envelope/" {
		t.Errorf("path %s, want /api/42/envelope/", r.path)
	}
	if ct := r.header.Get("Content-Type"); ct != "application/x-sentry-envelope" {
		t.Errorf("Content-Type %q", ct)
	}
	if auth := r.header.Get("X-Sentry-Auth"); !strings.HasPrefix(auth, "Sentry sentry_version=7, sentry_client=sentry.go/") ||
		!strings.HasSuffix(auth, "sentry_key="+key) {
		t.Errorf("X-Sentry-Auth %q", auth)
	}
	if r.head["dsn"] != dsn || r.head["event_id"] != r.event["event_id"] || r.head["event_id"] == "" || r.item["type"] != "event" {
		t.Errorf("envelope header %v, item header %v, event id %v", r.head, r.item, r.event["event_id"])
	}
	e := r.event
	for k, want := range map[string]any{"message": "high_cpu: CPU above 80%", "level": "fatal", "environment": "production",
		"logger": "vigil", "platform": "go", "timestamp": "2026-11-29T10:00:30Z"} {
		if e[k] != want {
			t.Errorf("%s: %v, want %v", k, e[k], want)
		}
	}
	if _, set := e["release"]; set {
		t.Errorf("release %v, want none", e["release"])
	}
	if fp, _ := json.Marshal(e["fingerprint"]); string(fp) != `["f372fee676ae0d86"]` {
		t.Errorf("fingerprint %s", fp)
	}
	wantTags := map[string]string{"host": "db-01", "team": "infra", "alertname": "high_cpu", "severity": "critical",
		"state": "firing", "fingerprint": "f372fee676ae0d86", "status": "firing", "project": "backend"}
	if got := tags(e); !sameMap(got, wantTags) {
		t.Errorf("tags %v, want %v", got, wantTags)
	}
	alert, _ := e["contexts"].(map[string]any)["alert"].(map[string]any)
	b, _ := json.Marshal(alert)
	want := `{"description":"CPU above 80%","escalation_step":-1,"fingerprint":"f372fee676ae0d86","labels":{"host":"db-01","team":"infra"},` +
		`"rule":"high_cpu","starts_at":"2026-11-29T09:58:30Z","state":"firing","threshold":80,"value":92.5}`
	if string(b) != want {
		t.Errorf("alert context\n got %s\nwant %s", b, want)
	}
}

func TestResolved(t *testing.T) {
	c, s, _ := start(t, ok)
	if retry, err := c.Notify(context.Background(), notifytest.Resolved(config.Channel{})); err != nil || retry {
		t.Fatalf("Notify = %v, %v", retry, err)
	}
	got := s.requests()
	if len(got) != 1 {
		t.Fatalf("%d envelopes", len(got))
	}
	e := got[0].event
	if e["level"] != "info" || e["message"] != "high_cpu: CPU above 80% (resolved)" || e["timestamp"] != "2026-11-29T10:05:30Z" {
		t.Errorf("level %v, message %v, timestamp %v", e["level"], e["message"], e["timestamp"])
	}
	tg := tags(e)
	if tg["resolved"] != "true" || tg["status"] != "resolved" || tg["state"] != "resolved" || tg["severity"] != "critical" {
		t.Errorf("tags %v", tg)
	}
	if fp, _ := json.Marshal(e["fingerprint"]); string(fp) != `["f372fee676ae0d86"]` {
		t.Errorf("fingerprint %s", fp)
	}
	if ends := e["contexts"].(map[string]any)["alert"].(map[string]any)["ends_at"]; ends != "2026-11-29T10:05:30Z" {
		t.Errorf("ends_at %v", ends)
	}
}

// The alerts of an incident are one event each; try numbers run on.
func TestIncident(t *testing.T) {
	c, s, _ := start(t, ok)
	n := notifytest.Firing(config.Channel{})
	n.Alerts[0].Incident = "db/infra/x"
	n.Alerts = append(n.Alerts, notify.Alert{Rule: "disk_full", Severity: "low", State: "firing", Threshold: 0.9,
		Labels: map[string]string{"severity": "label", "note": "two\nlines " + strings.Repeat("x", 300)}, Fingerprint: "00000000000000cd", Incident: "db/infra/x"})
	var tries []int
	n.Attempt = func(try, _ int, _ error) { tries = append(tries, try) }
	if retry, err := c.Notify(context.Background(), n); err != nil || retry {
		t.Fatalf("Notify = %v, %v", retry, err)
	}
	got := s.requests()
	if len(got) != 2 || len(tries) != 2 || tries[1] != 2 {
		t.Fatalf("%d envelopes, tries %v", len(got), tries)
	}
	a, b := got[0].event, got[1].event
	if tags(a)["incident"] != "db/infra/x" || tags(b)["incident"] != "db/infra/x" {
		t.Errorf("incident tags %v, %v", tags(a), tags(b))
	}
	if b["message"] != "disk_full" || b["level"] != "info" || tags(b)["severity"] != "low" {
		t.Errorf("second event: %v %v %v", b["message"], b["level"], tags(b))
	}
	if note := tags(b)["note"]; len(note) != maxTagValue || strings.Contains(note, "\n") || !strings.HasPrefix(note, "two lines x") {
		t.Errorf("note tag %q", note)
	}
	if a["event_id"] == b["event_id"] {
		t.Errorf("both events have id %v", a["event_id"])
	}
}

// Every try of one notification sends the same event ids (Sentry drops an
// id it already has, so a retry of a send that did arrive is not a second
// event): derived from the notification's idempotency key and each alert,
// so two alerts of one notification, or another notification, differ.
func TestEventIDsFromKey(t *testing.T) {
	c, s, _ := start(t, ok, ok, ok, ok)
	n := notifytest.Firing(config.Channel{})
	n.Key = "0123456789abcdef0123456789abcdef"
	n.Alerts = append(n.Alerts, notify.Alert{Rule: "disk_full", Severity: "low", State: "firing", Fingerprint: "00000000000000cd"})
	for range 2 {
		if retry, err := c.Notify(context.Background(), n); err != nil || retry {
			t.Fatalf("Notify = %v, %v", retry, err)
		}
	}
	got := s.requests()
	if len(got) != 4 {
		t.Fatalf("%d envelopes, want 4", len(got))
	}
	ids := []any{got[0].event["event_id"], got[1].event["event_id"], got[2].event["event_id"], got[3].event["event_id"]}
	want0, want1 := string(eventID(n.Key, n.Alerts[0].Fingerprint)), string(eventID(n.Key, n.Alerts[1].Fingerprint))
	if ids[0] != want0 || ids[2] != want0 || ids[1] != want1 || ids[3] != want1 || want0 == want1 || len(want0) != 32 {
		t.Errorf("event ids %v, want %s, %s twice", ids, want0, want1)
	}
	if got[0].head["event_id"] != want0 {
		t.Errorf("envelope header event_id %v", got[0].head["event_id"])
	}
}

func TestLevel(t *testing.T) {
	for in, want := range map[string]sentrygo.Level{"critical": "fatal", "high": "error", "medium": "warning", "low": "info", "other": "error"} {
		if got := Level(in); got != want {
			t.Errorf("Level(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestFailures(t *testing.T) {
	for _, tc := range []struct {
		name     string
		answers  []answer
		retry    bool
		statuses []int
		errHas   []string
	}{
		{"bad event", []answer{{Code: 400, Body: `{"detail":"invalid event envelope"}`}}, false, []int{400},
			[]string{`sentry "sentry"`, "400 Bad Request", "invalid event envelope"}},
		{"bad key echoed", []answer{{Code: 403, Body: `{"detail":"project key ` + key + ` disabled"}`}}, false, []int{403},
			[]string{"403 Forbidden", "project key <redacted> disabled"}},
		{"rate limited then ok", []answer{{Code: 429, Header: map[string]string{"Retry-After": "60", "X-Sentry-Rate-Limits": "60:error:key"}}, ok},
			false, []int{429, 200}, nil},
		{"5xx throughout", []answer{{Code: 502, Body: "bad gateway"}}, true, []int{502, 502, 502},
			[]string{"3 attempts failed", "502 Bad Gateway"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, s, dsn := start(t, tc.answers...)
			n := notifytest.Firing(config.Channel{})
			var statuses []int
			var texts []string
			n.Attempt = func(_, status int, err error) {
				statuses = append(statuses, status)
				texts = append(texts, notifytest.Err(err))
			}
			retry, err := c.Notify(context.Background(), n)
			if (err == nil) != (tc.errHas == nil) || retry != tc.retry {
				t.Fatalf("Notify = %v, %v; want retry %v", retry, err, tc.retry)
			}
			if len(statuses) != len(tc.statuses) || len(s.requests()) != len(tc.statuses) {
				t.Fatalf("statuses %v, %d requests; want %v", statuses, len(s.requests()), tc.statuses)
			}
			for i := range statuses {
				if statuses[i] != tc.statuses[i] {
					t.Errorf("statuses %v, want %v", statuses, tc.statuses)
				}
			}
			for _, w := range tc.errHas {
				if !strings.Contains(notifytest.Err(err), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
			notifytest.NoSecrets(t, []string{key, dsn}, append(texts, notifytest.Err(err))...)
			// The channel still works after a failure (no SDK rate limit
			// keeps later events back).
			s.Script(ok)
			if retry, err := c.Notify(context.Background(), notifytest.Firing(config.Channel{})); err != nil || retry {
				t.Errorf("next Notify = %v, %v", retry, err)
			}
		})
	}
}

func TestNetworkError(t *testing.T) {
	ts := httptest.NewServer(http.NotFoundHandler())
	dsn := strings.Replace(ts.URL, "http://", "http://"+key+":s3cret@", 1) + "/42"
	ts.Close()
	c, err := New(channel(Config{DSN: dsn}), env(nil), nil)
	if err != nil {
		t.Fatal(err)
	}
	var texts []string
	n := notifytest.Firing(config.Channel{})
	n.Attempt = func(_, status int, err error) { texts = append(texts, notifytest.Err(err)) }
	retry, err := c.Notify(context.Background(), n)
	if err == nil || !retry || len(texts) != 3 {
		t.Fatalf("Notify = %v, %v after %d attempts; want a retry after 3", retry, err, len(texts))
	}
	notifytest.NoSecrets(t, []string{key, "s3cret"}, append(texts, err.Error())...)
}

// The DSN comes from dsn (with ${VAR}), else dsn_env, else SENTRY_DSN.
func TestDSN(t *testing.T) {
	s := &server{t: t, Server: httpsendtest.Server{Answers: []answer{ok}}}
	ts := httptest.NewServer(s)
	defer ts.Close()
	dsn := strings.Replace(ts.URL, "http://", "http://"+key+"@", 1) + "/7"
	for _, tc := range []struct {
		name     string
		settings Config
		env      map[string]string
	}{
		{"dsn", Config{DSN: dsn}, nil},
		{"dsn with ${VAR}", Config{DSN: "${MY_DSN}"}, map[string]string{"MY_DSN": dsn}},
		{"dsn_env", Config{DSNEnv: "MY_DSN"}, map[string]string{"MY_DSN": dsn, "SENTRY_DSN": "http://wrong@h/1"}},
		{"SENTRY_DSN", Config{}, map[string]string{"SENTRY_DSN": dsn + "\n"}},
		{"empty dsn falls back", Config{DSN: ""}, map[string]string{"SENTRY_DSN": dsn}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s.Script(ok)
			c, err := New(channel(tc.settings), env(tc.env), nil)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			if retry, err := c.Notify(context.Background(), notifytest.Firing(config.Channel{})); err != nil || retry {
				t.Fatalf("Notify = %v, %v", retry, err)
			}
			if got := s.requests(); len(got) != 1 || got[0].path != "/api/7/envelope/" {
				t.Errorf("requests %v", got)
			}
		})
	}
}

func TestNoDSN(t *testing.T) {
	for _, e := range []map[string]string{nil, {"SENTRY_DSN": " "}} {
		c, err := New(channel(Config{}), env(e), nil)
		if err != nil {
			t.Fatal(err)
		}
		retry, err := c.Notify(context.Background(), notifytest.Firing(config.Channel{}))
		if !retry || !errors.Is(err, ErrNoDSN) || !strings.Contains(err.Error(), "SENTRY_DSN") {
			t.Errorf("Notify = %v, %v; want retry, ErrNoDSN naming SENTRY_DSN", retry, err)
		}
	}
}

func TestNew(t *testing.T) {
	for _, tc := range []struct {
		ch   config.Channel
		want string
	}{
		{config.Channel{Name: "x", Type: "webhook"}, `channel "x": type "webhook" is not sentry`},
		{channel(Config{DSN: "ftp://" + key + "@h/1"}), `channel "sentry": dsn is not a valid Sentry DSN (want https://KEY@HOST/PROJECT): invalid scheme`},
		{channel(Config{DSN: "https://" + key + "@h/"}), `channel "sentry": dsn is not a valid Sentry DSN (want https://KEY@HOST/PROJECT): empty project id`},
		{channel(Config{DSN: "https://" + key + "@h:x/1"}), `channel "sentry": dsn is not a valid Sentry DSN (want https://KEY@HOST/PROJECT)`},
		{channel(Config{DSNEnv: "D"}), `channel "sentry": D is not a valid Sentry DSN (want https://KEY@HOST/PROJECT): empty username`},
	} {
		_, err := New(tc.ch, env(map[string]string{"D": "https://h/1"}), nil)
		if err == nil || err.Error() != tc.want {
			t.Errorf("New(%v) = %v, want %s", tc.ch.Settings, err, tc.want)
		}
		notifytest.NoSecrets(t, []string{key}, notifytest.Err(err))
	}
}
