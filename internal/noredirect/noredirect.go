// Package noredirect refuses HTTP redirects for every client vigil sends
// to a configured URL with (alert channels, sources, remote write): one
// mechanism, so that none of them follows one or leaks where it pointed.
//
// Go's client follows a redirect: to another host it goes without the
// Authorization header but with every other header (a tenant's
// X-Scope-OrgID, a custom token header), a Referer with the whole first
// URL and, for a 307 or 308, the body; a 302 or 303 turns a POST into an
// empty GET that a 200 makes look delivered. A CheckRedirect that refuses
// is not enough: the client parses the Location before calling it, and
// one it cannot parse (https://sso.example/p%zz?session=TOKEN) is an
// error quoting the whole Location, the token with it. So the transport
// moves a 3xx's Location aside before the client sees it: the client
// hands the 3xx back as an answer, and Target says where it pointed
// without any part of the location that may carry a secret.
package noredirect

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/textproto"
	"net/url"
	"strconv"
	"strings"
)

// targetHeader holds, on a 3xx answer that came through Transport, what
// Target says of its Location. A server's own header of that name is
// dropped from every answer, so it cannot speak for the transport.
const targetHeader = "Vigil-Redirect-Target"

// Client is a copy of client (http.DefaultClient when nil) that hands a
// redirect back as the answer instead of following it, its Location
// moved aside (Transport).
func Client(client *http.Client) *http.Client {
	if client == nil {
		client = http.DefaultClient
	}
	c := *client
	c.Transport = Transport(c.Transport)
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &c
}

// Transport is rt (http.DefaultTransport when nil) with the Location of
// a 3xx answer replaced by what Target says of it.
func Transport(rt http.RoundTripper) http.RoundTripper {
	if rt == nil {
		rt = http.DefaultTransport
	}
	if _, ok := rt.(transport); ok {
		return rt
	}
	return transport{rt}
}

type transport struct{ next http.RoundTripper }

func (t transport) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := t.next.RoundTrip(r)
	var pe textproto.ProtocolError
	if err != nil && errors.As(err, &pe) {
		// Go quotes the header line it could not read, a Location with
		// its token included: never pass that text on.
		return nil, &MalformedError{}
	}
	if err != nil || resp == nil {
		return resp, err
	}
	if resp.Header == nil {
		resp.Header = http.Header{}
	}
	resp.Header.Del(targetHeader)
	if resp.StatusCode/100 == 3 {
		resp.Header.Set(targetHeader, describe(resp.Header.Get("Location")))
		resp.Header.Del("Location")
	}
	return resp, nil
}

// Error is a 3xx answer, not followed: a failed request that is not
// retried (the URL is wrong, not the server busy). Host is what Target
// says of the Location, never its path or query.
type Error struct {
	Code int
	Host string
}

func (e *Error) Error() string {
	return fmt.Sprintf("HTTP %d redirects to %s; redirects are not followed: set the URL to where the server answers", e.Code, e.Host)
}

// Check is nil for an answer that is not a redirect, else the *Error
// saying where it pointed; it drains a redirect's body (a little of it)
// so that the connection can be reused.
func Check(resp *http.Response) *Error {
	if resp.StatusCode/100 != 3 {
		return nil
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	return &Error{Code: resp.StatusCode, Host: Target(resp)}
}

// MalformedError is an answer that is not valid HTTP (a header line Go
// cannot read: a control character in a Location, say). Its text is not
// shown, since it may carry a secret, and sending again will not mend
// it: callers treat it as a permanent failure.
type MalformedError struct{}

func (*MalformedError) Error() string {
	return "the server's answer is not valid HTTP (a malformed header line, not shown: it may carry a secret)"
}

// Target says where a 3xx answer pointed: the host of its Location alone
// (the rest, a path or a query, may carry a secret), "another path on
// the same host" for a relative one, "an unparseable location" for one
// that does not parse, "an unnamed place" for none.
func Target(resp *http.Response) string {
	if t := resp.Header.Get(targetHeader); t != "" {
		return t
	}
	return describe(resp.Header.Get("Location"))
}

func describe(loc string) string {
	if loc == "" {
		return "an unnamed place"
	}
	u, err := url.Parse(loc)
	switch {
	case err != nil:
		return "an unparseable location"
	case u.Host == "" && u.Scheme != "":
		// mailto:, javascript:: url.Parse allows only [a-z0-9+.-] in a
		// scheme, so it prints safely.
		return "a " + strings.ToLower(u.Scheme[:min(len(u.Scheme), 20)]) + ": location"
	case u.Host == "":
		return "another path on the same host"
	case strings.ContainsFunc(u.Host, func(r rune) bool { return r < 0x21 || r > 0x7e }):
		return strconv.QuoteToASCII(u.Host) // never a terminal escape
	}
	return u.Host
}
