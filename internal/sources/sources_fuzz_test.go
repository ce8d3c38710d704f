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
