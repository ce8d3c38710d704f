package sources

import (
	"fmt"
	"io"
	"net/http"

	"github.com/vigil-metrics/vigil/internal/noredirect"
)

// NoRedirects is a copy of client (http.DefaultClient when nil) that
// hands a redirect back instead of following it (package noredirect: its
// Location never reaches the client, which would quote one it cannot
// parse). Sources and remote-write endpoints are an API base and an
// endpoint that answer where they are: a redirect is a misconfiguration
// or an attack, and an error (Redirected) says where it pointed.
func NoRedirects(client *http.Client) *http.Client {
	return noredirect.Client(client)
}

// RedirectError is a 3xx answer, not followed.
type RedirectError struct {
	Code int
	// Host is where the Location header pointed: its host alone, as the
	// rest (a path, a query) may carry a secret (noredirect.Target).
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
	return &RedirectError{Code: resp.StatusCode, Host: noredirect.Target(resp)}
}
