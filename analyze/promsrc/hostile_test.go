package promsrc

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/vigil-metrics/vigil/internal/noredirect/noredirecttest"
	"github.com/vigil-metrics/vigil/internal/sources"
	"github.com/vigil-metrics/vigil/internal/store"
)

// Answers a well-behaved server gives, per endpoint: the hostile server
// below answers these everywhere but on the endpoint under test.
const (
	goodMetadata = `{"status":"success","data":{}}`
	goodMatrix   = `{"status":"success","data":{"resultType":"matrix","result":[{"metric":{"__name__":"up","job":"a"},"values":[[30,"1"],[45,"2"]]}]}}`
	goodVector   = `{"status":"success","data":{"resultType":"vector","result":[{"metric":{"job":"a"},"value":[60,"2"]}]}}`
	goodSeries   = `{"status":"success","data":[{"__name__":"up","job":"a"}]}`
	goodLabels   = `{"status":"success","data":["__name__","job"]}`
)

// htmlPage is a proxy's error page, longer than any message should quote.
var htmlPage = "<html><head><title>502 Bad Gateway</title></head><body><h1>Bad Gateway</h1>" + strings.Repeat("<p>upstream went away</p>", 400) + "</body></html>"

// malformed are the shapes a broken or hostile server may send with a 200,
// each with the words of the server the error must carry (empty: the
// answer had none).
var malformed = []struct {
	name, body, words string
	any               bool // wrong on every endpoint, not only as a query's answer
}{
	{"empty object", `{}`, `{}`, true},
	{"data null", `{"status":"success","data":null}`, `"data":null`, true},
	{"data missing", `{"status":"success"}`, `{"status":"success"}`, true},
	{"status missing", `{"data":{"resultType":"matrix","result":[]}}`, `{"data":`, false},
	{"status unknown", `{"status":"ok","data":{"resultType":"matrix","result":[]}}`, `"status":"ok"`, false},
	{"status error without text", `{"status":"error"}`, `{"status":"error"}`, true},
	{"status error with text", `{"status":"error","errorType":"execution","error":"boom at the back end"}`, `boom at the back end`, true},
	{"wrong result type", `{"status":"success","data":{"resultType":"string","result":[1,"x"]}}`, `"resultType":"string"`, false},
	{"no result type", `{"status":"success","data":{"result":[]}}`, `{"result":[]}`, false},
	{"data an array", `{"status":"success","data":[]}`, `"data":[]`, false},
	{"result not an array", `{"status":"success","data":{"resultType":"matrix","result":{}}}`, `"result":{}`, false},
	{"result null entries", `{"status":"success","data":{"resultType":"matrix","result":[null]}}`, `[null]`, false},
	{"vector null entries", `{"status":"success","data":{"resultType":"vector","result":[null]}}`, `[null]`, false},
	{"values not pairs", `{"status":"success","data":{"resultType":"matrix","result":[{"metric":{},"values":[[1]]}]}}`, `"values":[[1]]`, false},
	{"values flat", `{"status":"success","data":{"resultType":"matrix","result":[{"metric":{},"values":[1,2]}]}}`, `"values":[1,2]`, false},
	{"string timestamp", `{"status":"success","data":{"resultType":"matrix","result":[{"metric":{},"values":[["a","1"]]}]}}`, `"values":[["a","1"]]`, false},
	{"number value", `{"status":"success","data":{"resultType":"matrix","result":[{"metric":{},"values":[[1,{}]]}]}}`, `[[1,{}]]`, false},
	{"label value a number", `{"status":"success","data":{"resultType":"matrix","result":[{"metric":{"job":1},"values":[]}]}}`, `"job":1`, false},
	{"html page", htmlPage, `<html><head><title>502 Bad Gateway`, true},
	{"truncated", `{"status":"success","data":{"resultType":"matrix","result":[{"metric":{},"values":[[1,"1"]`, `[[1,"1"]`, false},
	{"empty body", ``, ``, true},
	{"trailing garbage", goodMatrix + `xyz`, `xyz`, false},
}

// hostileServer answers the endpoint named by path with body (status 200)
// and the others as a well-behaved server does.
func hostileServer(t *testing.T, path, body string) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if r.URL.Path == path {
			fmt.Fprint(w, body)
			return
		}
		switch r.URL.Path {
		case "/api/v1/metadata":
			fmt.Fprint(w, goodMetadata)
		case "/api/v1/series":
			fmt.Fprint(w, goodSeries)
		case "/api/v1/labels":
			fmt.Fprint(w, goodLabels)
		case "/api/v1/query":
			if strings.HasPrefix(r.FormValue("query"), "up{}[") {
				fmt.Fprint(w, goodMatrix)
			} else {
				fmt.Fprint(w, goodVector)
			}
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	return srv
}

// noPanic runs f, turning a panic into a test failure.
func noPanic(t *testing.T, what string, f func() error) (err error) {
	t.Helper()
	defer func() {
		if p := recover(); p != nil {
			t.Errorf("%s panicked: %v", what, p)
			err = fmt.Errorf("panic")
		}
	}()
	return f()
}

// Every malformed shape, on every endpoint the client reads, is an error
// naming the source and carrying the server's words (cut short), never a
// panic and never numbers.
func TestMalformedAnswers(t *testing.T) {
	ctx := context.Background()
	calls := []struct {
		path, what string
		call       func(*Client) error
	}{
		{"/api/v1/query", "raw gauge", func(c *Client) error {
			return c.Raw(ctx, "up", Selector("up", nil), store.Gauge, 0, 60_000, func(ss []Series) error {
				return fmt.Errorf("numbers passed on: %v", ss)
			})
		}},
		{"/api/v1/query", "raw counter", func(c *Client) error {
			return c.Raw(ctx, "up", Selector("up", nil), store.Counter, 0, 60_000, func(ss []Series) error {
				return fmt.Errorf("numbers passed on: %v", ss)
			})
		}},
		{"/api/v1/query", "over", func(c *Client) error {
			v, err := c.Over(ctx, "count_over_time", "up", Selector("up", nil), 60_000, 60_000)
			if err == nil {
				return fmt.Errorf("numbers passed on: %v", v)
			}
			return err
		}},
		{"/api/v1/series", "series", func(c *Client) error {
			v, err := c.SeriesBefore(ctx, "up", Selector("up", nil), 0, 60_000)
			if err == nil {
				return fmt.Errorf("series passed on: %v", v)
			}
			return err
		}},
		{"/api/v1/labels", "labels", func(c *Client) error {
			v, err := c.LabelNames(ctx, "up")
			if err == nil {
				return fmt.Errorf("labels passed on: %v", v)
			}
			return err
		}},
		{"/api/v1/metadata", "metadata", func(c *Client) error {
			v, err := c.Type(ctx, "up")
			if err == nil {
				return fmt.Errorf("type passed on: %v", v)
			}
			return err
		}},
	}
	for _, call := range calls {
		for _, m := range malformed {
			if call.path != "/api/v1/query" && !m.any {
				continue // a query's shapes: TestMalformedListAnswers has the others'
			}
			t.Run(call.what+"/"+m.name, func(t *testing.T) {
				srv := hostileServer(t, call.path, m.body)
				c, err := New(srv.URL, Config{}, 5*time.Second)
				if err != nil {
					t.Fatal(err)
				}
				err = noPanic(t, call.what, func() error { return call.call(c) })
				switch {
				case err == nil:
					t.Fatal("no error")
				case strings.Contains(err.Error(), "passed on"):
					t.Fatal(err)
				case !strings.Contains(err.Error(), "source "+srv.URL+":"):
					t.Errorf("the source is not named: %v", err)
				case !strings.Contains(err.Error(), m.words):
					t.Errorf("the server's words %s are not in: %v", m.words, err)
				case len(err.Error()) > 700:
					t.Errorf("the message is %d bytes long: %v", len(err.Error()), err)
				}
			})
		}
	}
}

// A shape per endpoint that is not a query result but is still wrong.
func TestMalformedListAnswers(t *testing.T) {
	ctx := context.Background()
	for _, c := range []struct{ path, body, words string }{
		{"/api/v1/series", `{"status":"success","data":{}}`, `"data":{}`},
		{"/api/v1/series", `{"status":"success","data":[{"job":1}]}`, `"job":1`},
		{"/api/v1/series", `{"status":"success","data":["up"]}`, `["up"]`},
		{"/api/v1/labels", `{"status":"success","data":{}}`, `"data":{}`},
		{"/api/v1/labels", `{"status":"success","data":[1,2]}`, `[1,2]`},
		{"/api/v1/metadata", `{"status":"success","data":[]}`, `"data":[]`},
		{"/api/v1/metadata", `{"status":"success","data":{"up":{"type":"counter"}}}`, `"type":"counter"`},
	} {
		t.Run(c.path+" "+c.body, func(t *testing.T) {
			srv := hostileServer(t, c.path, c.body)
			cl, err := New(srv.URL, Config{}, 5*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			err = noPanic(t, c.path, func() error {
				var err error
				switch c.path {
				case "/api/v1/series":
					_, err = cl.SeriesBefore(ctx, "up", Selector("up", nil), 0, 60_000)
				case "/api/v1/labels":
					_, err = cl.LabelNames(ctx, "up")
				case "/api/v1/metadata":
					_, err = cl.Type(ctx, "up")
				}
				return err
			})
			if err == nil || !strings.Contains(err.Error(), "source "+srv.URL+":") || !strings.Contains(err.Error(), c.words) {
				t.Errorf("error %v, want the source and %s", err, c.words)
			}
		})
	}
}

// A redirect is not followed: the host it points to hears nothing (no
// headers, no credentials, no Referer), and the error names that host
// alone, never the rest of the location (a token in its query here).
func TestRedirectNotFollowed(t *testing.T) {
	var other []http.Header
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		other = append(other, r.Header.Clone())
		fmt.Fprint(w, goodMetadata)
	}))
	defer target.Close()
	targetHost := strings.TrimPrefix(target.URL, "http://")
	t.Setenv("VIGIL_TEST_TOKEN", "tok-secret-1")
	for _, code := range []int{http.StatusTemporaryRedirect, http.StatusFound, http.StatusPermanentRedirect, http.StatusMovedPermanently} {
		other = nil
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Location", target.URL+r.URL.Path+"?token=loc-secret-2")
			w.WriteHeader(code)
		}))
		c, err := New(srv.URL, Config{BearerTokenEnv: "VIGIL_TEST_TOKEN", Headers: map[string]string{"X-Scope-OrgID": "team-a"}}, 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		_, err = c.Type(context.Background(), "up")
		want := fmt.Sprintf("source %s: read metadata of up: HTTP %d redirects to %s; redirects are not followed", srv.URL, code, targetHost)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%d: error %v, want %q", code, err, want)
		}
		if err != nil && (strings.Contains(err.Error(), "secret") || strings.Contains(err.Error(), "/api/v1")) {
			t.Errorf("%d: the error shows more of the location than its host: %v", code, err)
		}
		err = c.Raw(context.Background(), "up", Selector("up", nil), store.Gauge, 0, 60_000, func([]Series) error { return nil })
		if err == nil || !strings.Contains(err.Error(), "redirects to "+targetHost) {
			t.Errorf("%d: raw: %v", code, err)
		}
		if len(other) != 0 {
			t.Errorf("%d: the other host got %d requests: %v", code, len(other), other)
		}
		srv.Close()
	}
}

// An answer over max_response_bytes is an error naming the source, the
// limit and the setting, and is read no further: the server, sending
// 256 MiB, gets to write little more than the limit and the socket
// buffers hold before the connection is dropped. With a Content-Length
// over the limit nothing of the body is read.
func TestAnswerOverLimit(t *testing.T) {
	const total = 256 << 20
	for _, announce := range []bool{false, true} {
		written := make(chan int64, 1)
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path != "/api/v1/query" {
				fmt.Fprint(w, goodMetadata)
				return
			}
			if announce {
				w.Header().Set("Content-Length", fmt.Sprint(total))
			}
			w.Header().Set("Content-Type", "application/json")
			n := int64(0)
			chunk := []byte(`{"status":"success","data":{"resultType":"matrix","result":[` + strings.Repeat(" ", 64<<10-63))
			for n < total {
				m, err := w.Write(chunk)
				n += int64(m)
				if err != nil {
					break
				}
				w.(http.Flusher).Flush()
				chunk = bytes.Repeat([]byte(" "), 64<<10)
			}
			written <- n
		}))
		c, err := New(srv.URL, Config{MaxResponseBytes: 1 << 20}, 30*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		err = c.Raw(context.Background(), "up", Selector("up", nil), store.Gauge, 0, 60_000, func([]Series) error { return nil })
		want := fmt.Sprintf("source %s: read up over (1970-01-01T00:00:00Z, 1970-01-01T00:01:00Z]: the answer is larger than 1 MiB, this source's max_response_bytes", srv.URL)
		if err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), "raise max_response_bytes for this source in the config's sources: section") {
			t.Errorf("announce %v: error %v, want %q", announce, err, want)
		}
		select {
		case n := <-written:
			if n > 32<<20 {
				t.Errorf("announce %v: the server wrote %d MiB of the answer: read past the limit", announce, n>>20)
			}
		case <-time.After(20 * time.Second):
			t.Errorf("announce %v: the server is still writing: the answer is being read past the limit", announce)
		}
		srv.CloseClientConnections()
		srv.Close()
	}
}

// A server that echoes the source's bearer token in a malformed answer,
// placed where the quote's cut falls inside it, shows no part of it: the
// client scrubs its own credentials before it cuts (issue 24's hostile
// review saw 18 of 19 bytes of a password, where the edge's scrubbing of
// whole secrets could no longer match).
func TestEchoedSecretCutInWords(t *testing.T) {
	const tok = "mimirBearerTok_777888"
	t.Setenv("VIGIL_TEST_SRC_TOKEN", tok)
	for pad := wordsBytes - len(tok) + 1; pad < wordsBytes; pad += 2 {
		srv := hostileServer(t, "/api/v1/labels", strings.Repeat("a", pad)+tok+" tail")
		c, err := New(srv.URL, Config{BearerTokenEnv: "VIGIL_TEST_SRC_TOKEN"}, time.Second)
		if err != nil {
			t.Fatal(err)
		}
		_, err = c.LabelNames(context.Background(), "up")
		if err == nil {
			t.Fatalf("pad %d: a non-JSON answer read as labels", pad)
		}
		for k := 3; k <= len(tok); k++ {
			if strings.Contains(err.Error(), tok[:k]) {
				t.Errorf("pad %d: %d bytes of the token in %q", pad, k, err)
				break
			}
		}
	}
}

// A redirect whose Location Go's client cannot parse is the same error,
// saying so and showing no part of the location: the client used to fail
// on it before refusing the redirect, quoting it whole (issue 24).
func TestRedirectUnparseableLocation(t *testing.T) {
	const loc = "https://sso.example/p%zz?session=SECRET-SESSION-TOKEN"
	hits := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits++
		w.Header().Set("Location", loc)
		w.WriteHeader(http.StatusFound)
	}))
	defer srv.Close()
	c, err := New(srv.URL, Config{}, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Type(context.Background(), "up")
	want := fmt.Sprintf("source %s: read metadata of up: HTTP 302 redirects to an unparseable location; redirects are not followed", srv.URL)
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("error %v, want %q", err, want)
	}
	for _, part := range []string{"SECRET", "session", "p%zz", "sso.example"} {
		if err != nil && strings.Contains(err.Error(), part) {
			t.Errorf("the error shows %q of the location: %v", part, err)
		}
	}
	if hits != 1 {
		t.Errorf("%d requests, want 1", hits)
	}
}

// A limit near the int64 maximum reads an answer, never overflowing
// (limit+1 made a negative capacity: makeslice panicked in query and
// evaluate, issue 24's hostile review), whether the answer announces its
// length or not.
func TestReadLimitedHugeLimit(t *testing.T) {
	for _, max := range []sources.ByteSize{math.MaxInt64, math.MaxInt64 - 1, 1 << 62} {
		for _, cl := range []int64{-1, 5} {
			resp := &http.Response{ContentLength: cl, Body: io.NopCloser(strings.NewReader("hello"))}
			b, err := readLimited(resp, max)
			if err != nil || string(b) != "hello" {
				t.Errorf("max %d, length %d: %q, %v", max, cl, b, err)
			}
		}
	}
}

// An answer Go cannot read as HTTP (a control character in a redirect's
// Location) is an error that quotes none of it (found by the hostile
// pass: Go's error carried the whole Location, a session token included).
func TestMalformedAnswer(t *testing.T) {
	url, _ := noredirecttest.MalformedServer(t)
	c, err := New(url, Config{}, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Type(context.Background(), "up")
	if err == nil || !strings.Contains(err.Error(), "not valid HTTP") {
		t.Fatalf("error %v, want it to say the answer is not valid HTTP", err)
	}
	for _, part := range []string{"SESSTOKEN", "session", "sso.example"} {
		if strings.Contains(err.Error(), part) {
			t.Errorf("the error shows %q of the location: %v", part, err)
		}
	}
}
