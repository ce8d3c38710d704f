package alertmanager

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vigil-metrics/vigil/alert/notify/notifytest"
)

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// startAlertmanager runs the Debian prometheus-alertmanager on loopback,
// with a root route to a receiver that sends nothing, and returns its base
// URL once it is ready.
func startAlertmanager(t *testing.T) string {
	t.Helper()
	bin, err := exec.LookPath("prometheus-alertmanager")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("prometheus-alertmanager is not installed; .ci/run must install it")
		}
		t.Skip("SKIPPING: prometheus-alertmanager not installed (apt-get install prometheus-alertmanager); CI runs this test")
	}
	dir := t.TempDir()
	cfg := filepath.Join(dir, "alertmanager.yml")
	if err := os.WriteFile(cfg, []byte("route:\n  receiver: blackhole\nreceivers:\n  - name: blackhole\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	addr := freeAddr(t)
	cmd := exec.Command(bin, "--web.listen-address="+addr, "--cluster.listen-address=",
		"--storage.path="+filepath.Join(dir, "data"), "--config.file="+cfg)
	var logs bytes.Buffer
	stderr, _ := cmd.StderrPipe()
	cmd.Stdout = io.Discard
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { io.Copy(&logs, bufio.NewReader(stderr)); close(done) }()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-done
		cmd.Wait()
		if t.Failed() {
			t.Logf("alertmanager's log:\n%s", logs.String())
		}
	})
	base := "http://" + addr
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, err := http.Get(base + "/-/ready")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return base
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("alertmanager did not become ready: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// gettableAlert is what GET /api/v2/alerts returns of an alert.
type gettableAlert struct {
	Labels      map[string]string `json:"labels"`
	Annotations map[string]string `json:"annotations"`
	StartsAt    time.Time         `json:"startsAt"`
	EndsAt      time.Time         `json:"endsAt"`
	Fingerprint string            `json:"fingerprint"`
	Status      struct {
		State string `json:"state"`
	} `json:"status"`
}

func getAlerts(t *testing.T, base, query string) []gettableAlert {
	t.Helper()
	resp, err := http.Get(base + "/api/v2/alerts?" + query)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		t.Fatalf("GET alerts: %d %s", resp.StatusCode, body)
	}
	var out []gettableAlert
	if err := json.Unmarshal(body, &out); err != nil {
		t.Fatalf("GET alerts: %v: %s", err, body)
	}
	return out
}

// A firing alert sent through the channel is active in a real
// Alertmanager with vigil's labels and annotations; its resolution makes
// it inactive. Alertmanager judges endsAt by its own clock, so the
// notifications are made at the real time.
func TestRealAlertmanager(t *testing.T) {
	base := startAlertmanager(t)
	ch := channel(base)
	ch.Settings.(*Config).Headers = map[string]string{"X-Scope": "vigil-test"}
	c, err := New(ch, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC().Truncate(time.Millisecond)
	rule := fmt.Sprintf("vigil_test_%d", now.UnixNano())
	n := notifytest.Firing(ch)
	n.At = now
	a := &n.Alerts[0]
	a.Rule, a.StartsAt, a.Incident = rule, now.Add(-2*time.Minute), "db/infra/x"
	var statuses []int
	n.Attempt = func(_, status int, _ error) { statuses = append(statuses, status) }
	if retry, err := c.Notify(context.Background(), n); err != nil || retry {
		t.Fatalf("firing: Notify = %v, %v", retry, err)
	}
	if len(statuses) != 1 || statuses[0] != 200 {
		t.Errorf("firing: statuses %v, want [200]", statuses)
	}
	filter := "filter=" + url.QueryEscape(`alertname="`+rule+`"`)
	got := getAlerts(t, base, filter)
	if len(got) != 1 {
		t.Fatalf("firing: Alertmanager has %d alerts named %s, want 1: %+v", len(got), rule, got)
	}
	g := got[0]
	wantLabels := map[string]string{"alertname": rule, "severity": "critical", "host": "db-01", "team": "infra"}
	wantAnn := map[string]string{"description": "CPU above 80%", "value": "92.5", "threshold": "80",
		"vigil_fingerprint": "f372fee676ae0d86", "incident": "db/infra/x"}
	if !sameMap(g.Labels, wantLabels) {
		t.Errorf("labels %v, want %v", g.Labels, wantLabels)
	}
	if !sameMap(g.Annotations, wantAnn) {
		t.Errorf("annotations %v, want %v", g.Annotations, wantAnn)
	}
	if g.Status.State != "active" {
		t.Errorf("state %q, want active", g.Status.State)
	}
	if !g.StartsAt.Equal(a.StartsAt) {
		t.Errorf("startsAt %v, want %v", g.StartsAt, a.StartsAt)
	}
	if !g.EndsAt.Equal(now.Add(DefaultValidity)) {
		t.Errorf("endsAt %v, want %v", g.EndsAt, now.Add(DefaultValidity))
	}

	// The resolution: endsAt now.
	r := notifytest.Resolved(ch)
	r.At = time.Now().UTC()
	ra := &r.Alerts[0]
	ra.Rule, ra.StartsAt, ra.EndsAt, ra.Incident = rule, a.StartsAt, r.At, a.Incident
	if retry, err := c.Notify(context.Background(), r); err != nil || retry {
		t.Fatalf("resolved: Notify = %v, %v", retry, err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		active := getAlerts(t, base, filter+"&active=true")
		if len(active) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("resolved: still active: %+v", active)
		}
		time.Sleep(50 * time.Millisecond)
	}

	// An alert Alertmanager refuses is a permanent failure, with its reason.
	bad := notifytest.Firing(ch)
	bad.At = time.Now()
	bad.Alerts[0].Labels = map[string]string{"bad-name": "x"}
	retry, err := c.Notify(context.Background(), bad)
	if err == nil || retry || !strings.Contains(err.Error(), `400 Bad Request: "invalid label set: invalid name \"bad-name\""`) {
		t.Fatalf("invalid label: Notify = %v, %v; want a permanent 400", retry, err)
	}
	t.Logf("Alertmanager refused: %v", err)
}

func sameMap(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}
