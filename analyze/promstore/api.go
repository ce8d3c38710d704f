package promstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql"
	"github.com/prometheus/prometheus/promql/parser"
	"github.com/prometheus/prometheus/storage"
)

// PrometheusVersion is the Prometheus release whose engine answers (the
// module github.com/prometheus/prometheus v0.316.0), reported by
// /api/v1/status/buildinfo: clients such as Grafana pick features by it.
const PrometheusVersion = "3.16.0"

// API answers the read side of Prometheus's HTTP API.
type API struct {
	Source  *Source
	Engine  *promql.Engine
	Limits  Limits
	Now     func() time.Time // the default evaluation instant
	Version string           // vigil's, in buildinfo's revision
}

// Handler routes the API's paths.
func (a *API) Handler() http.Handler {
	m := http.NewServeMux()
	getPost, get := []string{http.MethodGet, http.MethodPost}, []string{http.MethodGet}
	m.HandleFunc("/api/v1/query", methods(getPost, a.query))
	m.HandleFunc("/api/v1/query_range", methods(getPost, a.queryRange))
	m.HandleFunc("/api/v1/series", methods(getPost, a.series))
	m.HandleFunc("/api/v1/labels", methods(getPost, a.labelNames))
	m.HandleFunc("/api/v1/label/{name}/values", methods(get, a.labelValues))
	m.HandleFunc("/api/v1/metadata", methods(get, a.metadata))
	m.HandleFunc("/api/v1/status/buildinfo", methods(get, a.buildinfo))
	m.HandleFunc("/-/ready", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, "vigil serve is Ready.") })
	m.HandleFunc("/-/healthy", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, "vigil serve is Healthy.") })
	return m
}

// methods answers as Prometheus's router does: the methods Prometheus
// routes for the path reach h, OPTIONS (its CORS preflight) gets 204, and
// any other method 405 Method Not Allowed with an Allow header, rather
// than being answered as a query.
func methods(allowed []string, h http.HandlerFunc) http.HandlerFunc {
	allow := strings.Join(slices.Sorted(slices.Values(append([]string{http.MethodOptions}, allowed...))), ", ")
	return func(w http.ResponseWriter, r *http.Request) {
		switch {
		case slices.Contains(allowed, r.Method):
			h(w, r)
		case r.Method == http.MethodOptions:
			w.WriteHeader(http.StatusNoContent)
		default:
			w.Header().Set("Allow", allow)
			http.Error(w, http.StatusText(http.StatusMethodNotAllowed), http.StatusMethodNotAllowed)
		}
	}
}

// apiError is an error as Prometheus's API reports it.
type apiError struct {
	typ  string // bad_data, execution, timeout, canceled, internal
	code int
	err  error
}

func badData(err error) *apiError { return &apiError{"bad_data", http.StatusBadRequest, err} }

func invalidParam(err error, name string) *apiError {
	return badData(fmt.Errorf("invalid parameter %q: %w", name, err))
}

// engineError maps an engine error as Prometheus does (returnAPIError).
func engineError(err error) *apiError {
	var eqc promql.ErrQueryCanceled
	var eqt promql.ErrQueryTimeout
	var es promql.ErrStorage
	switch {
	case errors.As(err, &eqc), errors.Is(err, context.Canceled):
		return &apiError{"canceled", 499, err}
	case errors.As(err, &eqt):
		return &apiError{"timeout", http.StatusServiceUnavailable, err}
	case errors.Is(err, context.DeadlineExceeded):
		// The engine passes the concurrency gate's wait up as it is;
		// Prometheus 2.42 says "query timed out in query queue" (503).
		return &apiError{"timeout", http.StatusServiceUnavailable, fmt.Errorf("query timed out: %w", err)}
	case errors.As(err, &es):
		return &apiError{"internal", http.StatusInternalServerError, err}
	}
	return &apiError{"execution", http.StatusUnprocessableEntity, err}
}

type response struct {
	Status    string   `json:"status"`
	Data      any      `json:"data,omitempty"`
	ErrorType string   `json:"errorType,omitempty"`
	Error     string   `json:"error,omitempty"`
	Warnings  []string `json:"warnings,omitempty"`
	Infos     []string `json:"infos,omitempty"`
}

func respond(w http.ResponseWriter, data any, warnings, infos []string) {
	write(w, http.StatusOK, response{Status: "success", Data: data, Warnings: warnings, Infos: infos})
}

func respondError(w http.ResponseWriter, e *apiError) {
	write(w, e.code, response{Status: "error", ErrorType: e.typ, Error: e.err.Error()})
}

func write(w http.ResponseWriter, code int, r response) {
	b, err := json.Marshal(r)
	if err != nil {
		code = http.StatusInternalServerError
		b, _ = json.Marshal(response{Status: "error", ErrorType: "internal", Error: err.Error()})
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	w.Write(b)
}

// parseTime is Prometheus's: unix seconds (float) or RFC 3339.
func parseTime(s string) (time.Time, error) {
	if t, err := strconv.ParseFloat(s, 64); err == nil {
		sec, ns := math.Modf(t)
		ns = math.Round(ns*1000) / 1000
		return time.Unix(int64(sec), int64(ns*float64(time.Second))).UTC(), nil
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	return time.Time{}, fmt.Errorf("cannot parse %q to a valid timestamp", s)
}

// parseDuration is Prometheus's: seconds (float) or a Prometheus duration.
func parseDuration(s string) (time.Duration, error) {
	if d, err := strconv.ParseFloat(s, 64); err == nil {
		ts := d * float64(time.Second)
		if math.IsNaN(ts) || ts >= float64(math.MaxInt64) || ts < float64(math.MinInt64) {
			return 0, fmt.Errorf("cannot parse %q to a valid duration. It overflows int64", s)
		}
		return time.Duration(ts), nil
	}
	if d, err := model.ParseDuration(s); err == nil {
		return time.Duration(d), nil
	}
	return 0, fmt.Errorf("cannot parse %q to a valid duration", s)
}

func (a *API) timeParam(r *http.Request, name string, def time.Time) (time.Time, *apiError) {
	v := r.FormValue(name)
	if v == "" {
		return def, nil
	}
	t, err := parseTime(v)
	if err != nil {
		return time.Time{}, invalidParam(err, name)
	}
	return t, nil
}

// queryContext bounds a query by its timeout parameter.
func queryContext(r *http.Request) (context.Context, context.CancelFunc, *apiError) {
	ctx := r.Context()
	if to := r.FormValue("timeout"); to != "" {
		d, err := parseDuration(to)
		if err != nil {
			return nil, nil, invalidParam(err, "timeout")
		}
		c, cancel := context.WithTimeout(ctx, d)
		return c, cancel, nil
	}
	return ctx, func() {}, nil
}

func (a *API) query(w http.ResponseWriter, r *http.Request) {
	ts, e := a.timeParam(r, "time", a.Now())
	if e != nil {
		respondError(w, e)
		return
	}
	ctx, cancel, e := queryContext(r)
	if e != nil {
		respondError(w, e)
		return
	}
	defer cancel()
	q, err := a.Engine.NewInstantQuery(ctx, a.Source, a.opts(), r.FormValue("query"), ts)
	a.run(ctx, w, q, err)
}

func (a *API) queryRange(w http.ResponseWriter, r *http.Request) {
	start, e := a.timeParam(r, "start", time.Time{})
	if e == nil && r.FormValue("start") == "" {
		e = invalidParam(errors.New(`cannot parse "" to a valid timestamp`), "start")
	}
	if e != nil {
		respondError(w, e)
		return
	}
	end, e := a.timeParam(r, "end", time.Time{})
	if e == nil && r.FormValue("end") == "" {
		e = invalidParam(errors.New(`cannot parse "" to a valid timestamp`), "end")
	}
	if e != nil {
		respondError(w, e)
		return
	}
	if end.Before(start) {
		respondError(w, invalidParam(errors.New("end timestamp must not be before start time"), "end"))
		return
	}
	step, err := parseDuration(r.FormValue("step"))
	if err != nil {
		respondError(w, invalidParam(err, "step"))
		return
	}
	if step <= 0 {
		respondError(w, invalidParam(errors.New("zero or negative query resolution step widths are not accepted. Try a positive integer"), "step"))
		return
	}
	if end.Sub(start)/step > 11000 {
		respondError(w, badData(errors.New("exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the query resolution (?step=XX)")))
		return
	}
	ctx, cancel, e := queryContext(r)
	if e != nil {
		respondError(w, e)
		return
	}
	defer cancel()
	q, err := a.Engine.NewRangeQuery(ctx, a.Source, a.opts(), r.FormValue("query"), start, end, step)
	a.run(ctx, w, q, err)
}

func (a *API) opts() promql.QueryOpts {
	return promql.NewPrometheusQueryOpts(false, a.Limits.LookbackDelta, nil)
}

// run executes a query and writes its answer as Prometheus does.
func (a *API) run(ctx context.Context, w http.ResponseWriter, q promql.Query, err error) {
	if err != nil {
		// A query that does not parse, or one whose deadline passed while
		// it waited for a slot (the engine queues it before it runs).
		if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
			respondError(w, engineError(err))
		} else {
			respondError(w, badData(err))
		}
		return
	}
	defer q.Close()
	res := q.Exec(ctx)
	if res.Err != nil {
		respondError(w, engineError(res.Err))
		return
	}
	warnings, infos := res.Warnings.AsStrings(q.String(), 10, 10)
	respond(w, map[string]any{"resultType": res.Value.Type(), "result": nonNull(res.Value)}, warnings, infos)
}

// nonNull writes an empty vector or matrix as [], as Prometheus does.
func nonNull(v parser.Value) any {
	switch x := v.(type) {
	case promql.Vector:
		if x == nil {
			return promql.Vector{}
		}
	case promql.Matrix:
		if x == nil {
			return promql.Matrix{}
		}
	}
	return v
}

// matchers reads match[] (as Prometheus: each set must have a matcher
// that does not match the empty string).
func matchers(r *http.Request) ([]matcherSet, *apiError) {
	sets, err := parser.NewParser(parser.Options{}).ParseMetricSelectors(r.Form["match[]"])
	if err != nil {
		return nil, badData(err)
	}
	for _, ms := range sets {
		if !slices.ContainsFunc(ms, func(m *labels.Matcher) bool { return !m.Matches("") }) {
			return nil, badData(errors.New("match[] must contain at least one non-empty matcher"))
		}
	}
	return sets, nil
}

// rangeParams reads start and end, by default all time.
func (a *API) rangeParams(r *http.Request) (int64, int64, *apiError) {
	start, e := a.timeParam(r, "start", time.UnixMilli(minTime))
	if e != nil {
		return 0, 0, e
	}
	end, e := a.timeParam(r, "end", time.UnixMilli(-minTime))
	if e != nil {
		return 0, 0, e
	}
	return start.UnixMilli(), end.UnixMilli(), nil
}

func (a *API) series(w http.ResponseWriter, r *http.Request) {
	r.ParseForm()
	if len(r.Form["match[]"]) == 0 {
		respondError(w, badData(errors.New("no match[] parameter provided")))
		return
	}
	sel, ok := a.selectSeries(w, r)
	if !ok {
		return
	}
	out := make([]labels.Labels, 0, len(sel.series))
	for _, v := range sel.series {
		out = append(out, v.lset)
	}
	respond(w, out, nil, nil)
}

func (a *API) labelNames(w http.ResponseWriter, r *http.Request) {
	a.labels(w, r, "")
}

func (a *API) labelValues(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	if strings.HasPrefix(name, "U__") {
		name = model.UnescapeName(name, model.ValueEncodingEscaping)
	}
	if !model.UTF8Validation.IsValidLabelName(name) {
		respondError(w, badData(fmt.Errorf("invalid label name: %q", name)))
		return
	}
	a.labels(w, r, name)
}

// selectSeries reads the series r's match[] and start/end select (for
// /series and the label endpoints); false when it answered an error.
func (a *API) selectSeries(w http.ResponseWriter, r *http.Request) (*selected, bool) {
	sets, e := matchers(r)
	if e != nil {
		respondError(w, e)
		return nil, false
	}
	mint, maxt, e := a.rangeParams(r)
	if e != nil {
		respondError(w, e)
		return nil, false
	}
	sel, err := a.Source.read(r.Context(), mint, maxt, sets, true)
	if err != nil {
		respondError(w, &apiError{"execution", http.StatusUnprocessableEntity, err})
		return nil, false
	}
	return sel, true
}

// labels answers /labels (name "") and /label/NAME/values.
func (a *API) labels(w http.ResponseWriter, r *http.Request, name string) {
	r.ParseForm()
	sel, ok := a.selectSeries(w, r)
	if !ok {
		return
	}
	seen := map[string]bool{}
	for _, v := range sel.series {
		if name == "" {
			v.lset.Range(func(l labels.Label) { seen[l.Name] = true })
		} else if x := v.lset.Get(name); x != "" {
			seen[x] = true
		}
	}
	respond(w, limited(seen, nil), nil, nil)
}

type metadataEntry struct {
	Type string `json:"type"`
	Help string `json:"help"`
	Unit string `json:"unit"`
}

// metadata lists each metric family's type (histograms by their base
// name, as a scrape's metadata does).
func (a *API) metadata(w http.ResponseWriter, r *http.Request) {
	families, err := a.Source.families(r.Context())
	if err != nil {
		respondError(w, &apiError{"internal", http.StatusInternalServerError, err})
		return
	}
	out := map[string][]metadataEntry{}
	names := make([]string, 0, len(families))
	for n := range families {
		names = append(names, n)
	}
	sort.Strings(names)
	if m := r.FormValue("metric"); m != "" {
		names = slices.DeleteFunc(names, func(n string) bool { return n != m })
	}
	if l, err := strconv.Atoi(r.FormValue("limit")); err == nil && l > 0 && len(names) > l {
		names = names[:l]
	}
	help := a.Source.help(r.Context())
	for _, n := range names {
		out[n] = []metadataEntry{{Type: families[n], Help: help[n].Help, Unit: help[n].Unit}}
	}
	respond(w, out, nil, nil)
}

func (a *API) buildinfo(w http.ResponseWriter, _ *http.Request) {
	respond(w, map[string]string{"version": PrometheusVersion, "revision": "vigil " + a.Version,
		"branch": "", "buildUser": "", "buildDate": "", "goVersion": runtime.Version()}, nil, nil)
}

var _ storage.Queryable = (*Source)(nil)
