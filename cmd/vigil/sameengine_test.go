package main

import (
	"strings"
	"testing"

	"github.com/vigil-metrics/vigil/internal/promtest"
)

// One engine under two spellings counts every sample twice: refused,
// exit 2, naming both URLs, for Prometheus (which says who it is) and
// VictoriaMetrics (which does not: the same address, port and path);
// two engines are not refused (issue 26).
func TestSameEngineTwoSpellings(t *testing.T) {
	prom := promtest.Start(t, "")
	other := promtest.Start(t, "")
	vm := promtest.StartVM(t)
	for _, srv := range []*promtest.Server{prom, vm} {
		a := srv.URL
		b := strings.Replace(a, "127.0.0.1", "localhost", 1)
		code, _, stderr := sloRun(t, "query", "--db", a, "--db", b, "cpu.count", "--at", "2026-11-29T10:00:00Z")
		if code != 2 || !strings.Contains(stderr, a+" and "+b+" are one engine") {
			t.Errorf("%s twice: exit %d, %s", a, code, stderr)
		}
	}
	code, _, stderr := sloRun(t, "query", "--db", prom.URL, "--db", other.URL, "cpu.count", "--at", "2026-11-29T10:00:00Z")
	if strings.Contains(stderr, "one engine") || code == 2 {
		t.Errorf("two engines: exit %d, %s", code, stderr)
	}
}
