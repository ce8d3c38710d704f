package sources

import (
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// NoRedirects is a copy of client (http.DefaultClient when nil) that
// hands a redirect back instead of following it. Go's client follows
// one: to another host it goes without the Authorization header but with
// every other header (a tenant's X-Scope-OrgID, a custom token header),
// a Referer with the whole first URL and, for a 307 or 308, the body.
// Sources and remote-write endpoints are an API base and an endpoint
// that answer where they are: a redirect is a misconfiguration or an
// attack, and an error (Redirected) says where it pointed.
func NoRedirects(client *http.Client) *http.Client {
	if client == nil {
		client = http.DefaultClient
	}
	c := *client
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &c
}

// RedirectError is a 3xx answer, not followed.
type RedirectError struct {
	Code int
	// Host is where the Location header pointed: its host alone, as the
	// rest (a path, a query) may carry a secret; "another path on the
	// same host" for a relative location.
	Host string
}

func (e *RedirectError) Error() string {
	return fmt.Sprintf("HTTP %d redirects to %s; redirects are not followed: set the URL to where the server answers", e.Code, e.Host)
}

// Redirected is a *RedirectError for a 3xx answer (its body read a little,
// so the connection can be reused, and left for the caller to close),
// nil for any other.
func Redirected(resp *http.Response) error {
	if resp.StatusCode/100 != 3 {
		return nil
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	host := "an unnamed place"
	if loc := resp.Header.Get("Location"); loc != "" {
		if u, err := url.Parse(loc); err == nil && u.Host != "" {
			host = u.Host
			if strings.ContainsFunc(host, func(r rune) bool { return r < 0x21 || r > 0x7e }) {
				host = strconv.QuoteToASCII(host) // never a terminal escape
			}
		} else if err == nil {
			host = "another path on the same host"
		}
	}
	return &RedirectError{Code: resp.StatusCode, Host: host}
}
