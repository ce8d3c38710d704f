package promstore_test

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/vigil-metrics/vigil/analyze/promstore"
	"github.com/vigil-metrics/vigil/internal/ingest"
	"github.com/vigil-metrics/vigil/internal/store"
)

// Queries running at once (more than --query.max-concurrency) while a
// writer appends all succeed, and each later answer sees the samples
// written before it was asked.
func TestServeConcurrentWhileGrowing(t *testing.T) {
	_, jsonl := fixture()
	paths := fixtureStores(t, jsonl[:]...)
	limits := promstore.DefaultLimits
	limits.MaxConcurrency = 2
	srv, src := newServerLimits(t, paths, limits)
	st, err := store.Open(context.Background(), paths[0], store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	syncs := src.Syncs
	const rounds = 5
	for r := 1; r <= rounds; r++ {
		ms := fixtureEnd + int64(r)*1000
		line := fmt.Sprintf(`{"ts": %s, "name": "grown", "type": "counter", "value": 1, "labels": {}}`+"\n", secs(ms))
		if _, err := ingest.Import(context.Background(), st, []ingest.Source{{Name: fmt.Sprintf("g%d.jsonl", r), R: strings.NewReader(line), Format: ingest.JSONL}}); err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		for g := 0; g < 6; g++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				q := url.Values{"query": {"grown"}, "time": {secs(ms)}}
				code, b := get(t, srv.URL, "/api/v1/query", q)
				_, res := results(t, "grown", b)
				want := fmt.Sprintf("%d", r)
				if code != 200 || len(res[`__name__="grown",`]) != 1 || res[`__name__="grown",`][0].V != want {
					t.Errorf("round %d: %d %s, want grown = %s", r, code, b, want)
				}
			}()
		}
		wg.Wait()
	}
	if got := src.Syncs - syncs; got != rounds {
		t.Errorf("%d syncs for %d appends: want one each", got, rounds)
	}
}
