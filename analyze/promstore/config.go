package promstore

import (
	"regexp"

	"go.yaml.in/yaml/v3"

	"github.com/vigil-metrics/vigil/internal/configfile"
	"github.com/vigil-metrics/vigil/internal/yamlconf"
)

var metricName = regexp.MustCompile(`^[a-zA-Z_:][a-zA-Z0-9_:]*$`)

// FromConfig reads the serve: section of vigil.yaml:
//
//	serve:
//	  buckets:
//	    response_time_ms: [50, 100, 250, 500, 1000]
//
// buckets gives, per histogram metric, the upper bounds served as
// NAME_bucket{le="..."} (+Inf is added): a store keeps raw observations,
// so any bounds can be served, and histogram_quantile needs some.
func FromConfig(f *configfile.File) (map[string][]float64, error) {
	out := map[string][]float64{}
	n := f.Section("serve")
	if n == nil || yamlconf.IsNull(n) {
		return out, nil
	}
	d := &yamlconf.Decoder{File: f.Path}
	d.Fields(n, "serve", map[string]func(*yaml.Node){"buckets": func(b *yaml.Node) {
		if yamlconf.IsNull(b) {
			return
		}
		if b.Kind != yaml.MappingNode {
			d.Errf(b, "serve: buckets: want a map from a histogram's name to its bucket bounds, got %s", yamlconf.Kind(b))
			return
		}
		for i := 0; i+1 < len(b.Content); i += 2 {
			k, v := b.Content[i], b.Content[i+1]
			if !metricName.MatchString(k.Value) {
				d.Errf(k, "serve: buckets: %q is not a metric name ([a-zA-Z_:][a-zA-Z0-9_:]*)", k.Value)
				continue
			}
			// A name given twice is refused when the file is read
			// (configfile: duplicate keys).
			bounds := []float64{}
			d.List(v, "serve: buckets: "+k.Value, func(x *yaml.Node) {
				if f, ok := d.Number(x, "serve: buckets: "+k.Value); ok {
					bounds = append(bounds, f)
				}
			})
			out[k.Value] = bounds
		}
	}})
	return out, d.Err()
}
