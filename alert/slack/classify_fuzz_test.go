package slack

import (
	"net/http"
	"strings"
	"testing"

	"github.com/vigil-metrics/vigil/alert/httpsend"
)

// FuzzClassify: any failed answer from Slack (status, Retry-After, body)
// is an error without a panic, and a body that echoes the webhook's URL
// or its secret path segments does not carry them into the error once it
// has passed the channel's secrets as the Poster passes it.
func FuzzClassify(f *testing.F) {
	f.Add(400, "", "invalid_payload")
	f.Add(404, "", "no_service for https://hooks.slack.com/services/T0AAAAAAA/B0BBBBBBB/cccccccccccccccccccccccc")
	f.Add(429, "30", "rate_limited")
	f.Add(500, "9999999999999", "")
	const hook = "https://hooks.slack.com/services/T0AAAAAAA/B0BBBBBBB/cccccccccccccccccccccccc"
	c, err := New(channel(Config{URL: hook}), noEnv, nil)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, status int, retryAfter, body string) {
		h := http.Header{}
		h.Set("Retry-After", retryAfter)
		// As httpsend's Poster does: the body reaches classify scrubbed,
		// and every error leaves through the channel's secrets.
		v := c.classify(&httpsend.Request{URL: hook}, "https://hooks.slack.com", &httpsend.Response{Status: status, Header: h, Body: []byte(c.secrets.Scrub(body))})
		v.Err = c.secrets.Err(v.Err)
		if v.Err == nil || v.Wait < 0 {
			t.Fatalf("status %d: verdict %+v", status, v)
		}
		if !strings.Contains(body, "cccccccccccccccccccccccc") {
			return
		}
		if msg := v.Err.Error(); strings.Contains(msg, "cccccccccccccccccccccccc") {
			t.Fatalf("body %q: the error shows the webhook's secret: %s", body, msg)
		}
	})
}
