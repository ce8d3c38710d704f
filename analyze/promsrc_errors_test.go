package analyze_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vigil-metrics/vigil/analyze"
	"github.com/vigil-metrics/vigil/analyze/promsrc"
	"github.com/vigil-metrics/vigil/internal/metricpath"
	"github.com/vigil-metrics/vigil/internal/promtest"
	"github.com/vigil-metrics/vigil/internal/sources"
	"github.com/vigil-metrics/vigil/internal/store"
)

// A server whose sample limit is below a window's samples is read in
// chunks, halved until each fits, with the same answers; a limit below a
// minute of the selector is an error that says so and what to do.
func TestPrometheusSourceChunks(t *testing.T) {
	om, _ := equivFixture()
	// cpu has 3 series at 15 s: 720 samples an hour; the server takes
	// 2000 at a time, so a day comes in at least 44 requests.
	srv := promtest.Start(t, promtest.Blocks(t, om), "--query.max-samples=2000")
	ctx := context.Background()
	want, err := analyze.Open(ctx, []string{equivStore(t)}, analyze.Options{CacheDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer want.Close()
	for _, perRequest := range []int{0, 500} {
		got, err := analyze.Open(ctx, []string{srv.URL}, analyze.Options{Sources: map[string]promsrc.Config{
			srv.URL: {MaxSamplesPerRequest: perRequest, Types: map[string]store.Type{"response_time_ms": store.Histogram}}}})
		if err != nil {
			t.Fatal(err)
		}
		// cpu.max and cpu.count would be pushed down, but a day of cpu at
		// once is over the limit: they come from the raw samples.
		for _, p := range []string{"cpu.avg by (dc)", "cpu.p99", "req_total.increase by (host)", "response_time_ms.p50", "cpu.max by (dc)", "cpu.count"} {
			e, _ := metricpath.Parse(p)
			w := analyze.Window{At: time.UnixMilli(equivBase), Length: 24 * time.Hour}
			ws, err := want.Eval(ctx, e, w)
			if err != nil {
				t.Fatal(err)
			}
			gs, err := got.Eval(ctx, e, w)
			if err != nil {
				t.Fatalf("%s (max_samples_per_request %d): %v", p, perRequest, err)
			}
			if !sameResults(ws, gs) {
				t.Errorf("%s (max_samples_per_request %d): source gives %v, store %v", p, perRequest, gs, ws)
			}
		}
		got.Close()
	}

	// --query.max-samples limits the query API only (remote read streams
	// whatever the selector holds): read_api: query.
	tiny := promtest.Start(t, promtest.Blocks(t, om), "--query.max-samples=3")
	db, err := analyze.Open(ctx, []string{tiny.URL}, analyze.Options{Sources: map[string]promsrc.Config{tiny.URL: {ReadAPI: sources.ReadQuery}}})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	e, _ := metricpath.Parse("cpu.avg")
	_, err = db.Eval(ctx, e, analyze.Window{At: time.UnixMilli(equivBase), Length: time.Hour})
	for _, want := range []string{"source " + tiny.URL, "cpu over (2026-11-29T", "too many samples", "narrow the selector to fewer series or the window", "--query.max-samples"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v does not say %q", err, want)
		}
	}
}

// Each way a source fails is an error that names the source and says
// what happened, in the server's words where it gave some.
func TestPrometheusSourceErrors(t *testing.T) {
	om, _ := equivFixture()
	data := promtest.Blocks(t, om)
	ctx := context.Background()
	e, _ := metricpath.Parse("cpu.avg")
	w := analyze.Window{At: time.UnixMilli(equivBase), Length: time.Hour}
	evalErr := func(url string, opt analyze.Options) error {
		t.Helper()
		db, err := analyze.Open(ctx, []string{url}, opt)
		if err != nil {
			return err
		}
		defer db.Close()
		_, err = db.Eval(ctx, e, w)
		return err
	}
	check := func(name string, err error, wants ...string) {
		t.Helper()
		if err == nil {
			t.Errorf("%s: no error", name)
			return
		}
		for _, want := range wants {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("%s: %q does not say %q", name, err, want)
			}
		}
	}

	// Nothing listens.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := "http://" + l.Addr().String()
	l.Close()
	check("unreachable", evalErr(closed, analyze.Options{}), "source "+closed, "cannot reach the server", "connection refused")

	// Something listens and never answers: --timeout.
	hang, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer hang.Close()
	go func() {
		for {
			c, err := hang.Accept()
			if err != nil {
				return
			}
			defer c.Close()
		}
	}()
	start := time.Now()
	check("timeout", evalErr("http://"+hang.Addr().String(), analyze.Options{Timeout: 300 * time.Millisecond}),
		"source http://"+hang.Addr().String(), "no answer within 300ms (--timeout)")
	if time.Since(start) > 20*time.Second {
		t.Errorf("the timeout took %s", time.Since(start))
	}

	// A 4xx: the server wants credentials (Prometheus's own basic auth).
	dir := t.TempDir()
	webCfg := filepath.Join(dir, "web.yml")
	// bcrypt of "s3cret-pw" (cost 4).
	if err := os.WriteFile(webCfg, []byte("basic_auth_users:\n  vigil: $2a$04$CLrrTGj.8uc98D4vaJVb4uRKUQkvnIoVeILlXUqyEmXZgjcI1BzNG\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	locked := promtest.Start(t, data, "--web.config.file="+webCfg)
	check("401", evalErr(locked.URL, analyze.Options{}), "source "+locked.URL, "401", "check the credentials in sources:")
	// The right password, from a file, answers; a wrong one from the
	// environment is refused and never printed.
	pw := filepath.Join(dir, "pw")
	if err := os.WriteFile(pw, []byte("s3cret-pw\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := promsrc.Config{}
	cfg.BasicAuth = &promsrc.BasicAuth{Username: "vigil", PasswordFile: pw}
	if err := evalErr(locked.URL, analyze.Options{Sources: map[string]promsrc.Config{locked.URL: cfg}}); err != nil {
		t.Errorf("with the password: %v", err)
	}
	t.Setenv("VIGIL_TEST_PW", "wrong-pw-value")
	cfg.BasicAuth.PasswordFile, cfg.BasicAuth.PasswordEnv = "", "VIGIL_TEST_PW"
	err = evalErr(locked.URL, analyze.Options{Sources: map[string]promsrc.Config{locked.URL: cfg}})
	check("wrong password", err, "401")
	if err != nil && strings.Contains(err.Error(), "wrong-pw-value") {
		t.Errorf("the password is in the error: %v", err)
	}

	// A 5xx with the server's message: every query times out there.
	// (An hour of 2000 series, 480000 samples, takes Prometheus well over
	// a millisecond to read.)
	var wide []promtest.Series
	for i := 0; i < 2000; i++ {
		s := promtest.Series{Name: "wide", Family: "wide", Type: "gauge", Labels: map[string]string{"i": strconv.Itoa(i)}}
		for j := 0; j < 240; j++ {
			s.Points = append(s.Points, promtest.Sample{MS: equivBase - int64(j)*15_000, Value: float64(j)})
		}
		slices.Reverse(s.Points)
		wide = append(wide, s)
	}
	wideOM, _ := promtest.Fixture(wide)
	slow := promtest.Start(t, promtest.Blocks(t, wideOM), "--query.timeout=1ms")
	e, _ = metricpath.Parse("wide.avg")
	// Prometheus says so with a 503 ("timeout") or a 422 ("execution"),
	// depending on where its deadline strikes.
	// --query.timeout bounds the query API only: read_api: query.
	err = evalErr(slow.URL, analyze.Options{Sources: map[string]promsrc.Config{slow.URL: {ReadAPI: sources.ReadQuery}}})
	check("server deadline", err, "source "+slow.URL, "read wide over (2026-11-29T09:00:00Z, 2026-11-29T10:00:00Z]")
	// Its words name the stage the deadline struck in: "query timed out
	// in expression evaluation", "... in query execution" (a loaded CI
	// machine gave the second).
	if err != nil && !strings.Contains(err.Error(), "the server timed out: 503: query timed out in ") &&
		!strings.Contains(err.Error(), "the server could not run the query: expanding series: context deadline exceeded") {
		t.Errorf("server deadline: %q does not give the server's words", err)
	}

	// Credentials in the URL are refused before anything is sent.
	_, err = analyze.Open(ctx, []string{"http://user:pw-in-url@127.0.0.1:9/"}, analyze.Options{})
	check("userinfo", err, "credentials in the URL", "sources:")
	if err != nil && strings.Contains(err.Error(), "pw-in-url") {
		t.Errorf("the password is in the error: %v", err)
	}
}

// A source served over TLS with a certificate of its own CA: trusted
// through sources: tls.ca_file, refused without it.
func TestPrometheusSourceTLS(t *testing.T) {
	dir := t.TempDir()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "vigil test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kb, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	cert, keyFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	os.WriteFile(cert, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644)
	os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600)
	web := filepath.Join(dir, "web.yml")
	os.WriteFile(web, []byte("tls_server_config:\n  cert_file: "+cert+"\n  key_file: "+keyFile+"\n"), 0o644)
	om, _ := equivFixture()
	srv := promtest.Start(t, promtest.Blocks(t, om), "--web.config.file="+web)
	if !strings.HasPrefix(srv.URL, "https://") {
		t.Fatalf("not served over TLS: %s", srv.URL)
	}
	ctx := context.Background()
	e, _ := metricpath.Parse("cpu.max")
	w := analyze.Window{At: time.UnixMilli(equivBase), Length: time.Hour}
	eval := func(cfg promsrc.Config) ([]analyze.Result, error) {
		db, err := analyze.Open(ctx, []string{srv.URL}, analyze.Options{Sources: map[string]promsrc.Config{srv.URL: cfg}})
		if err != nil {
			return nil, err
		}
		defer db.Close()
		return db.Eval(ctx, e, w)
	}
	_, err = eval(promsrc.Config{})
	if err == nil || !strings.Contains(err.Error(), "source "+srv.URL) || !strings.Contains(err.Error(), "certificate") {
		t.Errorf("an unknown CA: %v", err)
	}
	var cfg promsrc.Config
	cfg.TLS.CAFile = cert
	rs, err := eval(cfg)
	if err != nil || len(rs) != 1 {
		t.Errorf("with ca_file: %v %v", rs, err)
	}
}

// One server given twice, spelled two ways, is one source: its samples
// are not counted twice.
func TestPrometheusSourceGivenTwice(t *testing.T) {
	om, _ := equivFixture()
	srv := promtest.Start(t, promtest.Blocks(t, om))
	ctx := context.Background()
	e, _ := metricpath.Parse("cpu.count")
	w := analyze.Window{At: time.UnixMilli(equivBase), Length: time.Hour}
	count := func(dbs ...string) []analyze.Result {
		db, err := analyze.Open(ctx, dbs, analyze.Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		rs, err := db.Eval(ctx, e, w)
		if err != nil {
			t.Fatal(err)
		}
		return rs
	}
	// cpu: 3 series at 15 s, 240 samples each in an hour.
	once, twice := count(srv.URL), count(srv.URL, strings.ToUpper(srv.URL[:4])+srv.URL[4:]+"/")
	if len(once) != 1 || once[0].Value != 720 || !sameResults(once, twice) {
		t.Errorf("once %v, given twice %v; want 720 both", once, twice)
	}
}
