package github

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vigil-metrics/vigil/alert/httpsend"
)

// FuzzAnswer: GitHub's failed answers (status, rate-limit headers, an
// error body) read as an error without a panic; a rate-limit wait is
// never negative (a huge Retry-After or reset must not wrap).
func FuzzAnswer(f *testing.F) {
	f.Add(403, "", "0", "1795946460", []byte(`{"message":"API rate limit exceeded","documentation_url":"x"}`))
	f.Add(429, "120", "", "", []byte(`{"message":"secondary"}`))
	f.Add(422, "", "", "", []byte(`{"message":"Validation Failed","errors":[{"resource":"Issue","field":"assignees","code":"invalid","value":["x"]},"plain",{"message":"m"},{"code":"missing"}]}`))
	f.Add(403, "Wed, 21 Oct 2015 07:28:00 GMT", "", "", []byte("<html>nope</html>"))
	f.Add(429, "9999999999999", "", "", []byte(nil))
	u, _ := url.Parse("https://api.github.com")
	now := time.Date(2026, 11, 29, 10, 0, 0, 0, time.UTC)
	c := &Channel{name: "gh", owner: "o", repo: "r", api: u, tokenEnv: "GITHUB_TOKEN", now: func() time.Time { return now }}
	f.Fuzz(func(t *testing.T, status int, retryAfter, remaining, reset string, body []byte) {
		h := http.Header{}
		h.Set("Retry-After", retryAfter)
		h.Set("X-RateLimit-Remaining", remaining)
		h.Set("X-RateLimit-Reset", reset)
		if w, _ := c.rateLimit(h); w < 0 {
			t.Fatalf("headers %v: wait %v", h, w)
		}
		v := c.classify(&httpsend.Request{Method: "POST", URL: "https://api.github.com/repos/o/r/issues"}, "https://api.github.com",
			&httpsend.Response{Status: status, Header: h, Body: body})
		if v.Err == nil || v.Wait < 0 {
			t.Fatalf("status %d: verdict %+v", status, v)
		}
	})
}

// FuzzNextPage: a Link header (written by whoever answers as the API)
// never sends the token to another host: a next page is on the API's
// scheme and host, or refused.
func FuzzNextPage(f *testing.F) {
	f.Add(`<https://api.github.com/repositories/1/issues?page=2>; rel="next", <https://api.github.com/x?page=5>; rel="last"`)
	f.Add(`<https://evil.example/x>; rel=next`)
	f.Add(`<//evil.example/x>; rel="next"`)
	f.Add(`<https://api.github.com@evil.example/>; rel="next"`)
	u, _ := url.Parse("https://api.github.com")
	c := &Channel{owner: "o", repo: "r", api: u}
	f.Fuzz(func(t *testing.T, link string) {
		next, err := c.nextPage(link)
		if err != nil || next == "" {
			return
		}
		n, perr := url.Parse(next)
		if perr != nil || n.Scheme != "https" || n.Host != "api.github.com" {
			t.Fatalf("Link %q: next page %q leaves the API", link, next)
		}
	})
}

// FuzzFiringSet: the firing marker read back from an issue body (which
// anyone who may edit the issue can change) after vigil wrote its own
// set is exactly that set, whatever else the body holds.
func FuzzFiringSet(f *testing.F) {
	f.Add("## Incident\n\n<!-- vigil:firing=a1,b2 -->\n", "c3,d4")
	f.Add("", "")
	f.Add("text <!-- vigil:firing= --> <!-- vigil:firing=x -->", "y")
	f.Fuzz(func(t *testing.T, body, set string) {
		var fps []string
		for _, s := range strings.Split(set, ",") {
			if s != "" && strings.Trim(s, "0123456789abcdefABCDEF") == "" {
				fps = append(fps, s)
			}
		}
		got := firingSet(setFiring(body, fps))
		if !slices.Equal(got, fps) && !(len(got) == 0 && len(fps) == 0) {
			t.Fatalf("body %q: wrote %v, read %v", body, fps, got)
		}
	})
}

// Found by FuzzAnswer: a 403 with Retry-After 9227000000 seconds gave a
// negative wait (the conversion wrapped); it saturates.
func TestRateLimitHugeRetryAfter(t *testing.T) {
	c := &Channel{now: time.Now}
	w, limited := c.rateLimit(http.Header{"Retry-After": {"9227000000"}})
	if !limited || w < 100*365*24*time.Hour {
		t.Errorf("wait %v limited %v", w, limited)
	}
}
