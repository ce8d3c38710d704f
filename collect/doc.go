// Package collect is vigil's instrumentation library and the base of its
// collection agent. A Recorder keeps counters, gauges and histograms in
// memory and flushes them into a SQLite store in batches, when the buffer
// fills and on an interval. Recording never blocks on I/O: when the store
// cannot be written, at most MaxBuffer rows wait and the rest are counted
// as dropped.
//
// With collecttest it is vigil's only public Go API; everything else lives
// under internal/. It must not import analyze, alert, report or cmd: a
// service that instruments itself links no analytics and no DuckDB.
//
// # Handles and mistakes
//
// Counter, Gauge and Histogram return handles; keep them on hot paths
// (package-level handles with MustCounter, MustGauge, MustHistogram).
// NewCounter, NewGauge and NewHistogram return an error for a mistake
// made when the handle is made: an invalid name or label (errors.Is
// ErrInvalid), a name already used with another type
// (ErrTypeConflict) or a series RecordGatherer records (ErrGathered). The forms without an error log the mistake once
// through Options.Logger (default slog.Default()), count it in
// Stats().Invalid and return a handle that records nothing; so are a
// negative counter increment and a NaN or infinite value. Options.Strict
// turns every one of these mistakes into a panic where it is made: set
// it in tests.
//
// A Gauge has Set, Add, Inc and Dec; GaugeFunc registers a gauge read at
// every flush. Options.ConstLabels are merged into every series the
// handles make. StartTimer times an operation into a histogram
// (ObserveDuration, or ObserveDurationWith for labels known at the end);
// Timer, the older func form, is deprecated. Monitor labels failures with
// Options.ErrorClassifier (ClassifyErrors matches sentinel errors).
//
// A label with an empty value is no label, as Prometheus reads it:
// {a=""} and {} are one series on every path (the map form, ConstLabels,
// WithLabelValues, Add, AddBatch, RecordGatherer).
//
// Every constructor takes help text: Help("...") as its last argument,
// or Opts.Help for the vecs. Handler shows it as # HELP and the store
// keeps it with the metric (its metric_metadata table).
//
// # Declared label names
//
// Besides the map form (the reference design's), NewCounterVec,
// NewGaugeVec and NewHistogramVec declare a metric's label names once;
// WithLabelValues returns the handle of one set of values, as
// client_golang's, without allocating for an existing series. A vec made
// again with the same name and label names is the vec made first.
//
// # Units
//
// Options.Naming picks the names and units of what the Recorder names
// itself. NamingReference, the default, keeps the reference design's:
// Middleware's response_time_ms, Monitor's <op>_duration_ms, durations in
// milliseconds into a name without a unit. NamingPrometheus uses base
// units: http_request_duration_seconds, <op>_duration_seconds, durations
// in seconds into a name without a unit. A name that says its unit of
// time is honoured under both (_seconds, _ms or _milliseconds, _us or
// _microseconds, _ns or _nanoseconds, _minutes, _hours), with its default
// buckets and its stored metadata's unit in that unit.
//
// # Resolution
//
// Handles coalesce in memory per series and per Options.Resolution
// (default 1s): a counter's increments within one resolution bucket
// become one row holding their sum, stamped with the bucket's start, so a
// hot counter writes one row a second however often it is incremented,
// and sums, rates and increases over windows aligned to the resolution
// are unchanged. A gauge keeps its last value per bucket. Histogram
// observations are all kept. The bucket clock is read by the flusher
// every Resolution and at every Flush, never on the increment path (an
// increment is an atomic add); with FlushInterval < 0 it advances only at
// Flush. A negative Resolution writes a row per call, as Add and AddBatch
// always do (they carry their own timestamps).
//
// # HTTP
//
// Middleware records http_requests_total{method,endpoint,status} and the
// histogram response_time_ms{method,endpoint} for every request. The
// endpoint is the route pattern a Go 1.22+ ServeMux matched, and
// "unmatched" for a request no route matched (a 404 for /wp-admin, a
// 405); a method outside MiddlewareOptions.Methods is "other": a scanner
// cannot make new series. The wrapped writer keeps http.Flusher,
// http.Hijacker and io.ReaderFrom; a panicking handler is recorded as a
// 500 and re-panics. MiddlewareOptions.SLIService records
// TrackAvailability (5xx is a failure) and, with LatencyThreshold,
// TrackLatency for every request.
//
// # Prometheus
//
// Handler serves the Recorder's series in the Prometheus text format:
// counters as totals since start, gauges as their last value (a GaugeFunc
// read at the scrape), histograms as buckets (Options.Buckets, by default
// DefBuckets in the unit of time the name says, seconds without one;
// sizes for _bytes and _mb) with _sum and
// _count. Mount it on /metrics and one service is both scraped by
// Prometheus and stored by vigil.
//
// The Recorder is a prometheus.Collector (registry.MustRegister(r): one
// /metrics for a registry and the Recorder) and a prometheus.Gatherer
// (promhttp.HandlerFor(r, ...), client_golang's testutil). The other way,
// RecordGatherer (or Options.Gatherers, at every flush) stores what a
// client_golang registry gathers, in-process, as the agent stores a
// scraped page, each gatherer with its own counter baselines (a
// gatherer listed twice in Options.Gatherers is gathered once). A
// service that keeps client_golang can also be scraped by
// the agent: vigil collect --scrape.
//
// The exported API uses the library's own types: Sample and Type for
// Add, AddBatch, Options.Forward and Unwritten, Store for New and
// Recorder.Store.
//
// # Testing
//
// Methods on a nil *Recorder (except Middleware), and the handles and
// timers it returns, do nothing, so a component can be given a nil
// Recorder. Package collecttest gives a test a Recorder on a temporary
// store and reads counters, gauges and histograms back from it;
// Open(":memory:") keeps a store in memory.
package collect
