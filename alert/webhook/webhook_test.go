package webhook

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vigil-metrics/vigil/alert/config"
	"github.com/vigil-metrics/vigil/alert/notify/notifytest"
)

// recorder is a loopback receiver that answers with the statuses in
// answers (the last one repeats) and keeps every request it saw.
type recorder struct {
	mu       sync.Mutex
	answers  []int
	header   http.Header // extra response headers
	requests []recorded
}

type recorded struct {
	method, path string
	header       http.Header
	body         []byte
	at           time.Time
}

func (r *recorder) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(req.Body)
	r.mu.Lock()
	n := len(r.requests)
	r.requests = append(r.requests, recorded{req.Method, req.URL.Path, req.Header.Clone(), body, time.Now()})
	code := r.answers[min(n, len(r.answers)-1)]
	r.mu.Unlock()
	for k, v := range r.header {
		w.Header()[k] = v
	}
	w.WriteHeader(code)
	_, _ = io.WriteString(w, "answer "+http.StatusText(code))
}

func (r *recorder) seen() []recorded {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]recorded(nil), r.requests...)
}

const secretPath = "/services/T000/B000/s3cr3tT0ken"

// start serves r on loopback and returns a sender for it with tiny delays.
func start(t *testing.T, r *recorder, mod func(*config.Channel)) *Sender {
	t.Helper()
	srv := httptest.NewServer(r)
	t.Cleanup(srv.Close)
	ch := config.Channel{
		Name: "ops-hook", Type: "webhook", Enabled: true,
		RetryAttempts: 3, RetryDelay: 10 * time.Millisecond, Timeout: 2 * time.Second,
		Settings: &Config{
			URL:     srv.URL + secretPath + "?token=qu3ry",
			Headers: map[string]string{"X-Api-Key": "k3y"},
		},
	}
	if mod != nil {
		mod(&ch)
	}
	s, err := New(ch, srv.Client())
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return s
}

func testMessage() Message {
	at := time.Date(2025, 3, 1, 12, 0, 30, 0, time.UTC)
	return NewMessage("ops-hook", at, []Alert{{
		Rule: "HighLatency", Severity: "critical", Description: "p99 latency above 500ms",
		Labels: map[string]string{"service": "api", "env": "prod"},
		State:  "firing", Value: 612.5, Threshold: 500,
		StartsAt:    time.Date(2025, 3, 1, 11, 58, 0, 0, time.FixedZone("CET", 3600)),
		Fingerprint: "00000000000000ab",
	}})
}

func decode(t *testing.T, b []byte) any {
	t.Helper()
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("decode %s: %v", b, err)
	}
	return v
}

func TestNotifyRequest(t *testing.T) {
	r := &recorder{answers: []int{200}}
	s := start(t, r, nil)
	retry, err := s.Notify(context.Background(), testMessage())
	if err != nil || retry {
		t.Fatalf("Notify = %v, %v; want false, nil", retry, err)
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
	// StartsAt was 11:58 CET: the payload carries it in UTC.
	want := `{
	  "receiver": "ops-hook",
	  "status": "firing",
	  "alerts": [{
	    "status": "firing",
	    "labels": {"alertname": "HighLatency", "severity": "critical", "service": "api", "env": "prod"},
	    "annotations": {"description": "p99 latency above 500ms", "value": "612.5", "threshold": "500"},
	    "startsAt": "2025-03-01T10:58:00Z",
	    "endsAt": "0001-01-01T00:00:00Z",
	    "generatorURL": "",
	    "fingerprint": "00000000000000ab"
	  }],
	  "groupLabels": {},
	  "commonLabels": {"alertname": "HighLatency", "severity": "critical", "service": "api", "env": "prod"},
	  "commonAnnotations": {"description": "p99 latency above 500ms", "value": "612.5", "threshold": "500"},
	  "externalURL": "",
	  "version": "4",
	  "groupKey": "{}:{alertname=\"HighLatency\",env=\"prod\",service=\"api\",severity=\"critical\"}",
	  "truncatedAlerts": 0,
	  "vigil": {"at": "2025-03-01T12:00:30Z", "states": {"00000000000000ab": "firing"}}
	}`
	if g, w := decode(t, got.body), decode(t, []byte(want)); !reflect.DeepEqual(g, w) {
		t.Errorf("body:\ngot  %s\nwant %s", got.body, want)
	}
}

func TestNewMessageResolvedAndCommon(t *testing.T) {
	at := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	m := NewMessage("r", at, []Alert{
		{Rule: "Down", Severity: "high", Labels: map[string]string{"host": "a", "dc": "x"}, State: "resolved",
			Value: 1, Threshold: 0, StartsAt: at.Add(-time.Hour), EndsAt: at, Fingerprint: "1"},
		{Rule: "Down", Severity: "high", Labels: map[string]string{"host": "b", "dc": "x"}, State: "resolved",
			Value: 2, Threshold: 0, StartsAt: at.Add(-time.Hour), EndsAt: at, Fingerprint: "2"},
	})
	if m.Status != "resolved" {
		t.Errorf("status = %q, want resolved", m.Status)
	}
	wantCommon := map[string]string{"alertname": "Down", "severity": "high", "dc": "x"}
	if !reflect.DeepEqual(m.CommonLabels, wantCommon) {
		t.Errorf("commonLabels = %v, want %v", m.CommonLabels, wantCommon)
	}
	if want := map[string]string{"threshold": "0"}; !reflect.DeepEqual(m.CommonAnnotations, want) {
		t.Errorf("commonAnnotations = %v, want %v", m.CommonAnnotations, want)
	}
	// nodata is not a recovery: the group stays firing.
	m = NewMessage("r", at, []Alert{{Rule: "Down", State: "nodata", Fingerprint: "1"}})
	if m.Status != "firing" || m.Alerts[0].Status != "firing" || m.Vigil.States["1"] != "nodata" {
		t.Errorf("nodata: status %q/%q, vigil state %q", m.Status, m.Alerts[0].Status, m.Vigil.States["1"])
	}
}

func TestNotifyRetriesThenSucceeds(t *testing.T) {
	r := &recorder{answers: []int{503, 503, 200}}
	s := start(t, r, nil)
	retry, err := s.Notify(context.Background(), testMessage())
	if err != nil || retry {
		t.Fatalf("Notify = %v, %v; want false, nil", retry, err)
	}
	reqs := r.seen()
	if len(reqs) != 3 {
		t.Fatalf("got %d requests, want 3", len(reqs))
	}
	// Exponential: 10ms then 20ms.
	if d := reqs[2].at.Sub(reqs[1].at); d < 20*time.Millisecond {
		t.Errorf("second delay %v, want >= 20ms", d)
	}
	if d := reqs[1].at.Sub(reqs[0].at); d < 10*time.Millisecond {
		t.Errorf("first delay %v, want >= 10ms", d)
	}
	if string(reqs[2].body) != string(reqs[0].body) {
		t.Errorf("retried body differs")
	}
}

func TestNotifyPermanent(t *testing.T) {
	r := &recorder{answers: []int{400}}
	s := start(t, r, nil)
	retry, err := s.Notify(context.Background(), testMessage())
	if err == nil || retry {
		t.Fatalf("Notify = %v, %v; want false and an error", retry, err)
	}
	if n := len(r.seen()); n != 1 {
		t.Errorf("got %d requests, want 1", n)
	}
	var se *StatusError
	if !errors.As(err, &se) || se.Code != 400 {
		t.Errorf("err = %v, want a StatusError with code 400", err)
	}
	assertRedacted(t, err)
}

func TestNotifyRetryAfter(t *testing.T) {
	r := &recorder{answers: []int{429, 200}, header: http.Header{"Retry-After": {"1"}}}
	s := start(t, r, nil)
	retry, err := s.Notify(context.Background(), testMessage())
	if err != nil || retry {
		t.Fatalf("Notify = %v, %v; want false, nil", retry, err)
	}
	reqs := r.seen()
	if len(reqs) != 2 {
		t.Fatalf("got %d requests, want 2", len(reqs))
	}
	if d := reqs[1].at.Sub(reqs[0].at); d < 900*time.Millisecond || d > 5*time.Second {
		t.Errorf("waited %v after 429 with Retry-After: 1, want about 1s", d)
	}
}

func TestNotifyExhausted(t *testing.T) {
	r := &recorder{answers: []int{500}}
	s := start(t, r, nil)
	retry, err := s.Notify(context.Background(), testMessage())
	if err == nil || !retry {
		t.Fatalf("Notify = %v, %v; want true and an error", retry, err)
	}
	if n := len(r.seen()); n != 3 {
		t.Errorf("got %d requests, want 3", n)
	}
	if !strings.Contains(err.Error(), "500") {
		t.Errorf("err %q does not say 500", err)
	}
	assertRedacted(t, err)
}

func TestNotifyNetworkError(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	u := srv.URL
	srv.Close() // nothing listens there now
	s, err := New(config.Channel{Name: "gone", Type: "webhook", RetryAttempts: 2, RetryDelay: time.Millisecond,
		Settings: &Config{URL: "http://user:pa55@" + strings.TrimPrefix(u, "http://") + secretPath + "?token=qu3ry"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	retry, err := s.Notify(context.Background(), testMessage())
	if err == nil || !retry {
		t.Fatalf("Notify = %v, %v; want true and an error", retry, err)
	}
	assertRedacted(t, err)
}

func TestNotifyContextCancelled(t *testing.T) {
	r := &recorder{answers: []int{503}}
	s := start(t, r, func(c *config.Channel) { c.RetryAttempts = 10; c.RetryDelay = time.Hour })
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		// Cancel once the first attempt has been answered, during the wait.
		for len(r.seen()) == 0 {
			time.Sleep(time.Millisecond)
		}
		cancel()
	}()
	began := time.Now()
	retry, err := s.Notify(ctx, testMessage())
	if err == nil || !retry || !errors.Is(err, context.Canceled) {
		t.Fatalf("Notify = %v, %v; want true and context.Canceled", retry, err)
	}
	if d := time.Since(began); d > 10*time.Second {
		t.Errorf("Notify took %v after cancel", d)
	}
	if n := len(r.seen()); n != 1 {
		t.Errorf("got %d requests, want 1", n)
	}
	assertRedacted(t, err)
}

func assertRedacted(t *testing.T, err error) {
	t.Helper()
	for _, secret := range []string{"s3cr3tT0ken", "services", "qu3ry", "pa55", "k3y"} {
		if strings.Contains(err.Error(), secret) {
			t.Errorf("error %q contains %q", err, secret)
		}
	}
}

func TestNew(t *testing.T) {
	ok := config.Channel{Name: "h", Type: "webhook", Settings: &Config{URL: "https://example.com/x"}}
	s, err := New(ok, nil)
	if err != nil {
		t.Fatal(err)
	}
	if s.timeout != DefaultTimeout || s.attempts != DefaultRetryAttempts || s.delay != DefaultRetryDelay {
		t.Errorf("defaults: timeout %v attempts %d delay %v", s.timeout, s.attempts, s.delay)
	}
	// An explicit retry_attempts: 0 means a single try.
	zero := ok
	zero.RetryAttemptsSet = true
	if s, err := New(zero, nil); err != nil || s.attempts != 1 {
		t.Errorf("retry_attempts 0: attempts %d, err %v", s.attempts, err)
	}
	// (A header value that is not a string is refused by the config:
	// TestConfigRefuses.)
	for name, settings := range map[string]*Config{
		"missing url": {},
		"ftp":         {URL: "ftp://example.com/s3cr3tT0ken"},
		"no host":     {URL: "http:///s3cr3tT0ken"},
		"bad header":  {URL: "https://example.com/", Headers: map[string]string{"Bad Name": "k3y"}},
	} {
		c := ok
		c.Settings = settings
		_, err := New(c, nil)
		if err == nil {
			t.Errorf("%s: New accepted %v", name, settings)
			continue
		}
		assertRedacted(t, err)
	}
	if _, err := New(config.Channel{Name: "e", Type: "email"}, nil); err == nil {
		t.Error("New accepted an email channel")
	}
}

// The shared secrets check: a refused notification's error and every
// attempt's error show the URL's host only, never its secret path or the
// header's token.
func TestChannelNoSecrets(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "bad", http.StatusBadRequest)
	}))
	defer srv.Close()
	ch := config.Channel{Name: "ops", Type: "webhook", Settings: &Config{
		URL: srv.URL + "/hooks/T0KEN-path", Headers: map[string]string{"Authorization": "Bearer s3cret-token"}}}
	s, err := New(ch, nil)
	if err != nil {
		t.Fatal(err)
	}
	n := notifytest.Firing(ch)
	var texts []string
	n.Attempt = func(_, _ int, err error) { texts = append(texts, notifytest.Err(err)) }
	retry, err := Channel{S: s}.Notify(context.Background(), n)
	if err == nil || retry {
		t.Fatalf("400: want a permanent error, got retry %v, %v", retry, err)
	}
	notifytest.NoSecrets(t, []string{"T0KEN-path", "s3cret-token"}, append(texts, err.Error())...)
}

// A resolved notice carries no ack command: there is nothing left to
// acknowledge (channels.md; h30 D18). A firing one keeps it.
func TestPayloadResolvedHasNoAckCommand(t *testing.T) {
	at := time.Date(2026, 12, 1, 0, 9, 0, 0, time.UTC)
	for _, c := range []struct {
		status, state string
		want          bool
	}{{"firing", "firing", true}, {"resolved", "resolved", false}, {"resolved", "nodata", false}} {
		a := Alert{Rule: "high_cpu", Status: c.status, State: c.state, Fingerprint: "f372fee676ae0d86",
			Readable: Readable{AckCommand: "vigil alerts ack f372fee676ae0d86"}}
		b, err := json.Marshal(NewPayload(at, []Alert{a}))
		if err != nil {
			t.Fatal(err)
		}
		if got := strings.Contains(string(b), `"ack_command"`); got != c.want {
			t.Errorf("%s/%s: ack_command present %v, want %v: %s", c.status, c.state, got, c.want, b)
		}
		m := NewMessage("hook", at, []Alert{a})
		if _, got := m.Alerts[0].Annotations["vigil_ack_command"]; got {
			t.Errorf("%s: alertmanager format carries vigil_ack_command", c.status)
		}
	}
}
