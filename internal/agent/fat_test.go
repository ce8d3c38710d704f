package agent

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vigil-metrics/vigil/internal/scrape"
)

func pushResp(t *testing.T, addr, body string) (int, string, string) {
	t.Helper()
	resp, err := http.Post("http://"+addr+"/v1/metrics", "application/x-ndjson", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header.Get("Retry-After"), string(b)
}

func storedCount(t *testing.T, db, name string) int {
	t.Helper()
	var n int
	if err := openDB(t, db).QueryRow(`SELECT count(*) FROM metrics WHERE name = ?`, name).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// The fat series: 64 labels of 4 KB each. With the agent's
// defaults (--max-label-bytes 8 KiB) the push gets 429 naming the limit
// and nothing of it is kept; an ordinary push is taken as before.
func TestFatSeriesRefused(t *testing.T) {
	db := filepath.Join(t.TempDir(), "v.db")
	addr, _, stop := runAgent(t, Config{DB: db, Interval: time.Hour})
	var labels []string
	for i := 0; i < 64; i++ {
		labels = append(labels, fmt.Sprintf(`"l%02d": "%s"`, i, strings.Repeat("x", 4000)))
	}
	fat := `{"ts": 1795946400, "name": "thin", "type": "gauge", "value": 1}` + "\n" +
		`{"ts": 1795946400, "name": "fat", "type": "gauge", "value": 1, "labels": {` + strings.Join(labels, ", ") + `}}` + "\n"
	code, _, msg := pushResp(t, addr, fat)
	if code != http.StatusTooManyRequests || !strings.Contains(msg, "--max-label-bytes") ||
		!strings.Contains(msg, "sample 2: metric fat: series labels too large: 256195 bytes of name, labels and service, over the limit of 8192") {
		t.Errorf("fat series: %d %s, want 429 naming --max-label-bytes", code, msg)
	}
	ok := `{"ts": 1795946400, "name": "ok", "type": "gauge", "value": 1, "labels": {"a": "` + strings.Repeat("y", 4000) + `"}}` + "\n"
	if code, _, msg := pushResp(t, addr, ok); code != http.StatusAccepted {
		t.Errorf("a 4 KB series: %d %s", code, msg)
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if n, m := storedCount(t, db, "fat"), storedCount(t, db, "thin"); n+m != 0 {
		t.Errorf("the refused push stored %d fat and %d thin samples: a push is taken whole or not at all", n, m)
	}
	if n := storedCount(t, db, "ok"); n != 1 {
		t.Errorf("%d ok samples stored, want 1", n)
	}
}

// --max-series-bytes bounds the bytes of all series held: new series past
// it get 429 naming it (with Retry-After: room comes back as idle series
// are forgotten), while pushes to series held go on.
func TestSeriesBytesBound(t *testing.T) {
	db := filepath.Join(t.TempDir(), "v.db")
	const bound = 100_000
	addr, _, stop := runAgent(t, Config{DB: db, Interval: time.Hour, MaxSeriesBytes: bound})
	pad := strings.Repeat("p", 990)
	series := func(i int) string {
		// name 4 + label names 4 + i 4 + pad 990 = 1002 bytes
		return fmt.Sprintf(`{"ts": 1795946400, "name": "wide", "type": "gauge", "value": 1, "labels": {"i": "%04d", "pad": "%s"}}`, i, pad) + "\n"
	}
	accepted := 0
	for ; ; accepted++ {
		if accepted > bound/1002 {
			t.Fatalf("%d series of 1002 bytes accepted under a bound of %d", accepted, bound)
		}
		code, retry, msg := pushResp(t, addr, series(accepted))
		if code == http.StatusAccepted {
			continue
		}
		if code != http.StatusTooManyRequests || retry == "" || !strings.Contains(msg, "series bytes limit reached") ||
			!strings.Contains(msg, "the limit is 100000: the agent holds its --max-series-bytes") {
			t.Fatalf("series %d: %d (Retry-After %q) %s, want 429 naming --max-series-bytes", accepted, code, retry, msg)
		}
		break
	}
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	var held int
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "vigil_agent_series_bytes "); ok {
			held, _ = strconv.Atoi(v)
		}
	}
	// Full: what is held is within the bound, and one more would pass it.
	if held > bound || held+1002 <= bound || accepted < 50 {
		t.Errorf("%d series accepted, %d bytes held; want the bound %d reached and kept", accepted, held, bound)
	}
	if code, _, msg := pushResp(t, addr, series(0)); code != http.StatusAccepted {
		t.Errorf("a push to a series held: %d %s", code, msg)
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if n := storedCount(t, db, "wide"); n != accepted+1 {
		t.Errorf("%d wide samples stored, want %d", n, accepted+1)
	}
}

// A scraped series over --max-label-bytes is dropped with a warning (once
// per metric); the rest of the scrape is stored.
func TestFatScrapedSeriesDropped(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		x := strings.Repeat("x", 4000) // each value within the store's 4096, the three over 8 KiB
		fmt.Fprintf(w, "# TYPE fat gauge\nfat{a=\"%s\",b=\"%s\",c=\"%s\"} 1\n# TYPE thin gauge\nthin 2\n", x, x, x)
	}))
	defer srv.Close()
	db := filepath.Join(t.TempDir(), "v.db")
	_, log, stop := runAgent(t, Config{DB: db, Interval: time.Hour, Targets: []scrape.Target{{Job: "j", URL: srv.URL}}})
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(log.String(), "series over the label bytes limit") && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(log.String(), `level=WARN msg="series over the label bytes limit; its samples are refused" name=fat`) {
		t.Errorf("no warning for the fat series:\n%s", log)
	}
	if n, m := storedCount(t, db, "fat"), storedCount(t, db, "thin"); n != 0 || m != 1 {
		t.Errorf("stored %d fat and %d thin samples, want 0 and 1", n, m)
	}
}
