package promsrc

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vigil-metrics/vigil/internal/metricpath"
	"github.com/vigil-metrics/vigil/internal/promtest"
	"github.com/vigil-metrics/vigil/internal/store"
)

// The bearer token (from the environment or a file) and the configured
// headers go with every request; the token is in no error.
func TestClientSendsCredentials(t *testing.T) {
	var got []http.Header
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = append(got, r.Header.Clone())
		if r.URL.Path == "/prefix/api/v1/metadata" {
			w.Header().Set("Content-Type", "application/json")
			w.Write([]byte(`{"status":"success","data":{}}`))
			return
		}
		w.WriteHeader(http.StatusUnauthorized)
		w.Write([]byte(`{"status":"error","errorType":"unauthorized","error":"token expired"}`))
	}))
	defer srv.Close()
	t.Setenv("VIGIL_TEST_TOKEN", "tok-from-env")
	file := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(file, []byte("tok-from-file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		cfg  Config
		want string
	}{
		{Config{BearerTokenEnv: "VIGIL_TEST_TOKEN", Headers: map[string]string{"X-Scope-OrgID": "team-a"}}, "Bearer tok-from-env"},
		{Config{BearerTokenFile: file}, "Bearer tok-from-file"},
	} {
		got = nil
		cl, err := New(srv.URL+"/prefix", c.cfg, 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		typ, err := cl.Type(context.Background(), "up")
		if err != nil || typ != store.Gauge {
			t.Fatalf("type: %v %v", typ, err)
		}
		err = cl.Raw(context.Background(), "up", Selector("up", nil), store.Gauge, 0, 60_000, func([]Series) error { return nil })
		if err == nil || !strings.Contains(err.Error(), "401") || !strings.Contains(err.Error(), "token expired") ||
			!strings.Contains(err.Error(), "check the credentials in sources:") {
			t.Errorf("error %v", err)
		}
		if err != nil && strings.Contains(err.Error(), "tok-from") {
			t.Errorf("the token is in the error: %v", err)
		}
		for _, h := range got {
			if h.Get("Authorization") != c.want {
				t.Errorf("Authorization %q, want %q", h.Get("Authorization"), c.want)
			}
			if c.cfg.Headers != nil && h.Get("X-Scope-OrgID") != "team-a" {
				t.Errorf("X-Scope-OrgID %q", h.Get("X-Scope-OrgID"))
			}
		}
		if len(got) < 2 {
			t.Errorf("%d requests", len(got))
		}
	}
	if _, err := New(srv.URL, Config{BearerTokenEnv: "VIGIL_TEST_UNSET"}, 0); err == nil ||
		!strings.Contains(err.Error(), "environment variable VIGIL_TEST_UNSET is not set") {
		t.Errorf("unset token env: %v", err)
	}
}

func TestSelector(t *testing.T) {
	e, err := metricpath.Parse(`http_requests_total{code=~"5..",path!="/health",svc="a\"b"}.rate`)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := Selector(e.Num.Name, e.Num.Matchers), `http_requests_total{code=~"5..",path!="/health",svc="a\"b"}`; got != want {
		t.Errorf("%s, want %s", got, want)
	}
}

// Thanos is asked for no partial answers (partial_response=false), and an
// answer that comes with a warning (a store that did not answer) is an
// error, not numbers.
func TestPartialAnswerRefused(t *testing.T) {
	var queries []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		switch r.URL.Path {
		case "/api/v1/metadata":
			w.Write([]byte(`{"status":"success","data":{}}`))
		case "/api/v1/query":
			queries = append(queries, r.URL.Query().Get("partial_response"))
			w.Write([]byte(`{"status":"success","data":{"resultType":"matrix","result":[{"metric":{"__name__":"up"},"values":[[30,"1"]]}]},` +
				`"warnings":["No StoreAPIs matched for this query"]}`))
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	cl, err := New(srv.URL, Config{}, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	err = cl.Raw(context.Background(), "up", Selector("up", nil), store.Gauge, 0, 60_000, func([]Series) error {
		t.Error("a partial answer was passed on")
		return nil
	})
	if err == nil || !strings.Contains(err.Error(), "partial") || !strings.Contains(err.Error(), "No StoreAPIs matched for this query") {
		t.Errorf("error %v", err)
	}
	if len(queries) != 1 || queries[0] != "false" {
		t.Errorf("partial_response sent: %q", queries)
	}
}

// Debian's Prometheus (2.42) includes a range's left edge: the probe says
// so, and pushdown is on with the range one millisecond shorter.
func TestProbeEdgeRealPrometheus(t *testing.T) {
	srv := promtest.Start(t, "")
	cl, err := New(srv.URL, Config{}, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if !cl.CanPushDown(context.Background()) || cl.edge != edgeClosed {
		t.Errorf("pushdown %v, edge %v; want on, closed", cl.CanPushDown(context.Background()), cl.edge)
	}
	off := false
	cl, _ = New(srv.URL, Config{Pushdown: &off}, 10*time.Second)
	if cl.CanPushDown(context.Background()) {
		t.Error("pushdown: false in sources: is ignored")
	}
}
