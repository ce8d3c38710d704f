package sources

import (
	"strings"
	"testing"
	"time"

	"github.com/vigil-metrics/vigil/internal/store"
)

func TestParseFile(t *testing.T) {
	good := `db: x.db
sources:
  https://mimir.example:8080/prometheus:
    bearer_token_env: MIMIR_TOKEN
    headers:
      X-Scope-OrgID: team-a
    tls:
      ca_file: /etc/ca.pem
    max_samples_per_request: 50000
    counter_lookback: 6h
    types:
      latency_ms: histogram
    pushdown: false
    max_response_bytes: 64MiB
  http://127.0.0.1:9090:
    max_response_bytes: 1048576
    read_api: query
`
	cs, err := ParseFile("vigil.yaml", []byte(good))
	if err != nil {
		t.Fatal(err)
	}
	c := cs["https://mimir.example:8080/prometheus"]
	if c.BearerTokenEnv != "MIMIR_TOKEN" || c.Headers["X-Scope-OrgID"] != "team-a" || c.TLS.CAFile != "/etc/ca.pem" ||
		c.MaxSamplesPerRequest != 50000 || c.CounterLookback != 6*time.Hour || c.Types["latency_ms"] != store.Histogram ||
		c.Pushdown == nil || *c.Pushdown || c.MaxResponseBytes != 64<<20 {
		t.Errorf("parsed %+v", c)
	}
	if c := cs["http://127.0.0.1:9090"]; c.MaxResponseBytes != 1<<20 {
		t.Errorf("max_response_bytes: 1048576 read as %d", c.MaxResponseBytes)
	}
	if c := cs["http://127.0.0.1:9090"]; c.ReadAPI != ReadQuery {
		t.Errorf("read_api: query read as %q", c.ReadAPI)
	}
	var d Config
	if d.Defaults(); d.ReadAPI != ReadAuto {
		t.Errorf("default read_api %q, want auto", d.ReadAPI)
	}
	if d.MaxResponseBytes != 64<<20 {
		t.Errorf("default max_response_bytes %d, want 64 MiB", d.MaxResponseBytes)
	}
	// Set in code past the most: the most.
	big := Config{MaxResponseBytes: 1 << 62}
	if big.Defaults(); big.MaxResponseBytes != 4<<30 {
		t.Errorf("max_response_bytes 2^62 in code: %d, want 4 GiB", big.MaxResponseBytes)
	}
	if cs, err := ParseFile("vigil.yaml", []byte("sources:\n  http://x:9090:\n    max_response_bytes: 4GiB\n")); err != nil || cs["http://x:9090"].MaxResponseBytes != 4<<30 {
		t.Errorf("max_response_bytes: 4GiB (the most): %v, %v", cs, err)
	}
	if _, ok := cs["http://127.0.0.1:9090"]; !ok || len(cs) != 2 {
		t.Errorf("sources %v", cs)
	}
	if cs, err := ParseFile("vigil.yaml", []byte("db: x.db\n")); err != nil || len(cs) != 0 {
		t.Errorf("no section: %v %v", cs, err)
	}

	for _, c := range []struct{ text, want string }{
		{"sources:\n  - http://x:9090\n", "vigil.yaml:2:3: sources: want a map from a source's URL to its settings"},
		{"sources:\n  ftp://x:\n", "vigil.yaml:2:3: sources: source ftp://x: want an http:// or https:// URL"},
		{"sources:\n  http://u:hunter2@x:9090:\n", "vigil.yaml:2:3: sources: source http://xxxxx@x:9090: credentials in the URL would be printed with it"},
		{"sources:\n  http://x:9090:\n    bearer_token: abc\n", `vigil.yaml:3:5: sources: http://x:9090: unknown key "bearer_token" (want bearer_token_env, bearer_token_file,`},
		{"sources:\n  http://x:9090:\n    basic_auth:\n      password: abc\n", `vigil.yaml:4:7: sources: http://x:9090: basic_auth: unknown key "password" (want username, password_env, password_file)`},
		{"sources:\n  http://x:9090:\n    basic_auth:\n      password_env: P\n", "vigil.yaml:3:5: sources: http://x:9090: basic_auth: username is required"},
		{"sources:\n  http://x:9090:\n    bearer_token_env: A\n    bearer_token_file: B\n", "bearer_token_env and bearer_token_file: give one"},
		{"sources:\n  http://x:9090:\n    types:\n      x: summary\n", `types: x: "summary" is not a type (want counter, gauge or histogram)`},
		{"sources:\n  http://x:9090:\n    counter_lookback: 1 day\n", "vigil.yaml:3:5: sources: http://x:9090:"},
		{"sources:\n  http://x:9090:\n    max_response_bytes: 64MB\n", `vigil.yaml:3:25: sources: http://x:9090: max_response_bytes: "64MB" is not a size (want bytes, or a whole number with B, KiB, MiB, GiB or TiB: 64MiB)`},
		{"sources:\n  http://x:9090:\n    max_response_bytes: -1\n", `vigil.yaml:3:25: sources: http://x:9090: max_response_bytes: "-1" is not a size`},
		{"sources:\n  http://x:9090:\n    max_response_bytes: [1]\n", `vigil.yaml:3:25: sources: http://x:9090: max_response_bytes: want a size`},
		{"sources:\n  http://x:9090:\n    max_body: 1\n", `pushdown, max_response_bytes, read_api)`},
		{"sources:\n  http://x:9090:\n    read_api: remote\n", `vigil.yaml:3:15: sources: http://x:9090: read_api: "remote" is not a way to read (want auto, remote_read or query)`},
		{"sources:\n  http://x:9090:\n    read_api: [query]\n", `vigil.yaml:3:15: sources: http://x:9090: read_api: "?" is not a way to read (want auto, remote_read or query)`},
		// A limit past what vigil can read (limit+1 overflowed to a panic in
		// query and evaluate) or none at all: refused at the value.
		{"sources:\n  http://x:9090:\n    max_response_bytes: 9223372036854775807\n", `vigil.yaml:3:25: sources: http://x:9090: max_response_bytes: 9223372036854775807 is over 4 GiB, the most vigil reads of one answer`},
		{"sources:\n  http://x:9090:\n    max_response_bytes: 4294967297\n", `vigil.yaml:3:25: sources: http://x:9090: max_response_bytes: 4294967297 is over 4 GiB, the most vigil reads of one answer`},
		{"sources:\n  http://x:9090:\n    max_response_bytes: 1TiB\n", `vigil.yaml:3:25: sources: http://x:9090: max_response_bytes: 1TiB is over 4 GiB, the most vigil reads of one answer`},
		{"sources:\n  http://x:9090:\n    max_response_bytes: 0\n", `vigil.yaml:3:25: sources: http://x:9090: max_response_bytes: 0 would refuse every answer (leave it out for the default, 64 MiB)`},
	} {
		_, err := ParseFile("vigil.yaml", []byte(c.text))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: got %v, want %q", c.text, err, c.want)
		}
		if err != nil && strings.Contains(err.Error(), "hunter2") {
			t.Errorf("the password is printed: %v", err)
		}
	}
}

// URLs are printed with their credentials and query hidden, wherever they
// appear (scrape targets, remote-write endpoints, sources).
func TestRedact(t *testing.T) {
	for in, want := range map[string]string{
		"http://user:pass@host:9100/metrics":   "http://xxxxx@host:9100/metrics",
		"https://host/metrics?token=abc&x=1":   "https://host/metrics?xxxxx",
		"http://127.0.0.1:9100/metrics":        "http://127.0.0.1:9100/metrics",
		"https://u:p@mimir/api/v1/push#secret": "https://xxxxx@mimir/api/v1/push",
		"http://[::1:9090":                     "<unparsable URL>",
	} {
		if got := Redact(in); got != want {
			t.Errorf("Redact(%q) = %q, want %q", in, got, want)
		}
	}
}

// Two spellings of one endpoint are one source, and find its settings.
func TestCanonicalAndLookup(t *testing.T) {
	for _, c := range [][2]string{
		{"http://Prom:9090/", "http://prom:9090"},
		{"HTTP://prom:80/prefix/", "http://prom/prefix"},
		{"https://mimir.example:443/prometheus", "https://mimir.example/prometheus"},
		{"https://[::1]:443/", "https://[::1]"},
		{"http://prom:9091", "http://prom:9091"},
	} {
		if got := Canonical(c[0]); got != c[1] {
			t.Errorf("Canonical(%q) = %q, want %q", c[0], got, c[1])
		}
	}
	section := map[string]Config{"http://prom:9090": {BearerTokenEnv: "T"}}
	if c, ok := Lookup(section, "http://PROM:9090/"); !ok || c.BearerTokenEnv != "T" {
		t.Errorf("Lookup of another spelling: %+v %v", c, ok)
	}
	if _, ok := Lookup(section, "http://prom:9091"); ok {
		t.Error("Lookup found another port's settings")
	}
}

// Sizes are bytes or whole numbers of binary units, and print in the
// largest unit that divides them.
func TestByteSize(t *testing.T) {
	for in, want := range map[string]ByteSize{"0": 0, "512": 512, "1KiB": 1024, "64MiB": 64 << 20, "1 GiB": 1 << 30, "2TiB": 2 << 40, "10B": 10} {
		if got, err := ParseByteSize(in); err != nil || got != want {
			t.Errorf("ParseByteSize(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "1.5MiB", "64MB", "1e6", "MiB", "-5", "9999999999999TiB"} {
		if _, err := ParseByteSize(in); err == nil {
			t.Errorf("ParseByteSize(%q) is no error", in)
		}
	}
	for b, want := range map[ByteSize]string{256 << 20: "256 MiB", 1536: "1536 bytes", 1000: "1000 bytes", 1 << 30: "1 GiB"} {
		if got := b.String(); got != want {
			t.Errorf("%d.String() = %q, want %q", int64(b), got, want)
		}
	}
}

// A source's credential and TLS files are read relative to the config
// file's folder, as Prometheus reads its config's (h30 D1); absolute ones
// are kept.
func TestFilesRelativeToConfig(t *testing.T) {
	src := `sources:
  https://a.example:9090:
    bearer_token_file: secrets/token
    tls: {ca_file: ca.pem, cert_file: /pki/c.pem, key_file: ../k.pem}
  https://b.example:9090:
    basic_auth: {username: u, password_file: pw}
`
	cs, err := ParseFile("/etc/vigil/vigil.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	a, b := cs["https://a.example:9090"], cs["https://b.example:9090"]
	if a.BearerTokenFile != "/etc/vigil/secrets/token" || a.TLS.CAFile != "/etc/vigil/ca.pem" || a.TLS.CertFile != "/pki/c.pem" || a.TLS.KeyFile != "/etc/k.pem" {
		t.Errorf("a: token %q, tls %+v", a.BearerTokenFile, a.TLS)
	}
	if b.BasicAuth == nil || b.BasicAuth.PasswordFile != "/etc/vigil/pw" {
		t.Errorf("b: %+v", b.BasicAuth)
	}
}
