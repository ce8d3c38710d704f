package collect

import (
	"context"
	"math"
	"reflect"
	"testing"
	"time"
)

// A name that says its unit is honoured under both namings: the value in
// that unit, buckets in it, the unit in the metadata.
func TestNamedUnitsHonoured(t *testing.T) {
	d := 250 * time.Millisecond
	cases := []struct {
		name, unit string
		value      float64
		bucket     float64 // a bound Handler exposes (DefBuckets' 0.25 s in the unit)
	}{
		{"render_seconds", "seconds", 0.25, 0.25},
		{"render_ms", "milliseconds", 250, 250},
		{"render_milliseconds", "milliseconds", 250, 250},
		{"render_us", "microseconds", 250000, 250000},
		{"render_microseconds", "microseconds", 250000, 250000},
		{"render_ns", "nanoseconds", 2.5e8, 2.5e8},
		{"render_nanoseconds", "nanoseconds", 2.5e8, 2.5e8},
		{"render_minutes", "minutes", 0.25 / 60, 0.25 / 60},
	}
	for _, n := range []Naming{NamingReference, NamingPrometheus} {
		r, _ := newRecorder(t, Options{Service: "app", Naming: n})
		for _, c := range cases {
			r.Histogram(c.name, nil, Help("h")).ObserveDuration(d)
		}
		got := histSums(t, r)
		fams := scrapeHandler(t, r)
		md, err := r.storeNow().Metadata(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		units := map[string]string{}
		for _, m := range md {
			units[m.Name] = m.Unit
		}
		for _, c := range cases {
			if v := got[c.name][0]; v != c.value {
				t.Errorf("%v %s: stored %v, want %v", n, c.name, v, c.value)
			}
			if units[c.name] != c.unit {
				t.Errorf("%v %s: metadata unit %q, want %q", n, c.name, units[c.name], c.unit)
			}
			found := false
			for _, b := range fams[c.name].GetMetric()[0].GetHistogram().GetBucket() {
				if b.GetUpperBound() == c.bucket {
					found = true
				}
			}
			if !found {
				t.Errorf("%v %s: no bucket %v (buckets in the name's unit)", n, c.name, c.bucket)
			}
		}
	}
	if unitOf("job_memory_delta_mb") != "megabytes" {
		t.Errorf("unit of _mb: %q", unitOf("job_memory_delta_mb"))
	}
}

// A size in its name gets buckets of sizes in that unit: 1 KiB to 1 GiB
// by powers of 4, in bytes or in megabytes.
func TestSizeBuckets(t *testing.T) {
	for _, n := range []Naming{NamingReference, NamingPrometheus} {
		r, _ := newRecorder(t, Options{Service: "app", Naming: n})
		r.Histogram("upload_bytes", nil).Observe(3 << 20)
		r.Histogram("job_memory_delta_mb", nil).Observe(3)
		fams := scrapeHandler(t, r)
		for name, want := range map[string][]float64{
			"upload_bytes":        {1024, 4096, 16384, 65536, 262144, 1 << 20, 4 << 20, 16 << 20, 64 << 20, 256 << 20, 1 << 30},
			"job_memory_delta_mb": {1.0 / 1024, 1.0 / 256, 1.0 / 64, 1.0 / 16, 0.25, 1, 4, 16, 64, 256, 1024},
		} {
			var got []float64
			for _, b := range fams[name].GetMetric()[0].GetHistogram().GetBucket() {
				got = append(got, b.GetUpperBound())
			}
			if len(got) > 0 && math.IsInf(got[len(got)-1], 1) {
				got = got[:len(got)-1]
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("%v %s buckets %v, want %v", n, name, got, want)
			}
		}
	}
}
