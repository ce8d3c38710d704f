package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/vigil-metrics/vigil/analyze"
	"github.com/vigil-metrics/vigil/analyze/cache"
	"github.com/vigil-metrics/vigil/internal/demo"
	"github.com/vigil-metrics/vigil/internal/metricpath"
	"github.com/vigil-metrics/vigil/internal/store"
)

var exportAt = time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)

// evalAll answers a few paths over the whole demo week with the caches in
// cacheDir ("" beside the store).
func evalAll(t *testing.T, p, cacheDir string) (string, []cache.Stats) {
	t.Helper()
	db, err := analyze.Open(context.Background(), []string{p}, analyze.Options{CacheDir: cacheDir})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	out := ""
	for _, path := range []string{"response_time_ms.count by (endpoint)", "response_time_ms.sum", "cpu_usage_percent.max by (host)", "response_time_ms.p95"} {
		e, err := metricpath.Parse(path)
		if err != nil {
			t.Fatal(err)
		}
		rs, err := db.Eval(context.Background(), e, analyze.Window{At: exportAt, Length: 30 * 24 * time.Hour})
		if err != nil {
			t.Fatal(err)
		}
		out += fmt.Sprintf("%s: %v\n", path, rs)
	}
	return out, db.Syncs
}

// compact prunes, vacuums and rebuilds the cache: answers afterwards are
// those of a cache built from scratch on the compacted store, and the
// rebuilt cache is used as is (no second rebuild), never stale.
func TestCompactCacheAnswersAsFresh(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "v.db")
	st, err := store.Open(context.Background(), p, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := demo.Generate(context.Background(), st, demo.Options{End: exportAt, Span: 3 * 24 * time.Hour, Seed: 1}); err != nil {
		t.Fatal(err)
	}
	st.Close()
	before, _ := evalAll(t, p, "") // builds the cache beside the store
	cacheFile, _ := cache.FileFor(p, "")
	res, err := compactStore(context.Background(), p, 36*time.Hour, exportAt, "", true)
	if err != nil {
		t.Fatal(err)
	}
	if res.Pruned == 0 || res.BytesAfter >= res.BytesBefore || !res.CacheRebuilt || res.CacheFile != cacheFile || res.Vacuum != "full" {
		t.Errorf("compact = %+v: want samples pruned, a smaller file, the cache rebuilt", res)
	}
	if _, err := os.Stat(cacheFile + ".compact"); err == nil {
		t.Errorf("%s.compact left behind", cacheFile)
	}
	after, syncs := evalAll(t, p, "")
	if syncs[0].Rebuilt || syncs[0].Added != 0 || syncs[0].Pruned != 0 {
		t.Errorf("first query after compact: sync %+v, want the rebuilt cache used as is", syncs[0])
	}
	fresh, _ := evalAll(t, p, t.TempDir())
	if after != fresh {
		t.Errorf("after compact:\n%s\nfresh cache:\n%s", after, fresh)
	}
	if after == before {
		t.Errorf("retention pruned %d samples but the answers did not change", res.Pruned)
	}
	// Compacting again with nothing to prune is harmless.
	res, err = compactStore(context.Background(), p, 36*time.Hour, exportAt, "", true)
	if err != nil || res.Pruned != 0 {
		t.Fatalf("second compact = %+v, %v", res, err)
	}
	if again, _ := evalAll(t, p, ""); again != fresh {
		t.Errorf("after a second compact:\n%s\nwant:\n%s", again, fresh)
	}
}

// A store created with auto_vacuum=INCREMENTAL is vacuumed incrementally.
func TestCompactIncremental(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "v.db")
	st, err := store.Open(context.Background(), p, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	// auto_vacuum takes effect on a VACUUM.
	for _, s := range []string{"PRAGMA auto_vacuum = INCREMENTAL", "VACUUM"} {
		if _, err := st.DBForTest().Exec(s); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := demo.Generate(context.Background(), st, demo.Options{End: exportAt, Span: 24 * time.Hour, Seed: 1}); err != nil {
		t.Fatal(err)
	}
	st.Close()
	res, err := compactStore(context.Background(), p, 6*time.Hour, exportAt, "", false)
	if err != nil {
		t.Fatal(err)
	}
	if res.Vacuum != "incremental" || res.Pruned == 0 || res.BytesAfter >= res.BytesBefore || res.CacheRebuilt {
		t.Errorf("compact = %+v, want an incremental vacuum that shrank the file, no cache", res)
	}
}
