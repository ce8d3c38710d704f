package alertmanager

import (
	"bytes"
	"context"
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

// The fake receiver is httpsendtest's scripted one.
type (
	answer = httpsendtest.Answer
	server = httpsendtest.Server
)

const authHeader = "Bearer s3cr3t-t0ken"

func channel(url string) config.Channel {
	return config.Channel{Name: "am", Type: "alertmanager", Enabled: true, SendResolved: true,
		RetryDelay: time.Millisecond, RetryAttempts: 3,
		RetryAttemptsSet: true, Settings: &Config{URL: url, Headers: map[string]string{"Authorization": authHeader}}}
}

func start(t *testing.T, answers ...answer) (*Channel, *server, string) {
	t.Helper()
	s := &server{Answers: answers}
	ts := httptest.NewServer(s)
	t.Cleanup(ts.Close)
	c, err := New(channel(ts.URL+"/am/"), nil, ts.Client())
	if err != nil {
		t.Fatal(err)
	}
	c.p.MaxRetryAfter = 20 * time.Millisecond
	return c, s, ts.URL
}

var golden = httpsendtest.Golden

func TestBodies(t *testing.T) {
	ch := config.Channel{Name: "am", Type: "alertmanager"}
	inc := "db/infra/2026-11-29T10:00:30Z"
	incident := notifytest.Firing(ch)
	incident.Alerts[0].Incident = inc
	incident.Alerts = append(incident.Alerts, notify.Alert{Rule: "disk_full", Severity: "medium", Threshold: 0.9,
		State: "firing", Labels: map[string]string{"host": "db-02", "severity": "page", "alertname": "other"},
		Fingerprint: "00000000000000cd", EscalationStep: -1, Incident: inc})
	for _, tc := range []struct {
		file     string
		n        notify.Notification
		validity time.Duration
	}{
		{"firing.json", notifytest.Firing(ch), DefaultValidity},
		{"resolved.json", notifytest.Resolved(ch), DefaultValidity},
		{"incident.json", incident, 10 * time.Minute},
	} {
		t.Run(tc.file, func(t *testing.T) {
			c, s, _ := start(t, answer{Code: 200})
			c.Validity = tc.validity
			var tries []int
			tc.n.Attempt = func(try, status int, err error) {
				tries = append(tries, try)
				if status != 200 || err != nil {
					t.Errorf("attempt %d: %d, %v", try, status, err)
				}
			}
			if retry, err := c.Notify(context.Background(), tc.n); err != nil || retry {
				t.Fatalf("Notify = %v, %v", retry, err)
			}
			got := s.Requests()
			if len(got) != 1 || len(tries) != 1 {
				t.Fatalf("%d requests, tries %v; want 1", len(got), tries)
			}
			r := got[0]
			if r.Method != "POST" || r.Path != "/am/api/v2/alerts" {
				t.Errorf("request %s %s, want POST /am/api/v2/alerts", r.Method, r.Path)
			}
			for k, want := range map[string]string{"Content-Type": "application/json", "User-Agent": "vigil", "Authorization": authHeader} {
				if v := r.Header.Get(k); v != want {
					t.Errorf("%s: %q, want %q", k, v, want)
				}
			}
			if want := golden(t, tc.file); !bytes.Equal(r.Body, want) {
				t.Errorf("body\n got %s\nwant %s", r.Body, want)
			}
		})
	}
}

// A resolved alert without an end time ends at the run's time, and never
// before it started.
func TestEndsAt(t *testing.T) {
	n := notifytest.Resolved(config.Channel{})
	n.Alerts[0].EndsAt = time.Time{}
	if got := Alerts(n, time.Minute)[0].EndsAt; got != "2026-11-29T10:05:30Z" {
		t.Errorf("endsAt %s, want the run's time", got)
	}
	n.Alerts[0].StartsAt = n.At.Add(time.Hour)
	if got := Alerts(n, time.Minute)[0].EndsAt; got != "2026-11-29T11:05:30Z" {
		t.Errorf("endsAt %s, want startsAt", got)
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
		{"bad request", []answer{{Code: 400, Body: `"start time must be before end time"`}}, false, []int{400},
			[]string{`alertmanager "am"`, `400 Bad Request: "start time must be before end time"`}},
		{"bad request object", []answer{{Code: 422, Body: `{"code":602,"message":"labels in body is required"}`}}, false, []int{422},
			[]string{`422 Unprocessable Entity: "labels in body is required"`}},
		{"5xx throughout", []answer{{Code: 500, Body: "boom"}}, true, []int{500, 500, 500}, []string{"3 attempts failed", "500 Internal Server Error"}},
		{"503 then ok", []answer{{Code: 503}, {Code: 200}}, false, []int{503, 200}, nil},
		{"429 then ok", []answer{{Code: 429, Header: map[string]string{"Retry-After": "3"}}, {Code: 200}}, false, []int{429, 200}, nil},
		{"unauthorized", []answer{{Code: 401, Body: "no"}}, false, []int{401}, []string{"401 Unauthorized"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, _, _ := start(t, tc.answers...)
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
			if len(statuses) != len(tc.statuses) {
				t.Fatalf("statuses %v, want %v", statuses, tc.statuses)
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
			notifytest.NoSecrets(t, []string{authHeader, "s3cr3t"}, append(texts, notifytest.Err(err))...)
		})
	}
}

// Secrets in the URL stay out of errors.
func TestNetworkError(t *testing.T) {
	ts := httptest.NewServer(http.NotFoundHandler())
	base := ts.URL
	ts.Close()
	ch := channel(strings.Replace(base, "http://", "http://user:pw0rd@", 1) + "/?token=tok3n")
	c, err := New(ch, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(c.Endpoint(), "/api/v2/alerts?token=tok3n") {
		t.Errorf("endpoint %s", c.Endpoint())
	}
	retry, err := c.Notify(context.Background(), notifytest.Firing(ch))
	if err == nil || !retry {
		t.Fatalf("Notify = %v, %v; want a retry", retry, err)
	}
	notifytest.NoSecrets(t, []string{"pw0rd", "tok3n", "user", "s3cr3t"}, err.Error())
}

func TestNew(t *testing.T) {
	for _, tc := range []struct {
		ch   config.Channel
		want string
	}{
		{config.Channel{Name: "x", Type: "webhook"}, `channel "x": type "webhook" is not alertmanager`},
		{config.Channel{Name: "x", Type: "alertmanager", Settings: &Config{}}, `channel "x": url is required`},
		{config.Channel{Name: "x", Type: "alertmanager", Settings: &Config{URL: "ftp://h/p"}}, `channel "x": url ftp://h/<redacted>: want an http or https URL`},
		{config.Channel{Name: "x", Type: "alertmanager", Settings: &Config{URL: "http://h", Headers: map[string]string{"Bad Name": "v"}}},
			`channel "x": headers: "Bad Name" is not a valid header name`},
		{config.Channel{Name: "x", Type: "alertmanager", Settings: &Config{URL: "http://h", Headers: map[string]string{"X-Token": "a\nb"}}},
			`channel "x": headers: the value of X-Token contains a line break`},
	} {
		_, err := New(tc.ch, nil, nil)
		if err == nil || err.Error() != tc.want {
			t.Errorf("New(%v) = %v, want %s", tc.ch.Settings, err, tc.want)
		}
	}
	c, err := New(config.Channel{Name: "x", Type: "alertmanager", Settings: &Config{URL: "http://am:9093"}}, nil, nil)
	if err != nil || c.Endpoint() != "http://am:9093/api/v2/alerts" || c.Validity != DefaultValidity || c.p.Attempts != DefaultRetryAttempts {
		t.Errorf("New = %+v, %v", c, err)
	}
}
