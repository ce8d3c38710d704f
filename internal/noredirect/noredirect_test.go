package noredirect

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/vigil-metrics/vigil/internal/noredirect/noredirecttest"
)

// Every 3xx comes back as the answer, its Location gone and Target
// naming only the host (or what kind of location it was); a server's own
// Vigil-Redirect-Target header never speaks for the transport.
func TestTarget(t *testing.T) {
	cases := []struct{ loc, want string }{
		{"https://sso.example/p%zz?session=SECRET", "an unparseable location"},
		{"https://other.example:8443/x?token=SECRET", "other.example:8443"},
		{"https://user:SECRET@other.example/", "other.example"},
		{"/login?next=SECRET", "another path on the same host"},
		{"", "an unnamed place"},
		{"mailto:SECRET@evil.example", "a mailto: location"},
		{"JavaScript:alert('SECRET')", "a javascript: location"},
		{"https://ev\u202eil.example/SECRET", `"ev\u202eil.example"`},
	}
	for _, c := range cases {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if c.loc != "" {
				w.Header().Set("Location", c.loc)
			}
			w.Header().Set("Vigil-Redirect-Target", "forged.example")
			w.WriteHeader(http.StatusFound)
		}))
		resp, err := Client(nil).Get(srv.URL)
		srv.Close()
		if err != nil {
			t.Fatalf("%q: %v", c.loc, err)
		}
		resp.Body.Close()
		if got := Target(resp); resp.StatusCode != 302 || got != c.want || resp.Header.Get("Location") != "" {
			t.Errorf("%q: status %d, Target %q, Location %q; want 302, %q, none", c.loc, resp.StatusCode, got, resp.Header.Get("Location"), c.want)
		}
		if strings.Contains(resp.Header.Get("Vigil-Redirect-Target"), "SECRET") {
			t.Errorf("%q: the secret kept in the answer", c.loc)
		}
	}
	// Not a redirect: the server's header of that name is dropped.
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Vigil-Redirect-Target", "forged.example")
	}))
	defer srv.Close()
	resp, err := Client(nil).Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if h := resp.Header.Get("Vigil-Redirect-Target"); h != "" {
		t.Errorf("a 200 kept the server's Vigil-Redirect-Target %q", h)
	}
}

// An answer Go cannot read as HTTP (a control character in a Location)
// is a MalformedError that does not quote the line: Go's own error
// carries the whole Location, a session token included (found by the
// hostile pass).
func TestMalformedAnswer(t *testing.T) {
	url, _ := noredirecttest.MalformedServer(t)
	_, err := Client(nil).Get(url)
	var me *MalformedError
	if !errors.As(err, &me) {
		t.Fatalf("err %v, want a MalformedError", err)
	}
	if strings.Contains(err.Error(), "SESSTOKEN") || strings.Contains(err.Error(), "sso.example") {
		t.Errorf("err %q shows the location", err)
	}
}
