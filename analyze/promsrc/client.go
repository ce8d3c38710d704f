// Package promsrc reads a Prometheus-compatible engine (Prometheus,
// Thanos, Mimir, Cortex, VictoriaMetrics) through the Prometheus HTTP API
// with the official client, so that vigil can answer its metric paths
// there with the numbers a store holding the same samples gives.
//
// It fetches raw samples, never rate() or increase() (which extrapolate
// to the window's edges): by streamed remote read where the engine serves
// it (remoteread.go), else range-vector selectors at the window's end,
// cut into time chunks no larger than the server takes, filtered to vigil's
// half-open window (at-w, at] (Prometheus before 3.0 includes a sample at
// exactly at-w), and counters turned into reset-aware increments as a
// scrape turns them, the first increment computed against the last sample
// before the window. Package analyze computes on them with its own engine.
// Where an aggregation is provably the same when the server computes it
// (the count, min and max of a gauge's samples) Over asks for it instead.
package promsrc

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/api"
	v1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/model"

	"github.com/vigil-metrics/vigil/internal/metricpath"
	"github.com/vigil-metrics/vigil/internal/noredirect"
	"github.com/vigil-metrics/vigil/internal/secret"
	"github.com/vigil-metrics/vigil/internal/sources"
	"github.com/vigil-metrics/vigil/internal/store"
)

// Config is a source's settings (the sources: section).
type Config = sources.Config

// BasicAuth is a source's user name and password.
type BasicAuth = sources.BasicAuth

// Client is one source. Not safe for concurrent use.
type Client struct {
	URL     string // as given (it carries no secret: CheckURL)
	cfg     Config
	api     v1.API
	ac      *apiClient // under api: what it read last
	timeout time.Duration
	types   map[string]store.Type
	// edge says whether the engine's range selectors include their left
	// edge (Prometheus before 3.0) or not (3.0 on): pushdown must know.
	// Probed from the engine itself (a version number would not say: Mimir,
	// Thanos and VictoriaMetrics number their own releases).
	edge    rangeEdge
	probed  bool
	dropped int // non-finite samples skipped
	// baselines: the last Raw's counter series read from a baseline in
	// the window (Baselines).
	baselines []map[string]string
	// readWhy says why raw samples do not come by remote read ("": they
	// do), once readProbed.
	readProbed bool
	readWhy    string
	// readAutoOnly: readWhy holds for auto only (the configuration could
	// not be read); a forced remote_read reads on.
	readAutoOnly bool
}

// New makes a client for the source at rawURL. timeout bounds each
// request (0: none).
func New(rawURL string, cfg Config, timeout time.Duration) (*Client, error) {
	if err := sources.CheckURL(rawURL); err != nil {
		return nil, err
	}
	cfg.Defaults()
	rt, err := sources.RoundTripper(rawURL, cfg)
	if err != nil {
		return nil, err
	}
	return newClient(rawURL, cfg, timeout, rt)
}

// newClient is New over the transport rt (tests hand in their own).
func newClient(rawURL string, cfg Config, timeout time.Duration, rt http.RoundTripper) (*Client, error) {
	cfg.Defaults()
	urls, err := api.NewClient(api.Config{Address: rawURL})
	if err != nil {
		return nil, fmt.Errorf("source %s: %w", rawURL, err)
	}
	secrets := secret.New()
	cfg.RegisterSecrets(secrets)
	ac := &apiClient{Client: urls, hc: noredirect.Client(&http.Client{Transport: noPartial{rt}}), max: cfg.MaxResponseBytes, secrets: secrets}
	return &Client{URL: rawURL, cfg: cfg, api: v1.NewAPI(ac), ac: ac, timeout: timeout, types: map[string]store.Type{}}, nil
}

// Dropped is how many samples were skipped for a NaN or infinite value,
// which no store can hold.
func (c *Client) Dropped() int { return c.dropped }

// CounterLookback is how far before a window Raw looks for a counter's
// previous sample.
func (c *Client) CounterLookback() time.Duration { return c.cfg.CounterLookback }

// Baselines lists the series of the last Raw of a counter whose first
// sample in the window had no sample before it within CounterLookback:
// that sample is a baseline, as a store's import reads a series' first
// sample, and the series' increase in the window misses the increment up
// to it (or, with one sample in the window, it has none).
func (c *Client) Baselines() []map[string]string { return c.baselines }

// CanPushDown reports whether Over may be used: pushdown is on and the
// engine's range semantics are known.
func (c *Client) CanPushDown(ctx context.Context) bool {
	if c.cfg.Pushdown != nil && !*c.cfg.Pushdown {
		return false
	}
	if !c.probed {
		c.probed = true
		c.edge = c.probeEdge(ctx)
	}
	return c.edge != edgeUnknown
}

type rangeEdge int

const (
	edgeUnknown rangeEdge = iota
	edgeClosed            // [t-r, t]: Prometheus before 3.0
	edgeOpen              // (t-r, t]: Prometheus 3.0 on, vigil's own windows
)

// probeEdge asks the engine how many of the points of vector(1) at whole
// seconds a ten-second subquery range ending on a whole second holds: 11
// if the range includes its left edge, 10 if not. Anything else (an
// engine without subqueries, an error) leaves pushdown off.
func (c *Client) probeEdge(ctx context.Context) rangeEdge {
	v, err := c.query(ctx, "count_over_time(vector(1)[10s:1s])", 1_000_000_000_000)
	if err != nil {
		return edgeUnknown
	}
	vec, err := c.vector(v)
	if err != nil || len(vec) != 1 {
		return edgeUnknown
	}
	switch vec[0].Value {
	case 11:
		return edgeClosed
	case 10:
		return edgeOpen
	}
	return edgeUnknown
}

func (c *Client) ctx(ctx context.Context) (context.Context, context.CancelFunc) {
	if c.timeout > 0 {
		return context.WithTimeout(ctx, c.timeout)
	}
	return context.WithCancel(ctx)
}

// Type gives a metric name its store type: the config's types: first,
// then the server's metadata, then the naming conventions (_total,
// _bucket, _sum and _count are counters, as an OpenMetrics import reads
// them), else a gauge. Names with no metadata are the rule for blocks
// built by promtool and for remote-written series.
func (c *Client) Type(ctx context.Context, name string) (store.Type, error) {
	if t, ok := c.cfg.Types[name]; ok {
		return t, nil
	}
	if t, ok := c.types[name]; ok {
		return t, nil
	}
	t, err := c.metadataType(ctx, name)
	if err != nil {
		return "", err
	}
	c.types[name] = t
	return t, nil
}

var counterSuffixes = []string{"_total", "_bucket", "_sum", "_count"}

func (c *Client) metadataType(ctx context.Context, name string) (store.Type, error) {
	ctx, cancel := c.ctx(ctx)
	defer cancel()
	// The family is the name itself (text format: foo_total) or the name
	// less a suffix (OpenMetrics: foo).
	cands := []string{name}
	for _, s := range append(counterSuffixes, "_gsum", "_gcount") {
		if b, ok := strings.CutSuffix(name, s); ok {
			cands = append(cands, b)
		}
	}
	for _, fam := range cands {
		md, err := c.api.Metadata(ctx, fam, "1")
		err = c.ac.annotate(err)
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			err = &timeoutError{c.timeout}
		}
		if err != nil {
			var ae *v1.Error
			if errors.As(err, &ae) && (ae.Type == v1.ErrClient || ae.Type == v1.ErrBadResponse) && strings.Contains(ae.Msg, "404") {
				break // an engine without the metadata API: conventions
			}
			return "", c.wrap(err, "read metadata of "+name)
		}
		ms := md[fam]
		if len(ms) == 0 {
			continue
		}
		suffix := strings.TrimPrefix(name, fam)
		switch ms[0].Type {
		case v1.MetricTypeCounter:
			return store.Counter, nil
		case v1.MetricTypeHistogram, v1.MetricTypeSummary:
			if suffix == "_bucket" || suffix == "_sum" || suffix == "_count" {
				return store.Counter, nil
			}
			return store.Gauge, nil // a summary's quantiles
		default:
			return store.Gauge, nil
		}
	}
	for _, s := range counterSuffixes {
		if strings.HasSuffix(name, s) {
			return store.Counter, nil
		}
	}
	return store.Gauge, nil
}

// LabelNames lists the label names (less __name__) of name's series.
func (c *Client) LabelNames(ctx context.Context, name string) ([]string, error) {
	ctx, cancel := c.ctx(ctx)
	defer cancel()
	ns, _, _, err := c.api.LabelNames(ctx, []string{Selector(name, nil)}, time.Time{}, time.Time{})
	err = c.ac.annotate(err)
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		err = &timeoutError{c.timeout}
	}
	if err != nil {
		return nil, c.wrap(err, "label names of "+name)
	}
	out := make([]string, 0, len(ns))
	for _, n := range ns {
		if n != model.MetricNameLabel {
			out = append(out, string(n))
		}
	}
	return out, nil
}

// SeriesBefore lists the label sets (less __name__) of sel's series with
// samples from CounterLookback before lo up to hi.
func (c *Client) SeriesBefore(ctx context.Context, name, sel string, lo, hi int64) ([]map[string]string, error) {
	ctx, cancel := c.ctx(ctx)
	defer cancel()
	sets, _, _, err := c.api.Series(ctx, []string{sel}, time.UnixMilli(lo-c.cfg.CounterLookback.Milliseconds()), time.UnixMilli(hi))
	err = c.ac.annotate(err)
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		err = &timeoutError{c.timeout}
	}
	if err != nil {
		return nil, c.wrap(err, "list the series of "+name)
	}
	out := make([]map[string]string, 0, len(sets))
	for _, ls := range sets {
		out = append(out, labelsOf(model.Metric(ls)))
	}
	return out, nil
}

// Series is one series' samples: values for gauges and histograms,
// reset-aware increments for counters, in time order.
type Series struct {
	Labels map[string]string // without __name__
	TS     []int64           // unix ms
	Values []float64
}

// Selector writes name and matchers as a PromQL selector. vigil's
// matchers are PromQL's: RE2, anchored at both ends, a missing label
// reading as "".
func Selector(name string, ms []metricpath.Matcher) string {
	var b strings.Builder
	b.WriteString(name)
	b.WriteByte('{')
	for i, m := range ms {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(m.Label)
		b.WriteString(m.Op.String())
		b.WriteString(strconv.Quote(m.Value))
	}
	b.WriteByte('}')
	return b.String()
}

// promDuration writes ms as a PromQL duration.
func promDuration(ms int64) string { return strconv.FormatInt(ms, 10) + "ms" }

// Raw fetches the samples of sel (a PromQL selector of metric name, of
// store type typ) in (lo, hi] (unix ms) and hands them to emit one time
// chunk at a time, in time order, so that a long window never sits whole
// in memory: each call's series are sorted by labels, and all its samples
// are later than the previous call's. Counters come as increments, as a
// store keeps them: each sample's difference from the series' previous
// sample (its value after a reset), the first sample in the window
// against the last one at or before lo (within CounterLookback), a
// series' first sample ever only a baseline. A counter with two samples
// at or before lo has increments before the window in a store, which
// makes it exist there (a window with none of its samples counts 0, not
// "no data"): such a series gets a zero increment at lo, outside every
// window that starts at lo or later, to say so (in the first call).
func (c *Client) Raw(ctx context.Context, name, sel string, typ store.Type, lo, hi int64, emit func([]Series) error) error {
	var first []Series // the markers, sent with the first chunk
	var incs *increments
	c.baselines = nil
	fetchHi := hi
	if typ == store.Counter {
		prev, counts, labels, err := c.before(ctx, name, sel, lo)
		if err != nil {
			return err
		}
		incs = newIncrements(prev, hi)
		for k, n := range counts {
			if n >= 2 {
				first = append(first, Series{Labels: labels[k], TS: []int64{lo}, Values: []float64{0}})
			}
		}
		// One millisecond past the window says whether a 0 at hi is a
		// remote-write reset marker (see increments).
		fetchHi = hi + 1
	}
	sent := false
	err := c.fetch(ctx, name, sel, lo, fetchHi, func(got []Series) error {
		if incs != nil {
			got = incs.chunk(got)
		}
		if !sent {
			sent = true
			got = mergeFirst(first, got)
		}
		if len(got) == 0 {
			return nil
		}
		return emit(got)
	})
	if err != nil || incs == nil {
		return err
	}
	c.baselines = incs.baselines
	if rest := incs.flush(); len(rest) > 0 || !sent {
		if !sent {
			rest = mergeFirst(first, rest)
		}
		return emit(rest)
	}
	return nil
}

// mergeFirst puts the markers (one sample at lo each) before the samples
// of their series in the first chunk, adding the series that have none.
func mergeFirst(markers, got []Series) []Series {
	if len(markers) == 0 {
		return got
	}
	idx := map[string]int{}
	for i := range got {
		idx[store.CanonicalLabels(got[i].Labels)] = i
	}
	for _, m := range markers {
		if i, ok := idx[store.CanonicalLabels(m.Labels)]; ok {
			got[i].TS = append(m.TS, got[i].TS...)
			got[i].Values = append(m.Values, got[i].Values...)
			continue
		}
		got = append(got, m)
	}
	sortSeries(got)
	return got
}

// concat joins two consecutive time ranges' series: b's samples follow
// a's in the series they share.
func concat(a, b []Series) []Series {
	idx := map[string]int{}
	for i := range a {
		idx[store.CanonicalLabels(a[i].Labels)] = i
	}
	for _, sr := range b {
		if i, ok := idx[store.CanonicalLabels(sr.Labels)]; ok {
			a[i].TS = append(a[i].TS, sr.TS...)
			a[i].Values = append(a[i].Values, sr.Values...)
			continue
		}
		a = append(a, sr)
	}
	return a
}

func sortSeries(ss []Series) {
	sort.Slice(ss, func(i, j int) bool {
		return store.CanonicalLabels(ss[i].Labels) < store.CanonicalLabels(ss[j].Labels)
	})
}

// before reads, at lo, each series' last sample within CounterLookback
// and how many there are, with their labels, keyed by canonical labels.
// A selector whose lookback is over the server's sample limit is asked
// again over a quarter of it, down to five minutes.
func (c *Client) before(ctx context.Context, name, sel string, lo int64) (prev, counts map[string]float64, labels map[string]map[string]string, err error) {
	labels = map[string]map[string]string{}
	ask := func(fn string, look int64) (map[string]float64, error) {
		v, err := c.query(ctx, fmt.Sprintf("%s(%s[%s])", fn, sel, promDuration(look)), lo)
		if err != nil {
			return nil, err
		}
		vec, err := c.vector(v)
		if err != nil {
			return nil, err
		}
		out := map[string]float64{}
		for _, s := range vec {
			ls := labelsOf(s.Metric)
			k := store.CanonicalLabels(ls)
			out[k], labels[k] = float64(s.Value), ls
		}
		return out, nil
	}
	for look := c.cfg.CounterLookback.Milliseconds(); ; look /= 4 {
		if prev, err = ask("last_over_time", look); err == nil {
			counts, err = ask("count_over_time", look)
		}
		if err == nil || !tooManySamples(err) || look/4 < 5*60_000 {
			break
		}
	}
	if err != nil {
		return nil, nil, nil, c.wrap(err, "read the samples before the window of "+name)
	}
	return prev, counts, labels, nil
}

// fetch reads the raw samples of sel in (from, to] and hands them to emit
// a chunk of time at a time, each chunk's series sorted by labels: chunks
// sized from the last one's density to MaxSamplesPerRequest, halved when
// the server refuses one as over its sample limit.
func (c *Client) fetch(ctx context.Context, name, sel string, from, to int64, emit func([]Series) error) error {
	const maxChunk = 31 * 24 * 3600_000
	chunk := int64(6 * time.Hour / time.Millisecond)
	for s := from; s < to; {
		e := min(s+chunk, to)
		got, n, err := c.chunk(ctx, name, sel, s, e)
		if err != nil {
			return err
		}
		sortSeries(got)
		if err := emit(got); err != nil {
			return err
		}
		// Size the next chunk to the density of this one.
		if n > 0 {
			chunk = max(60_000, min(int64(float64(e-s)*float64(c.cfg.MaxSamplesPerRequest)/float64(n)*0.9), maxChunk))
		} else {
			chunk = min(chunk*4, maxChunk)
		}
		s = e
	}
	return nil
}

// chunk reads (s, e], by remote read where the engine serves it, else
// by the query API; it halves the range while the server refuses it as
// too many samples.
func (c *Client) chunk(ctx context.Context, name, sel string, s, e int64) ([]Series, int, error) {
	remote, err := c.useRemoteRead(ctx)
	if err != nil {
		return nil, 0, err
	}
	var got []Series
	var n int
	if remote {
		got, n, err = c.readRange(ctx, sel, s, e)
	} else {
		got, n, err = c.queryRange(ctx, sel, s, e)
	}
	if err != nil {
		if tooManySamples(err) && e-s > 60_000 {
			mid := s + (e-s)/2
			a, na, err := c.chunk(ctx, name, sel, s, mid)
			if err != nil {
				return nil, 0, err
			}
			b, nb, err := c.chunk(ctx, name, sel, mid, e)
			if err != nil {
				return nil, 0, err
			}
			return concat(a, b), na + nb, nil
		}
		if tooManySamples(err) {
			return nil, 0, fmt.Errorf("source %s: %s over %s: %w (even a minute of this selector is over the server's sample limit: narrow the selector to fewer series or the window, or raise the server's --query.max-samples)",
				c.URL, name, window(s, e), c.wrap(err, ""))
		}
		return nil, 0, c.wrap(err, fmt.Sprintf("read %s over %s", name, window(s, e)))
	}
	return got, n, nil
}

// queryRange reads (s, e] by the query API: a range selector at e.
func (c *Client) queryRange(ctx context.Context, sel string, s, e int64) ([]Series, int, error) {
	v, err := c.query(ctx, sel+"["+promDuration(e-s)+"]", e)
	if err != nil {
		return nil, 0, err
	}
	m, err := c.matrix(v)
	if err != nil {
		return nil, 0, err
	}
	out := make([]Series, 0, len(m))
	n := 0
	for _, ss := range m {
		sr := Series{Labels: labelsOf(ss.Metric), TS: make([]int64, 0, len(ss.Values)), Values: make([]float64, 0, len(ss.Values))}
		for _, p := range ss.Values {
			t := int64(p.Timestamp)
			// (s, e]: before 3.0 a range selector includes its left edge.
			if t <= s || t > e {
				continue
			}
			f := float64(p.Value)
			if math.IsNaN(f) || math.IsInf(f, 0) {
				c.dropped++
				continue
			}
			sr.TS, sr.Values = append(sr.TS, t), append(sr.Values, f)
		}
		n += len(ss.Values)
		if len(sr.TS) > 0 {
			out = append(out, sr)
		}
	}
	return out, n, nil
}

func labelsOf(m model.Metric) map[string]string {
	out := make(map[string]string, len(m))
	for k, v := range m {
		if k != model.MetricNameLabel {
			out[string(k)] = string(v)
		}
	}
	return out
}

func (c *Client) query(ctx context.Context, q string, at int64) (model.Value, error) {
	ctx, cancel := c.ctx(ctx)
	defer cancel()
	v, warnings, _, err := c.api.Query(ctx, q, time.UnixMilli(at))
	err = c.ac.annotate(err)
	if err == nil && len(warnings) > 0 {
		// A warning is how Thanos and Prometheus's remote read say the
		// answer is partial (a store or a remote did not answer): other
		// numbers than the samples give, which vigil never passes on.
		return nil, &partialError{warnings}
	}
	if err == nil {
		return v, nil
	}
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return nil, &timeoutError{c.timeout}
	}
	return nil, err
}

// Value is one series' answer of an aggregation the server computed.
type Value struct {
	Labels map[string]string
	Value  float64
}

// Over asks the server for fn(sel[w]) at at (fn one of count_over_time,
// min_over_time, max_over_time, stddev_over_time), over vigil's window (at-w, at]: where a
// range selector includes its left edge (Prometheus before 3.0) the range
// is one millisecond shorter (timestamps are whole milliseconds). Call
// CanPushDown first.
func (c *Client) Over(ctx context.Context, fn, name, sel string, at, w int64) ([]Value, error) {
	r := w
	if c.edge == edgeClosed {
		r = w - 1
	}
	if r <= 0 {
		return []Value{}, nil
	}
	v, err := c.query(ctx, fmt.Sprintf("%s(%s[%s])", fn, sel, promDuration(r)), at)
	if err != nil {
		return nil, c.wrap(err, fmt.Sprintf("%s of %s", fn, name))
	}
	vec, err := c.vector(v)
	if err != nil {
		return nil, c.wrap(err, fmt.Sprintf("%s of %s", fn, name))
	}
	out := make([]Value, 0, len(vec))
	for _, s := range vec {
		out = append(out, Value{Labels: labelsOf(s.Metric), Value: float64(s.Value)})
	}
	return out, nil
}

// noPartial asks Thanos (and what imitates it) to fail a query rather than
// answer it from the stores that did answer: partial_response=false,
// which Prometheus ignores. A partial answer that comes anyway arrives
// with a warning, which query refuses.
type noPartial struct{ next http.RoundTripper }

func (t noPartial) RoundTrip(r *http.Request) (*http.Response, error) {
	if strings.HasSuffix(r.URL.Path, "/api/v1/query") {
		r = r.Clone(r.Context())
		q := r.URL.Query()
		q.Set("partial_response", "false")
		r.URL.RawQuery = q.Encode()
	}
	return t.next.RoundTrip(r)
}

type partialError struct{ warnings []string }

func (e *partialError) Error() string {
	return "the server's answer is partial (" + wordsN([]byte(strings.Join(e.warnings, "; ")), msgBytes) + "): refused, as it would give other numbers than the samples"
}

type timeoutError struct{ d time.Duration }

func (e *timeoutError) Error() string {
	return fmt.Sprintf("no answer within %s (--timeout)", e.d)
}

// TooManySamples reports whether err is a server's refusal of a query
// over its sample limit.
func TooManySamples(err error) bool { return err != nil && tooManySamples(err) }

// tooManySamples reads a server's refusal of a query over its sample
// limit: Prometheus and Thanos ("query processing would load too many
// samples into memory"), VictoriaMetrics ("cannot select more than
// -search.maxSamplesPerQuery"), Mimir and Cortex ("the query exceeded
// the maximum number of samples").
func tooManySamples(err error) bool {
	m := err.Error()
	return strings.Contains(m, "too many samples") || strings.Contains(m, "cannot select more than") ||
		strings.Contains(m, "maximum number of samples")
}

// wrap says which source failed and how, in the server's words where it
// gave some: unreachable, refused (4xx), failed (5xx), timed out.
func (c *Client) wrap(err error, what string) error {
	if what != "" {
		what = " " + what
	}
	var te *timeoutError
	var pe *partialError
	var ae *v1.Error
	var ne *net.OpError
	var ue *url.Error
	switch {
	case errors.As(err, &te), errors.As(err, &pe):
		return fmt.Errorf("source %s:%s: %w", c.URL, what, err)
	case errors.As(err, &ae):
		// The server's words, whatever their length and bytes: cut short,
		// escapes quoted.
		typ, msg := ae.Type, wordsN([]byte(ae.Msg), msgBytes)
		// A status the client does not read as an API answer (a 503) keeps
		// the server's JSON in Detail: its words are there.
		var body struct {
			ErrorType v1.ErrorType `json:"errorType"`
			Error     string       `json:"error"`
		}
		detail := strings.TrimSpace(ae.Detail)
		if json.Unmarshal([]byte(detail), &body) == nil && body.Error != "" {
			msg, detail = msg+": "+wordsN([]byte(body.Error), msgBytes), ""
			if body.ErrorType != "" {
				typ = body.ErrorType
			}
		}
		refused := strings.HasPrefix(msg, "client error: ")
		msg = strings.TrimPrefix(strings.TrimPrefix(msg, "server error: "), "client error: ")
		switch {
		case typ == v1.ErrBadData:
			msg = "the server refused the query: " + msg
		case typ == v1.ErrTimeout:
			msg = "the server timed out: " + msg
		case typ == v1.ErrExec:
			msg = "the server could not run the query: " + msg
		case refused || typ == v1.ErrClient:
			msg = "the server refused the request: " + msg
		default:
			msg = "the server failed: " + msg
		}
		if strings.Contains(msg, "401") || strings.Contains(msg, "403") {
			msg += " (check the credentials in sources:)"
		}
		if detail != "" && !strings.Contains(msg, detail) {
			msg += ": " + c.ac.words([]byte(detail)) // the server's words, cut short
		}
		return fmt.Errorf("source %s:%s: %s", c.URL, what, msg)
	case errors.As(err, &ne) && ne.Op == "dial":
		return fmt.Errorf("source %s:%s: cannot reach the server: %w", c.URL, what, ne.Err)
	case errors.As(err, &ue):
		return fmt.Errorf("source %s:%s: %w", c.URL, what, ue.Err)
	}
	return fmt.Errorf("source %s:%s: %w", c.URL, what, err)
}

func window(s, e int64) string {
	return fmt.Sprintf("(%s, %s]", time.UnixMilli(s).UTC().Format(time.RFC3339Nano), time.UnixMilli(e).UTC().Format(time.RFC3339Nano))
}
