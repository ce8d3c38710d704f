package analyze

import (
	"context"
	"log/slog"
	"os"
	"strings"
	"testing"

	"github.com/vigil-metrics/vigil/internal/store"
)

// A stop (SIGTERM: the context cancelled) while a cache is attached is
// not a damaged cache: the file is left as it is, not deleted to be
// rebuilt (DuckDB's "INTERRUPT Error" was taken for an unreadable file,
// h33), and the error says the stop.
func TestStopKeepsCache(t *testing.T) {
	f := newFixture(t)
	p := f.write("v.db", store.Sample{Name: "g", Type: store.Gauge, TS: 1_700_000_000_000, Value: 1})
	p2 := f.write("w.db", store.Sample{Name: "g", Type: store.Gauge, TS: 1_700_000_000_000, Value: 2})
	d2, _ := openLogged(t, p2) // w.db's cache file, made and closed
	d2.Close()
	file, _ := cacheFileFor(p2, "")
	before, err := os.Stat(file)
	if err != nil {
		t.Fatal(err)
	}
	var log strings.Builder
	d, err := Open(context.Background(), []string{p}, Options{Logger: slog.New(slog.NewTextHandler(&log, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err = d.attach(ctx, "cstop", file, p2, d.opt)
	if err == nil || !strings.Contains(err.Error(), "context canceled") {
		t.Errorf("attach with a cancelled context: %v", err)
	}
	after, err := os.Stat(file)
	if err != nil || !os.SameFile(before, after) || strings.Contains(log.String(), "rebuilding") {
		t.Errorf("the cache was removed or rebuilt: %v; log: %s", err, log.String())
	}
}
