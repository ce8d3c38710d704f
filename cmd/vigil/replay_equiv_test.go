package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"
)

// equivNotice is one alert of one notification, as a receiver saw it or
// as replay's timeline lists it.
type equivNotice struct {
	At, Channel, Rule, Fingerprint, State string
}

func (n equivNotice) String() string {
	return n.At + " " + n.Channel + " " + n.Rule + " " + n.Fingerprint + " " + n.State
}

// receivers are loopback webhook endpoints, one per channel, recording
// every alert of every payload they are sent.
type receivers struct {
	mu  sync.Mutex
	got []equivNotice
}

func (rc *receivers) handler(channel string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var p struct {
			Timestamp   time.Time `json:"timestamp"`
			AlertName   string    `json:"alert_name"`
			Fingerprint string    `json:"fingerprint"`
			State       string    `json:"state"`
			Alerts      []struct {
				AlertName   string `json:"alert_name"`
				Fingerprint string `json:"fingerprint"`
				State       string `json:"state"`
			} `json:"alerts"`
		}
		if err := json.Unmarshal(body, &p); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		at := p.Timestamp.UTC().Format(time.RFC3339)
		rc.mu.Lock()
		defer rc.mu.Unlock()
		if len(p.Alerts) == 0 {
			rc.got = append(rc.got, equivNotice{at, channel, p.AlertName, p.Fingerprint, p.State})
		}
		for _, a := range p.Alerts {
			rc.got = append(rc.got, equivNotice{at, channel, a.AlertName, a.Fingerprint, a.State})
		}
	})
}

// equivData writes three hours of minutely samples with known episodes:
// host a breaches 10:20-10:40 and flaps at 11:30 and 11:34, host b
// breaches 10:50-12:10, host c breaches inside a silence, host d stops
// reporting 11:00-12:00, hosts e to h breach together at 12:30 (more
// than the rate limit lets out in a minute), the queue metric is absent 11:15-11:45,
// the api's request rate spikes at 12:20, and the api's errors burn its
// SLO budget from 11:00 on.
func equivData(t *testing.T, path string) {
	t.Helper()
	var b strings.Builder
	start := time.Date(2026, 11, 29, 10, 0, 0, 0, time.UTC)
	good, bad, reqs := 0, 0, 0
	line := func(at time.Time, name, typ string, v int, labels string) {
		fmt.Fprintf(&b, `{"ts":%q,"name":%q,"type":%q,"value":%d,"labels":{%s}}`+"\n",
			at.Format(time.RFC3339), name, typ, v, labels)
	}
	in := func(m, from, to int) bool { return m >= from && m < to }
	for m := 0; m <= 180; m++ {
		at := start.Add(time.Duration(m) * time.Minute)
		cpu := map[string]int{"a": 40, "b": 50, "c": 30, "d": 20}
		if in(m, 20, 40) || m == 90 || m == 94 {
			cpu["a"] = 95
		}
		if in(m, 50, 130) {
			cpu["b"] = 91
		}
		if in(m, 65, 75) {
			cpu["c"] = 99
		}
		for _, h := range []string{"e", "f", "g", "h"} {
			cpu[h] = 10
			if in(m, 150, 156) {
				cpu[h] = 97
			}
		}
		for _, h := range []string{"a", "b", "c", "d", "e", "f", "g", "h"} {
			if h == "d" && in(m, 60, 120) {
				continue
			}
			line(at, "cpu_usage_percent", "gauge", cpu[h], fmt.Sprintf(`"host":%q`, h))
		}
		if !in(m, 75, 105) {
			line(at, "queue_depth", "gauge", 3, `"queue":"jobs"`)
		}
		rate := 10
		if in(m, 140, 146) {
			rate = 80
		}
		reqs += rate
		line(at, "api_requests", "counter", reqs, `"service":"api"`)
		errs := 0
		if in(m, 60, 150) {
			errs = 4
		}
		good += 100 - errs
		bad += errs
		line(at, "sli_requests_total", "counter", good, `"service":"api","success":"true"`)
		line(at, "sli_requests_total", "counter", bad, `"service":"api","success":"false"`)
	}
	if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
}

const equivConfig = `alert_rules:
  - name: high_cpu
    metric_path: cpu_usage_percent
    condition: greater_than
    threshold: 80
    severity: critical
    evaluation_window: 60
    for: 120
    group_by: [host]
    nodata: alert
    cooldown_period: 20m
  - name: hot_cpu_now
    metric_path: cpu_usage_percent.max
    condition: greater_than
    threshold: 90
    severity: high
    evaluation_window: 60
    group_by: [host]
  - name: queue_gone
    metric_path: queue_depth
    condition: absent
    severity: high
    evaluation_window: 5m
  - name: queue_gone_by_queue
    metric_path: queue_depth
    condition: absent
    severity: medium
    evaluation_window: 5m
    group_by: [queue]
  - name: api_spike
    metric_path: api_requests.increase
    condition: spike
    spike_ratio: 3
    severity: medium
    evaluation_window: 5m
channels:
  - name: ops
    type: webhook
    url: ${OPS_URL}
  - name: pager
    type: webhook
    url: ${PAGER_URL}
    filters: [{severity: critical}]
  - name: quiet
    type: webhook
    url: ${QUIET_URL}
    send_resolved: false
  - name: later
    type: webhook
    url: ${LATER_URL}
    filters: [{team: nobody}]
escalation:
  - name: page
    triggers: [{severity: critical}]
    steps:
      - {delay: 0, channels: [pager]}
      - {delay: 10m, channels: [later]}
correlation_rules:
  - {name: by_host, group_key: host, time_window: 10m}
silences:
  - matchers: {host: c}
    starts_at: 2026-11-29T11:00:00Z
    ends_at: 2026-11-29T11:20:00Z
    comment: maintenance of c
    created_by: ops@example.com
slos:
  - service: api
    target: 99
    window: 1d
settings:
  max_alerts_per_minute: 2
  enable_deduplication: true
`

// TestReplayEquivalentToEvaluate is the contract: replaying a range
// sends, in its timeline, exactly the notices that consecutive `vigil
// evaluate --at` and `vigil budget --notify --at` runs on a scratch state
// deliver to real receivers over the same stores, one per minute.
func TestReplayEquivalentToEvaluate(t *testing.T) {
	dir := t.TempDir()
	data, db, cfg := filepath.Join(dir, "m.jsonl"), filepath.Join(dir, "m.db"), filepath.Join(dir, "c.yaml")
	equivData(t, data)
	if err := os.WriteFile(cfg, []byte(equivConfig), 0o600); err != nil {
		t.Fatal(err)
	}
	rc := &receivers{}
	for _, ch := range []string{"ops", "pager", "quiet", "later"} {
		srv := httptest.NewServer(rc.handler(ch))
		defer srv.Close()
		t.Setenv(strings.ToUpper(ch)+"_URL", srv.URL)
	}
	vigil := func(args ...string) (string, int) {
		var out, errb bytes.Buffer
		code := run(args, strings.NewReader(""), &out, &errb)
		return out.String() + errb.String(), code
	}
	if out, code := vigil("import", "--db", db, data); code != 0 {
		t.Fatalf("import: exit %d: %s", code, out)
	}

	from := time.Date(2026, 11, 29, 10, 0, 0, 0, time.UTC)
	const steps = 170
	to := from.Add(steps * time.Minute)
	state := filepath.Join(dir, "s.db")
	for j := 1; j <= steps; j++ {
		at := from.Add(time.Duration(j) * time.Minute).Format(time.RFC3339)
		if out, code := vigil("evaluate", "--db", db, "--config", cfg, "--state", state, "--at", at); code != 0 {
			t.Fatalf("evaluate --at %s: exit %d: %s", at, code, out)
		}
		if out, code := vigil("budget", "--notify", "--db", db, "--config", cfg, "--state", state, "--at", at); code != 0 {
			t.Fatalf("budget --notify --at %s: exit %d: %s", at, code, out)
		}
	}
	rc.mu.Lock()
	want := append([]equivNotice(nil), rc.got...)
	rc.got = nil
	rc.mu.Unlock()
	sorted := func(ns []equivNotice) []string {
		s := make([]string, len(ns))
		for i, n := range ns {
			s[i] = n.String()
		}
		sort.Strings(s)
		return s
	}
	w := sorted(want)
	// The scenario must exercise the pipeline: pages, resolutions, the
	// rate limit's delay, the escalation's second step, budget alerts.
	for _, must := range []string{" pager high_cpu ", " later high_cpu ", " resolved", " slo_", " queue_gone ", " api_spike "} {
		found := false
		for _, s := range w {
			found = found || strings.Contains(s, must)
		}
		if !found {
			t.Errorf("the evaluate runs delivered no notice matching %q: the scenario is too weak", must)
		}
	}
	if os.Getenv("VIGIL_EQUIV_LOG") != "" {
		t.Logf("evaluate runs delivered:\n%s", strings.Join(w, "\n"))
	}

	out, code := vigil("replay", "--db", db, "--config", cfg, "--from", from.Format(time.RFC3339),
		"--to", to.Format(time.RFC3339), "--step", "1m", "-o", "json")
	if code != 0 {
		t.Fatalf("replay: exit %d: %s", code, out)
	}
	var rep struct {
		Notices []struct {
			At          time.Time `json:"at"`
			Channel     string    `json:"channel"`
			Rule        string    `json:"rule"`
			Fingerprint string    `json:"fingerprint"`
			State       string    `json:"state"`
		} `json:"notices"`
	}
	if err := json.Unmarshal([]byte(out[:strings.LastIndex(out, "}")+1]), &rep); err != nil {
		t.Fatalf("replay JSON: %v\n%s", err, out)
	}
	rc.mu.Lock()
	if len(rc.got) != 0 {
		t.Errorf("replay sent %d notifications; it must send none", len(rc.got))
	}
	rc.mu.Unlock()
	var got []equivNotice
	for _, n := range rep.Notices {
		got = append(got, equivNotice{n.At.UTC().Format(time.RFC3339), n.Channel, n.Rule, n.Fingerprint, n.State})
	}
	g := sorted(got)
	if strings.Join(w, "\n") != strings.Join(g, "\n") {
		t.Errorf("replay's notices differ from the evaluate runs' deliveries:\n%s", lineDiff(w, g))
	}
	t.Logf("%d notices compared", len(w))
}

// lineDiff lists the lines only in want (-) or only in got (+).
func lineDiff(want, got []string) string {
	count := map[string]int{}
	for _, s := range want {
		count[s]++
	}
	for _, s := range got {
		count[s]--
	}
	var b strings.Builder
	for _, s := range want {
		if count[s] > 0 {
			fmt.Fprintf(&b, "- %s\n", s)
			count[s]--
		}
	}
	for s, c := range count {
		for ; c < 0; c++ {
			fmt.Fprintf(&b, "+ %s\n", s)
		}
	}
	return b.String()
}
