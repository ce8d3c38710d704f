package slack

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vigil-metrics/vigil/alert/config"
	"github.com/vigil-metrics/vigil/alert/notify"
	"github.com/vigil-metrics/vigil/alert/notify/notifytest"
)

// secretPath is the part of the webhook URL that is a credential.
const secretPath = "/services/T0SECRET/B0SECRET/xoxSecretT0kenPart"

type reply struct {
	code   int
	header map[string]string
	body   string
}

// fakeSlack is an incoming webhook: it records bodies and answers 200
// "ok" unless replies say otherwise.
type fakeSlack struct {
	t       *testing.T
	srv     *httptest.Server
	mu      sync.Mutex
	bodies  []string
	replies []reply
}

func newFake(t *testing.T, replies ...reply) *fakeSlack {
	f := &fakeSlack{t: t, replies: replies}
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		defer f.mu.Unlock()
		if r.Method != http.MethodPost || r.URL.Path != secretPath {
			t.Errorf("request %s %s", r.Method, r.URL.Path)
		}
		if ct := r.Header.Get("Content-Type"); ct != "application/json; charset=utf-8" {
			t.Errorf("Content-Type %q", ct)
		}
		b, _ := io.ReadAll(r.Body)
		f.bodies = append(f.bodies, string(b))
		w.Header().Set("Content-Type", "text/html")
		if len(f.replies) > 0 {
			rp := f.replies[0]
			f.replies = f.replies[1:]
			for k, v := range rp.header {
				w.Header().Set(k, v)
			}
			w.WriteHeader(rp.code)
			io.WriteString(w, rp.body)
			return
		}
		io.WriteString(w, "ok")
	}))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeSlack) hookURL() string { return f.srv.URL + secretPath }

func channel(settings Config) config.Channel {
	return config.Channel{Name: "ops", Type: "slack", Enabled: true, RetryAttempts: 3, RetryDelay: time.Millisecond,
		SendResolved: true, Settings: &settings}
}

func noEnv(string) (string, bool) { return "", false }

func newChannel(t *testing.T, f *fakeSlack, s Config) (*Channel, config.Channel) {
	t.Helper()
	s.URL = f.hookURL()
	ch := channel(s)
	c, err := New(ch, noEnv, f.srv.Client())
	if err != nil {
		t.Fatal(err)
	}
	return c, ch
}

func jsonEqFixture(t *testing.T, got, name string) {
	t.Helper()
	want, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	var g, w any
	if err := json.Unmarshal([]byte(got), &g); err != nil {
		t.Fatalf("body is not JSON: %v\n%s", err, got)
	}
	if err := json.Unmarshal(want, &w); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	if !reflect.DeepEqual(g, w) {
		t.Errorf("body differs from testdata/%s:\n%s", name, got)
	}
}

func send(t *testing.T, c *Channel, n notify.Notification) (bool, error, []int) { //nolint:staticcheck // Notify's results, then the attempts
	t.Helper()
	var statuses []int
	n.Attempt = func(try, status int, err error) {
		if try != len(statuses)+1 {
			t.Errorf("try %d after %d", try, len(statuses))
		}
		statuses = append(statuses, status)
		if err != nil && strings.Contains(err.Error(), secretPath) {
			t.Errorf("secret in attempt error: %v", err)
		}
	}
	retry, err := c.Notify(context.Background(), n)
	return retry, err, statuses
}

func TestFiring(t *testing.T) {
	f := newFake(t)
	c, ch := newChannel(t, f, Config{Channel: "#ops-alerts", Username: "vigil"})
	retry, err, statuses := send(t, c, notifytest.Firing(ch))
	if err != nil || retry {
		t.Fatal(retry, err)
	}
	if !reflect.DeepEqual(statuses, []int{200}) {
		t.Errorf("attempts %v", statuses)
	}
	if len(f.bodies) != 1 {
		t.Fatalf("%d requests", len(f.bodies))
	}
	jsonEqFixture(t, f.bodies[0], "firing.json")
	if strings.Contains(f.bodies[0], `\u0026`) {
		t.Error("HTML-escaped JSON")
	}
}

func TestResolved(t *testing.T) {
	f := newFake(t)
	c, ch := newChannel(t, f, Config{})
	if retry, err, _ := send(t, c, notifytest.Resolved(ch)); err != nil || retry {
		t.Fatal(retry, err)
	}
	jsonEqFixture(t, f.bodies[0], "resolved.json")
}

func TestIncident(t *testing.T) {
	f := newFake(t)
	c, ch := newChannel(t, f, Config{})
	n := notifytest.Firing(ch)
	v := 0.12
	inc := "service_incident/api/2026-11-29T10:00:30Z"
	n.Alerts[0].Incident = inc
	n.Alerts = append([]notify.Alert{{Rule: "high_error_rate", Severity: "high", Description: "Error rate > 5% & rising",
		Labels: map[string]string{"service": "api"}, State: "firing", Value: &v, Threshold: 0.05, StartsAt: n.At,
		Fingerprint: "00000000000000aa", EscalationStep: -1, Incident: inc}}, n.Alerts...)
	if retry, err, _ := send(t, c, n); err != nil || retry {
		t.Fatal(retry, err)
	}
	jsonEqFixture(t, f.bodies[0], "incident.json")
}

func TestColors(t *testing.T) {
	c := &Channel{}
	for sev, want := range map[string]string{"critical": "#d00000", "high": "#ff8c00", "medium": "#ffd000", "low": "#439fe0", "weird": "#808080"} {
		n := notifytest.Firing(config.Channel{})
		n.Alerts[0].Severity = sev
		if got := c.NewMessage(n).Attachments[0].Color; got != want {
			t.Errorf("%s: color %s, want %s", sev, got, want)
		}
		n = notifytest.Resolved(config.Channel{})
		n.Alerts[0].Severity = sev
		if got := c.NewMessage(n).Attachments[0].Color; got != ColorResolved {
			t.Errorf("%s resolved: color %s", sev, got)
		}
	}
}

func TestManyLabelsAndAlerts(t *testing.T) {
	c := &Channel{}
	n := notifytest.Firing(config.Channel{})
	n.Alerts[0].Labels = map[string]string{}
	for _, k := range strings.Split("a b c d e f g h i j k l", " ") {
		n.Alerts[0].Labels[k] = k
	}
	m := c.NewMessage(n)
	if got := len(m.Attachments[0].Blocks[1].Fields); got != 10 {
		t.Errorf("first fields section has %d fields, want 10", got)
	}
	if got := len(m.Attachments[0].Blocks[2].Fields); got != 2 {
		t.Errorf("second fields section has %d fields, want 2", got)
	}
	var many []notify.Alert
	for range 25 {
		many = append(many, n.Alerts[0])
	}
	n.Alerts = many
	m = c.NewMessage(n)
	blocks := m.Attachments[0].Blocks
	if len(blocks) != 22 || blocks[20].Text.Text != "… and 5 more" {
		t.Errorf("%d blocks, block 20 %+v", len(blocks), blocks[20].Text)
	}
	if !strings.HasPrefix(m.Blocks[0].Text.Text, "CRITICAL: alerts (25 alerts)") {
		t.Errorf("header %q", m.Blocks[0].Text.Text)
	}
	n.Alerts[0].Rule = strings.Repeat("x", 300)
	n.Alerts = n.Alerts[:1]
	if got := len([]rune(c.NewMessage(n).Blocks[0].Text.Text)); got != 150 {
		t.Errorf("header of %d runes, want Slack's limit 150", got)
	}
}

func TestFailures(t *testing.T) {
	for _, tc := range []struct {
		name     string
		replies  []reply
		attempts int
		retry    bool
		ok       bool
		want     []string
	}{
		{"400 invalid_payload", []reply{{code: 400, body: "invalid_payload"}}, 1, false, false,
			[]string{"400 Bad Request", `"invalid_payload"`, "refused the message"}},
		{"403 invalid_token", []reply{{code: 403, body: "invalid_token"}}, 1, false, false,
			[]string{"403 Forbidden", `"invalid_token"`, "create a new incoming webhook"}},
		{"404 no_service", []reply{{code: 404, body: "no_service"}}, 1, false, false,
			[]string{"404 Not Found", `"no_service"`, "does not exist"}},
		{"404 channel_not_found", []reply{{code: 404, body: "channel_not_found"}}, 1, false, false,
			[]string{`"channel_not_found"`}},
		{"410 channel_is_archived", []reply{{code: 410, body: "channel_is_archived"}}, 1, false, false,
			[]string{"410 Gone", `"channel_is_archived"`, "archived"}},
		{"500 then ok", []reply{{code: 500, body: "rollup_error"}, {code: 503}}, 3, false, true, nil},
		{"5xx exhausted", []reply{{code: 500}, {code: 502}, {code: 503, body: "service unavailable"}}, 3, true, false,
			[]string{"3 attempts failed", "503 Service Unavailable", "Slack failed to answer"}},
		{"429 then ok", []reply{{code: 429, header: map[string]string{"Retry-After": "0"}, body: "rate_limited"}}, 2, false, true, nil},
		{"429 beyond the cap", []reply{{code: 429, header: map[string]string{"Retry-After": "120"}, body: "rate_limited"}}, 1, true, false,
			[]string{"429 Too Many Requests", `"rate_limited"`, "a later run retries"}},
		{"echoed URL", []reply{{code: 400, body: "bad url " + secretPath}}, 1, false, false, []string{"400"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFake(t, tc.replies...)
			c, ch := newChannel(t, f, Config{})
			retry, err, statuses := send(t, c, notifytest.Firing(ch))
			if len(f.bodies) != tc.attempts || len(statuses) != tc.attempts {
				t.Errorf("%d requests, %d attempts reported, want %d", len(f.bodies), len(statuses), tc.attempts)
			}
			if tc.ok {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil {
				t.Fatal("no error")
			}
			if retry != tc.retry {
				t.Errorf("retry %v, want %v: %v", retry, tc.retry, err)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
			if !strings.Contains(err.Error(), f.srv.URL+"/<redacted>") {
				t.Errorf("error %q does not show the redacted URL", err)
			}
			notifytest.NoSecrets(t, []string{secretPath, "T0SECRET", "xoxSecretT0kenPart"}, notifytest.Err(err))
		})
	}
}

func TestRetryAfterHonoured(t *testing.T) {
	if testing.Short() {
		t.Skip("waits a second")
	}
	f := newFake(t, reply{code: 429, header: map[string]string{"Retry-After": "1"}, body: "rate_limited"})
	c, ch := newChannel(t, f, Config{})
	start := time.Now()
	if retry, err, _ := send(t, c, notifytest.Firing(ch)); err != nil {
		t.Fatal(retry, err)
	}
	if d := time.Since(start); d < time.Second {
		t.Errorf("retried after %s, want 1s", d)
	}
}

func TestNetworkError(t *testing.T) {
	f := newFake(t)
	c, ch := newChannel(t, f, Config{})
	f.srv.Close()
	retry, err, statuses := send(t, c, notifytest.Firing(ch))
	if err == nil || !retry || len(statuses) != 3 || statuses[0] != 0 {
		t.Fatalf("retry %v, statuses %v, err %v", retry, statuses, err)
	}
	notifytest.NoSecrets(t, []string{secretPath, "xoxSecretT0kenPart"}, err.Error())
}

func TestTimeout(t *testing.T) {
	block := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-block }))
	defer srv.Close()
	defer close(block)
	ch := channel(Config{URL: srv.URL + secretPath})
	ch.Timeout, ch.RetryAttempts = 20*time.Millisecond, 2
	c, err := New(ch, noEnv, nil)
	if err != nil {
		t.Fatal(err)
	}
	retry, err := c.Notify(context.Background(), notifytest.Firing(ch))
	if err == nil || !retry || !strings.Contains(err.Error(), "2 attempts failed") {
		t.Fatalf("retry %v, err %v", retry, err)
	}
	notifytest.NoSecrets(t, []string{secretPath}, err.Error())
}

func TestNew(t *testing.T) {
	hook := "https://hooks.slack.com" + secretPath
	env := func(k string) (string, bool) {
		if k == "SLACK_WEBHOOK_URL" {
			return hook, true
		}
		return "", false
	}
	for _, s := range []Config{{URL: hook}, {WebhookURL: hook}, {URL: "${SLACK_WEBHOOK_URL}"}} {
		c, err := New(channel(s), env, nil)
		if err != nil {
			t.Fatalf("%v: %v", s, err)
		}
		if c.url != hook || c.attempts != 3 || c.timeout != DefaultTimeout {
			t.Errorf("%v: url %s attempts %d timeout %s", s, c.url, c.attempts, c.timeout)
		}
	}
	for _, tc := range []struct {
		ch   config.Channel
		want string
	}{
		{config.Channel{Name: "x", Type: "webhook"}, `type "webhook" is not slack`},
		{channel(Config{}), "url is required"},
		{channel(Config{URL: "${NOPE}"}), "environment variable NOPE is not set"},
		{channel(Config{URL: "ftp://hooks.slack.com" + secretPath}), "ftp://hooks.slack.com/<redacted>: want"},
	} {
		_, err := New(tc.ch, env, nil)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: err %v, want %q", tc.ch.Settings, err, tc.want)
		}
		notifytest.NoSecrets(t, []string{secretPath}, notifytest.Err(err))
	}
}

var _ notify.Notifier = (*Channel)(nil)
