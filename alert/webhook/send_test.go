package webhook

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/vigil-metrics/vigil/alert/config"
)

var sendAt = time.Date(2025, 3, 1, 12, 0, 30, 0, time.UTC)

// latency is the alert of testdata/vigil_payload.json; its StartsAt is
// 11:58 CET, 10:58 UTC.
func latency() Alert {
	return Alert{
		Rule: "HighLatency", Severity: "critical", Description: "p99 latency above 500ms",
		Labels: map[string]string{"service": "api", "env": "prod"},
		State:  "firing", Value: 612.5, Threshold: 500,
		StartsAt:       time.Date(2025, 3, 1, 11, 58, 0, 0, time.FixedZone("CET", 3600)),
		Fingerprint:    "00000000000000ab",
		EscalationStep: 1,
	}
}

// incident is the two alerts of testdata/vigil_incident.json and
// testdata/alertmanager_v4.json.
func incident() []Alert {
	a := latency()
	a.EscalationStep, a.Incident = 2, "inc-42"
	b := Alert{
		Rule: "ErrorRate", Severity: "high", Description: "5xx ratio above 5%",
		Labels: map[string]string{"service": "api"},
		State:  "resolved", Value: math.NaN(), Threshold: 0.05,
		StartsAt:       time.Date(2025, 3, 1, 11, 0, 0, 0, time.UTC),
		EndsAt:         time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC),
		Fingerprint:    "00000000000000cd",
		EscalationStep: 2, Incident: "inc-42",
	}
	return []Alert{a, b}
}

// sendOne sends alerts through a sender built with mod and returns the
// one request the receiver saw.
func sendOne(t *testing.T, mod func(*config.Channel), alerts []Alert) recorded {
	t.Helper()
	r := &recorder{answers: []int{204}}
	s := start(t, r, mod)
	retry, err := s.Send(context.Background(), sendAt, alerts)
	if err != nil || retry {
		t.Fatalf("Send = %v, %v; want false, nil", retry, err)
	}
	reqs := r.seen()
	if len(reqs) != 1 {
		t.Fatalf("got %d requests, want 1", len(reqs))
	}
	got := reqs[0]
	if got.method != http.MethodPost || got.path != secretPath {
		t.Errorf("request = %s %s, want POST %s", got.method, got.path, secretPath)
	}
	for k, want := range map[string]string{"Content-Type": "application/json", "User-Agent": "vigil", "X-Api-Key": "k3y"} {
		if v := got.header.Get(k); v != want {
			t.Errorf("header %s = %q, want %q", k, v, want)
		}
	}
	return got
}

// sameJSON compares body with the fixture after decoding both, so key
// order and spacing do not matter but null, absent and {} do.
func sameJSON(t *testing.T, body []byte, fixture string) {
	t.Helper()
	want, err := os.ReadFile(fixture)
	if err != nil {
		t.Fatal(err)
	}
	if g, w := decode(t, body), decode(t, want); !reflect.DeepEqual(g, w) {
		t.Errorf("body differs from %s:\ngot  %s\nwant %s", fixture, body, want)
	}
}

func TestSendVigilPayload(t *testing.T) {
	got := sendOne(t, nil, []Alert{latency()})
	sameJSON(t, got.body, "testdata/vigil_payload.json")
}

func TestSendVigilExplicitFormat(t *testing.T) {
	got := sendOne(t, func(c *config.Channel) { c.Settings.(*Config).Format = "vigil" }, []Alert{latency()})
	sameJSON(t, got.body, "testdata/vigil_payload.json")
}

func TestSendVigilIncident(t *testing.T) {
	got := sendOne(t, nil, incident())
	sameJSON(t, got.body, "testdata/vigil_incident.json")
}

func TestSendAlertmanager(t *testing.T) {
	mod := func(c *config.Channel) { c.Settings.(*Config).Format = "alertmanager" }
	got := sendOne(t, mod, incident())
	sameJSON(t, got.body, "testdata/alertmanager_v4.json")

	// Send in this format posts what Notify posts for NewMessage.
	r := &recorder{answers: []int{200}}
	s := start(t, r, mod)
	if s.Format() != FormatAlertmanager {
		t.Errorf("Format() = %q", s.Format())
	}
	if _, err := s.Notify(context.Background(), NewMessage(s.Name(), sendAt, incident())); err != nil {
		t.Fatal(err)
	}
	if b := r.seen()[0].body; string(b) != string(got.body) {
		t.Errorf("Notify body differs from Send's:\n%s\n%s", b, got.body)
	}
}

func TestPayloadStatusAndNulls(t *testing.T) {
	for state, status := range map[string]string{
		"firing": "firing", "pending": "firing", "nodata": "firing", "resolved": "resolved", "inactive": "resolved",
	} {
		p := NewPayload(sendAt, []Alert{{Rule: "r", State: state}})
		if p.Status != status || p.State != state {
			t.Errorf("%s: status %q state %q, want %q", state, p.Status, p.State, status)
		}
	}
	// No labels is {}, infinities are null, no incident is left out.
	b, err := json.Marshal(NewPayload(sendAt, []Alert{{Rule: "r", State: "nodata", Value: math.Inf(1), Threshold: math.Inf(-1)}}))
	if err != nil {
		t.Fatal(err)
	}
	m := decode(t, b).(map[string]any)
	if l, ok := m["labels"].(map[string]any); !ok || len(l) != 0 {
		t.Errorf("labels = %v, want {}", m["labels"])
	}
	for _, k := range []string{"metric_value", "threshold", "starts_at", "ends_at"} {
		if v, ok := m[k]; !ok || v != nil {
			t.Errorf("%s = %v (present %v), want null", k, v, ok)
		}
	}
	for _, k := range []string{"incident", "alerts"} {
		if v, ok := m[k]; ok {
			t.Errorf("%s = %v, want it left out", k, v)
		}
	}
	// Number round-trips null as NaN.
	var p Payload
	if err := json.Unmarshal(b, &p); err != nil || !math.IsNaN(float64(p.MetricValue)) {
		t.Errorf("decode: %v, metric_value %v", err, p.MetricValue)
	}
}

func TestSendNoAlerts(t *testing.T) {
	r := &recorder{answers: []int{200}}
	s := start(t, r, nil)
	retry, err := s.Send(context.Background(), sendAt, nil)
	if err == nil || retry {
		t.Errorf("Send(nil) = %v, %v; want false and an error", retry, err)
	}
	if n := len(r.seen()); n != 0 {
		t.Errorf("got %d requests, want 0", n)
	}
}

type attemptCall struct {
	try, status int
	err         error
}

func watch(s *Sender) *[]attemptCall {
	var calls []attemptCall
	s.OnAttempt = func(try, status int, err error) { calls = append(calls, attemptCall{try, status, err}) }
	return &calls
}

func TestOnAttemptRetries(t *testing.T) {
	r := &recorder{answers: []int{500, 500, 200}}
	s := start(t, r, nil)
	calls := watch(s)
	retry, err := s.Send(context.Background(), sendAt, []Alert{latency()})
	if err != nil || retry {
		t.Fatalf("Send = %v, %v; want false, nil", retry, err)
	}
	if len(*calls) != 3 {
		t.Fatalf("OnAttempt called %d times, want 3: %+v", len(*calls), *calls)
	}
	for i, c := range *calls {
		wantStatus := []int{500, 500, 200}[i]
		if c.try != i+1 || c.status != wantStatus {
			t.Errorf("call %d = try %d status %d, want try %d status %d", i, c.try, c.status, i+1, wantStatus)
		}
		if wantStatus == 200 {
			if c.err != nil {
				t.Errorf("call %d err = %v, want nil", i, c.err)
			}
			continue
		}
		var se *StatusError
		if !errors.As(c.err, &se) || se.Code != 500 {
			t.Errorf("call %d err = %v, want a StatusError 500", i, c.err)
		} else {
			assertRedacted(t, c.err)
		}
	}
}

func TestOnAttemptPermanent(t *testing.T) {
	r := &recorder{answers: []int{400}}
	s := start(t, r, nil)
	calls := watch(s)
	retry, err := s.Send(context.Background(), sendAt, []Alert{latency()})
	if err == nil || retry {
		t.Fatalf("Send = %v, %v; want false and an error", retry, err)
	}
	if n := len(r.seen()); n != 1 {
		t.Errorf("got %d requests, want 1", n)
	}
	if len(*calls) != 1 || (*calls)[0].try != 1 || (*calls)[0].status != 400 || (*calls)[0].err == nil {
		t.Fatalf("OnAttempt calls = %+v, want one with try 1, status 400 and an error", *calls)
	}
	assertRedacted(t, (*calls)[0].err)
}

func TestOnAttemptNetworkError(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	u := srv.URL
	srv.Close()
	s, err := New(config.Channel{Name: "gone", Type: "webhook", RetryAttempts: 2, RetryDelay: time.Millisecond,
		Settings: &Config{URL: "http://user:pa55@" + strings.TrimPrefix(u, "http://") + secretPath + "?token=qu3ry"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	calls := watch(s)
	if retry, err := s.Send(context.Background(), sendAt, []Alert{latency()}); err == nil || !retry {
		t.Fatalf("Send = %v, %v; want true and an error", retry, err)
	}
	if len(*calls) != 2 {
		t.Fatalf("OnAttempt called %d times, want 2", len(*calls))
	}
	for i, c := range *calls {
		if c.try != i+1 || c.status != 0 || c.err == nil {
			t.Errorf("call %d = %+v, want try %d, status 0 and an error", i, c, i+1)
			continue
		}
		assertRedacted(t, c.err)
	}
}

func TestNewFormat(t *testing.T) {
	ch := config.Channel{Name: "h", Type: "webhook", Settings: &Config{URL: "https://example.com/x"}}
	s, err := New(ch, nil)
	if err != nil || s.Format() != FormatVigil {
		t.Fatalf("default format: %v, %v", s, err)
	}
	// (An empty or non-string format is refused by the config:
	// TestConfigRefuses.)
	for _, bad := range []string{"slack"} {
		ch.Settings = &Config{URL: "https://example.com/s3cr3tT0ken", Format: bad}
		_, err := New(ch, nil)
		if err == nil || !strings.Contains(err.Error(), "want vigil, alertmanager") {
			t.Errorf("format %#v: err = %v", bad, err)
			continue
		}
		assertRedacted(t, err)
	}
	// Every format config accepts, New accepts.
	for _, f := range Formats {
		ch.Settings = &Config{URL: "https://example.com/x", Format: f}
		if s, err := New(ch, nil); err != nil || s.Format() != f {
			t.Errorf("format %q: %v", f, err)
		}
	}
}
