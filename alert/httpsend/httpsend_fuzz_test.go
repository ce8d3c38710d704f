package httpsend

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// secretToken stands for a token in a URL's path or query.
const secretToken = "S3CRETvalue"

// FuzzRedactURL: whatever the URL (a channel's url, a source's), the
// redacted form never shows what follows its host: a token appended as
// a query value or a path segment is gone.
func FuzzRedactURL(f *testing.F) {
	for _, s := range []string{"https://hooks.slack.com/services/T0/B0/x", "http://u:p@h:9093/a?b=c#d", "h:80", "http://[::1]:80/p", "https://h/%zz", "//h/p", "http://h\x00/"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		if strings.Contains(raw, secretToken) {
			return
		}
		forms := []string{raw + "?token=" + secretToken, raw + "#" + secretToken}
		// As a path segment only where one is appended: after a host,
		// and before any query or fragment ("x:/" + "/S" makes S a host).
		if u, err := url.Parse(raw); err == nil && u.Host != "" && u.RawQuery == "" && !u.ForceQuery && !strings.Contains(raw, "#") {
			forms = append(forms, raw+"/"+secretToken)
		}
		for _, u := range forms {
			if got := RedactURL(u); strings.Contains(got, secretToken) {
				t.Fatalf("RedactURL(%q) = %q", u, got)
			}
		}
	})
}

// FuzzAnswer: a receiver's answer (status, Retry-After, Location, body)
// is read without a panic: a 3xx names at most the target's host, a
// Retry-After wait is never negative nor over the cap, and a failed
// answer is an error.
func FuzzAnswer(f *testing.F) {
	f.Add(429, "120", "", []byte(`{"message":"slow down"}`))
	f.Add(307, "", "https://evil.example/collect?token=x", []byte(""))
	f.Add(500, "-1", "", []byte("internal error\n"))
	f.Add(400, "99999999999999999999", "/relative/path", []byte("\xff\xfe"))
	f.Add(429, "9227000000", "", []byte(nil))
	p := Poster{MaxRetryAfter: 60e9}
	f.Fuzz(func(t *testing.T, status int, retryAfter, location string, body []byte) {
		if status < 100 || status > 999 {
			return
		}
		h := http.Header{}
		h.Set("Retry-After", retryAfter)
		if w := RetryAfter(h); w < 0 {
			t.Fatalf("Retry-After %q: wait %v", retryAfter, w)
		}
		if !strings.Contains(location, secretToken) {
			resp := &http.Response{StatusCode: status, Header: http.Header{"Location": {location + "?t=" + secretToken}}}
			msg := redirectError("POST", "https://h", resp).Error()
			if strings.Contains(msg, secretToken) {
				t.Fatalf("redirect to %q: %s", location, msg)
			}
		}
		if status/100 == 2 || status/100 == 3 {
			return
		}
		v := p.classify(&Request{URL: "https://h/x"}, "https://h", &Response{Status: status, Header: h, Body: body})
		if v.Err == nil || v.Wait < 0 || v.Wait > p.MaxRetryAfter {
			t.Fatalf("status %d: verdict %+v", status, v)
		}
	})
}

// Found by FuzzAnswer (through github's copy): a Retry-After past 292
// years of seconds wrapped to a negative wait; it saturates.
func TestRetryAfterHuge(t *testing.T) {
	for _, v := range []string{"9227000000", "9223372037", "9223372036854775807"} {
		h := http.Header{"Retry-After": {v}}
		if w := RetryAfter(h); w < 100*365*24*time.Hour {
			t.Errorf("Retry-After %s: wait %v", v, w)
		}
	}
}
