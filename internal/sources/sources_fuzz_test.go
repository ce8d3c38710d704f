package sources

import (
	"testing"

	"github.com/vigil-metrics/vigil/internal/fuzzseed"
)

// FuzzParseFile: the sources: section (read by vigil and by the agent for
// its remote-write endpoints) of any file decodes or gives problems that
// each name a place in the file; a URL key never panics Canonical.
func FuzzParseFile(f *testing.F) {
	for _, b := range fuzzseed.Files(f, "examples/*.yaml") {
		f.Add(b)
	}
	f.Add([]byte(`sources:
  https://mimir.example:8080/prometheus:
    bearer_token_env: MIMIR_TOKEN
    headers: {X-Scope-OrgID: team-a}
    tls: {ca_file: /etc/ca.pem}
    max_samples_per_request: 50000
    counter_lookback: 6h
    types: {latency_ms: histogram}
    pushdown: false
  http://127.0.0.1:9090:
  https://mimir.example/api/v1/push:
    basic_auth: {username: vigil, password_file: /run/secrets/mimir}
`))
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := ParseFile("vigil.yaml", data)
		fuzzseed.CheckPlaces(t, "vigil.yaml", data, err)
		for u := range m {
			Canonical(u)
			Redact(u)
		}
	})
}

// Found by FuzzParseFile: a setting of the wrong type put yaml's
// "line 3: cannot unmarshal ..." on a line of its own, after the place.
func TestTypeErrorOnOneLine(t *testing.T) {
	_, err := ParseFile("vigil.yaml", []byte("sources:\n  http://x:9090:\n    counter_lookback: [1]\n"))
	want := "vigil.yaml:3:5: sources: http://x:9090: unmarshal errors: line 3: cannot unmarshal !!seq into time.Duration"
	if err == nil || err.Error() != want {
		t.Errorf("got %v\nwant %s", err, want)
	}
}
