package slack

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/vigil-metrics/vigil/alert/config"
	"github.com/vigil-metrics/vigil/alert/notify/notifytest"
)

// hostileLabels are label values that, raw in Slack's mrkdwn, would ping
// the workspace, ping a person and make a disguised link.
var hostileLabels = map[string]string{"host": "<!channel>", "user": "<@U123>", "link": "<http://x|click>", "team": "a&b"}

// TestTextEscaped: the top-level text and the attachment's fallback (what
// a notification shows) hold the labels escaped, as the blocks do; the
// body Notify posts says the same.
func TestTextEscaped(t *testing.T) {
	c := &Channel{}
	n := notifytest.Firing(config.Channel{})
	n.Alerts[0].Labels = hostileLabels
	m := c.NewMessage(n)
	want := "[CRITICAL] high_cpu firing: value 92.5, threshold 80 " +
		"(host=&lt;!channel&gt;, link=&lt;http://x|click&gt;, team=a&amp;b, user=&lt;@U123&gt;)"
	if m.Text != want {
		t.Errorf("text\n%s\nwant\n%s", m.Text, want)
	}
	if m.Attachments[0].Fallback != want {
		t.Errorf("fallback\n%s\nwant\n%s", m.Attachments[0].Fallback, want)
	}
	body, err := c.Encode(n)
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		Text        string
		Attachments []struct{ Fallback string }
	}
	if err := json.Unmarshal(body, &got); err != nil {
		t.Fatal(err)
	}
	if got.Text != want || got.Attachments[0].Fallback != want {
		t.Errorf("posted text %q, fallback %q", got.Text, got.Attachments[0].Fallback)
	}
	for _, raw := range []string{"<!channel>", "<@U123>", "<http://x|click>"} {
		if strings.Contains(string(body), raw) {
			t.Errorf("the body holds %s raw: %s", raw, body)
		}
	}

	// An incident's alerts: the rules and the incident id (it holds the
	// correlation's group value, a label value) are escaped too.
	inc := "by_host/<!here>/2026-11-29T12:00:00Z"
	a, b := n.Alerts[0], n.Alerts[0]
	a.Incident, b.Incident, b.Rule = inc, inc, "disk<!everyone>"
	n.Alerts = append(n.Alerts[:0], a, b)
	m = c.NewMessage(n)
	want = "[CRITICAL] incident by_host/&lt;!here&gt;/2026-11-29T12:00:00Z: 2 alerts firing: high_cpu, disk&lt;!everyone&gt;"
	if m.Text != want || m.Attachments[0].Fallback != want {
		t.Errorf("incident text %q, fallback %q\nwant %q", m.Text, m.Attachments[0].Fallback, want)
	}
}

// TestClipEscaped: the text is clipped to Slack's limit after escaping,
// never inside an entity.
func TestClipEscaped(t *testing.T) {
	for _, c := range []struct {
		in    string
		limit int
		want  string
	}{
		{"a<b", 10, "a&lt;b"},
		{"abcd<", 6, "abcd…"},   // "abcd&" would cut &lt;
		{"ab<cd", 7, "ab&lt;…"}, // the entity whole, then the cut
		{"abcdefgh", 5, "abcd…"},
	} {
		if got := clipEscaped(c.in, c.limit); got != c.want {
			t.Errorf("clipEscaped(%q, %d) = %q, want %q", c.in, c.limit, got, c.want)
		}
	}
}
