package main

import (
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
)

// promMatrix is a query_range answer of Prometheus's HTTP API.
type promMatrix struct {
	Status string `json:"status"`
	Data   struct {
		ResultType string `json:"resultType"`
		Result     []struct {
			Metric map[string]string    `json:"metric"`
			Values [][2]json.RawMessage `json:"values"`
		} `json:"result"`
	} `json:"data"`
}

// matrixPoint is one point of a series in an answer.
type matrixPoint struct {
	t string // as sent: the two servers spell whole seconds alike
	v float64
}

// parseMatrix reads an answer into its series, by their labels spelled
// canonically ({a="1",b="2"}, sorted), whatever order the server sent them in.
func parseMatrix(body []byte) (map[string][]matrixPoint, error) {
	var m promMatrix
	if err := json.Unmarshal(body, &m); err != nil {
		return nil, err
	}
	if m.Status != "success" || m.Data.ResultType != "matrix" {
		return nil, fmt.Errorf("status %q, resultType %q: want success, matrix", m.Status, m.Data.ResultType)
	}
	out := make(map[string][]matrixPoint, len(m.Data.Result))
	for _, r := range m.Data.Result {
		names := make([]string, 0, len(r.Metric))
		for k := range r.Metric {
			names = append(names, k)
		}
		slices.Sort(names)
		parts := make([]string, len(names))
		for i, k := range names {
			parts[i] = k + "=" + strconv.Quote(r.Metric[k])
		}
		key := "{" + strings.Join(parts, ",") + "}"
		if _, dup := out[key]; dup {
			return nil, fmt.Errorf("series %s twice", key)
		}
		pts := make([]matrixPoint, len(r.Values))
		for i, p := range r.Values {
			var s string
			if err := json.Unmarshal(p[1], &s); err != nil {
				return nil, fmt.Errorf("%s: value %s: %w", key, p[1], err)
			}
			v, err := strconv.ParseFloat(s, 64) // also NaN, +Inf, -Inf
			if err != nil {
				return nil, fmt.Errorf("%s: %w", key, err)
			}
			pts[i] = matrixPoint{t: string(p[0]), v: v}
		}
		out[key] = pts
	}
	return out, nil
}

// sameValue reports whether two values agree within tol (absolute); tol
// 0 asks for the same bits, NaN's included.
func sameValue(a, b, tol float64) bool {
	if tol == 0 || math.IsNaN(a) || math.IsNaN(b) || math.IsInf(a, 0) || math.IsInf(b, 0) {
		return math.Float64bits(a) == math.Float64bits(b) || (math.IsNaN(a) && math.IsNaN(b))
	}
	return math.Abs(a-b) <= tol
}

// compareMatrices compares two query_range answers: the same series (by
// labels), each with points at the same times, values within tol. It
// returns nil when they agree, else the first difference and how many
// points differ.
func compareMatrices(got, want []byte, tol float64) error {
	g, err := parseMatrix(got)
	if err != nil {
		return fmt.Errorf("vigil serve's answer: %w", err)
	}
	w, err := parseMatrix(want)
	if err != nil {
		return fmt.Errorf("prometheus's answer: %w", err)
	}
	keys := make([]string, 0, len(w))
	for k := range w {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for k := range g {
		if _, ok := w[k]; !ok {
			return fmt.Errorf("series %s not in prometheus's answer", k)
		}
	}
	var first error
	differ := 0
	for _, k := range keys {
		gp, ok := g[k]
		if !ok {
			return fmt.Errorf("series %s missing from vigil serve's answer", k)
		}
		if len(gp) != len(w[k]) {
			return fmt.Errorf("series %s: %d points, prometheus %d", k, len(gp), len(w[k]))
		}
		for i, wp := range w[k] {
			if gp[i].t != wp.t {
				return fmt.Errorf("series %s: point %d at %s, prometheus at %s", k, i, gp[i].t, wp.t)
			}
			if !sameValue(gp[i].v, wp.v, tol) {
				if differ++; first == nil {
					first = fmt.Errorf("series %s at %s: %v, prometheus %v (tolerance %g)", k, wp.t, gp[i].v, wp.v, tol)
				}
			}
		}
	}
	if first != nil {
		return fmt.Errorf("%w; %d point(s) differ", first, differ)
	}
	return nil
}
