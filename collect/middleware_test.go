package collect

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func do(t *testing.T, method, url string) int {
	t.Helper()
	req, _ := http.NewRequest(method, url, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

func TestMiddlewareBoundsLabels(t *testing.T) {
	r, _ := newRecorder(t, Options{})
	mux := http.NewServeMux()
	mux.HandleFunc("GET /users/{id}", func(w http.ResponseWriter, _ *http.Request) { w.Write([]byte("ok")) })
	mux.HandleFunc("/any", func(w http.ResponseWriter, _ *http.Request) {})
	c := http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	srv := httptest.NewServer(r.Middleware(mux, MiddlewareOptions{}))
	defer srv.Close()
	for _, p := range []string{"/wp-admin", "/.env", "/users/1/x"} {
		if got := do(t, "GET", srv.URL+p); got != 404 {
			t.Errorf("%s: %d", p, got)
		}
	}
	if got := do(t, "DELETE", srv.URL+"/users/1"); got != 405 {
		t.Errorf("DELETE: %d", got)
	}
	do(t, "FOO", srv.URL+"/any")
	do(t, "BAR", srv.URL+"/any")
	do(t, "GET", srv.URL+"/users/1")
	// A path ServeMux cleans is redirected: the pattern is the target's.
	req, _ := http.NewRequest("GET", srv.URL+"/users//1", nil)
	if resp, err := c.Do(req); err == nil {
		resp.Body.Close()
	}
	r.Flush(context.Background())
	got := rows(t, r, "SELECT name, labels, sum(value), count(*) FROM metrics WHERE name = 'http_requests_total' GROUP BY name, labels ORDER BY name, labels")
	want := []string{
		`http_requests_total {"endpoint":"/any","method":"other","status":"200"} 2 1`,
		`http_requests_total {"endpoint":"/users/{id}","method":"GET","status":"200"} 1 1`,
		`http_requests_total {"endpoint":"/users/{id}","method":"GET","status":"307"} 1 1`,
		`http_requests_total {"endpoint":"unmatched","method":"DELETE","status":"405"} 1 1`,
		`http_requests_total {"endpoint":"unmatched","method":"GET","status":"404"} 3 1`,
	}
	if join(got) != join(want) {
		t.Errorf("got\n%s\nwant\n%s", join(got), join(want))
	}
}

func TestMiddlewareMethodsAndEndpointOptions(t *testing.T) {
	r, _ := newRecorder(t, Options{})
	h := r.Middleware(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}), MiddlewareOptions{
		Methods:  []string{"GET"},
		Endpoint: func(*http.Request) string { return "api" },
	})
	for _, m := range []string{"GET", "POST", "get"} {
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(m, "/x", nil))
	}
	r.Flush(context.Background())
	got := rows(t, r, "SELECT labels, sum(value) FROM metrics WHERE name = 'http_requests_total' GROUP BY labels ORDER BY labels")
	want := []string{`{"endpoint":"api","method":"GET","status":"200"} 1`, `{"endpoint":"api","method":"other","status":"200"} 2`}
	if join(got) != join(want) {
		t.Errorf("got\n%s\nwant\n%s", join(got), join(want))
	}
}

// The wrapper keeps the server writer's optional interfaces.
func TestMiddlewareKeepsInterfaces(t *testing.T) {
	r, _ := newRecorder(t, Options{})
	var flusher, hijacker, readerFrom, rc bool
	mux := http.NewServeMux()
	mux.HandleFunc("/stream", func(w http.ResponseWriter, _ *http.Request) {
		_, flusher = w.(http.Flusher)
		_, readerFrom = w.(io.ReaderFrom)
		w.Write([]byte("a"))
		rc = http.NewResponseController(w).Flush() == nil
		w.(io.ReaderFrom).ReadFrom(strings.NewReader("b"))
	})
	mux.HandleFunc("/hijack", func(w http.ResponseWriter, _ *http.Request) {
		var h http.Hijacker
		h, hijacker = w.(http.Hijacker)
		conn, buf, err := h.Hijack()
		if err != nil {
			t.Error(err)
			return
		}
		defer conn.Close()
		buf.WriteString("HTTP/1.1 101 Switching Protocols\r\nConnection: close\r\n\r\n")
		buf.Flush()
	})
	srv := httptest.NewServer(r.Middleware(mux, MiddlewareOptions{}))
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/stream")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(body) != "ab" || !flusher || !readerFrom || !rc {
		t.Errorf("body %q, Flusher %v, ReaderFrom %v, ResponseController.Flush %v", body, flusher, readerFrom, rc)
	}
	conn, err := net.Dial("tcp", srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	conn.Write([]byte("GET /hijack HTTP/1.1\r\nHost: x\r\n\r\n"))
	line, _ := bufio.NewReader(conn).ReadString('\n')
	conn.Close()
	if !hijacker || !strings.Contains(line, "101") {
		t.Errorf("Hijacker %v, %q", hijacker, line)
	}
}

func TestMiddlewarePanicIs500AndSLI(t *testing.T) {
	r, clk := newRecorder(t, Options{})
	mux := http.NewServeMux()
	mux.HandleFunc("/panic", func(w http.ResponseWriter, _ *http.Request) {
		w.Write([]byte("partial"))
		panic("boom")
	})
	mux.HandleFunc("/slow", func(w http.ResponseWriter, _ *http.Request) { clk.Advance(300 * time.Millisecond) })
	mux.HandleFunc("/fast", func(w http.ResponseWriter, _ *http.Request) { clk.Advance(10 * time.Millisecond) })
	h := r.Middleware(mux, MiddlewareOptions{SLIService: "api", LatencyThreshold: 250 * time.Millisecond})
	func() {
		defer func() {
			if v := recover(); v != "boom" {
				t.Errorf("recovered %v, want the handler's panic", v)
			}
		}()
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/panic", nil))
	}()
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/slow", nil))
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/fast", nil))
	r.Flush(context.Background())
	got := rows(t, r, "SELECT name, labels, sum(value) FROM metrics WHERE name IN ('http_requests_total', 'sli_requests_total', 'sli_latency_requests_total') GROUP BY name, labels ORDER BY name, labels")
	want := []string{
		`http_requests_total {"endpoint":"/fast","method":"GET","status":"200"} 1`,
		`http_requests_total {"endpoint":"/panic","method":"GET","status":"500"} 1`,
		`http_requests_total {"endpoint":"/slow","method":"GET","status":"200"} 1`,
		`sli_latency_requests_total {"fast":"false","service":"api"} 1`,
		`sli_latency_requests_total {"fast":"true","service":"api"} 2`,
		`sli_requests_total {"service":"api","success":"false"} 1`,
		`sli_requests_total {"service":"api","success":"true"} 2`,
	}
	if join(got) != join(want) {
		t.Errorf("got\n%s\nwant\n%s", join(got), join(want))
	}
}

func TestMiddlewareNilRecorderIsNext(t *testing.T) {
	var r *Recorder
	next := http.NotFoundHandler()
	if h := r.Middleware(next, MiddlewareOptions{}); h == nil {
		t.Fatal("nil handler")
	}
}

func TestMiddlewareAllocs(t *testing.T) {
	r, _ := newRecorder(t, Options{})
	mux := http.NewServeMux()
	mux.HandleFunc("GET /users/{id}", func(http.ResponseWriter, *http.Request) {})
	h := r.Middleware(mux, MiddlewareOptions{})
	req := httptest.NewRequest("GET", "/users/1", nil)
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	t.Logf("%.0f allocs/request", testing.AllocsPerRun(100, func() { h.ServeHTTP(w, req) }))
}
