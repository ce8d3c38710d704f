package remotewrite

import (
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/vigil-metrics/vigil/internal/noredirect/noredirecttest"
	"github.com/vigil-metrics/vigil/internal/secret"
	"github.com/vigil-metrics/vigil/internal/sources"
	"github.com/vigil-metrics/vigil/internal/store"
)

// A redirect is not followed: the host it points to gets nothing (not the
// samples, not the tenant header or the token), the batch is dropped at
// once as failed (not retried: the URL is wrong, not the receiver busy),
// and the log names the target's host alone, never the rest of the
// location.
func TestRedirectNotFollowed(t *testing.T) {
	var mu sync.Mutex
	var other []string
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		other = append(other, fmt.Sprintf("%s %s %v", r.Method, r.URL, r.Header))
		mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	}))
	defer target.Close()
	targetHost := strings.TrimPrefix(target.URL, "http://")
	t.Setenv("VIGIL_TEST_RW_TOKEN", "rw-secret-1")
	for _, code := range []int{http.StatusTemporaryRedirect, http.StatusFound, http.StatusPermanentRedirect} {
		for _, proto := range []string{ProtocolV1, ProtocolAuto} {
			hits := 0
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				mu.Lock()
				hits++
				mu.Unlock()
				w.Header().Set("Location", target.URL+"/api/v1/write?token=loc-secret-2")
				w.WriteHeader(code)
				fmt.Fprint(w, "moved; token=body-secret-3")
			}))
			rt, err := sources.RoundTripper(srv.URL, sources.Config{BearerTokenEnv: "VIGIL_TEST_RW_TOKEN", Headers: map[string]string{"X-Scope-OrgID": "team-a"}})
			if err != nil {
				t.Fatal(err)
			}
			var logs syncBuffer
			w := start(t, Options{URL: srv.URL + "/api/v1/write", Protocol: proto, Transport: rt,
				Logger: slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})
			w.Enqueue([]store.Sample{gauge("g", 1000, 1), gauge("g", 2000, 2)})
			waitFor(t, "the batch failed or sent", func() bool {
				st := w.Stats()
				return (st.Failed == 2 && strings.Contains(logs.String(), "dropped")) || st.Sent > 0
			})
			st, out := w.Stats(), logs.String()
			if st.Retries != 0 || st.Sent != 0 {
				t.Errorf("%d %s: retries %d, sent %d; want 0, 0", code, proto, st.Retries, st.Sent)
			}
			want := fmt.Sprintf("HTTP %d redirects to %s; redirects are not followed", code, targetHost)
			if !strings.Contains(out, "remote write batch dropped") || !strings.Contains(out, want) {
				t.Errorf("%d %s: want a dropped batch saying %q:\n%s", code, proto, want, out)
			}
			if strings.Contains(out, "secret") {
				t.Errorf("%d %s: a secret in the logs:\n%s", code, proto, out)
			}
			mu.Lock()
			if len(other) != 0 {
				t.Errorf("%d %s: the other host got %q", code, proto, other)
			}
			other = nil
			mu.Unlock()
			srv.Close()
		}
	}
}

// A receiver's answer is read no further than maxAnswer: a hostile one
// sending megabytes with its 400 takes neither the memory nor the log.
func TestAnswerBounded(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusBadRequest)
		for range 256 { // 16 MiB
			if _, err := w.Write([]byte(strings.Repeat("x", 64<<10))); err != nil {
				return
			}
		}
	}))
	defer srv.Close()
	var logs syncBuffer
	w := start(t, Options{URL: srv.URL, Protocol: ProtocolV1, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	w.Enqueue([]store.Sample{gauge("g", 1000, 1)})
	waitFor(t, "the batch dropped", func() bool { return strings.Contains(logs.String(), "remote write batch dropped") })
	if out := logs.String(); len(out) > 2*maxAnswer {
		t.Errorf("a log of %d bytes for the dropped batch, want one line under %d", len(out), 2*maxAnswer)
	}
}

// A receiver echoing the bearer token where the 16 KiB read cut falls
// inside it leaves no part of it in the log: the answer is scrubbed by
// the writer's Secrets before the cut is quoted (issue 24's hostile
// review saw 14 of 19 bytes of a password there).
func TestEchoedSecretCutAtAnswerLimit(t *testing.T) {
	const tok = "mimirBasicPw_777888"
	for _, pad := range []int{maxAnswer - len(tok) + 1, maxAnswer - 7, maxAnswer - 3} {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(http.StatusBadRequest)
			fmt.Fprint(w, strings.Repeat("a", pad)+tok+" tail")
		}))
		set := secret.New()
		set.Add(tok)
		var logs syncBuffer
		w := start(t, Options{URL: srv.URL, Protocol: ProtocolV1, Secrets: set, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
		w.Enqueue([]store.Sample{gauge("g", 1000, 1)})
		waitFor(t, "the batch dropped", func() bool { return strings.Contains(logs.String(), "remote write batch dropped") })
		out := logs.String()
		for k := secret.MinCut; k <= len(tok); k++ {
			if strings.Contains(out, tok[:k]) {
				t.Errorf("pad %d: %d bytes of the secret in the log", pad, k)
				break
			}
		}
		srv.Close()
	}
}

// A redirect whose Location Go's client cannot parse is dropped at once
// as a redirect, not retried, and the log shows no part of the location:
// the client used to fail on it before refusing the redirect, quoting it
// whole in a recoverable error, retried (issue 24).
func TestRedirectUnparseableLocation(t *testing.T) {
	const loc = "https://sso.example/p%zz?session=SECRET-SESSION-TOKEN"
	for _, code := range []int{http.StatusTemporaryRedirect, http.StatusFound} {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Location", loc)
			w.WriteHeader(code)
		}))
		var logs syncBuffer
		w := start(t, Options{URL: srv.URL + "/api/v1/write", Protocol: ProtocolV1, MaxRetries: 3,
			Logger: slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})
		w.Enqueue([]store.Sample{gauge("g", 1000, 1)})
		waitFor(t, "the batch dropped", func() bool { return strings.Contains(logs.String(), "remote write batch dropped") })
		st, out := w.Stats(), logs.String()
		if st.Retries != 0 || st.Failed != 1 {
			t.Errorf("%d: retries %d, failed %d; want 0, 1", code, st.Retries, st.Failed)
		}
		want := fmt.Sprintf("HTTP %d redirects to an unparseable location; redirects are not followed", code)
		if !strings.Contains(out, want) {
			t.Errorf("%d: want the log to say %q:\n%s", code, want, out)
		}
		for _, part := range []string{"SECRET", "session", "p%zz", "sso.example"} {
			if strings.Contains(out, part) {
				t.Errorf("%d: the log shows %q of the location:\n%s", code, part, out)
			}
		}
		srv.Close()
	}
}

// An answer Go cannot read as HTTP is a batch dropped at once, named for
// what it is and quoting none of it: before, the library retried it as a
// network error for ever, logging the header line with a Location's
// session token (found by the hostile pass).
func TestMalformedAnswer(t *testing.T) {
	url, n := noredirecttest.MalformedServer(t)
	var logs syncBuffer
	w := start(t, Options{URL: url + "/api/v1/write", Protocol: ProtocolV1, MaxRetries: 3,
		Logger: slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	w.Enqueue([]store.Sample{gauge("g", 1000, 1)})
	waitFor(t, "the batch dropped", func() bool { return strings.Contains(logs.String(), "remote write batch dropped") })
	st, out := w.Stats(), logs.String()
	if st.Retries != 0 || st.Failed != 1 || n.Load() != 1 {
		t.Errorf("retries %d, failed %d, %d requests; want 0, 1, 1", st.Retries, st.Failed, n.Load())
	}
	if !strings.Contains(out, "not valid HTTP") || strings.Contains(out, "SESSTOKEN") || strings.Contains(out, "sso.example") {
		t.Errorf("log:\n%s", out)
	}
}
