package main

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A source answering one metric's query with {} (which used to panic and
// kill the whole run) fails that rule alone: evaluate evaluates the others,
// reports the rule's error with the server's words and exits 1; query
// exits 1 with the same words.
func TestMalformedSourceAnswerIsOneRuleError(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("HOME", filepath.Join(dir, "no-home"))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		q := r.FormValue("query")
		switch {
		case r.URL.Path == "/api/v1/metadata":
			fmt.Fprint(w, `{"status":"success","data":{}}`)
		case r.URL.Path == "/api/v1/query" && strings.HasPrefix(q, "good_metric{}["):
			// Two samples in the window (at 10:00:00Z = 1795946400).
			fmt.Fprint(w, `{"status":"success","data":{"resultType":"matrix","result":[{"metric":{"__name__":"good_metric","host":"a"},"values":[[1795946340,"5"],[1795946370,"7"]]}]}}`)
		case r.URL.Path == "/api/v1/query" && strings.Contains(q, "bad_metric"):
			fmt.Fprint(w, `{}`)
		default:
			fmt.Fprint(w, `{"status":"error","errorType":"bad_data","error":"not in this test"}`)
		}
	}))
	defer srv.Close()
	cfg := filepath.Join(dir, "vigil.yaml")
	if err := os.WriteFile(cfg, []byte(`alert_rules:
  - name: bad_rule
    metric_path: bad_metric.max
    condition: greater_than
    threshold: 0
    severity: low
    evaluation_window: 5m
  - name: good_rule
    metric_path: good_metric.max
    condition: greater_than
    threshold: 6
    severity: low
    evaluation_window: 5m
`), 0o644); err != nil {
		t.Fatal(err)
	}
	at := "2026-11-29T10:00:00Z"
	code, stdout, stderr := sloRun(t, "evaluate", "--db", srv.URL, "--config", cfg, "--state", filepath.Join(dir, "state.db"),
		"--at", at, "--dry-run", "-o", "json")
	if code != 1 {
		t.Errorf("evaluate: exit %d, want 1 (one rule failed)\n%s\n%s", code, stdout, stderr)
	}
	if !strings.Contains(stdout, `"rule":"good_rule"`) || !strings.Contains(stdout, `"state":"firing"`) {
		t.Errorf("good_rule was not evaluated:\n%s", stdout)
	}
	if !strings.Contains(stdout, `"errors":[{"rule":"bad_rule","message":"`) || !strings.Contains(stdout, `no status; it answered: {}`) {
		t.Errorf("bad_rule's error is not reported with the server's words:\n%s", stdout)
	}
	if !strings.Contains(stderr, "vigil: error: rule bad_rule: ") || !strings.Contains(stderr, "source "+srv.URL) {
		t.Errorf("stderr:\n%s", stderr)
	}
	code, _, stderr = sloRun(t, "query", "--db", srv.URL, "bad_metric.max", "--at", at)
	if code != 1 || !strings.Contains(stderr, "source "+srv.URL) || !strings.Contains(stderr, "no status; it answered: {}") {
		t.Errorf("query: exit %d, %s", code, stderr)
	}
}
