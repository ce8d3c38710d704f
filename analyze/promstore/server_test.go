package promstore_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/api"
	v1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/model"

	"github.com/vigil-metrics/vigil/analyze/promstore"
	"github.com/vigil-metrics/vigil/internal/store"
)

// serve runs API.Serve with o until the test ends and returns its
// address and the log it wrote.
func serve(t *testing.T, o promstore.ServeOptions) (string, *syncBuf) {
	t.Helper()
	_, jsonl := fixture()
	_, src := newServer(t, fixtureStores(t, jsonl[:]...))
	a := &promstore.API{Source: src, Engine: promstore.NewEngine(promstore.DefaultLimits, nil), Limits: promstore.DefaultLimits,
		Now: func() time.Time { return time.UnixMilli(fixtureEnd) }, Version: "test"}
	logs := &syncBuf{}
	o.Logger = slog.New(slog.NewTextHandler(logs, nil))
	ready := make(chan string, 1)
	o.Ready = func(addr string) { ready <- addr }
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Serve(ctx, o) }()
	var addr string
	select {
	case addr = <-ready:
	case err := <-done:
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("graceful stop: %v", err)
		}
	})
	return addr, logs
}

type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuf) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuf) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

const testToken = "s3cr3t-t0ken-0123456789"

func status(t *testing.T, c *http.Client, url, auth string) (int, http.Header) {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode, resp.Header
}

// With a token, the API answers 401 (and says how to authenticate)
// without it or with another, 200 with it; the probes stay open.
func TestServeToken(t *testing.T) {
	addr, logs := serve(t, promstore.ServeOptions{Listen: "127.0.0.1:0", Token: testToken})
	base := "http://" + addr
	q := base + "/api/v1/query?query=cpu"
	for _, auth := range []string{"", "Bearer wrong-token-0123456789", "Bearer " + testToken + "x", "Basic " + testToken, testToken} {
		code, h := status(t, http.DefaultClient, q, auth)
		if code != http.StatusUnauthorized || h.Get("WWW-Authenticate") != `Bearer realm="vigil"` {
			t.Errorf("Authorization %q: %d %q, want 401 with a Bearer challenge", auth, code, h.Get("WWW-Authenticate"))
		}
	}
	// The scheme's name is case-insensitive (RFC 7235 section 2.1, RFC
	// 6750 section 2.1): bearer and BEARER are Bearer.
	for _, scheme := range []string{"Bearer ", "bearer ", "BEARER ", "bEaReR "} {
		if code, _ := status(t, http.DefaultClient, q, scheme+testToken); code != http.StatusOK {
			t.Errorf("with the token after %q: %d", scheme, code)
		}
	}
	if code, _ := status(t, http.DefaultClient, base+"/-/healthy", ""); code != http.StatusOK {
		t.Errorf("/-/healthy without a token: %d", code)
	}
	if strings.Contains(logs.String(), "beyond loopback") {
		t.Errorf("warned on loopback: %s", logs)
	}
}

// client_golang's API client (as Go programs query Prometheus) reads
// vigil serve, over TLS with the token.
func TestServeClientGolangTLS(t *testing.T) {
	cert, key, pool := selfSigned(t)
	addr, _ := serve(t, promstore.ServeOptions{Listen: "127.0.0.1:0", Token: testToken, TLSCert: cert, TLSKey: key})
	rt := &tokenRT{next: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	c, err := api.NewClient(api.Config{Address: "https://" + addr, RoundTripper: rt})
	if err != nil {
		t.Fatal(err)
	}
	p := v1.NewAPI(c)
	ctx := context.Background()
	at := time.UnixMilli(fixtureEnd - 7_123)
	// cpu{host="b"} at 09:59:52.877 is its sample of 09:59:48.250
	// (start + 3250 + 1439*15000 ms): i = 1439, h = 1 in fixture().
	v, _, _, err := p.Query(ctx, `cpu{host="b"}`, at)
	if err != nil {
		t.Fatal(err)
	}
	want := float64((1439*7+13)%20)*0.25 + 1 + float64(1439%3)*0.1
	vec, ok := v.(model.Vector)
	if !ok || len(vec) != 1 || float64(vec[0].Value) != want || vec[0].Metric["dc"] != "y" {
		t.Errorf("cpu{host=\"b\"} = %v, want %v", v, want)
	}
	r, _, _, err := p.QueryRange(ctx, `sum(rate(req_total[5m]))`, v1.Range{Start: at.Add(-time.Hour), End: at, Step: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	if m, ok := r.(model.Matrix); !ok || len(m) != 1 || len(m[0].Values) != 61 {
		t.Errorf("range: %v", r)
	}
	names, _, _, err := p.LabelValues(ctx, "service", nil, time.Time{}, time.Time{})
	if err != nil || len(names) != 2 || names[0] != "api" || names[1] != "web" {
		t.Errorf("label values of service: %v %v", names, err)
	}
	bi, err := p.Buildinfo(ctx)
	if err != nil || bi.Version != promstore.PrometheusVersion {
		t.Errorf("buildinfo: %+v %v", bi, err)
	}
	// Without the token, the client sees the 401.
	c2, _ := api.NewClient(api.Config{Address: "https://" + addr, RoundTripper: rt.next})
	if _, _, _, err := v1.NewAPI(c2).Query(ctx, "cpu", at); err == nil || !strings.Contains(err.Error(), "401") {
		t.Errorf("without the token: %v", err)
	}
}

type tokenRT struct{ next http.RoundTripper }

func (r *tokenRT) RoundTrip(req *http.Request) (*http.Response, error) {
	req = req.Clone(req.Context())
	req.Header.Set("Authorization", "Bearer "+testToken)
	return r.next.RoundTrip(req)
}

// Listening on every address without a token is allowed, with a warning.
func TestServeWarnsBeyondLoopback(t *testing.T) {
	_, logs := serve(t, promstore.ServeOptions{Listen: "0.0.0.0:0"})
	if !strings.Contains(logs.String(), "level=WARN msg=\"listening beyond loopback without a token") {
		t.Errorf("no warning: %s", logs)
	}
}

// A token file others may read, or a short token, is refused.
func TestReadToken(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "tok")
	os.WriteFile(p, []byte(testToken+"\n"), 0o644)
	if _, err := promstore.ReadToken(p); err == nil || !strings.Contains(err.Error(), "chmod 600") {
		t.Errorf("0644: %v", err)
	}
	os.Chmod(p, 0o600)
	if tok, err := promstore.ReadToken(p); err != nil || tok != testToken {
		t.Errorf("0600: %q %v", tok, err)
	}
	os.WriteFile(p, []byte("short\n"), 0o600)
	if _, err := promstore.ReadToken(p); err == nil {
		t.Error("a 5-byte token accepted")
	}
}

// selfSigned writes a certificate for 127.0.0.1 and its key.
func selfSigned(t *testing.T) (cert, key string, pool *x509.CertPool) {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "vigil test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	if err != nil {
		t.Fatal(err)
	}
	kb, _ := x509.MarshalECPrivateKey(k)
	dir := t.TempDir()
	cert, key = filepath.Join(dir, "c.pem"), filepath.Join(dir, "k.pem")
	os.WriteFile(cert, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
	os.WriteFile(key, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600)
	c, _ := x509.ParseCertificate(der)
	pool = x509.NewCertPool()
	pool.AddCert(c)
	return cert, key, pool
}

// Metadata gives each family's type (a histogram by its base name, as a
// scrape's metadata names it); the probes answer 200.
func TestServeMetadata(t *testing.T) {
	_, jsonl := fixture()
	srv, _ := newServer(t, fixtureStores(t, jsonl[:]...))
	code, b := get(t, srv.URL, "/api/v1/metadata", nil)
	want := `{"status":"success","data":{"cpu":[{"type":"gauge","help":"","unit":""}],` +
		`"req_total":[{"type":"counter","help":"","unit":""}],"response_time_ms":[{"type":"histogram","help":"","unit":""}]}}`
	if code != 200 || string(b) != want {
		t.Errorf("metadata: %d %s\nwant %s", code, b, want)
	}
	if _, b := get(t, srv.URL, "/api/v1/metadata", url.Values{"metric": {"cpu"}}); !strings.Contains(string(b), `"data":{"cpu":[`) || strings.Contains(string(b), "req_total") {
		t.Errorf("metadata of cpu: %s", b)
	}
	for _, p := range []string{"/-/ready", "/-/healthy"} {
		if code, _ := get(t, srv.URL, p, nil); code != 200 {
			t.Errorf("%s: %d", p, code)
		}
	}
}

// The help text the library stores with a metric (issue 29: store format
// 2's metric_metadata) is what /api/v1/metadata answers, as Prometheus
// answers a scrape's # HELP; the unit too. Metrics without one keep "".
func TestServeMetadataHelp(t *testing.T) {
	_, jsonl := fixture()
	paths := fixtureStores(t, jsonl[:]...)
	st, err := store.Open(context.Background(), paths[0], store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	tx, err := st.Begin(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if err := tx.SetMetadata(context.Background(), store.Metadata{Name: "req_total", Help: "Requests served.\nBy \"route\".", Unit: ""}); err != nil {
		t.Fatal(err)
	}
	if err := tx.SetMetadata(context.Background(), store.Metadata{Name: "response_time_ms", Help: "Time to answer.", Unit: "milliseconds"}); err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Commit(context.Background()); err != nil {
		t.Fatal(err)
	}
	st.Close()
	srv, _ := newServer(t, paths)
	code, b := get(t, srv.URL, "/api/v1/metadata", nil)
	want := `{"status":"success","data":{"cpu":[{"type":"gauge","help":"","unit":""}],` +
		`"req_total":[{"type":"counter","help":"Requests served.\nBy \"route\".","unit":""}],` +
		`"response_time_ms":[{"type":"histogram","help":"Time to answer.","unit":"milliseconds"}]}}`
	if code != 200 || string(b) != want {
		t.Errorf("metadata: %d %s\nwant %s", code, b, want)
	}
}
