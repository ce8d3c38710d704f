// Package remotewrite sends what the agent collects to a Prometheus
// remote-write endpoint (protocol 1.0, or 2.0 where the receiver takes
// it) with github.com/prometheus/client_golang/exp/api/remote.
//
// A Writer serves one URL. Enqueue never blocks: samples go into a
// bounded in-memory queue, and when it is full the oldest are dropped and
// counted. A background sender takes batches of up to BatchSize samples
// (a partial batch after FlushInterval) and writes them, retrying with
// exponential backoff on network errors, 5xx, 429 (honouring
// Retry-After) and requests not answered whole within Timeout; a batch refused with another 4xx is dropped, counted as
// failed and logged in one line.
//
// What is sent:
//
//   - Series identity is the metric name, its labels and the store's
//     service column as the label service (when not empty, and unless the
//     series has a service label of its own, which wins as it does in
//     vigil's queries). Labels with an empty value are left out
//     (Prometheus reads them as absent), and store series that differ only
//     there are one series here, with one running total.
//   - Counters as the cumulative totals Prometheus expects: vigil stores
//     increments, so the Writer keeps a running total per series, from 0
//     when it starts or first sees the series (again after SeriesIdle): a
//     0 a millisecond before its first total says so, so Prometheus reads
//     a reset and counts every increment, whatever the series' last total
//     before.
//   - Gauges as they are.
//   - Histograms (vigil keeps raw observations) as two counters,
//     <name>_count and <name>_sum, running totals like a Prometheus
//     summary without quantiles: rate(x_sum[5m]) / rate(x_count[5m]) is
//     the mean. Each observation is not sent on its own: Prometheus keeps
//     one sample per series and millisecond.
//
// Prometheus refuses a whole request holding one sample at or before the
// last one of its series, so the Writer keeps each series' timestamps
// increasing: a second sample at the same millisecond replaces the queued
// one (a counter's total includes both), and a sample older than the last
// queued or sent is counted as out of order (a gauge's value is lost; a
// counter's increment is kept in the total and goes with the next sample).
//
// It is one of the agent's parts and must not import analyze, alert or
// report; the credentials of a URL come from package sources.
package remotewrite

import (
	"context"
	"errors"
	"fmt"
	"hash/maphash"
	"io"
	"log/slog"
	"net/http"
	"net/textproto"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/exp/api/remote"
	"github.com/prometheus/prometheus/prompb"

	"github.com/vigil-metrics/vigil/internal/noredirect"
	"github.com/vigil-metrics/vigil/internal/secret"
	"github.com/vigil-metrics/vigil/internal/sources"
	"github.com/vigil-metrics/vigil/internal/store"
)

// Protocols.
const (
	// ProtocolAuto sends 2.0 and falls back to 1.0, for good, at the first
	// answer saying the receiver does not take 2.0 (415, a 2xx without the
	// 2.0 written-samples headers, or a 400 where the same batch in 1.0
	// goes through); the batch is sent again in 1.0 at once.
	ProtocolAuto = "auto"
	ProtocolV1   = "1.0"
	ProtocolV2   = "2.0"
)

// Options configure a Writer.
type Options struct {
	// URL is the receiver's remote-write endpoint, used as given (for
	// Prometheus: http://host:9090/api/v1/write). Userinfo in it is sent
	// as basic auth and never logged.
	URL string
	// QueueSize bounds the samples waiting (default 100000); when full,
	// the oldest are dropped and counted.
	QueueSize int
	// BatchSize is the most samples per request (default 2000).
	BatchSize int
	// FlushInterval sends a partial batch this long after the last send
	// (default 1s).
	FlushInterval time.Duration
	// Protocol is auto (default), 1.0 or 2.0.
	Protocol string
	// Timeout bounds one HTTP request, reading the answer included
	// (default 30s); a request past it is logged and retried like a 5xx,
	// so a receiver that trickles its answer holds the queue no longer.
	Timeout time.Duration
	// MinBackoff and MaxBackoff bound the exponential backoff between
	// retries (default 500ms and 30s); a Retry-After is added to it.
	MinBackoff, MaxBackoff time.Duration
	// MaxRetries gives a batch up after this many retries, counting it as
	// failed (default 0: retry until it goes through or Close gives up).
	MaxRetries int
	// SeriesIdle forgets the state (running total, last timestamp) of a
	// series not seen for this long (default 1h); if it comes back its
	// counter starts again from 0, a reset.
	SeriesIdle time.Duration
	// Logger (default: discard).
	Logger *slog.Logger
	// Transport is the HTTP transport (default http.DefaultTransport).
	Transport http.RoundTripper
	// Secrets are scrubbed from a receiver's answer before the library
	// quotes it in an error: the answer is cut at maxAnswer bytes, and a
	// cut through an echoed secret would leave its first part for the
	// log's scrubbing to miss.
	Secrets *secret.Set
	// Now is the clock for SeriesIdle (default time.Now).
	Now func() time.Time
}

// Stats are a Writer's counters.
type Stats struct {
	Sent       int64 // samples the receiver accepted
	Dropped    int64 // samples dropped oldest-first because the queue was full
	Failed     int64 // samples of batches refused (4xx other than 429) or given up
	Retries    int64 // requests retried (network error, 5xx, 429)
	OutOfOrder int64 // samples at or before their series' last sent one (see the package doc)
	Queued     int   // samples waiting in the queue
	Protocol   string
}

// entry is one queued sample: its series' identity (the name, labels map
// and service as the store holds them, the map shared with the Recorder
// and never modified) and its value (a counter's total). Label sets are
// built only when a batch is sent, so a series costs no copy of its labels.
type entry struct {
	name    string
	labels  map[string]string
	service string
	key     uint64 // identity hash: the state's key
	ts      int64
	v       float64
	suffix  uint8 // histograms: suffixCount or suffixSum
	counter bool
}

const (
	suffixNone uint8 = iota
	suffixCount
	suffixSum
)

var suffixes = [...]string{"", "_count", "_sum"}

// state is what a series costs between batches: 32 bytes in a map keyed
// by the identity hash.
type state struct {
	total  float64 // counter: running total
	lastTS int64   // last timestamp queued
	// lastSeq is the sequence number of the series' last queued entry
	// plus one (0: none): while it is still in the queue a sample at the
	// same timestamp replaces its value.
	lastSeq uint64
	seen    int64 // unix ns
}

// Writer sends samples to one remote-write endpoint.
type Writer struct {
	opt      Options
	redacted string
	api      *remote.API
	tr       *statusTransport
	log      *slog.Logger

	mu sync.Mutex
	// The queue: entries head <= seq < tail live in segs, whose first
	// segment starts at sequence number base.
	segs   [][]entry
	spare  [][]entry // emptied segments kept for reuse (at most maxSpare)
	base   uint64
	head   uint64
	tail   uint64
	states map[uint64]state
	b      builder // the sender's request buffers
	seed   maphash.Seed
	swept  time.Time

	wake    chan struct{}
	closing chan struct{}
	done    chan struct{}
	ctx     context.Context
	cancel  context.CancelFunc
	once    sync.Once
	unsent  int
	proto   atomic.Value // string: the protocol in use (auto until known)
	sent    atomic.Int64
	dropped atomic.Int64
	failed  atomic.Int64
	retries atomic.Int64
	ooo     atomic.Int64
}

// New checks the options and starts a Writer's sender.
func New(opt Options) (*Writer, error) {
	w, err := newWriter(opt)
	if err != nil {
		return nil, err
	}
	go w.run()
	return w, nil
}

// newWriter makes a Writer without starting its sender (tests).
func newWriter(opt Options) (*Writer, error) {
	u, err := url.Parse(opt.URL)
	if err != nil {
		return nil, fmt.Errorf("remote write URL %s: cannot parse it", sources.Redact(opt.URL))
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("remote write URL %s: want http:// or https:// and a host", sources.Redact(opt.URL))
	}
	if opt.QueueSize <= 0 {
		opt.QueueSize = 100000
	}
	if opt.BatchSize <= 0 {
		opt.BatchSize = 2000
	}
	opt.BatchSize = min(opt.BatchSize, opt.QueueSize)
	if opt.FlushInterval <= 0 {
		opt.FlushInterval = time.Second
	}
	switch opt.Protocol {
	case "":
		opt.Protocol = ProtocolAuto
	case ProtocolAuto, ProtocolV1, ProtocolV2:
	default:
		return nil, fmt.Errorf("remote write protocol %q: want auto, 1.0 or 2.0", opt.Protocol)
	}
	if opt.Timeout <= 0 {
		opt.Timeout = 30 * time.Second
	}
	if opt.MinBackoff <= 0 {
		opt.MinBackoff = 500 * time.Millisecond
	}
	if opt.MaxBackoff < opt.MinBackoff {
		opt.MaxBackoff = max(30*time.Second, opt.MinBackoff)
	}
	if opt.SeriesIdle <= 0 {
		opt.SeriesIdle = time.Hour
	}
	if opt.Logger == nil {
		opt.Logger = slog.New(slog.DiscardHandler)
	}
	if opt.Transport == nil {
		opt.Transport = http.DefaultTransport
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	w := &Writer{opt: opt, redacted: sources.Redact(opt.URL),
		tr:     &statusTransport{next: opt.Transport, secrets: opt.Secrets, timeout: opt.Timeout},
		states: map[uint64]state{}, seed: maphash.MakeSeed(),
		wake: make(chan struct{}, 1), closing: make(chan struct{}), done: make(chan struct{}),
	}
	w.log = opt.Logger.With("url", w.redacted)
	w.proto.Store(opt.Protocol)
	w.api, err = remote.NewAPI(opt.URL,
		remote.WithAPIPath(""), // the URL is the endpoint, as in Prometheus's remote_write url
		// Never follow a redirect: a 302 would turn the POST into an empty
		// GET that a 2xx makes look sent, a 307 hand the samples and the
		// headers to another host. statusTransport makes it an error.
		// statusTransport bounds each request by Timeout.
		remote.WithAPIHTTPClient(noredirect.Client(&http.Client{Transport: w.tr})),
		remote.WithAPIBackoff(remote.BackoffConfig{Min: opt.MinBackoff, Max: opt.MaxBackoff, MaxRetries: opt.MaxRetries}))
	if err != nil {
		return nil, fmt.Errorf("remote write URL %s: %s", w.redacted, w.redactMsg(err.Error()))
	}
	w.ctx, w.cancel = context.WithCancel(context.Background())
	w.swept = opt.Now()
	return w, nil
}

// URL is the endpoint with its credentials hidden.
func (w *Writer) URL() string { return w.redacted }

// Stats reports the Writer's counters.
func (w *Writer) Stats() Stats {
	w.mu.Lock()
	q := int(w.tail - w.head)
	w.mu.Unlock()
	return Stats{Sent: w.sent.Load(), Dropped: w.dropped.Load(), Failed: w.failed.Load(), Retries: w.retries.Load(),
		OutOfOrder: w.ooo.Load(), Queued: q, Protocol: w.proto.Load().(string)}
}

// Enqueue queues samples (as the store holds them: counters as
// increments) without blocking. It keeps the samples' Labels maps until
// they are sent: they must not be modified afterwards (the Recorder's
// never are). Calls must not race in a way that reorders a series'
// samples; the Recorder's Forward calls it from one goroutine at a time.
func (w *Writer) Enqueue(samples []store.Sample) {
	if len(samples) == 0 {
		return
	}
	w.mu.Lock()
	now := w.opt.Now()
	ns := now.UnixNano()
	for i := range samples {
		smp := &samples[i]
		switch smp.Type {
		case store.Counter:
			w.add(smp, suffixNone, true, smp.Value, ns)
		case store.Gauge:
			w.add(smp, suffixNone, false, smp.Value, ns)
		case store.Histogram:
			w.add(smp, suffixCount, true, 1, ns)
			w.add(smp, suffixSum, true, smp.Value, ns)
		}
	}
	if now.Sub(w.swept) >= w.opt.SeriesIdle/4 {
		w.sweepLocked(now)
	}
	n := w.tail - w.head
	w.mu.Unlock()
	if n >= uint64(w.opt.BatchSize) {
		select {
		case w.wake <- struct{}{}:
		default:
		}
	}
}

// add queues one value of a series (a counter's increment is added to its
// total), keeping the series' timestamps increasing.
func (w *Writer) add(smp *store.Sample, suffix uint8, counter bool, v float64, now int64) {
	key := w.key(smp, suffix)
	st, known := w.states[key]
	st.seen = now
	if counter && !known {
		// A counter new to this writer (the agent started, or the series
		// was forgotten as idle) starts its total from 0. Said as a 0 a
		// millisecond before its first total: without it Prometheus reads
		// that total against the series' last one, so a restart whose new
		// total is not below the old one (100, then 150 for an increase of
		// 150) loses increments, and a series' first increment counts for
		// nothing (1 after 1 reads as no change).
		w.push(&st, entry{name: smp.Name, labels: smp.Labels, service: smp.Service, key: key,
			ts: smp.TS - 1, v: 0, suffix: suffix, counter: true})
	}
	if counter {
		st.total += v
		v = st.total
	}
	defer func() { w.states[key] = st }()
	switch {
	case st.lastSeq > 0 && smp.TS < st.lastTS:
		w.ooo.Add(1) // a counter's increment is in total already
		return
	case st.lastSeq > 0 && smp.TS == st.lastTS:
		if st.lastSeq-1 >= w.head { // still queued: replace it
			w.at(st.lastSeq - 1).v = v
			return
		}
		w.ooo.Add(1) // already taken to be sent
		return
	}
	w.push(&st, entry{name: smp.Name, labels: smp.Labels, service: smp.Service, key: key,
		ts: smp.TS, v: v, suffix: suffix, counter: counter})
}

// push queues e as its series' latest (st is the series' state).
func (w *Writer) push(st *state, e entry) {
	if w.tail-w.head == uint64(w.opt.QueueSize) { // full: drop the oldest
		w.pop()
		w.dropped.Add(1)
	}
	if w.tail == w.base+uint64(len(w.segs))*segSize { // a segment more
		var seg []entry
		if n := len(w.spare); n > 0 {
			seg, w.spare = w.spare[n-1], w.spare[:n-1]
		} else {
			seg = make([]entry, segSize)
		}
		w.segs = append(w.segs, seg)
	}
	*w.at(w.tail) = e
	st.lastTS, st.lastSeq = e.ts, w.tail+1
	w.tail++
}

// segSize is the entries of one queue segment (72 KiB): the queue takes
// memory as it fills and gives it back as it drains.
const segSize = 1024

// maxSpare emptied segments (288 KiB) are kept for reuse.
const maxSpare = 4

// at is the queued entry of sequence number seq (head <= seq < tail).
func (w *Writer) at(seq uint64) *entry {
	i := seq - w.base
	return &w.segs[i/segSize][i%segSize]
}

// pop removes the oldest entry, freeing its segment once it is empty.
func (w *Writer) pop() entry {
	p := w.at(w.head)
	e := *p
	*p = entry{}
	w.head++
	if w.head-w.base == segSize {
		if len(w.spare) < maxSpare {
			w.spare = append(w.spare, w.segs[0])
		}
		n := copy(w.segs, w.segs[1:])
		w.segs[n] = nil
		w.segs = w.segs[:n]
		w.base += segSize
	}
	return e
}

// key hashes a series' identity as it is sent (name, suffix, and the
// label set Labels gives, in any order) to 64 bits: samples of two store
// series that are one Prometheus series ({queue=""} and {}) share a
// running total and a last timestamp, as they must. Two series sharing a
// key by chance (odds about n²/2⁶⁵, 3e-10 for 100,000 series) would too.
func (w *Writer) key(smp *store.Sample, suffix uint8) uint64 {
	var h maphash.Hash
	h.SetSeed(w.seed)
	var sum uint64
	pair := func(k, v string) {
		h.WriteString(k)
		h.WriteByte(0)
		h.WriteString(v)
		sum += h.Sum64() // order-independent
		h.Reset()
	}
	for k, v := range smp.Labels {
		if v != "" {
			pair(k, v)
		}
	}
	if smp.Labels["service"] == "" && smp.Service != "" {
		pair("service", smp.Service)
	}
	h.WriteString(smp.Name)
	h.WriteByte(0)
	h.WriteByte(suffix)
	var b [8]byte
	for i := range b {
		b[i] = byte(sum >> (8 * i))
	}
	h.Write(b[:])
	return h.Sum64()
}

// Labels is the label set a series is sent with: __name__, its labels,
// and service = the store's service column unless the series has a
// service label of its own (which wins, as vigil's queries read a store),
// sorted by name, empty values left out.
func Labels(name string, labels map[string]string, service string) []prompb.Label {
	return appendLabels(nil, name, labels, service)
}

// appendLabels appends the label set of Labels to dst.
func appendLabels(dst []prompb.Label, name string, labels map[string]string, service string) []prompb.Label {
	start := len(dst)
	dst = append(dst, prompb.Label{Name: "__name__", Value: name})
	for k, v := range labels {
		if v == "" {
			continue
		}
		dst = append(dst, prompb.Label{Name: k, Value: v})
	}
	if service != "" && labels["service"] == "" {
		dst = append(dst, prompb.Label{Name: "service", Value: service})
	}
	slices.SortFunc(dst[start:], func(a, b prompb.Label) int { return strings.Compare(a.Name, b.Name) })
	return dst
}

// sweepLocked forgets series not seen for SeriesIdle.
func (w *Writer) sweepLocked(now time.Time) {
	w.swept = now
	cut := now.Add(-w.opt.SeriesIdle).UnixNano()
	for k, st := range w.states {
		if st.seen <= cut {
			delete(w.states, k)
		}
	}
}

// take removes up to n entries from the front of the queue into buf
// (reused: the sender takes one batch at a time).
func (w *Writer) take(n int, buf []entry) []entry {
	clear(buf[:cap(buf)])
	w.mu.Lock()
	defer w.mu.Unlock()
	k := min(uint64(n), w.tail-w.head)
	out := buf[:0]
	for range k {
		out = append(out, w.pop())
	}
	return out
}

func (w *Writer) queued() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return int(w.tail - w.head)
}

func (w *Writer) run() {
	defer close(w.done)
	tick := time.NewTicker(w.opt.FlushInterval)
	defer tick.Stop()
	closing := false
	var batch []entry
	for {
		if !closing {
			select {
			case <-w.closing:
				closing = true
			case <-w.wake:
			case <-tick.C:
			}
		}
		// Send full batches, and one partial batch on a tick or at close.
		for {
			if w.ctx.Err() != nil {
				w.unsent += w.queued()
				return
			}
			q := w.queued()
			if q == 0 {
				break
			}
			batch = w.take(w.opt.BatchSize, batch)
			w.send(batch)
			if q < w.opt.BatchSize && !closing {
				break
			}
		}
		if closing {
			if w.ctx.Err() != nil {
				w.unsent += w.queued()
			}
			return
		}
	}
}

// send writes one batch, negotiating the protocol on the way.
func (w *Writer) send(batch []entry) {
	proto := w.proto.Load().(string)
	msgType := remote.WriteV1MessageType
	if proto != ProtocolV1 {
		msgType = remote.WriteV2MessageType
	}
	err := w.write(msgType, batch)
	if err != nil && proto == ProtocolAuto && w.ctx.Err() == nil {
		switch st := int(w.tr.status.Load()); {
		case st == http.StatusUnsupportedMediaType || st/100 == 2:
			// Refused, or a 2xx without the 2.0 written-samples headers:
			// a 1.0 receiver ignoring the Content-Type wrote nothing.
			w.log.Info("the receiver does not take remote write 2.0; using 1.0", "answer", st)
			w.proto.Store(ProtocolV1)
			err = w.write(remote.WriteV1MessageType, batch)
		case st == http.StatusBadRequest:
			// Either a bad sample or a receiver that cannot parse 2.0:
			// 1.0 tells, and is kept if it goes through.
			if err = w.write(remote.WriteV1MessageType, batch); err == nil {
				w.log.Info("the receiver refused remote write 2.0 and took 1.0; using 1.0")
				w.proto.Store(ProtocolV1)
			}
		}
	} else if err == nil && proto == ProtocolAuto {
		w.log.Info("the receiver takes remote write 2.0")
		w.proto.Store(ProtocolV2)
	}
	if rerr := w.tr.redirect.Load(); err != nil && rerr != nil {
		// The library says only "server returned HTTP status 307": say
		// where it pointed (its host alone) and that it is not followed.
		err = rerr
	}
	if err != nil && w.tr.malformed.Load() {
		err = &noredirect.MalformedError{}
	}
	switch {
	case err == nil:
		w.sent.Add(int64(len(batch)))
	case w.ctx.Err() != nil:
		w.unsent += len(batch)
	default:
		w.failed.Add(int64(len(batch)))
		w.log.Error("remote write batch dropped", "samples", len(batch), "err", w.redactMsg(err.Error()))
	}
}

func (w *Writer) write(msgType remote.WriteMessageType, batch []entry) error {
	var msg any
	if msgType == remote.WriteV1MessageType {
		msg = w.b.v1(batch)
	} else {
		msg = w.b.v2(batch)
	}
	_, err := w.api.Write(w.ctx, msgType, msg, remote.WithWriteRetryCallback(func(err error) {
		w.retries.Add(1)
		if w.tr.timedOut.Load() {
			// A receiver that stalls is worth a line: it holds the queue.
			w.log.Warn("remote write request timed out; retrying", "timeout", w.opt.Timeout, "err", w.redactMsg(err.Error()))
			return
		}
		w.log.Debug("remote write retry", "err", w.redactMsg(err.Error()))
	}))
	return err
}

// Close stops taking samples and sends what is queued until ctx ends;
// then it gives up (an attempt in progress is cancelled) and returns how
// many samples were left unsent.
func (w *Writer) Close(ctx context.Context) int {
	w.once.Do(func() { close(w.closing) })
	select {
	case <-w.done:
	case <-ctx.Done():
		w.cancel()
		<-w.done
	}
	w.cancel()
	return w.unsent
}

// maxAnswer is the most of a receiver's answer read.
const maxAnswer = 16 << 10

// statusTransport remembers the status of the last response (the
// library's errors carry no status code; the sender is one goroutine),
// and of a redirect where it pointed. A redirect's body is dropped unread
// (the library would quote it whole in its error).
type statusTransport struct {
	next     http.RoundTripper
	secrets  *secret.Set
	timeout  time.Duration // the whole request, reading the answer included
	status   atomic.Int32
	redirect atomic.Pointer[noredirect.Error]
	// timedOut: the last request ran past Options.Timeout (the library's
	// retry error does not unwrap to say so).
	timedOut atomic.Bool
	// malformed: the last answer was not valid HTTP (a header line Go
	// could not read). The library would retry it as a network error,
	// for ever, and quote the line, a Location's token with it.
	malformed atomic.Bool
}

func (t *statusTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	t.status.Store(0)
	t.redirect.Store(nil)
	t.timedOut.Store(false)
	t.malformed.Store(false)
	// The deadline is the transport's, not the client's, so that a
	// timeout is told apart from a cancel (Close) whichever layer sees it.
	ctx, cancel := context.WithTimeout(r.Context(), t.timeout)
	defer cancel() // the answer is read before this returns
	resp, err := t.next.RoundTrip(r.WithContext(ctx))
	var pe textproto.ProtocolError
	if err != nil && errors.As(err, &pe) {
		// Sending again brings the same answer: a 400 with no body, which
		// the library gives up at once; the batch's error says why.
		t.malformed.Store(true)
		return &http.Response{StatusCode: http.StatusBadRequest, Status: "400 Bad Request", Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
			Header: http.Header{}, Body: http.NoBody, Request: r}, nil
	}
	if err == nil {
		t.status.Store(int32(resp.StatusCode))
		if rerr := noredirect.Check(resp); rerr != nil {
			resp.Body.Close()
			resp.Body = http.NoBody
			t.redirect.Store(rerr)
		} else if resp.Body, err = t.answer(resp.Body); err != nil {
			resp = nil
		}
	}
	if err != nil && r.Context().Err() == nil && errors.Is(ctx.Err(), context.DeadlineExceeded) {
		t.timedOut.Store(true)
		err = fmt.Errorf("no whole answer within %v: %w", t.timeout, err)
	}
	return resp, err
}

// answer reads the answer here, bounded: its first maxAnswer bytes, with
// the secrets scrubbed (their start masked where the cut went through
// one). The library reads an answer whole and quotes it in its error: a
// receiver's answer is a line or two, and a hostile one gets no more
// memory or log than this. A read that fails (a receiver trickling its
// answer past Options.Timeout) is an error of the round trip, which the
// library retries like a network error or a 5xx; from its own read it
// would give the batch up.
func (t *statusTransport) answer(body io.ReadCloser) (io.ReadCloser, error) {
	defer body.Close()
	b, err := io.ReadAll(io.LimitReader(body, maxAnswer))
	if err != nil {
		return nil, fmt.Errorf("read the answer: %w", err)
	}
	text := t.secrets.Scrub(string(b))
	if len(b) == maxAnswer {
		text = t.secrets.ScrubCut(string(b))
	}
	return io.NopCloser(strings.NewReader(text)), nil
}

// redactMsg removes the URL's secrets from a message (net/http errors
// quote the URL, with the password masked but the user name and query
// kept).
func (w *Writer) redactMsg(msg string) string {
	u, err := url.Parse(w.opt.URL)
	if err != nil {
		return strings.ReplaceAll(msg, w.opt.URL, w.redacted)
	}
	forms := []string{w.opt.URL, u.String(), u.Redacted()}
	u2 := *u
	u2.Path = strings.TrimSuffix(u2.Path, "/")
	forms = append(forms, u2.String(), u2.Redacted())
	for _, f := range forms {
		if f != "" {
			msg = strings.ReplaceAll(msg, f, w.redacted)
		}
	}
	if u.User != nil {
		if p, ok := u.User.Password(); ok && p != "" {
			msg = strings.ReplaceAll(msg, p, "xxxxx")
		}
		if n := u.User.Username(); n != "" {
			msg = strings.ReplaceAll(msg, n+"@", "xxxxx@")
			msg = strings.ReplaceAll(msg, n+":", "xxxxx:")
		}
	}
	if u.RawQuery != "" {
		msg = strings.ReplaceAll(msg, u.RawQuery, "xxxxx")
	}
	return msg
}
