// Package scrape reads Prometheus text expositions, over HTTP from
// exporters or pushed by clients, with prometheus/common/expfmt, and turns
// them into store samples: counters and histogram buckets, sums and counts
// become increments (reset-aware, per target), gauges stay values. A
// malformed exposition is rejected whole.
//
// It is one of the agent's parts: it returns samples for the agent to
// write and must not import analyze, alert or report.
package scrape

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/vigil-metrics/vigil/internal/cumulative"
	"github.com/vigil-metrics/vigil/internal/store"
)

// Parse reads a text exposition. Anything expfmt rejects (no final
// newline, a second TYPE line, a TYPE after samples, a bad escape) and a
// series given twice reject the whole input.
func Parse(r io.Reader) (map[string]*dto.MetricFamily, error) {
	p := expfmt.NewTextParser(model.LegacyValidation)
	fams, err := p.TextToMetricFamilies(r)
	if err != nil {
		return nil, err
	}
	for name, f := range fams {
		seen := make(map[string]bool, len(f.Metric))
		for _, m := range f.Metric {
			k := labelKey(m.Label)
			if seen[k] {
				return nil, fmt.Errorf("series %s%s appears twice", name, k)
			}
			seen[k] = true
		}
	}
	return fams, nil
}

func labelKey(ls []*dto.LabelPair) string {
	parts := make([]string, len(ls))
	for i, l := range ls {
		parts[i] = l.GetName() + "=" + strconv.Quote(l.GetValue())
	}
	sort.Strings(parts)
	return "{" + strings.Join(parts, ",") + "}"
}

// Convert turns families into samples at tsMS. target labels (job,
// instance, push grouping labels) are added; a label of the same name in
// the exposition is kept as exported_<name>, as Prometheus does. Cumulative
// values go through tr, so the first reading of a series only sets its
// baseline unless tr.ZeroBase. A NaN or infinite reading is skipped and
// leaves the baseline where it was.
func Convert(fams map[string]*dto.MetricFamily, target map[string]string, service string, tsMS int64, tr *cumulative.Tracker) []store.Sample {
	names := make([]string, 0, len(fams))
	for n := range fams {
		names = append(names, n)
	}
	sort.Strings(names) // deterministic output
	var out []store.Sample
	emit := func(name string, typ store.Type, labels map[string]string, v float64) {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			// A staleness marker, or a broken exporter's reading: no
			// reading, the baseline is kept. A counter through +Inf and
			// back then counts its increase once (10, +Inf, 10 is 10,
			// not a reset counting the 10 again), as Prometheus's
			// increase() over every window without the +Inf sample.
			return
		}
		if typ == store.Counter {
			inc, ok := tr.Delta(name+store.CanonicalLabels(labels), v)
			if !ok {
				return
			}
			v = inc
		}
		if math.IsInf(v, 0) {
			return // an increment past float64's range: nothing to store
		}
		out = append(out, store.Sample{Name: name, Type: typ, Labels: labels, Service: service, TS: tsMS, Value: v})
	}
	for _, name := range names {
		f := fams[name]
		for _, m := range f.Metric {
			labels := make(map[string]string, len(m.Label)+len(target)+1)
			for _, l := range m.Label {
				labels[l.GetName()] = l.GetValue()
			}
			for k, v := range target {
				if old, ok := labels[k]; ok {
					labels["exported_"+k] = old
				}
				labels[k] = v
			}
			switch f.GetType() {
			case dto.MetricType_COUNTER:
				emit(name, store.Counter, labels, m.GetCounter().GetValue())
			case dto.MetricType_GAUGE:
				emit(name, store.Gauge, labels, m.GetGauge().GetValue())
			case dto.MetricType_UNTYPED:
				emit(name, store.Gauge, labels, m.GetUntyped().GetValue())
			case dto.MetricType_SUMMARY:
				s := m.GetSummary()
				for _, q := range s.Quantile {
					emit(name, store.Gauge, with(labels, "quantile", FormatBound(q.GetQuantile())), q.GetValue())
				}
				emit(name+"_sum", store.Counter, labels, s.GetSampleSum())
				emit(name+"_count", store.Counter, labels, float64(s.GetSampleCount()))
			case dto.MetricType_HISTOGRAM, dto.MetricType_GAUGE_HISTOGRAM:
				typ := store.Counter
				if f.GetType() == dto.MetricType_GAUGE_HISTOGRAM {
					typ = store.Gauge
				}
				h := m.GetHistogram()
				hasInf := false
				for _, b := range h.Bucket {
					hasInf = hasInf || math.IsInf(b.GetUpperBound(), 1)
					emit(name+"_bucket", typ, with(labels, "le", FormatBound(b.GetUpperBound())), float64(b.GetCumulativeCount()))
				}
				if !hasInf {
					emit(name+"_bucket", typ, with(labels, "le", "+Inf"), float64(h.GetSampleCount()))
				}
				emit(name+"_sum", typ, labels, h.GetSampleSum())
				emit(name+"_count", typ, labels, float64(h.GetSampleCount()))
			}
		}
	}
	return out
}

func with(labels map[string]string, k, v string) map[string]string {
	m := make(map[string]string, len(labels)+1)
	for a, b := range labels {
		m[a] = b
	}
	m[k] = v
	return m
}

// FormatBound spells a bucket bound (le) or a quantile as a label value:
// the shortest decimal, "+Inf" and "-Inf", so that le="1.0" and le="1" from
// two sources are one series.
func FormatBound(f float64) string {
	switch {
	case math.IsInf(f, 1):
		return "+Inf"
	case math.IsInf(f, -1):
		return "-Inf"
	}
	return strconv.FormatFloat(f, 'g', -1, 64)
}

// Target is one endpoint to scrape.
type Target struct {
	Job string
	URL string
}

// ParseTarget reads a --scrape value: URL or JOB=URL (job defaults to
// "scrape").
func ParseTarget(s string) (Target, error) {
	job, raw := "scrape", s
	if i := strings.Index(s, "="); i > 0 && !strings.Contains(s[:i], "/") {
		job, raw = s[:i], s[i+1:]
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return Target{}, fmt.Errorf("--scrape %q: want an http(s) URL, optionally as JOB=URL", s)
	}
	return Target{Job: job, URL: raw}, nil
}

// Key identifies a target: the same URL under two jobs is two targets.
func (t Target) Key() string { return t.Job + "\x00" + t.URL }

// Instance is the instance label of a target: its host:port.
func (t Target) Instance() string {
	u, err := url.Parse(t.URL)
	if err != nil {
		return t.URL
	}
	if u.Port() != "" {
		return u.Host
	}
	if u.Scheme == "https" {
		return u.Host + ":443"
	}
	return u.Host + ":80"
}

// Scraper scrapes targets, keeping each target's counter baselines.
type Scraper struct {
	Client    *http.Client
	Timeout   time.Duration // per scrape (default 10s)
	BodyLimit int64         // bytes (default 32 MiB)
	UserAgent string

	mu       sync.Mutex
	trackers map[string]*cumulative.Tracker
}

const acceptHeader = `text/plain;version=0.0.4;q=1,*/*;q=0.1`

// Scrape fetches and converts one target at now. On any error nothing is
// returned and the target's baselines are left as they were.
func (s *Scraper) Scrape(ctx context.Context, t Target, now time.Time) ([]store.Sample, error) {
	timeout, limit := s.Timeout, s.BodyLimit
	if timeout <= 0 {
		timeout = 10 * time.Second
	}
	if limit <= 0 {
		limit = 32 << 20
	}
	client := s.Client
	if client == nil {
		client = http.DefaultClient
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, t.URL, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", acceptHeader)
	if s.UserAgent != "" {
		req.Header.Set("User-Agent", s.UserAgent)
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("HTTP status %s", resp.Status)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
	if err != nil {
		return nil, fmt.Errorf("read body: %w", err)
	}
	if int64(len(body)) > limit {
		return nil, fmt.Errorf("body exceeds the limit of %d bytes", limit)
	}
	fams, err := Parse(bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("malformed exposition: %w", err)
	}
	// One target is scraped by one goroutine at a time; the map is shared.
	s.mu.Lock()
	if s.trackers == nil {
		s.trackers = map[string]*cumulative.Tracker{}
	}
	tr := s.trackers[t.Key()]
	if tr == nil {
		tr = cumulative.New()
		s.trackers[t.Key()] = tr
	}
	s.mu.Unlock()
	out := Convert(fams, map[string]string{"job": t.Job, "instance": t.Instance()}, "", now.UnixMilli(), tr)
	tr.Sweep()
	return out, nil
}
