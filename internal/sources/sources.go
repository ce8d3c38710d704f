// Package sources reads the config file's sources: section: for each
// Prometheus-compatible URL, the credentials, headers and TLS settings of
// the requests to it (analyze/promsrc reads from such URLs, the agent's
// remote write sends to them), and settings of the read side. Secrets come
// from the environment or files, never from the URL, and no message prints
// them. It links no DuckDB, so the agent can use it.
package sources

import (
	"errors"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
	"time"

	pconfig "github.com/prometheus/common/config"
	"go.yaml.in/yaml/v3"

	"github.com/vigil-metrics/vigil/internal/configfile"
	scrub "github.com/vigil-metrics/vigil/internal/secret"
	"github.com/vigil-metrics/vigil/internal/store"
	"github.com/vigil-metrics/vigil/internal/yamlconf"
)

// Config is one source's entry in the config file's sources: section,
// keyed there by the source's URL exactly as --db gives it.
type Config struct {
	// BearerTokenEnv names the environment variable holding a bearer
	// token; BearerTokenFile a file holding one. At most one of them.
	BearerTokenEnv  string     `yaml:"bearer_token_env"`
	BearerTokenFile string     `yaml:"bearer_token_file"`
	BasicAuth       *BasicAuth `yaml:"basic_auth"`
	// Headers are sent with every request (a tenant: X-Scope-OrgID).
	Headers map[string]string `yaml:"headers"`
	TLS     struct {
		CAFile             string `yaml:"ca_file"`
		CertFile           string `yaml:"cert_file"`
		KeyFile            string `yaml:"key_file"`
		ServerName         string `yaml:"server_name"`
		InsecureSkipVerify bool   `yaml:"insecure_skip_verify"`
	} `yaml:"tls"`
	// MaxSamplesPerRequest bounds the samples vigil asks for in one
	// request (default 250000): a long window is fetched in time chunks
	// sized to it, and halved further when the server refuses a chunk as
	// over its own limit.
	MaxSamplesPerRequest int `yaml:"max_samples_per_request"`
	// CounterLookback is how far before a window vigil looks for a
	// counter's previous sample, which its first increment in the window
	// is computed against (default 1d).
	CounterLookback time.Duration `yaml:"counter_lookback"`
	// Types gives metric names their type where the server's metadata
	// and the naming conventions cannot (a vigil histogram's raw
	// observations, a counter without _total).
	Types map[string]store.Type `yaml:"types"`
	// Pushdown lets vigil ask the server for an aggregation where the
	// answer is provably the one it would compute (default true).
	Pushdown *bool `yaml:"pushdown"`
	// MaxResponseBytes bounds the bytes read of one answer (default
	// DefaultMaxResponseBytes, at most MaxMaxResponseBytes): a larger one
	// is an error, read no further, so a runaway or hostile server cannot
	// take the machine's memory.
	MaxResponseBytes ByteSize `yaml:"max_response_bytes"`
	// ReadAPI is how raw samples are read: ReadAuto ("" or "auto": the
	// streamed remote-read API where a probe finds it, else the query
	// API), ReadRemote ("remote_read": only the former, an error where the
	// engine lacks it) or ReadQuery ("query": only the latter).
	ReadAPI string `yaml:"read_api"`
}

// The values of read_api.
const (
	ReadAuto   = "auto"
	ReadRemote = "remote_read"
	ReadQuery  = "query"
)

// BasicAuth is a user name and a password from the environment or a file.
type BasicAuth struct {
	Username     string `yaml:"username"`
	PasswordEnv  string `yaml:"password_env"`
	PasswordFile string `yaml:"password_file"`
}

// Defaults fills in what the section leaves out.
func (c *Config) Defaults() {
	if c.MaxSamplesPerRequest <= 0 {
		c.MaxSamplesPerRequest = 250_000
	}
	if c.CounterLookback <= 0 {
		c.CounterLookback = 24 * time.Hour
	}
	// The config file refuses 0 and values past the most (ParseFile);
	// set in code, they are the default and the most.
	if c.MaxResponseBytes <= 0 {
		c.MaxResponseBytes = DefaultMaxResponseBytes
	}
	c.MaxResponseBytes = min(c.MaxResponseBytes, MaxMaxResponseBytes)
	if c.ReadAPI == "" {
		c.ReadAPI = ReadAuto
	}
}

// IsURL reports whether a --db value names a Prometheus-compatible
// source rather than a store file.
func IsURL(s string) bool {
	l := strings.ToLower(s[:min(len(s), 8)])
	return strings.HasPrefix(l, "http://") || strings.HasPrefix(l, "https://")
}

// CheckURL refuses a source URL vigil would have to print secrets from or
// could not use as an API base: credentials, a query or a fragment.
func CheckURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("source %q is not a URL", Redact(raw))
	}
	switch {
	case u.Scheme != "http" && u.Scheme != "https":
		return fmt.Errorf("source %s: want an http:// or https:// URL", Redact(raw))
	case u.Host == "":
		return fmt.Errorf("source %s: no host", Redact(raw))
	case u.User != nil:
		return fmt.Errorf("source %s: credentials in the URL would be printed with it; put them in the config's sources: section (basic_auth, bearer_token_env)", Redact(raw))
	case u.RawQuery != "" || u.Fragment != "":
		return fmt.Errorf("source %s: the URL is an API base (http://host:port[/prefix]); drop the query or fragment", Redact(raw))
	}
	return nil
}

// Canonical is the form of a URL two spellings of one endpoint share:
// scheme and host in lower case, no default port, no trailing slash.
// Sources are told apart (one server given twice would count every sample
// twice) and found in the sources: section by it.
func Canonical(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return raw
	}
	u.Scheme, u.Host = strings.ToLower(u.Scheme), strings.ToLower(u.Host)
	if h, p := u.Hostname(), u.Port(); (u.Scheme == "http" && p == "80") || (u.Scheme == "https" && p == "443") {
		u.Host = h
		if strings.Contains(h, ":") {
			u.Host = "[" + h + "]"
		}
	}
	u.Path = strings.TrimRight(u.Path, "/")
	u.RawPath = ""
	return u.String()
}

// Lookup finds rawURL's settings in a sources: section, by its canonical
// form (http://prom:9090/ finds http://prom:9090).
func Lookup(section map[string]Config, rawURL string) (Config, bool) {
	if c, ok := section[rawURL]; ok {
		return c, true
	}
	want := Canonical(rawURL)
	for k, c := range section {
		if Canonical(k) == want {
			return c, true
		}
	}
	return Config{}, false
}

// Redact gives a URL fit to print: no credentials, query or fragment.
//
// Credentials and a query (a token in it) become "xxxxx", so the reader
// still sees that there were some; the fragment goes. The agent's logs,
// its remote-write metrics' url label and every message about a source
// print URLs through it.
func Redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "<unparsable URL>"
	}
	if u.User != nil {
		u.User = url.User("xxxxx")
	}
	if u.RawQuery != "" || u.ForceQuery {
		u.RawQuery, u.ForceQuery = "xxxxx", false
	}
	u.Fragment, u.RawFragment = "", ""
	return u.String()
}

// ParseFile reads the sources: section of a config file (name is for
// messages), through configfile. A file without the section gives an
// empty map.
func ParseFile(name string, data []byte) (map[string]Config, error) {
	f, err := configfile.Parse(name, data)
	if err != nil {
		return nil, err
	}
	return FromConfig(f)
}

// FromConfig decodes the sources: section of a read config file. The
// first problem is the error, FILE:LINE:COL: sources: URL: reason.
func FromConfig(f *configfile.File) (map[string]Config, error) {
	name, n := f.Path, f.Section("sources")
	out := map[string]Config{}
	if n == nil {
		return out, nil
	}
	if n.Kind != yaml.MappingNode {
		return nil, fmt.Errorf("%s:%d:%d: sources: want a map from a source's URL to its settings", name, n.Line, n.Column)
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		at := func(x *yaml.Node) string {
			return fmt.Sprintf("%s:%d:%d: sources: %s", name, x.Line, x.Column, Redact(k.Value))
		}
		if err := CheckURL(k.Value); err != nil {
			return nil, fmt.Errorf("%s:%d:%d: sources: %w", name, k.Line, k.Column, err)
		}
		if _, dup := out[k.Value]; dup {
			return nil, fmt.Errorf("%s: given twice", at(k))
		}
		what := "sources: " + Redact(k.Value)
		if err := checkKeys(name, v, what, sourceKeys); err != nil {
			return nil, err
		}
		for _, sub := range []struct {
			key  string
			keys []string
		}{
			{"basic_auth", []string{"username", "password_env", "password_file"}},
			{"tls", []string{"ca_file", "cert_file", "key_file", "server_name", "insecure_skip_verify"}},
		} {
			if x := yamlconf.Value(v, sub.key); x != nil {
				if err := checkKeys(name, x, what+": "+sub.key, sub.keys); err != nil {
					return nil, err
				}
			}
		}
		if x := yamlconf.Value(v, "max_response_bytes"); x != nil {
			// Said at the value, with what a size looks like.
			var b ByteSize
			err := b.UnmarshalYAML(x)
			if err == nil {
				err = checkMaxResponseBytes(b, x.Value)
			}
			if err != nil {
				return nil, fmt.Errorf("%s: max_response_bytes: %w", at(x), err)
			}
		}
		if x := yamlconf.Value(v, "read_api"); x != nil {
			// Said at the value: check's words, its place.
			c := Config{ReadAPI: x.Value}
			if x.Kind != yaml.ScalarNode {
				c.ReadAPI = "?"
			}
			if err := c.check(); err != nil {
				return nil, fmt.Errorf("%s: %w", at(x), err)
			}
		}
		var c Config
		if err := v.Decode(&c); err != nil {
			// yaml lists its type errors on lines of their own: one line,
			// the place first, as every config error.
			return nil, fmt.Errorf("%s: %s", at(v), strings.ReplaceAll(strings.TrimPrefix(err.Error(), "yaml: "), "\n  ", " "))
		}
		if err := c.check(); err != nil {
			return nil, fmt.Errorf("%s: %w", at(v), err)
		}
		c.relativeTo(name)
		out[k.Value] = c
	}
	return out, nil
}

// sourceKeys are a source's settings, in the order messages list them.
var sourceKeys = []string{"bearer_token_env", "bearer_token_file", "basic_auth", "headers", "tls",
	"max_samples_per_request", "counter_lookback", "types", "pushdown", "max_response_bytes", "read_api"}

// checkKeys refuses a mapping's unknown keys; the first problem is the
// error.
func checkKeys(file string, m *yaml.Node, what string, known []string) error {
	if yamlconf.IsNull(m) {
		return nil
	}
	d := &yamlconf.Decoder{File: file, Wording: yamlconf.Wording{
		Unknown: func(what, key string, _ []string) string {
			return fmt.Sprintf("%s: unknown key %q (want %s)", what, key, strings.Join(known, ", "))
		},
		NotMapping: func(what string, _ *yaml.Node) string { return what + ": want a map" },
	}}
	d.Fields(m, what, yamlconf.Keys(known...))
	if len(d.Problems) > 0 {
		return d.Problems[0]
	}
	return nil
}

// relativeTo reads the files c names relative to the config file's
// folder, as Prometheus reads its config's (yamlconf.FromFile).
func (c *Config) relativeTo(file string) {
	for _, p := range []*string{&c.BearerTokenFile, &c.TLS.CAFile, &c.TLS.CertFile, &c.TLS.KeyFile} {
		*p = yamlconf.FromFile(file, *p)
	}
	if c.BasicAuth != nil {
		c.BasicAuth.PasswordFile = yamlconf.FromFile(file, c.BasicAuth.PasswordFile)
	}
}

func (c *Config) check() error {
	if c.BearerTokenEnv != "" && c.BearerTokenFile != "" {
		return errors.New("bearer_token_env and bearer_token_file: give one")
	}
	if b := c.BasicAuth; b != nil {
		switch {
		case b.Username == "":
			return errors.New("basic_auth: username is required")
		case b.PasswordEnv != "" && b.PasswordFile != "":
			return errors.New("basic_auth: password_env and password_file: give one")
		case c.BearerTokenEnv != "" || c.BearerTokenFile != "":
			return errors.New("basic_auth and a bearer token: give one")
		}
	}
	if c.MaxSamplesPerRequest < 0 {
		return errors.New("max_samples_per_request must be positive")
	}
	switch c.ReadAPI {
	case "", ReadAuto, ReadRemote, ReadQuery:
	default:
		return fmt.Errorf("read_api: %q is not a way to read (want auto, remote_read or query)", c.ReadAPI)
	}
	for _, n := range slices.Sorted(maps.Keys(c.Types)) {
		switch c.Types[n] {
		case store.Counter, store.Gauge, store.Histogram:
		default:
			return fmt.Errorf("types: %s: %q is not a type (want counter, gauge or histogram)", n, c.Types[n])
		}
	}
	return nil
}

// secret reads a secret from an environment variable or a file; the
// message names where, never what.
func secret(env, file string) (string, error) {
	if env != "" {
		v, ok := os.LookupEnv(env)
		if !ok || v == "" {
			return "", fmt.Errorf("environment variable %s is not set", env)
		}
		return v, nil
	}
	if file != "" {
		b, err := scrub.ReadFile(file)
		if err != nil {
			return "", fmt.Errorf("read %s: %w", file, errors.Unwrap(err))
		}
		return strings.TrimSpace(string(b)), nil
	}
	return "", nil
}

// FileProblems say which of the files c names cannot be used now: a
// secret file (bearer_token_file, basic_auth's password_file) that
// cannot be read as one (secret.FileProblem: missing, a folder or a
// device, larger than a secret, empty), a TLS file that is missing, not a regular file
// or empty. Each is read when a request is made, so `vigil check` warns of
// them instead of failing; the messages name the key and the path,
// never a secret.
func (c Config) FileProblems() []string {
	var out []string
	secretFile := func(key, path string) {
		if path == "" {
			return
		}
		switch p, why := scrub.FileProblem(path); {
		case p == "":
		case why != nil:
			out = append(out, fmt.Sprintf("%s %s %s (each request needs it): %v", key, path, p, why))
		case p == "is empty":
			out = append(out, fmt.Sprintf("%s %s is empty (each request needs the secret it holds)", key, path))
		default:
			out = append(out, fmt.Sprintf("%s %s %s (each request needs it)", key, path, p))
		}
	}
	secretFile("bearer_token_file", c.BearerTokenFile)
	if c.BasicAuth != nil {
		secretFile("basic_auth: password_file", c.BasicAuth.PasswordFile)
	}
	for _, f := range []struct{ key, path string }{{"tls: ca_file", c.TLS.CAFile}, {"tls: cert_file", c.TLS.CertFile}, {"tls: key_file", c.TLS.KeyFile}} {
		if f.path == "" {
			continue
		}
		st, err := os.Stat(f.path)
		var pe *os.PathError
		if errors.As(err, &pe) {
			err = pe.Err // the message names the path once
		}
		switch {
		case err != nil:
			out = append(out, fmt.Sprintf("%s %s cannot be read (each request needs it): %v", f.key, f.path, err))
		case !st.Mode().IsRegular():
			out = append(out, fmt.Sprintf("%s %s is not a regular file (each request needs it)", f.key, f.path))
		case st.Size() == 0:
			out = append(out, fmt.Sprintf("%s %s is empty (each request needs it)", f.key, f.path))
		}
	}
	return out
}

// RegisterSecrets puts the secrets of the requests to a source in set:
// the bearer token, the basic-auth password (and the Authorization
// value it makes), the headers that are credentials (a tenant's
// X-Scope-OrgID, an X-Api-Key: secret.Set.AddHeader's rule),
// read now from the environment or files. One that cannot be read now
// is left out: the request will not carry it either.
func (c Config) RegisterSecrets(set *scrub.Set) {
	if tok, err := secret(c.BearerTokenEnv, c.BearerTokenFile); err == nil {
		set.Add(tok)
	}
	if b := c.BasicAuth; b != nil {
		if pw, err := secret(b.PasswordEnv, b.PasswordFile); err == nil {
			set.AddBasicAuth(b.Username, pw)
		}
	}
	for k, v := range c.Headers {
		set.AddHeader(k, v)
	}
}

// RegisterAllSecrets puts the secrets of every source of a sources:
// section in set.
func RegisterAllSecrets(section map[string]Config, set *scrub.Set) {
	for u, c := range section {
		set.AddURL(u, false)
		c.RegisterSecrets(set)
	}
}

// RoundTripper is the HTTP transport of cfg's credentials, headers and
// TLS for requests to rawURL (the remote-write endpoints' too). Secrets
// are read now, from the environment or files; messages name where, never
// what.
func RoundTripper(rawURL string, cfg Config) (http.RoundTripper, error) {
	rawURL = Redact(rawURL)
	// FollowRedirects is the client's business (it is not the transport's):
	// every client of this transport is made with noredirect.Client.
	hc := pconfig.HTTPClientConfig{FollowRedirects: false, EnableHTTP2: true}
	tok, err := secret(cfg.BearerTokenEnv, "")
	if err != nil {
		return nil, fmt.Errorf("source %s: bearer_token_env: %w", rawURL, err)
	}
	hc.BearerToken = pconfig.Secret(tok)
	hc.BearerTokenFile = cfg.BearerTokenFile
	if b := cfg.BasicAuth; b != nil {
		pw, err := secret(b.PasswordEnv, "")
		if err != nil {
			return nil, fmt.Errorf("source %s: basic_auth: password_env: %w", rawURL, err)
		}
		hc.BasicAuth = &pconfig.BasicAuth{Username: b.Username, Password: pconfig.Secret(pw), PasswordFile: b.PasswordFile}
	}
	if len(cfg.Headers) > 0 {
		h := map[string]pconfig.Header{}
		for k, v := range cfg.Headers {
			h[k] = pconfig.Header{Secrets: []pconfig.Secret{pconfig.Secret(v)}}
		}
		hc.HTTPHeaders = &pconfig.Headers{Headers: h}
	}
	hc.TLSConfig = pconfig.TLSConfig{CAFile: cfg.TLS.CAFile, CertFile: cfg.TLS.CertFile, KeyFile: cfg.TLS.KeyFile,
		ServerName: cfg.TLS.ServerName, InsecureSkipVerify: cfg.TLS.InsecureSkipVerify}
	if err := hc.Validate(); err != nil {
		return nil, fmt.Errorf("source %s: %w", rawURL, err)
	}
	rt, err := pconfig.NewRoundTripperFromConfig(hc, "vigil")
	if err != nil {
		return nil, fmt.Errorf("source %s: %w", rawURL, err)
	}
	return rt, nil
}
