package replay

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/vigil-metrics/vigil/alert/config"
)

// A replay stopped (SIGTERM) before its first step, while it reads the
// stores' extent or makes its tables, says so as a stop, as one stopped
// later does ("replay stopped at T"), not as a bare "context canceled".
func TestStoppedBeforeFirstStep(t *testing.T) {
	db := tablesStore(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	cfg := &config.Config{Rules: mixedRules(), Settings: config.DefaultSettings()}
	_, err := Run(ctx, db, Options{Config: cfg, From: t0, To: t0.Add(time.Hour), Step: time.Minute})
	if err == nil || !strings.HasPrefix(err.Error(), "replay stopped ") || !strings.HasSuffix(err.Error(), "context canceled") {
		t.Errorf("error %v, want replay stopped ...: context canceled", err)
	}
}
