package starter

import (
	"context"
	"encoding/json"
	"maps"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/vigil-metrics/vigil/internal/store"
)

// Reader is what Inspect reads of a store (internal/store.Store has it).
type Reader interface {
	MetricTypes(ctx context.Context) (map[string]store.Type, error)
	LabelSets(ctx context.Context, metric string) ([]store.LabelSet, error)
}

// Inspect fills in's Metrics, Services and StatusLabel from the stores.
// The services are those of sli_requests_total when a store has it, else
// of http_requests_total: the metric the SLO skeleton will count.
func Inspect(ctx context.Context, in *Inputs, stores []Reader) error {
	metrics := map[string]bool{}
	for _, st := range stores {
		types, err := st.MetricTypes(ctx)
		if err != nil {
			return err
		}
		for m := range types {
			metrics[m] = true
		}
	}
	in.Metrics = slices.Sorted(maps.Keys(metrics))
	in.Inspected = len(stores) > 0
	sli := "http_requests_total"
	if metrics["sli_requests_total"] {
		sli = "sli_requests_total"
	}
	services, statuses := map[string]bool{}, map[string]bool{}
	notHTTP := map[string]bool{} // services with a status value that is no HTTP code
	for _, st := range stores {
		sets, err := st.LabelSets(ctx, sli)
		if err != nil {
			return err
		}
		for _, ls := range sets {
			var labels map[string]string
			if json.Unmarshal([]byte(ls.Labels), &labels) == nil {
				if ls.Service == "" {
					ls.Service = labels["service"]
				}
				if v, ok := labels["status"]; ok {
					statuses[v] = true
					if !httpCode(v) {
						notHTTP[ls.Service] = true
					}
				}
			}
			if ls.Service != "" {
				// The built-in SLI counts success="true" good: a service
				// whose counters have no success label would count none
				// good, a certain breach (h30 D25).
				_, ok := labels["success"]
				services[ls.Service] = services[ls.Service] || ok || sli != "sli_requests_total"
			}
		}
	}
	// An availability SLO counts status 5xx as bad: only sound for a
	// service whose status values are HTTP codes (status="error" would
	// count good, h30 D25). The others are left out, by service, and
	// named in a comment with the values seen.
	in.StatusLabel, in.OtherStatuses = len(statuses) > 0, nil
	for v := range statuses {
		if !httpCode(v) {
			in.OtherStatuses = append(in.OtherStatuses, v)
		}
	}
	slices.Sort(in.OtherStatuses)
	in.Services, in.LeftOut, in.NoSuccess, in.NotHTTP = nil, nil, nil, nil
	for _, s := range slices.Sorted(maps.Keys(services)) {
		switch {
		case !Printable(s):
			in.LeftOut = append(in.LeftOut, s)
		case !services[s]:
			in.NoSuccess = append(in.NoSuccess, s)
		case sli == "http_requests_total" && notHTTP[s]:
			in.NotHTTP = append(in.NotHTTP, s)
		default:
			in.Services = append(in.Services, s)
		}
	}
	return nil
}

// Printable says whether a service name is one vigil check accepts in an
// objective (analyze/slo refuses the rest, this package may not import
// it): not only spaces, every character printable (a newline would split
// a table row, an escape sequence repaint a terminal). Anyone who can push
// to the agent names services, so init leaves the others out (h30 D2).
func Printable(s string) bool {
	if strings.TrimSpace(s) == "" {
		return false
	}
	for _, c := range s {
		if c == utf8.RuneError || !unicode.IsPrint(c) {
			return false
		}
	}
	return true
}

// httpCode says whether v is an HTTP status code (three digits, 100-599).
func httpCode(v string) bool {
	return len(v) == 3 && v[0] >= '1' && v[0] <= '5' && v[1] >= '0' && v[1] <= '9' && v[2] >= '0' && v[2] <= '9'
}
