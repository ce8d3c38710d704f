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

	"github.com/vigil-metrics/vigil/analyze/metricpath"
	"github.com/vigil-metrics/vigil/collect/store"
)

func TestParseFile(t *testing.T) {
	good := `db: x.db
sources:
  https://mimir.example:8080/prometheus:
    bearer_token_env: MIMIR_TOKEN
    headers:
      X-Scope-OrgID: team-a
    tls:
      ca_file: /etc/ca.pem
    max_samples_per_request: 50000
    counter_lookback: 6h
    types:
      latency_ms: histogram
    pushdown: false
  http://127.0.0.1:9090:
`
	cs, err := ParseFile("vigil.yaml", []byte(good))
	if err != nil {
		t.Fatal(err)
	}
	c := cs["https://mimir.example:8080/prometheus"]
	if c.BearerTokenEnv != "MIMIR_TOKEN" || c.Headers["X-Scope-OrgID"] != "team-a" || c.TLS.CAFile != "/etc/ca.pem" ||
		c.MaxSamplesPerRequest != 50000 || c.CounterLookback != 6*time.Hour || c.Types["latency_ms"] != store.Histogram ||
		c.Pushdown == nil || *c.Pushdown {
		t.Errorf("parsed %+v", c)
	}
	if _, ok := cs["http://127.0.0.1:9090"]; !ok || len(cs) != 2 {
		t.Errorf("sources %v", cs)
	}
	if cs, err := ParseFile("vigil.yaml", []byte("db: x.db\n")); err != nil || len(cs) != 0 {
		t.Errorf("no section: %v %v", cs, err)
	}

	for _, c := range []struct{ text, want string }{
		{"sources:\n  - http://x:9090\n", "vigil.yaml:2:3: sources: want a map from a source's URL to its settings"},
		{"sources:\n  ftp://x:\n", "vigil.yaml:2:3: sources: source ftp://x: want an http:// or https:// URL"},
		{"sources:\n  http://u:hunter2@x:9090:\n", "vigil.yaml:2:3: sources: source http://x:9090: credentials in the URL would be printed with it"},
		{"sources:\n  http://x:9090:\n    bearer_token: abc\n", `vigil.yaml:3:5: sources: http://x:9090: unknown key "bearer_token" (want bearer_token_env, bearer_token_file,`},
		{"sources:\n  http://x:9090:\n    basic_auth:\n      password: abc\n", `vigil.yaml:4:7: sources: http://x:9090: basic_auth: unknown key "password" (want username, password_env, password_file)`},
		{"sources:\n  http://x:9090:\n    basic_auth:\n      password_env: P\n", "vigil.yaml:3:5: sources: http://x:9090: basic_auth: username is required"},
		{"sources:\n  http://x:9090:\n    bearer_token_env: A\n    bearer_token_file: B\n", "bearer_token_env and bearer_token_file: give one"},
		{"sources:\n  http://x:9090:\n    types:\n      x: summary\n", `types: x: "summary" is not a type (want counter, gauge or histogram)`},
		{"sources:\n  http://x:9090:\n    counter_lookback: 1 day\n", "vigil.yaml:3:5: sources: http://x:9090:"},
	} {
		_, err := ParseFile("vigil.yaml", []byte(c.text))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: got %v, want %q", c.text, err, c.want)
		}
		if err != nil && strings.Contains(err.Error(), "hunter2") {
			t.Errorf("the password is printed: %v", err)
		}
	}
}

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
		_, err = cl.Raw(context.Background(), "up", Selector("up", nil), store.Gauge, 0, 60_000)
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
