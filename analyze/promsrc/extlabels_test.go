package promsrc

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/vigil-metrics/vigil/internal/promtest"
	"github.com/vigil-metrics/vigil/internal/sources"
	"github.com/vigil-metrics/vigil/internal/store"
)

// A Prometheus with external labels whose configuration cannot be read
// (a proxy answers 404 for /api/v1/status/config alone): auto does not
// assume it has none, and reads by the query API, whose series carry no
// external labels (issue 26, hb26 D2); the debug log says why. A forced
// remote_read reads on by remote read, the labels added (docs/scale.md).
func TestRemoteReadConfigUnreadable(t *testing.T) {
	cfg := filepath.Join(t.TempDir(), "ext.yml")
	if err := os.WriteFile(cfg, []byte("global:\n  external_labels: {region: eu}\nscrape_configs: []\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	om := "# TYPE g gauge\ng{job=\"a\"} 1 1795000000\ng{job=\"a\"} 2 1795000010\n# EOF\n"
	srv := promtest.Start(t, promtest.Blocks(t, om), "--config.file="+cfg)
	target, _ := url.Parse(srv.URL)
	proxy := httputil.NewSingleHostReverseProxy(target)
	front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/api/v1/status/config" {
			http.NotFound(w, r)
			return
		}
		proxy.ServeHTTP(w, r)
	}))
	defer front.Close()
	read := func(api string) ([]Series, *Client) {
		cl, err := New(front.URL, Config{ReadAPI: api}, 10*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		var got []Series
		err = cl.Raw(context.Background(), "g", Selector("g", nil), store.Gauge, 1794999000_000, 1795000060_000,
			func(ss []Series) error { got = append(got, ss...); return nil })
		if err != nil {
			t.Fatalf("%s: %v", api, err)
		}
		return got, cl
	}
	got, cl := read(sources.ReadAuto)
	want := []Series{{Labels: map[string]string{"job": "a"}, TS: []int64{1795000000_000, 1795000010_000}, Values: []float64{1, 2}}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("auto: %+v, want %+v", got, want)
	}
	if by := cl.ReadBy(); !strings.HasPrefix(by, "the query API") || !strings.Contains(by, "/api/v1/status/config") || !strings.Contains(by, "404") {
		t.Errorf("auto says it read by %q", by)
	}
	got, cl = read(sources.ReadRemote)
	want[0].Labels["region"] = "eu"
	if !reflect.DeepEqual(got, want) || !strings.HasPrefix(cl.ReadBy(), "remote read") {
		t.Errorf("remote_read: %+v by %q, want %+v", got, cl.ReadBy(), want)
	}
}
