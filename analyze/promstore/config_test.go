package promstore_test

import (
	"reflect"
	"strings"
	"testing"

	"github.com/vigil-metrics/vigil/analyze/promstore"
	"github.com/vigil-metrics/vigil/internal/configfile"
)

func TestFromConfig(t *testing.T) {
	f, err := configfile.Parse("v.yaml", []byte("serve:\n  buckets:\n    lat_ms: [100, 10.5, 1000]\n    empty: []\n"))
	if err != nil {
		t.Fatal(err)
	}
	got, err := promstore.FromConfig(f)
	want := map[string][]float64{"lat_ms": {100, 10.5, 1000}, "empty": {}}
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("got %v %v, want %v", got, err, want)
	}
	if got, err := promstore.FromConfig(nil); err != nil || len(got) != 0 {
		t.Errorf("no file: %v %v", got, err)
	}
	for text, msg := range map[string]string{
		"serve:\n  bucket: {}\n":                `v.yaml:2:3: unknown field "bucket" in serve`,
		"serve:\n  buckets: [1, 2]\n":           "v.yaml:2:12: serve: buckets: want a map from a histogram's name to its bucket bounds, got a list",
		"serve:\n  buckets:\n    lat: [1, x]\n": "v.yaml:3:14: serve: buckets: lat: want a number, got",
		"serve:\n  buckets:\n    lat: 5\n":      "v.yaml:3:10: serve: buckets: lat: want a list",
		"serve:\n  buckets:\n    9lat: [1]\n":   `v.yaml:3:5: serve: buckets: "9lat" is not a metric name`,
		"serve:\n  buckets:\n    lat: [.nan]\n": "v.yaml:3:11: serve: buckets: lat: want a finite number",
	} {
		f, err := configfile.Parse("v.yaml", []byte(text))
		if err != nil {
			t.Fatalf("%q: %v", text, err)
		}
		if _, err := promstore.FromConfig(f); err == nil || !strings.HasPrefix(err.Error(), msg) {
			t.Errorf("%q: got %v, want %s...", text, err, msg)
		}
	}
}
