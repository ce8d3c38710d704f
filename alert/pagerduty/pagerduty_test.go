package pagerduty

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

	"github.com/vigil-metrics/vigil/alert/config"
	"github.com/vigil-metrics/vigil/alert/httpsend/httpsendtest"
	"github.com/vigil-metrics/vigil/alert/notify"
	"github.com/vigil-metrics/vigil/alert/notify/notifytest"
)

const key = "R0UT1NGKEY0123456789abcdefabcdef"

// The fake receiver is httpsendtest's scripted one.
type (
	answer = httpsendtest.Answer
	server = httpsendtest.Server
)

var accepted = answer{Code: 202, Body: `{"status":"success","message":"Event processed","dedup_key":"f372fee676ae0d86"}`}

func env(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

func channel(url string) config.Channel {
	return config.Channel{Name: "pd", Type: "pagerduty", Enabled: true, SendResolved: true,
		RetryDelay: time.Millisecond, RetryAttempts: 3,
		RetryAttemptsSet: true, Settings: &Config{URL: url + "/v2/enqueue"}}
}

// start serves answers and returns a channel sending there.
func start(t *testing.T, answers ...answer) (*Channel, *server) {
	t.Helper()
	s := &server{Answers: answers, Header: map[string]string{"Content-Type": "application/json"}}
	ts := httptest.NewServer(s)
	t.Cleanup(ts.Close)
	c, err := New(channel(ts.URL), env(map[string]string{DefaultRoutingKeyEnv: key}), ts.Client())
	if err != nil {
		t.Fatal(err)
	}
	c.p.MaxRetryAfter = 20 * time.Millisecond
	return c, s
}

var golden = httpsendtest.Golden

func TestTrigger(t *testing.T) {
	c, s := start(t, accepted)
	var tries []int
	n := notifytest.Firing(c.channelConfig())
	n.Attempt = func(try, status int, err error) {
		if err != nil || status != 202 {
			t.Errorf("attempt %d: %d, %v", try, status, err)
		}
		tries = append(tries, try)
	}
	retry, err := c.Notify(context.Background(), n)
	if err != nil || retry {
		t.Fatalf("Notify = %v, %v", retry, err)
	}
	got := s.Requests()
	if len(got) != 1 || len(tries) != 1 || tries[0] != 1 {
		t.Fatalf("%d requests, tries %v; want 1, [1]", len(got), tries)
	}
	r := got[0]
	if r.Method != "POST" || r.Path != "/v2/enqueue" {
		t.Errorf("request %s %s", r.Method, r.Path)
	}
	if ct := r.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type %q", ct)
	}
	if ua := r.Header.Get("User-Agent"); ua != "vigil" {
		t.Errorf("User-Agent %q", ua)
	}
	if want := golden(t, "trigger.json"); !bytes.Equal(r.Body, want) {
		t.Errorf("body\n got %s\nwant %s", r.Body, want)
	}
}

// channelConfig is enough of a channel for notifytest's samples.
func (c *Channel) channelConfig() config.Channel {
	return config.Channel{Name: c.name, Type: "pagerduty"}
}

func TestResolve(t *testing.T) {
	c, s := start(t, accepted)
	retry, err := c.Notify(context.Background(), notifytest.Resolved(c.channelConfig()))
	if err != nil || retry {
		t.Fatalf("Notify = %v, %v", retry, err)
	}
	got := s.Requests()
	if len(got) != 1 {
		t.Fatalf("%d requests", len(got))
	}
	if want := golden(t, "resolve.json"); !bytes.Equal(got[0].Body, want) {
		t.Errorf("body\n got %s\nwant %s", got[0].Body, want)
	}
}

// The alerts of an incident are one event each, deduplicated by their
// fingerprints, grouped by the incident.
func TestIncident(t *testing.T) {
	c, s := start(t, accepted)
	n := notifytest.Firing(c.channelConfig())
	inc := "db/infra/2026-11-29T10:00:30Z"
	n.Alerts[0].Incident = inc
	n.Alerts = append(n.Alerts, notify.Alert{Rule: "disk_full", Severity: "medium", Threshold: 0.9, State: "firing",
		Labels:      map[string]string{"host": "db-02", "instance": "db-02:9100", "team": "infra", "component": "storage"},
		Fingerprint: "00000000000000cd", EscalationStep: -1, Incident: inc})
	var tries []int
	n.Attempt = func(try, _ int, _ error) { tries = append(tries, try) }
	if retry, err := c.Notify(context.Background(), n); err != nil || retry {
		t.Fatalf("Notify = %v, %v", retry, err)
	}
	got := s.Requests()
	var bodies []json.RawMessage
	for _, r := range got {
		bodies = append(bodies, r.Body)
	}
	all, _ := json.Marshal(bodies)
	if want := golden(t, "incident.json"); !bytes.Equal(all, want) {
		t.Errorf("bodies\n got %s\nwant %s", all, want)
	}
	if len(tries) != 2 || tries[0] != 1 || tries[1] != 2 {
		t.Errorf("tries %v, want [1 2]", tries)
	}
}

func TestSeverity(t *testing.T) {
	for in, want := range map[string]string{"critical": "critical", "high": "error", "medium": "warning", "low": "info", "": "error"} {
		if got := Severity(in); got != want {
			t.Errorf("Severity(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestFailures(t *testing.T) {
	invalid := answer{Code: 400, Body: `{"status":"invalid event","message":"Event object is invalid","errors":["Length of 'routing_key' is incorrect (should be 32 characters)","'payload.severity' is invalid"]}`}
	echo := answer{Code: 400, Body: `{"status":"invalid event","message":"bad key ` + key + `"}`}
	unavailable := answer{Code: 503, Body: "try later"}
	limited := answer{Code: 429, Body: `{"status":"throttle event","message":"Requests for this service are arriving too quickly."}`, Header: map[string]string{"Retry-After": "1"}}
	for _, tc := range []struct {
		name     string
		answers  []answer
		retry    bool
		requests int
		statuses []int
		errHas   []string
	}{
		{"invalid event", []answer{invalid}, false, 1, []int{400},
			[]string{`pagerduty "pd"`, "400 Bad Request", "Event object is invalid", "Length of 'routing_key' is incorrect", "'payload.severity' is invalid"}},
		{"key echoed", []answer{echo}, false, 1, []int{400}, []string{"bad key <redacted>"}},
		{"not found", []answer{{Code: 404, Body: "no such page"}}, false, 1, []int{404}, []string{"404 Not Found", `"no such page"`}},
		{"5xx until attempts run out", []answer{unavailable}, true, 3, []int{503, 503, 503},
			[]string{"3 attempts failed", "503 Service Unavailable", `"try later"`}},
		{"5xx then accepted", []answer{unavailable, accepted}, false, 2, []int{503, 202}, nil},
		{"429 then accepted", []answer{limited, accepted}, false, 2, []int{429, 202}, nil},
		{"429 throughout", []answer{limited}, true, 3, []int{429, 429, 429}, []string{"429 Too Many Requests", "arriving too quickly"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, s := start(t, tc.answers...)
			n := notifytest.Firing(c.channelConfig())
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
			if got := len(s.Requests()); got != tc.requests {
				t.Errorf("%d requests, want %d", got, tc.requests)
			}
			if !equal(statuses, tc.statuses) {
				t.Errorf("attempt statuses %v, want %v", statuses, tc.statuses)
			}
			for _, w := range tc.errHas {
				if !strings.Contains(notifytest.Err(err), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
			notifytest.NoSecrets(t, []string{key}, append(texts, notifytest.Err(err))...)
		})
	}
}

func equal(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// A network error is retried; the URL in the error keeps only its host.
func TestNetworkError(t *testing.T) {
	ts := httptest.NewServer(http.NotFoundHandler())
	url := ts.URL
	ts.Close()
	ch := channel(url)
	ch.Settings.(*Config).URL = url + "/v2/enqueue?token=" + key
	c, err := New(ch, env(map[string]string{DefaultRoutingKeyEnv: key}), nil)
	if err != nil {
		t.Fatal(err)
	}
	tries := 0
	n := notifytest.Firing(ch)
	n.Attempt = func(try, status int, err error) {
		tries = try
		if status != 0 || err == nil {
			t.Errorf("attempt %d: %d, %v", try, status, err)
		}
	}
	retry, err := c.Notify(context.Background(), n)
	if err == nil || !retry || tries != 3 {
		t.Fatalf("Notify = %v, %v after %d tries; want retry after 3", retry, err, tries)
	}
	if !strings.Contains(err.Error(), url+"/<redacted>") {
		t.Errorf("error %q: want the redacted URL", err)
	}
	notifytest.NoSecrets(t, []string{key}, err.Error())
}

// A cancelled context stops the retries and is worth a later try.
func TestCancelled(t *testing.T) {
	c, _ := start(t, answer{Code: 500})
	ctx, cancel := context.WithCancel(context.Background())
	n := notifytest.Firing(c.channelConfig())
	n.Attempt = func(int, int, error) { cancel() }
	c.p.Delay = time.Hour
	retry, err := c.Notify(ctx, n)
	if err == nil || !retry || !errors.Is(err, context.Canceled) {
		t.Fatalf("Notify = %v, %v; want retry, context.Canceled", retry, err)
	}
}

// Without a routing key nothing is sent, and a later run may try again.
func TestNoRoutingKey(t *testing.T) {
	s := &server{Answers: []answer{accepted}, Header: map[string]string{"Content-Type": "application/json"}}
	ts := httptest.NewServer(s)
	defer ts.Close()
	ch := channel(ts.URL)
	ch.Settings.(*Config).RoutingKeyEnv = "PD_KEY"
	for _, e := range []map[string]string{{}, {"PD_KEY": ""}, {DefaultRoutingKeyEnv: key}} {
		c, err := New(ch, env(e), nil)
		if err != nil {
			t.Fatal(err)
		}
		retry, err := c.Notify(context.Background(), notifytest.Firing(ch))
		if !retry || !errors.Is(err, ErrNoRoutingKey) || !strings.Contains(err.Error(), "PD_KEY") {
			t.Errorf("env %v: Notify = %v, %v; want retry, ErrNoRoutingKey naming PD_KEY", e, retry, err)
		}
	}
	if len(s.Requests()) != 0 {
		t.Errorf("sent %d requests without a key", len(s.Requests()))
	}
	// routing_key_env is honoured.
	c, err := New(ch, env(map[string]string{"PD_KEY": " " + key + "\n"}), nil)
	if err != nil {
		t.Fatal(err)
	}
	if retry, err := c.Notify(context.Background(), notifytest.Firing(ch)); err != nil || retry {
		t.Fatalf("Notify = %v, %v", retry, err)
	}
	var e Event
	if err := json.Unmarshal(s.Requests()[0].Body, &e); err != nil || e.RoutingKey != key {
		t.Errorf("routing key %q, %v", e.RoutingKey, err)
	}
}

func TestNew(t *testing.T) {
	lookup := env(map[string]string{DefaultRoutingKeyEnv: key})
	c, err := New(config.Channel{Name: "pd", Type: "pagerduty", Settings: &Config{}}, lookup, nil)
	if err != nil || c.url != DefaultURL || c.p.Attempts != DefaultRetryAttempts || c.p.Timeout != DefaultTimeout || c.p.Delay != DefaultRetryDelay {
		t.Fatalf("New: %+v, %v", c, err)
	}
	for _, tc := range []struct {
		ch   config.Channel
		want string
	}{
		{config.Channel{Name: "x", Type: "webhook"}, `channel "x": type "webhook" is not pagerduty`},
		{config.Channel{Name: "x", Type: "pagerduty", Settings: &Config{URL: "ftp://h/secret"}}, `channel "x": url ftp://h/<redacted>: want an http or https URL`},
		{config.Channel{Name: "x", Type: "pagerduty", Settings: &Config{URL: "http:///secret"}}, `channel "x": url <redacted URL> has no host`},
	} {
		_, err := New(tc.ch, lookup, nil)
		if err == nil || err.Error() != tc.want {
			t.Errorf("New(%v) = %v, want %s", tc.ch.Settings, err, tc.want)
		}
	}
}
