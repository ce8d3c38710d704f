package promstore_test

import (
	"net/url"
	"testing"
)

// A server that answered earlier ranges continues running totals from
// where they stood (dashboards refreshing): its answers are the same, bit
// for bit, as a fresh server's reading every total from the first
// sample.
func TestServeCheckpointsSameBits(t *testing.T) {
	_, jsonl := fixture()
	paths := fixtureStores(t, jsonl[:]...)
	warm, _ := newServer(t, paths)
	exprs := []string{"req_total", "rate(req_total[5m])", "response_time_ms_sum", "response_time_ms_bucket", "response_time_ms_count"}
	// The warm server answers a window moving forward, as a dashboard
	// refreshing every 7 minutes asks.
	for k := 0; k < 6; k++ {
		end := fixtureEnd - 3*3600_000 + int64(k)*7*60_000 - 7_123
		for _, e := range exprs {
			q := url.Values{"query": {e}, "start": {secs(end - 3600_000)}, "end": {secs(end)}, "step": {"30"}}
			_, got := get(t, warm.URL, "/api/v1/query_range", q)
			cold, _ := newServer(t, paths)
			_, want := get(t, cold.URL, "/api/v1/query_range", q)
			if string(got) != string(want) {
				t.Fatalf("%s ending %d: the warm server answers differently from a fresh one", e, end)
			}
			cold.Close()
		}
	}
}
