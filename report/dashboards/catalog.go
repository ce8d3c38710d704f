package dashboards

import (
	"context"
	"math"
	"slices"

	"github.com/vigil-metrics/vigil/internal/lint"
)

// Catalog is what the stores hold: which metrics, of which type, with
// which label names, for which services. A nil *Catalog means no store
// was given, and every dashboard then shows what the config names.
type Catalog struct {
	Types    map[string]string          // metric -> counter, gauge or histogram
	Labels   map[string]map[string]bool // metric -> label names (service not among them)
	Services map[string]map[string]bool // service -> metric names
}

// ReadCatalog lists the series of the stores at paths, as `vigil lint`
// reads them (internal/lint.Read: one query per store, read-only).
func ReadCatalog(ctx context.Context, paths []string) (*Catalog, error) {
	c := &Catalog{Types: map[string]string{}, Labels: map[string]map[string]bool{}, Services: map[string]map[string]bool{}}
	for _, p := range paths {
		// Every series, active or not: the window is all time.
		ss, err := lint.Read(ctx, p, math.MinInt64, math.MaxInt64)
		if err != nil {
			return nil, err
		}
		for _, s := range ss {
			c.add(s.Name, s.Type, s.Service, s.Labels)
		}
	}
	return c, nil
}

func (c *Catalog) add(name, typ, service string, labels map[string]string) {
	c.Types[name] = typ
	if c.Labels[name] == nil {
		c.Labels[name] = map[string]bool{}
	}
	for l := range labels {
		c.Labels[name][l] = true
	}
	if service != "" {
		if c.Services[service] == nil {
			c.Services[service] = map[string]bool{}
		}
		c.Services[service][name] = true
	}
}

// has reports whether metric exists (for service, when not "").
func (c *Catalog) has(service, metric string) bool {
	if c == nil {
		return true
	}
	if service == "" {
		_, ok := c.Types[metric]
		return ok
	}
	return c.Services[service][metric]
}

// metricsOf lists service's metrics of a type, sorted.
func (c *Catalog) metricsOf(service, typ string) []string {
	if c == nil {
		return nil
	}
	var out []string
	for m := range c.Services[service] {
		if c.Types[m] == typ {
			out = append(out, m)
		}
	}
	slices.Sort(out)
	return out
}

func (c *Catalog) hasLabel(metric, label string) bool {
	return c != nil && c.Labels[metric][label]
}
