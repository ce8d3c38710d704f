package dashboards

import (
	"fmt"
	"math"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// The requests Grafana's Prometheus data source sends for a dashboard,
// reproduced so that a test can send them to vigil serve without a
// Grafana. Each rule below names where Grafana has it (Grafana 12/13):
//
//   - public/app/features/query/state/PanelQueryRunner.ts and
//     packages/grafana-data/src/datetime/rangeutil.ts (calculateInterval,
//     roundInterval): the browser's interval, intervalMs, from the range,
//     the panel's maxDataPoints and the data source's timeInterval;
//   - pkg/promlib/models/query.go (Parse, calculatePrometheusInterval,
//     calculateRateInterval, InterpolateVariables, AlignTimeRange) and
//     pkg/promlib/intervalv2/intervalv2.go (Calculate,
//     CalculateSafeInterval): the step and the $__ variables, on the
//     server (pkg/promlib is what pkg/tsdb/prometheus became);
//   - grafana-plugin-sdk-go backend/gtime (RoundInterval, FormatInterval,
//     GetIntervalFrom);
//   - pkg/promlib/client/client.go (QueryRange, QueryInstant,
//     formatTime): the HTTP request itself;
//   - packages/grafana-prometheus/src/escaping.ts and datasource.ts
//     (interpolateQueryExpr): how a template variable's values are
//     written into the query.

// Datasource is the data source's settings that change the requests
// (its provisioning file's jsonData).
type Datasource struct {
	// TimeInterval is jsonData.timeInterval, the scrape interval ("10s"):
	// the least $__interval, and the base of $__rate_interval. Grafana's
	// server assumes 15s where it is empty.
	TimeInterval string
	// Method is jsonData.httpMethod: POST (Grafana's default) or GET.
	Method string
}

// Request is one HTTP request Grafana sends to vigil serve.
type Request struct {
	Panel  string // the panel's title, or "variable NAME"
	RefID  string
	Method string // POST or GET
	Path   string // /api/v1/query_range, /api/v1/query, /api/v1/label/NAME/values
	Form   url.Values
}

// HTTP builds the request against base (vigil serve's URL), as
// Grafana's client does: a POST carries the form as its body.
func (r Request) HTTP(base string) (*http.Request, error) {
	u := strings.TrimSuffix(base, "/") + r.Path
	if r.Method == http.MethodPost {
		req, err := http.NewRequest(r.Method, u, strings.NewReader(r.Form.Encode()))
		if err == nil {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
		return req, err
	}
	return http.NewRequest(r.Method, u+"?"+r.Form.Encode(), nil)
}

// VariableRequests are the requests that fill the dashboard's variables:
// label_values(NAME) asks /api/v1/label/NAME/values over the range (the
// Prometheus data source's language provider; start and end in whole
// seconds, floor and ceiling, its "None" cache level: with the default
// level Grafana widens them to a whole minute or more, which finds the
// same values for a range that holds the data).
func VariableRequests(d *Dashboard, from, to time.Time) ([]Request, error) {
	var out []Request
	for _, v := range d.Templating.List {
		label, ok := strings.CutPrefix(v.Query, "label_values(")
		label, ok2 := strings.CutSuffix(label, ")")
		if v.Type != "query" || !ok || !ok2 || strings.Contains(label, ",") {
			return nil, fmt.Errorf("variable %s: query %q: only label_values(NAME) is replayed", v.Name, v.Query)
		}
		out = append(out, Request{Panel: "variable " + v.Name, Method: http.MethodGet, Path: "/api/v1/label/" + url.PathEscape(label) + "/values",
			Form: url.Values{
				"start": {strconv.FormatInt(int64(math.Floor(float64(from.UnixMilli())/1000)), 10)},
				"end":   {strconv.FormatInt(int64(math.Ceil(float64(to.UnixMilli())/1000)), 10)},
			}})
	}
	return out, nil
}

// Replay returns the requests of every panel's every target over
// [from, to] (Grafana's range, millisecond precision), in panel order.
// values are the variables' values (from VariableRequests' answers);
// a variable takes them all, as "All" (the dashboards' default) does.
func Replay(d *Dashboard, ds Datasource, from, to time.Time, values map[string][]string) ([]Request, error) {
	method := strings.ToUpper(ds.Method)
	if method == "" {
		method = http.MethodPost
	}
	var out []Request
	for _, p := range panels(d) {
		for _, t := range p.Targets {
			expr, err := expandVariables(t.Expr, d.Templating.List, values)
			if err != nil {
				return nil, fmt.Errorf("panel %q: %w", p.Title, err)
			}
			q, err := prepare(expr, ds.TimeInterval, from, to, p.MaxDataPoints)
			if err != nil {
				return nil, fmt.Errorf("panel %q: %w", p.Title, err)
			}
			r := Request{Panel: p.Title, RefID: t.RefID, Method: method}
			if t.Instant {
				// QueryInstant: the range's end, unaligned.
				r.Path, r.Form = "/api/v1/query", url.Values{"query": {q.expr}, "time": {formatTime(to)}}
			} else {
				// QueryRange: start and end aligned down to the step.
				r.Path, r.Form = "/api/v1/query_range", url.Values{
					"query": {q.expr},
					"start": {formatTime(alignTime(from, q.step))},
					"end":   {formatTime(alignTime(to, q.step))},
					"step":  {strconv.FormatFloat(q.step.Seconds(), 'f', -1, 64)},
				}
			}
			out = append(out, r)
		}
	}
	return out, nil
}

// panels lists the dashboard's panels, those inside rows too.
func panels(d *Dashboard) []*Panel {
	var out []*Panel
	for _, p := range d.Panels {
		if p.Type == "row" {
			out = append(out, p.Panels...)
			continue
		}
		out = append(out, p)
	}
	return out
}

// varRef is templateSrv's variable syntax: $name, ${name} or ${name:fmt},
// [[name]].
var varRef = regexp.MustCompile(`\$(\w+)|\[\[(\w+?)(?::(\w+))?\]\]|\$\{(\w+)(?::([^}]+))?\}`)

// expandVariables writes the dashboard's own variables into expr as the
// Prometheus data source does (interpolateQueryExpr): a multi-value or
// include-All variable becomes a regular expression of its values, each
// escaped (prometheusSpecialRegexEscape, the classic behaviour: a
// backslash doubled twice, a metacharacter behind two backslashes, as the
// PromQL string then reads it), several joined as (a|b). Grafana's own
// $__ variables are left for the server's step.
func expandVariables(expr string, vars []Variable, values map[string][]string) (string, error) {
	var err error
	out := varRef.ReplaceAllStringFunc(expr, func(m string) string {
		sub := varRef.FindStringSubmatch(m)
		name := sub[1] + sub[2] + sub[4]
		if strings.HasPrefix(name, "__") {
			return m
		}
		for _, v := range vars {
			if v.Name != name {
				continue
			}
			vs := values[name]
			if len(vs) == 0 {
				err = fmt.Errorf("variable %s has no values", name)
				return m
			}
			if !v.Multi && !v.IncludeAll {
				return regularEscape(vs[0])
			}
			esc := make([]string, len(vs))
			for i, s := range vs {
				esc[i] = regexEscape(s)
			}
			if len(esc) == 1 {
				return esc[0]
			}
			return "(" + strings.Join(esc, "|") + ")"
		}
		return m // not a variable of this dashboard: Grafana leaves it
	})
	return out, err
}

var regexMeta = regexp.MustCompile(`[$^*{}\[\]+?.()|]`)

func regexEscape(s string) string {
	s = strings.ReplaceAll(s, `\`, `\\\\`)
	return regexMeta.ReplaceAllString(s, `\\$0`)
}

func regularEscape(s string) string {
	s = strings.ReplaceAll(s, `\`, `\\`)
	return strings.ReplaceAll(s, `'`, `\\'`)
}

type prepared struct {
	expr string
	step time.Duration
}

// safeResolution is pkg/promlib/models's: no more than 11000 points.
const safeResolution = 11000

// prepare is what the browser sends for a target and what the server's
// Parse makes of it, for a target with no min step of its own (interval
// "") and intervalFactor 1, as vigil's panels are.
func prepare(expr, timeInterval string, from, to time.Time, maxDataPoints int) (prepared, error) {
	mdp := int64(maxDataPoints)
	if mdp == 0 {
		mdp = 1500 // intervalv2.DefaultRes; a browser would send the panel's width
	}
	intervalMs, err := browserIntervalMs(timeInterval, from, to, mdp)
	if err != nil {
		return prepared{}, err
	}
	return serverPrepare(expr, to.Sub(from), time.Duration(intervalMs)*time.Millisecond, intervalMs, mdp, timeInterval)
}

// browserIntervalMs is PanelQueryRunner's calculateInterval: the range
// over maxDataPoints, rounded (rangeutil's roundInterval), at least the
// data source's timeInterval (1ms without one).
func browserIntervalMs(timeInterval string, from, to time.Time, mdp int64) (int64, error) {
	lowMs := int64(1)
	if timeInterval != "" {
		d, err := parseInterval(timeInterval)
		if err != nil {
			return 0, fmt.Errorf("timeInterval %q: %w", timeInterval, err)
		}
		lowMs = d.Milliseconds()
	}
	return max(roundIntervalMs(float64(to.UnixMilli()-from.UnixMilli())/float64(mdp)), lowMs), nil
}

// serverPrepare is pkg/promlib/models.Parse for a query of range rng
// with the request's interval (backend.DataQuery.Interval), its
// intervalMs (0 when the browser sent none), maxDataPoints and the data
// source's scrape interval: the step and the expression with the $__
// variables filled in.
func serverPrepare(expr string, rng, queryInterval time.Duration, intervalMs, mdp int64, dsScrape string) (prepared, error) {
	scrape := dsScrape
	if scrape == "" {
		scrape = "15s" // calculateRateInterval's default
	}
	scrapeDur, err := parseInterval(scrape)
	if err != nil {
		return prepared{}, fmt.Errorf("timeInterval %q: %w", dsScrape, err)
	}
	// GetIntervalFrom: intervalMs, else the data source's interval, else 15s.
	minInterval := time.Duration(intervalMs) * time.Millisecond
	if intervalMs == 0 {
		minInterval = scrapeDur
	}
	// Calculate: the range over maxDataPoints, rounded (gtime's
	// RoundInterval), unless under minInterval; CalculateSafeInterval: at
	// least the range over 11000, rounded.
	calculated := time.Duration(rng.Nanoseconds() / mdp)
	if calculated < minInterval {
		calculated = minInterval
	} else {
		calculated = roundInterval(calculated)
	}
	step := max(calculated, roundInterval(time.Duration(rng.Nanoseconds()/safeResolution)))
	// InterpolateVariables with requestedMinStep "", so the data source's
	// scrape interval: $__rate_interval = max(interval + scrape, 4 x scrape).
	rate := time.Duration(math.Max(float64(queryInterval+scrapeDur), 4*float64(scrapeDur)))
	rangeMs := rng.Milliseconds()
	rangeS := int64(math.Round(float64(rangeMs) / 1000.0))
	r := strings.NewReplacer(
		// A longer name before its prefix (a Replacer compares in
		// argument order), as the server's ReplaceAll order has it.
		"${__rate_interval_ms}", strconv.FormatInt(rate.Milliseconds(), 10),
		"$__rate_interval_ms", strconv.FormatInt(rate.Milliseconds(), 10),
		"${__rate_interval}", rate.String(),
		"$__rate_interval", rate.String(),
		"${__interval_ms}", strconv.FormatInt(step.Milliseconds(), 10),
		"$__interval_ms", strconv.FormatInt(step.Milliseconds(), 10),
		"${__interval}", formatInterval(step),
		"$__interval", formatInterval(step),
		"${__range_ms}", strconv.FormatInt(rangeMs, 10),
		"$__range_ms", strconv.FormatInt(rangeMs, 10),
		"${__range_s}", strconv.FormatInt(rangeS, 10),
		"$__range_s", strconv.FormatInt(rangeS, 10),
		"${__range}", strconv.FormatInt(rangeS, 10)+"s",
		"$__range", strconv.FormatInt(rangeS, 10)+"s",
	)
	return prepared{expr: r.Replace(expr), step: step}, nil
}

// alignTime is AlignTimeRange with no offset: down to a multiple of step.
func alignTime(t time.Time, step time.Duration) time.Time {
	s := float64(step.Nanoseconds())
	return time.Unix(0, int64(math.Floor(float64(t.UnixNano())/s)*s)).UTC()
}

// formatTime is the client's: unix seconds, shortest decimal.
func formatTime(t time.Time) string {
	return strconv.FormatFloat(float64(t.Unix())+float64(t.Nanosecond())/1e9, 'f', -1, 64)
}

// parseInterval is gtime.ParseIntervalStringToTimeDuration for the
// forms a timeInterval takes: a bare number is seconds; d and w are
// whole days and weeks.
func parseInterval(s string) (time.Duration, error) {
	if _, err := strconv.Atoi(s); err == nil {
		s += "s"
	}
	if n, ok := strings.CutSuffix(s, "d"); ok {
		if k, err := strconv.Atoi(n); err == nil {
			return time.Duration(k) * 24 * time.Hour, nil
		}
	}
	if n, ok := strings.CutSuffix(s, "w"); ok {
		if k, err := strconv.Atoi(n); err == nil {
			return time.Duration(k) * 7 * 24 * time.Hour, nil
		}
	}
	return time.ParseDuration(s)
}

// formatInterval is gtime.FormatInterval: the largest whole unit.
func formatInterval(d time.Duration) string {
	const day, year = 24 * time.Hour, 365 * 24 * time.Hour
	switch {
	case d >= year:
		return fmt.Sprintf("%dy", d/year)
	case d >= day:
		return fmt.Sprintf("%dd", d/day)
	case d >= time.Hour:
		return fmt.Sprintf("%dh", d/time.Hour)
	case d >= time.Minute:
		return fmt.Sprintf("%dm", d/time.Minute)
	case d >= time.Second:
		return fmt.Sprintf("%ds", d/time.Second)
	case d >= time.Millisecond:
		return fmt.Sprintf("%dms", d/time.Millisecond)
	}
	return "1ms"
}

// The rounding tables: bounds and the value below each. The server's
// (gtime.RoundInterval) compares with <= and the browser's
// (rangeutil.roundInterval) with <, and the server maps up to 10ms to
// 1ms, the browser under 10ms; they also differ between 1d and 1w
// (the server rounds up to 48h to 24h; both give 1d there).
var roundTable = []struct{ bound, to int64 }{ // milliseconds
	{10, 1}, {15, 10}, {35, 20}, {75, 50}, {150, 100}, {350, 200}, {750, 500},
	{1500, 1000}, {3500, 2000}, {7500, 5000}, {12500, 10000}, {17500, 15000},
	{25000, 20000}, {45000, 30000}, {90000, 60000}, {210000, 120000},
	{450000, 300000}, {750000, 600000}, {1050000, 900000}, {1500000, 1200000},
	{2700000, 1800000}, {5400000, 3600000}, {9000000, 7200000},
	{16200000, 10800000}, {32400000, 21600000}, {86400000, 43200000},
	{604800000, 86400000}, {1814400000, 604800000}, {3628800000, 2592000000},
}

const roundDefault = 31536000000 // 1y

// roundIntervalMs is the browser's roundInterval (strictly below each bound).
func roundIntervalMs(ms float64) int64 {
	for _, r := range roundTable {
		if ms < float64(r.bound) {
			return r.to
		}
	}
	return roundDefault
}

// roundInterval is the server's gtime.RoundInterval (at most each
// bound, except the last, strictly below).
func roundInterval(d time.Duration) time.Duration {
	for i, r := range roundTable {
		b := time.Duration(r.bound) * time.Millisecond
		if d <= b && (i < len(roundTable)-1 || d < b) {
			return time.Duration(r.to) * time.Millisecond
		}
	}
	return roundDefault * time.Millisecond
}
