package promstore

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"time"
)

// MinTokenLen is the shortest bearer token accepted: shorter ones are
// guessable, and too short for internal/secret to scrub from output.
const MinTokenLen = 16

// ReadToken reads a bearer token from a file: its first line, spaces
// trimmed. A file others may read is refused (the token is a password).
func ReadToken(path string) (string, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return "", err
	}
	if fi.Mode().Perm()&0o077 != 0 {
		return "", fmt.Errorf("token file %s is mode %04o: others may read it; chmod 600 it", path, fi.Mode().Perm())
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	tok, _, _ := strings.Cut(string(b), "\n")
	tok = strings.TrimSpace(tok)
	if len(tok) < MinTokenLen {
		return "", fmt.Errorf("token file %s: the token is %d bytes, want at least %d (openssl rand -hex 32 makes one)", path, len(tok), MinTokenLen)
	}
	return tok, nil
}

// RequireToken answers 401 (with a WWW-Authenticate header) to a request
// under /api/ without "Authorization: Bearer TOKEN" (the scheme in any
// case); the health and
// readiness probes stay open (they say nothing about the data). The
// token is compared by its SHA-256 in constant time, so neither its
// bytes nor its length leak through timing.
func RequireToken(token string, next http.Handler) http.Handler {
	want := sha256.Sum256([]byte(token))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/-/") {
			next.ServeHTTP(w, r)
			return
		}
		got, ok := bearer(r.Header.Get("Authorization"))
		sum := sha256.Sum256([]byte(got))
		if subtle.ConstantTimeCompare(sum[:], want[:]) != 1 || !ok {
			w.Header().Set("WWW-Authenticate", `Bearer realm="vigil"`)
			http.Error(w, "Unauthorized", http.StatusUnauthorized)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// bearer is the credentials of an "Authorization: Bearer TOKEN" header;
// the scheme's name is case-insensitive (RFC 7235 section 2.1), so
// "bearer TOKEN" is the same.
func bearer(h string) (string, bool) {
	scheme, cred, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	return cred, true
}

// ServeOptions are how Serve listens.
type ServeOptions struct {
	Listen          string // host:port
	Token           string // "" for none
	TLSCert, TLSKey string // both or neither
	Logger          *slog.Logger
	// Ready is called with the address listened on (a port 0 resolved).
	Ready func(addr string)
}

// Serve answers the API on o.Listen until ctx ends, then shuts down
// gracefully (requests in flight get up to 10 s).
func (a *API) Serve(ctx context.Context, o ServeOptions) error {
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if (o.TLSCert == "") != (o.TLSKey == "") {
		return errors.New("--tls-cert and --tls-key go together")
	}
	var tlsCfg *tls.Config
	if o.TLSCert != "" {
		cert, err := tls.LoadX509KeyPair(o.TLSCert, o.TLSKey)
		if err != nil {
			return fmt.Errorf("tls: %w", err)
		}
		tlsCfg = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	}
	ln, err := net.Listen("tcp", o.Listen)
	if err != nil {
		return err
	}
	if !Loopback(ln.Addr()) && o.Token == "" {
		log.Warn("listening beyond loopback without a token: anyone who reaches this port reads every series; give --token-file", "addr", ln.Addr().String())
	}
	h := a.Handler()
	if o.Token != "" {
		h = RequireToken(o.Token, h)
	}
	srv := &http.Server{Handler: h, TLSConfig: tlsCfg, ReadHeaderTimeout: 10 * time.Second,
		ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn)}
	if tlsCfg != nil {
		ln = tls.NewListener(ln, tlsCfg)
	}
	if o.Ready != nil {
		o.Ready(ln.Addr().String())
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err = srv.Shutdown(sctx)
	<-done
	return err
}

// Loopback reports whether addr is a loopback address (a wildcard
// address is not).
func Loopback(addr net.Addr) bool {
	ta, ok := addr.(*net.TCPAddr)
	return ok && ta.IP.IsLoopback()
}
