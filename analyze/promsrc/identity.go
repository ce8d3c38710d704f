package promsrc

import (
	"context"
	"net"
	"net/url"
	"sort"
	"strings"
	"time"

	"github.com/prometheus/common/model"

	"github.com/vigil-metrics/vigil/internal/store"
)

// Instance identifies the engine behind the URL where it says who it is:
// Prometheus (and Thanos) answer /api/v1/status/runtimeinfo with their
// start time to the nanosecond and working directory, which two engines
// never share. "" where the engine does not answer it (Mimir, Cortex and
// VictoriaMetrics have no such endpoint; credentials may not reach it).
func (c *Client) Instance(ctx context.Context) string {
	ctx, cancel := c.ctx(ctx)
	defer cancel()
	ri, err := c.api.Runtimeinfo(ctx)
	if err != nil || ri.StartTime.IsZero() {
		return ""
	}
	return ri.StartTime.UTC().Format(time.RFC3339Nano) + " " + ri.CWD + " " + ri.StorageRetention
}

// Endpoints lists where requests to the URL go: scheme, each address its
// host resolves to, port and path, sorted ("127.0.0.1:9090" and
// "localhost:9090" share one). Nil where the host does not resolve.
func (c *Client) Endpoints(ctx context.Context) []string {
	u, err := url.Parse(c.URL)
	if err != nil {
		return nil
	}
	port := u.Port()
	if port == "" {
		port = map[string]string{"http": "80", "https": "443"}[strings.ToLower(u.Scheme)]
	}
	ctx, cancel := c.ctx(ctx)
	defer cancel()
	addrs, err := net.DefaultResolver.LookupIPAddr(ctx, u.Hostname())
	if err != nil {
		return nil
	}
	path := strings.TrimRight(u.EscapedPath(), "/")
	out := make([]string, 0, len(addrs))
	for _, a := range addrs {
		out = append(out, strings.ToLower(u.Scheme)+"://"+net.JoinHostPort(a.IP.String(), port)+path)
	}
	sort.Strings(out)
	return out
}

// OlderThan keeps, of the series ls (label sets of name's selector sel),
// those with samples before the unix ms before: a counter series read
// from a baseline in a window whose previous sample is further back than
// CounterLookback, not one born in the window. Where the engine cannot
// say (an error), it keeps them all.
func (c *Client) OlderThan(ctx context.Context, sel string, ls []map[string]string, before int64) []map[string]string {
	ctx, cancel := c.ctx(ctx)
	defer cancel()
	sets, _, _, err := c.api.Series(ctx, []string{sel}, time.UnixMilli(0), time.UnixMilli(before))
	if err != nil {
		return ls
	}
	old := make(map[string]bool, len(sets))
	for _, s := range sets {
		old[store.CanonicalLabels(labelsOf(model.Metric(s)))] = true
	}
	var out []map[string]string
	for _, l := range ls {
		if old[store.CanonicalLabels(l)] {
			out = append(out, l)
		}
	}
	return out
}
