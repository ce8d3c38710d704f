package agent

import (
	"bytes"
	"context"
	"net/http"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"

	"github.com/vigil-metrics/vigil/internal/remotewrite"
	"github.com/vigil-metrics/vigil/internal/store"
)

// startWriters starts one remote-write Writer per --remote-write URL.
func (a *agent) startWriters() error {
	for _, u := range a.cfg.RemoteWrite {
		opt := remotewrite.Options{URL: u, QueueSize: a.cfg.RemoteWriteQueue, Protocol: a.cfg.RemoteWriteProtocol,
			Logger: a.log.With("component", "remote-write"), SeriesIdle: a.cfg.SeriesIdle, Now: a.cfg.Now,
			Transport: a.cfg.RemoteWriteTransports[u], Secrets: a.cfg.Secrets, Timeout: a.cfg.RemoteWriteTimeout}
		if a.cfg.remoteWrite != nil {
			a.cfg.remoteWrite(&opt)
		}
		w, err := remotewrite.New(opt)
		if err != nil {
			a.closeWriters()
			return err
		}
		a.writers = append(a.writers, w)
		a.log.Info("remote write", "url", w.URL(), "store", !a.cfg.NoStore)
	}
	return nil
}

// forward is the Recorder's Forward: what was written goes to every
// endpoint's queue (never blocking).
func (a *agent) forward(samples []store.Sample) {
	for _, w := range a.writers {
		w.Enqueue(samples)
	}
}

// closeWriters sends what is queued, for at most RemoteWriteFlushTimeout
// in all, and logs what was left.
func (a *agent) closeWriters() {
	if a.wclosed || len(a.writers) == 0 {
		return
	}
	a.wclosed = true
	ctx, cancel := context.WithTimeout(context.Background(), a.cfg.RemoteWriteFlushTimeout)
	defer cancel()
	type result struct {
		w      *remotewrite.Writer
		unsent int
	}
	done := make(chan result, len(a.writers))
	for _, w := range a.writers {
		go func() { done <- result{w, w.Close(ctx)} }()
	}
	for range a.writers {
		r := <-done
		st := r.w.Stats()
		if r.unsent > 0 {
			a.log.Warn("remote write: samples left unsent at shutdown", "url", r.w.URL(), "unsent", r.unsent,
				"sent", st.Sent, "dropped", st.Dropped, "failed", st.Failed)
			continue
		}
		a.log.Info("remote write: queue flushed", "url", r.w.URL(), "sent", st.Sent, "dropped", st.Dropped, "failed", st.Failed)
	}
}

// remoteWriteFamilies are the writers' counters for GET /metrics.
func (a *agent) remoteWriteFamilies() []*dto.MetricFamily {
	type metric struct {
		name, help string
		typ        dto.MetricType
		val        func(remotewrite.Stats) float64
	}
	ms := []metric{
		{"vigil_agent_remote_write_samples_sent_total", "Samples the remote-write receiver accepted.", dto.MetricType_COUNTER,
			func(s remotewrite.Stats) float64 { return float64(s.Sent) }},
		{"vigil_agent_remote_write_samples_dropped_total", "Samples dropped, oldest first, because the remote-write queue was full.", dto.MetricType_COUNTER,
			func(s remotewrite.Stats) float64 { return float64(s.Dropped) }},
		{"vigil_agent_remote_write_samples_failed_total", "Samples of batches the receiver refused (4xx other than 429) or that were given up.", dto.MetricType_COUNTER,
			func(s remotewrite.Stats) float64 { return float64(s.Failed) }},
		{"vigil_agent_remote_write_samples_out_of_order_total", "Samples at or before their series' last sent sample, not sent on their own.", dto.MetricType_COUNTER,
			func(s remotewrite.Stats) float64 { return float64(s.OutOfOrder) }},
		{"vigil_agent_remote_write_retries_total", "Remote-write requests retried after a network error, 5xx or 429.", dto.MetricType_COUNTER,
			func(s remotewrite.Stats) float64 { return float64(s.Retries) }},
		{"vigil_agent_remote_write_queue_samples", "Samples waiting in the remote-write queue.", dto.MetricType_GAUGE,
			func(s remotewrite.Stats) float64 { return float64(s.Queued) }},
	}
	stats := make([]remotewrite.Stats, len(a.writers))
	for i, w := range a.writers {
		stats[i] = w.Stats()
	}
	var fams []*dto.MetricFamily
	for _, m := range ms {
		f := &dto.MetricFamily{Name: ptr(m.name), Help: ptr(m.help), Type: m.typ.Enum()}
		for i, w := range a.writers {
			x := &dto.Metric{Label: []*dto.LabelPair{{Name: ptr("url"), Value: ptr(w.URL())}}}
			if m.typ == dto.MetricType_COUNTER {
				x.Counter = &dto.Counter{Value: ptr(m.val(stats[i]))}
			} else {
				x.Gauge = &dto.Gauge{Value: ptr(m.val(stats[i]))}
			}
			f.Metric = append(f.Metric, x)
		}
		fams = append(fams, f)
	}
	info := &dto.MetricFamily{Name: ptr("vigil_agent_remote_write_protocol_info"), Help: ptr("The remote-write protocol in use (auto until the receiver answered)."),
		Type: dto.MetricType_GAUGE.Enum()}
	for i, w := range a.writers {
		info.Metric = append(info.Metric, &dto.Metric{Label: []*dto.LabelPair{{Name: ptr("protocol"), Value: ptr(stats[i].Protocol)},
			{Name: ptr("url"), Value: ptr(w.URL())}}, Gauge: &dto.Gauge{Value: ptr(1.0)}})
	}
	return append(fams, info)
}

func ptr[T any](v T) *T { return &v }

// withRemoteWriteMetrics adds the remote-write families to the push
// server's GET /metrics (its Health callback takes only counters with
// one label).
func (a *agent) withRemoteWriteMetrics(h http.Handler) http.Handler {
	if len(a.writers) == 0 {
		return h
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet || r.URL.Path != "/metrics" {
			h.ServeHTTP(w, r)
			return
		}
		cw := &captureWriter{header: http.Header{}, status: http.StatusOK}
		h.ServeHTTP(cw, r)
		for k, v := range cw.header {
			w.Header()[k] = v
		}
		w.Header().Del("Content-Length")
		w.WriteHeader(cw.status)
		w.Write(cw.buf.Bytes()) //nolint:errcheck // the client went away
		if cw.status != http.StatusOK {
			return
		}
		enc := expfmt.NewEncoder(w, expfmt.NewFormat(expfmt.TypeTextPlain))
		for _, f := range a.remoteWriteFamilies() {
			if err := enc.Encode(f); err != nil {
				return
			}
		}
	})
}

type captureWriter struct {
	header http.Header
	status int
	buf    bytes.Buffer
}

func (c *captureWriter) Header() http.Header         { return c.header }
func (c *captureWriter) WriteHeader(status int)      { c.status = status }
func (c *captureWriter) Write(b []byte) (int, error) { return c.buf.Write(b) }
