package analyze

import (
	"encoding/json"
	"maps"
	"math"
	"slices"
	"sort"
)

// Result is one output row of a path: a label set and its value.
type Result struct {
	Labels  map[string]string `json:"labels"`
	Value   float64           `json:"value"`
	Samples int64             `json:"samples"`
}

// MarshalJSON writes a value that is not finite (a sum that overflowed) as
// the string "+Inf", "-Inf" or "NaN", as Prometheus's HTTP API does:
// encoding/json refuses such numbers, and a report must never fail to encode.
func (r Result) MarshalJSON() ([]byte, error) {
	var v any = r.Value
	switch {
	case math.IsNaN(r.Value):
		v = "NaN"
	case math.IsInf(r.Value, 1):
		v = "+Inf"
	case math.IsInf(r.Value, -1):
		v = "-Inf"
	}
	return json.Marshal(struct {
		Labels  map[string]string `json:"labels"`
		Value   any               `json:"value"`
		Samples int64             `json:"samples"`
	}{r.Labels, v, r.Samples})
}

// SortResults orders results by their label sets, compared as sorted
// (name, value) pairs; a set that is a prefix of another comes first.
func SortResults(rs []Result) {
	keys := make([][]string, len(rs))
	for i, r := range rs {
		for _, k := range slices.Sorted(maps.Keys(r.Labels)) {
			keys[i] = append(keys[i], k, r.Labels[k])
		}
	}
	idx := make([]int, len(rs))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return slices.Compare(keys[idx[a]], keys[idx[b]]) < 0 })
	sorted := make([]Result, len(rs))
	for i, j := range idx {
		sorted[i] = rs[j]
	}
	copy(rs, sorted)
}
