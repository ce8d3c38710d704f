// Package push is the agent's HTTP face: it takes samples pushed as the
// import's JSON Lines (POST /v1/metrics) or as Prometheus text the way the
// Pushgateway does (PUT|POST /metrics/job/<job>{/<label>/<value>}), and
// exposes the agent's own health (GET /metrics, GET /healthz). A request is
// taken whole or not at all: any bad line gets a 4xx naming it, and nothing
// from that request is stored.
package push

import (
	"bufio"
	"bytes"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"sync"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"

	"github.com/vigil-metrics/vigil/collect"
	"github.com/vigil-metrics/vigil/collect/cumulative"
	"github.com/vigil-metrics/vigil/collect/ingest"
	"github.com/vigil-metrics/vigil/collect/scrape"
	"github.com/vigil-metrics/vigil/collect/store"
)

// Sink takes accepted samples; *collect.Recorder is one.
type Sink interface {
	AddBatch([]store.Sample) error
	Stats() collect.Stats
}

// Server holds the push state: per-group counter baselines.
type Server struct {
	Sink      Sink
	Token     string // bearer token for the push endpoints; empty: none
	BodyLimit int64  // bytes (default 16 MiB)
	Now       func() time.Time
	// Health adds the agent's other counters (scrape errors by job) to
	// GET /metrics.
	Health func() map[string]map[string]float64

	mu     sync.Mutex
	groups map[string]*cumulative.Tracker
}

// Handler routes the endpoints.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("POST /v1/metrics", s.auth(http.HandlerFunc(s.pushJSON)))
	mux.Handle("PUT /metrics/job/", s.auth(http.HandlerFunc(s.pushText)))
	mux.Handle("POST /metrics/job/", s.auth(http.HandlerFunc(s.pushText)))
	mux.Handle("PUT /metrics/job@base64/", s.auth(http.HandlerFunc(s.pushText)))
	mux.Handle("POST /metrics/job@base64/", s.auth(http.HandlerFunc(s.pushText)))
	mux.HandleFunc("GET /metrics", s.health)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "ok\n") })
	return mux
}

func (s *Server) auth(next http.Handler) http.Handler {
	if s.Token == "" {
		return next
	}
	want := []byte("Bearer " + s.Token)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got := []byte(r.Header.Get("Authorization"))
		if subtle.ConstantTimeCompare(got, want) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="vigil"`)
			http.Error(w, "missing or wrong bearer token", http.StatusUnauthorized)
			return
		}
		next.ServeHTTP(w, r)
	})
}

func (s *Server) body(w http.ResponseWriter, r *http.Request) ([]byte, bool) {
	limit := s.BodyLimit
	if limit <= 0 {
		limit = 16 << 20
	}
	b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			http.Error(w, fmt.Sprintf("body over the limit of %d bytes", limit), http.StatusRequestEntityTooLarge)
		} else {
			http.Error(w, "read body: "+err.Error(), http.StatusBadRequest)
		}
		return nil, false
	}
	return b, true
}

func (s *Server) accept(w http.ResponseWriter, samples []store.Sample) bool {
	if err := s.Sink.AddBatch(samples); err != nil {
		switch {
		case errors.Is(err, collect.ErrBufferFull), errors.Is(err, collect.ErrClosed):
			w.Header().Set("Retry-After", "10")
			http.Error(w, err.Error(), http.StatusServiceUnavailable)
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
	b, ok := s.body(w, r)
	if !ok {
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
	b, ok := s.body(w, r)
	if !ok {
		return
	}
	fams, err := scrape.Parse(bytes.NewReader(b))
	if err != nil {
		http.Error(w, "malformed exposition: "+err.Error(), http.StatusBadRequest)
		return
	}
	key := store.CanonicalLabels(group)
	s.mu.Lock()
	defer s.mu.Unlock() // one push per group at a time keeps baselines consistent
	if s.groups == nil {
		s.groups = map[string]*cumulative.Tracker{}
	}
	tr := s.groups[key]
	if tr == nil {
		tr = cumulative.New()
		tr.ZeroBase = true // a pushed total is what the job did since it started
	}
	next := tr.Clone()
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
		s.groups[key] = next
		return
	}
	if s.accept(w, samples) {
		s.groups[key] = next
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
