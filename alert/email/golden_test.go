package email

import (
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/vigil-metrics/vigil/alert/config"
	"github.com/vigil-metrics/vigil/alert/notify"
	"github.com/vigil-metrics/vigil/alert/notify/notifytest"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden (then read them: they are approved by a person)")

// The whole text and HTML parts of one firing and one resolved SLO email
// (issue 30), approved by reading them: the subject with severity, rule
// and labels in both parts, what crossed what, vigil budget's facts, the
// runbook and, while it fires, the acknowledge command.
func TestBodyGolden(t *testing.T) {
	ch := config.Channel{Name: "oncall_mail", Type: "email"}
	firing := notifytest.SLOPage(ch)
	resolved := notifytest.SLOPage(ch)
	resolved.Kind = "resolved"
	a := &resolved.Alerts[0]
	// As BudgetBuild describes the page 42 minutes later, burning no more.
	v := 3.2
	a.State, a.EndsAt, a.Value, a.ValueText = "resolved", notifytest.At.Add(42*time.Minute), &v, "3.2"
	a.Summary = "burn rate 3.2 over 1h and 0 over 5m (alert when both are above 14.4, 2% of the budget in 1h)"
	a.Details = []string{"SLO: a availability 99.9% over 30d", "burn rates: 5m 0, 30m 0.5, 1h 3.2, 2h 8.9, 6h 4.1, 1d 2.7, 3d 1.1, 30d 0.62",
		"budget: 62% consumed, 38% remaining (16.4 minutes of full outage)", "time to exhaustion: 3.6d at the 1h burn rate"}
	resolved.At = a.EndsAt
	for name, n := range map[string]notify.Notification{"slo_firing": firing, "slo_resolved": resolved} {
		text, html, err := Body("oncall_mail", n)
		if err != nil {
			t.Fatal(err)
		}
		for ext, got := range map[string]string{".txt.golden": text, ".html.golden": html} {
			path := filepath.Join("testdata", name+ext)
			if *update {
				if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				continue
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (go test -run TestBodyGolden -update writes it)", err)
			}
			if got != string(want) {
				t.Errorf("%s differs (go test -run TestBodyGolden -update rewrites it; read it before committing):\n%s", path, got)
			}
		}
	}
}
