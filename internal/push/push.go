// Package push is the agent's HTTP face: it takes samples pushed as the
// import's JSON Lines (POST /v1/metrics) or as Prometheus text the way the
// Pushgateway does (PUT|POST /metrics/job/<job>{/<label>/<value>}), and
// exposes the agent's own health (GET /metrics, GET /healthz). A request is
// taken whole or not at all: any bad line gets a 4xx naming it, and nothing
// from that request is stored.
//
// It is one of the agent's parts: it hands samples to a Sink (the agent's
// Recorder) and must not import analyze, alert or report.
package push

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"math"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"

	"github.com/vigil-metrics/vigil/collect"
	"github.com/vigil-metrics/vigil/internal/collectlink"
	"github.com/vigil-metrics/vigil/internal/cumulative"
	"github.com/vigil-metrics/vigil/internal/ingest"
	"github.com/vigil-metrics/vigil/internal/scrape"
	"github.com/vigil-metrics/vigil/internal/store"
)

// Sink takes accepted samples; RecorderSink makes one of a
// *collect.Recorder.
type Sink interface {
	AddBatch([]store.Sample) error
	Stats() collect.Stats
}

// RecorderSink is rec as a Sink: its AddBatch of store samples (through
// internal/collectlink, without a copy into collect.Sample).
func RecorderSink(rec *collect.Recorder) Sink { return recorderSink{rec} }

type recorderSink struct{ rec *collect.Recorder }

func (s recorderSink) AddBatch(b []store.Sample) error { return collectlink.AddBatch(s.rec, b) }
func (s recorderSink) Stats() collect.Stats            { return s.rec.Stats() }

// Server holds the push state: per-group counter baselines.
type Server struct {
	Sink      Sink
	Token     string // bearer token for the push endpoints; empty: none
	BodyLimit int64  // bytes, after decompression (default 16 MiB)
	// MaxConcurrent caps the push bodies read at once (default 2); a push
	// beyond it is answered 503 with Retry-After before its body is read.
	MaxConcurrent int
	Now           func() time.Time
	// Health adds the agent's other counters (scrape errors by job) to
	// GET /metrics.
	Health func() map[string]map[string]float64
	// Types, if set, checks a batch's metric types against the store
	// before it is accepted (an error is a 400 naming the clash).
	Types func([]store.Sample) error

	mu        sync.Mutex
	groups    map[string]*pushGroup
	forgotten map[uint64]float64 // last values of series ForgetIdle dropped; under mu
	epoch     uint32             // advanced by ForgetIdle; under mu

	semOnce sync.Once
	sem     chan struct{}
	busy    atomic.Int64 // pushes refused because MaxConcurrent were being read

	accepted, refused atomic.Int64 // pushes answered 2xx, and otherwise (Pushes)
}

type pushGroup struct {
	tr   *cumulative.Tracker
	seen uint32
}

// ForgetIdle starts a new epoch and forgets the counter baselines (and
// whole groups) not pushed in the last idle epochs, so groups and series
// that stopped do not pin memory. A forgotten series keeps only its last
// value, in a bounded table keyed by a hash: if it comes back it continues
// from there (a batch job's next run, lower than the last total, is a
// reset and counts whole), so a total is never counted twice; a series
// never seen counts from zero.
func (s *Server) ForgetIdle(idle uint32) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.epoch++
	cut := s.epoch - idle
	for k, g := range s.groups {
		forgot := func(series string, v float64) { s.rememberLast(k, series, v) }
		if int32(cut-g.seen) > 0 {
			g.tr.ForgetBefore(s.epoch+1, forgot) // the whole group
			delete(s.groups, k)
			continue
		}
		if g.tr.ForgetBefore(cut, forgot) == 0 {
			delete(s.groups, k)
		}
	}
}

// maxForgotten bounds the last values kept for forgotten series (16 bytes
// and map overhead each); past it the table starts over.
const maxForgotten = 200_000

func forgottenKey(group, series string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(group))
	h.Write([]byte{0})
	h.Write([]byte(series))
	return h.Sum64()
}

func (s *Server) rememberLast(group, series string, v float64) {
	if s.forgotten == nil || len(s.forgotten) >= maxForgotten {
		s.forgotten = map[uint64]float64{}
	}
	s.forgotten[forgottenKey(group, series)] = v
}

// Baselines is the number of pushed counter series whose baseline is held.
func (s *Server) Baselines() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, g := range s.groups {
		n += g.tr.Len()
	}
	return n
}

// Handler routes the endpoints.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("POST /v1/metrics", s.counted(s.auth(http.HandlerFunc(s.pushJSON))))
	mux.Handle("PUT /metrics/job/", s.counted(s.auth(http.HandlerFunc(s.pushText))))
	mux.Handle("POST /metrics/job/", s.counted(s.auth(http.HandlerFunc(s.pushText))))
	mux.Handle("PUT /metrics/job@base64/", s.counted(s.auth(http.HandlerFunc(s.pushText))))
	mux.Handle("POST /metrics/job@base64/", s.counted(s.auth(http.HandlerFunc(s.pushText))))
	mux.HandleFunc("GET /metrics", s.health)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "ok\n") })
	return mux
}

// Pushes counts the pushes answered so far: accepted (2xx) and refused
// (any other status: bad bodies, limits, a wrong token), for the agent's
// status line.
func (s *Server) Pushes() (accepted, refused int64) {
	return s.accepted.Load(), s.refused.Load()
}

// counted counts next's answers as Pushes reports them.
func (s *Server) counted(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
		next.ServeHTTP(sw, r)
		if sw.status >= 200 && sw.status < 300 {
			s.accepted.Add(1)
		} else {
			s.refused.Add(1)
		}
	})
}

// statusWriter remembers the status a handler answered with.
type statusWriter struct {
	http.ResponseWriter
	status int
	wrote  bool
}

func (w *statusWriter) WriteHeader(code int) {
	if !w.wrote {
		w.status, w.wrote = code, true
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	w.wrote = true
	return w.ResponseWriter.Write(b)
}

func (s *Server) auth(next http.Handler) http.Handler {
	if s.Token == "" {
		return next
	}
	want := []byte(s.Token)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// The scheme is case-insensitive (RFC 7235 section 2.1).
		scheme, cred, _ := strings.Cut(r.Header.Get("Authorization"), " ")
		got := []byte(strings.TrimLeft(cred, " "))
		if !strings.EqualFold(scheme, "Bearer") || subtle.ConstantTimeCompare(got, want) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="vigil"`)
			http.Error(w, "missing or wrong bearer token", http.StatusUnauthorized)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// errTooLarge: the decompressed body passed the limit.
var errTooLarge = errors.New("body too large")

// body reads a push body whole, or answers and returns false: 413 when
// Content-Length or the (decompressed) body passes the limit, 503 with
// Retry-After when MaxConcurrent bodies are being read already, 415 for
// an encoding other than gzip. Both limits are checked before reading.
// release must be called once the body is no longer needed.
func (s *Server) body(w http.ResponseWriter, r *http.Request) (b []byte, release func(), ok bool) {
	limit := s.BodyLimit
	if limit <= 0 {
		limit = 16 << 20
	}
	tooLarge := func() {
		w.Header().Set("Connection", "close")
		http.Error(w, fmt.Sprintf("body over the limit of %d bytes", limit), http.StatusRequestEntityTooLarge)
	}
	if r.ContentLength > limit {
		tooLarge()
		return nil, nil, false
	}
	enc := strings.ToLower(strings.TrimSpace(r.Header.Get("Content-Encoding")))
	if enc != "" && enc != "identity" && enc != "gzip" && enc != "x-gzip" {
		http.Error(w, fmt.Sprintf("Content-Encoding %q: want gzip or none", enc), http.StatusUnsupportedMediaType)
		return nil, nil, false
	}
	s.semOnce.Do(func() {
		n := s.MaxConcurrent
		if n <= 0 {
			n = 2
		}
		s.sem = make(chan struct{}, n)
	})
	select {
	case s.sem <- struct{}{}:
	default:
		s.busy.Add(1)
		w.Header().Set("Retry-After", "1")
		http.Error(w, fmt.Sprintf("%d pushes are being read already; retry", cap(s.sem)), http.StatusServiceUnavailable)
		return nil, nil, false
	}
	release = func() { <-s.sem }
	var rd io.Reader = http.MaxBytesReader(w, r.Body, limit)
	if enc == "gzip" || enc == "x-gzip" {
		zr, err := gzip.NewReader(rd)
		if err != nil {
			release()
			http.Error(w, "gzip body: "+err.Error(), http.StatusBadRequest)
			return nil, nil, false
		}
		rd = &limitReader{r: zr, n: limit}
	}
	b, err := readAll(rd, r.ContentLength, limit)
	if err != nil {
		release()
		var mbe *http.MaxBytesError
		switch {
		case errors.As(err, &mbe), errors.Is(err, errTooLarge):
			tooLarge()
		default:
			http.Error(w, "read body: "+err.Error(), http.StatusBadRequest)
		}
		return nil, nil, false
	}
	return b, release, true
}

// readAll reads r, sized by Content-Length when it is known, so a 16 MiB
// body takes 16 MiB rather than the doubling growth of io.ReadAll.
func readAll(r io.Reader, size, limit int64) ([]byte, error) {
	if size <= 0 || size > limit {
		size = 512
	}
	var buf bytes.Buffer
	buf.Grow(int(size) + 1)
	_, err := buf.ReadFrom(r)
	return buf.Bytes(), err
}

// limitReader fails with errTooLarge past n bytes (io.LimitReader would
// end quietly and cut the body).
type limitReader struct {
	r io.Reader
	n int64
}

func (l *limitReader) Read(p []byte) (int, error) {
	if int64(len(p)) > l.n+1 {
		p = p[:l.n+1]
	}
	n, err := l.r.Read(p)
	l.n -= int64(n)
	if l.n < 0 {
		return n, errTooLarge
	}
	return n, err
}

func (s *Server) accept(w http.ResponseWriter, samples []store.Sample) bool {
	if s.Types != nil {
		if err := s.Types(samples); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return false
		}
	}
	if err := s.Sink.AddBatch(samples); err != nil {
		switch {
		case errors.Is(err, collect.ErrBufferFull), errors.Is(err, collect.ErrClosed):
			w.Header().Set("Retry-After", "10")
			http.Error(w, err.Error(), http.StatusServiceUnavailable)
		case errors.Is(err, collect.ErrTooManySeries):
			// Room comes back as idle series are forgotten.
			w.Header().Set("Retry-After", "60")
			http.Error(w, err.Error()+": the agent holds its --max-series", http.StatusTooManyRequests)
		case errors.Is(err, collect.ErrSeriesBytes):
			w.Header().Set("Retry-After", "60")
			http.Error(w, err.Error()+": the agent holds its --max-series-bytes", http.StatusTooManyRequests)
		case errors.Is(err, collect.ErrLabelsTooLarge):
			// No Retry-After: the same series is refused again.
			http.Error(w, err.Error()+" (--max-label-bytes)", http.StatusTooManyRequests)
		case errors.Is(err, collect.ErrBatchTooLarge):
			http.Error(w, err.Error()+": split it", http.StatusRequestEntityTooLarge)
		default:
			http.Error(w, err.Error(), http.StatusBadRequest)
		}
		return false
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusAccepted)
	fmt.Fprintf(w, "{\"accepted\": %d}\n", len(samples))
	return true
}

func (s *Server) pushJSON(w http.ResponseWriter, r *http.Request) {
	b, release, ok := s.body(w, r)
	if !ok {
		return
	}
	defer release()
	if t := bytes.TrimLeft(b, " \t\r\n"); len(t) > 0 && t[0] == '[' {
		s.pushJSONArray(w, t)
		return
	}
	var samples []store.Sample
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 0, 64<<10), len(b)+1)
	line := 0
	for sc.Scan() {
		line++
		l := bytes.TrimSpace(sc.Bytes())
		if len(l) == 0 {
			continue
		}
		smp, err := ingest.ParseJSONRecord(l)
		if err != nil {
			http.Error(w, fmt.Sprintf("line %d: %v", line, err), http.StatusBadRequest)
			return
		}
		samples = append(samples, smp)
	}
	if len(samples) == 0 {
		http.Error(w, "no samples in the body", http.StatusBadRequest)
		return
	}
	s.accept(w, samples)
}

// pushJSONArray takes a JSON array of the same records as JSON Lines; an
// error names the record by its position (1-based).
func (s *Server) pushJSONArray(w http.ResponseWriter, b []byte) {
	dec := json.NewDecoder(bytes.NewReader(b))
	if _, err := dec.Token(); err != nil { // [
		http.Error(w, "JSON array: "+err.Error(), http.StatusBadRequest)
		return
	}
	var samples []store.Sample
	for i := 1; dec.More(); i++ {
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			http.Error(w, fmt.Sprintf("record %d: %v", i, err), http.StatusBadRequest)
			return
		}
		smp, err := ingest.ParseJSONRecord(raw)
		if err != nil {
			http.Error(w, fmt.Sprintf("record %d: %v", i, err), http.StatusBadRequest)
			return
		}
		samples = append(samples, smp)
	}
	if _, err := dec.Token(); err != nil { // ]
		http.Error(w, "JSON array: "+err.Error(), http.StatusBadRequest)
		return
	}
	if _, err := dec.Token(); err != io.EOF {
		http.Error(w, "JSON array: data after the closing ]", http.StatusBadRequest)
		return
	}
	if len(samples) == 0 {
		http.Error(w, "no samples in the body", http.StatusBadRequest)
		return
	}
	s.accept(w, samples)
}

// errPushRefused is the Pushgateway's wording for a push it refuses.
const errPushRefused = "pushed metrics are invalid or inconsistent with existing metrics: "

// checkPushed refuses what a Pushgateway refuses (timestamps: the
// Pushgateway stamps pushes itself, and vigil stores the arrival time) and
// counter values that are NaN, which would otherwise leave no baseline for
// the next push.
func checkPushed(fams map[string]*dto.MetricFamily) error {
	names := make([]string, 0, len(fams))
	for n := range fams {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		f := fams[n]
		for _, m := range f.Metric {
			if m.TimestampMs != nil {
				return errors.New(errPushRefused + "pushed metrics must not have timestamps")
			}
			var nan bool
			switch f.GetType() {
			case dto.MetricType_COUNTER:
				nan = math.IsNaN(m.GetCounter().GetValue())
			case dto.MetricType_SUMMARY:
				nan = math.IsNaN(m.GetSummary().GetSampleSum())
			case dto.MetricType_HISTOGRAM:
				h := m.GetHistogram()
				nan = math.IsNaN(h.GetSampleSum())
				for _, b := range h.Bucket {
					nan = nan || math.IsNaN(b.GetCumulativeCountFloat())
				}
			}
			if nan {
				return fmt.Errorf(errPushRefused+"%s%s: a counter value is NaN", n, labelString(m.Label))
			}
		}
	}
	return nil
}

func labelString(ls []*dto.LabelPair) string {
	if len(ls) == 0 {
		return ""
	}
	parts := make([]string, len(ls))
	for i, l := range ls {
		parts[i] = l.GetName() + "=" + fmt.Sprintf("%q", l.GetValue())
	}
	return "{" + strings.Join(parts, ",") + "}"
}

// groupLabels reads /metrics/job/<job>{/<label>/<value>} from the escaped
// path, so an encoded slash stays inside its value; a name ending in
// @base64 has a base64url value, as the Pushgateway allows.
func groupLabels(escapedPath string) (map[string]string, error) {
	rest := strings.TrimPrefix(escapedPath, "/metrics/")
	parts := strings.Split(strings.TrimSuffix(rest, "/"), "/")
	if len(parts)%2 != 0 {
		return nil, errors.New("grouping labels must come in /name/value pairs")
	}
	for i, p := range parts {
		u, err := url.PathUnescape(p)
		if err != nil {
			return nil, fmt.Errorf("bad escape in %q", p)
		}
		parts[i] = u
	}
	labels := map[string]string{}
	for i := 0; i < len(parts); i += 2 {
		name, val := parts[i], parts[i+1]
		if n, ok := strings.CutSuffix(name, "@base64"); ok {
			dec, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(val, "="))
			if err != nil {
				return nil, fmt.Errorf("label %s: bad base64 value", n)
			}
			name, val = n, string(dec)
		}
		if !store.ValidLabelName(name) {
			return nil, fmt.Errorf("invalid label name %q", name)
		}
		if _, dup := labels[name]; dup {
			return nil, fmt.Errorf("label %s given twice", name)
		}
		labels[name] = val
	}
	if labels["job"] == "" {
		return nil, errors.New("empty job name")
	}
	return labels, nil
}

func (s *Server) pushText(w http.ResponseWriter, r *http.Request) {
	// The request target as sent: a decoded (or re-escaped) path would
	// turn an encoded slash inside a value into a separator.
	p, _, _ := strings.Cut(r.RequestURI, "?")
	if !strings.HasPrefix(p, "/") { // absolute-form request target
		p = r.URL.EscapedPath()
	}
	group, err := groupLabels(p)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	b, release, ok := s.body(w, r)
	if !ok {
		return
	}
	fams, err := scrape.Parse(bytes.NewReader(b))
	release()
	if err != nil {
		http.Error(w, "malformed exposition: "+err.Error(), http.StatusBadRequest)
		return
	}
	if err := checkPushed(fams); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	key := store.CanonicalLabels(group)
	s.mu.Lock()
	defer s.mu.Unlock() // one push per group at a time keeps baselines consistent
	if s.groups == nil {
		s.groups = map[string]*pushGroup{}
	}
	g := s.groups[key]
	if g == nil {
		g = &pushGroup{tr: cumulative.New()}
		g.tr.ZeroBase = true // a pushed total is what the job did since it started
		g.tr.Recall = func(series string) (float64, bool) {
			v, ok := s.forgotten[forgottenKey(key, series)] // under s.mu, as every push
			return v, ok
		}
	}
	next := g.tr.Clone()
	next.SetEpoch(s.epoch)
	samples := scrape.Convert(fams, group, "", s.Now().UnixMilli(), next)
	for i := range samples {
		if err := samples[i].Validate(); err != nil {
			http.Error(w, fmt.Sprintf("%s: %v", samples[i].Name, err), http.StatusBadRequest)
			return
		}
	}
	if len(samples) == 0 {
		w.WriteHeader(http.StatusAccepted)
		io.WriteString(w, "{\"accepted\": 0}\n")
		s.groups[key] = &pushGroup{tr: next, seen: s.epoch}
		return
	}
	if s.accept(w, samples) {
		s.groups[key] = &pushGroup{tr: next, seen: s.epoch}
	}
}

func (s *Server) health(w http.ResponseWriter, _ *http.Request) {
	st := s.Sink.Stats()
	fams := []*dto.MetricFamily{
		family("vigil_samples_written_total", "Samples committed to the store.", dto.MetricType_COUNTER, nil, float64(st.Written)),
		family("vigil_samples_dropped_total", "Samples dropped because the buffer was full while the store could not be written.", dto.MetricType_COUNTER, nil, float64(st.Dropped)),
		family("vigil_samples_invalid_total", "Samples refused as invalid.", dto.MetricType_COUNTER, nil, float64(st.Invalid)),
		family("vigil_flush_errors_total", "Failed flushes.", dto.MetricType_COUNTER, nil, float64(st.FlushErrors)),
		family("vigil_flush_duration_seconds", "Duration of the last successful flush.", dto.MetricType_GAUGE, nil, st.LastFlush.Seconds()),
		family("vigil_buffer_length", "Samples waiting to be written.", dto.MetricType_GAUGE, nil, float64(st.Buffered)),
		family("vigil_agent_series", "Series held in memory.", dto.MetricType_GAUGE, nil, float64(st.Series)),
		family("vigil_agent_series_refused_total", "Samples of series refused by --max-series, --max-series-bytes or --max-label-bytes.", dto.MetricType_COUNTER, nil, float64(st.SeriesRefused)),
		family("vigil_agent_series_bytes", "Bytes of the names, labels and services of the series held (as --max-series-bytes counts them).", dto.MetricType_GAUGE, nil, float64(st.SeriesBytes)),
		family("vigil_agent_store_reopens_total", "Times the store was reopened after a failed write.", dto.MetricType_COUNTER, nil, float64(st.Reopens)),
		family("vigil_push_busy_total", "Pushes refused with 503 because the most bodies allowed were being read.", dto.MetricType_COUNTER, nil, float64(s.busy.Load())),
	}
	if s.Health != nil {
		extra := s.Health()
		names := make([]string, 0, len(extra))
		for n := range extra {
			names = append(names, n)
		}
		sort.Strings(names)
		for _, n := range names {
			f := &dto.MetricFamily{Name: ptr(n), Type: dto.MetricType_COUNTER.Enum()}
			keys := make([]string, 0, len(extra[n]))
			for k := range extra[n] {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			for _, k := range keys {
				lbl, val, _ := strings.Cut(k, "=")
				f.Metric = append(f.Metric, &dto.Metric{
					Label:   []*dto.LabelPair{{Name: ptr(lbl), Value: ptr(val)}},
					Counter: &dto.Counter{Value: ptr(extra[n][k])},
				})
			}
			fams = append(fams, f)
		}
	}
	format := expfmt.NewFormat(expfmt.TypeTextPlain)
	w.Header().Set("Content-Type", string(format))
	enc := expfmt.NewEncoder(w, format)
	for _, f := range fams {
		if err := enc.Encode(f); err != nil {
			return
		}
	}
}

func ptr[T any](v T) *T { return &v }

func family(name, help string, t dto.MetricType, labels []*dto.LabelPair, v float64) *dto.MetricFamily {
	m := &dto.Metric{Label: labels}
	if t == dto.MetricType_COUNTER {
		m.Counter = &dto.Counter{Value: ptr(v)}
	} else {
		m.Gauge = &dto.Gauge{Value: ptr(v)}
	}
	return &dto.MetricFamily{Name: ptr(name), Help: ptr(help), Type: t.Enum(), Metric: []*dto.Metric{m}}
}

// DecodeJSON is a helper for clients and tests: the accepted count of a
// 202 response.
func DecodeJSON(r io.Reader) (int, error) {
	var v struct {
		Accepted int `json:"accepted"`
	}
	err := json.NewDecoder(r).Decode(&v)
	return v.Accepted, err
}
