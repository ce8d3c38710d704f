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

// TestControlCharactersQuoted: a label value (or key, rule name or
// incident id from data) holding a newline, a control character, an
// ESC/OSC sequence or a bidi, zero-width or line-separator character is
// shown Go-quoted, as vigil query shows it, everywhere the message puts
// it: a newline cannot forge a line of the notification, nor the rest
// reorder or hide text (issue 24's hostile review). Slack's own
// escaping of &, < and > comes after.
func TestControlCharactersQuoted(t *testing.T) {
	c := &Channel{}
	n := notifytest.Firing(config.Channel{})
	n.Alerts[0].Labels = map[string]string{
		"a":   "db-01\n[CRITICAL] fake line",
		"b":   "\x1b]0;pwned\x07",
		"c":   "\u202eevil",
		"d":   "a\u200bb",
		"e":   "x\u0085y",
		"f":   "p\u2028q",
		"g":   "<!channel>\nx",
		"h":   "plain",
		"k\n": "v",
	}
	m := c.NewMessage(n)
	want := `[CRITICAL] high_cpu firing: value 92.5, threshold 80 (a="db-01\n[CRITICAL] fake line", b="\x1b]0;pwned\a", ` +
		`c="\u202eevil", d="a\u200bb", e="x\u0085y", f="p\u2028q", g="&lt;!channel&gt;\nx", h=plain, "k\n"=v)`
	if m.Text != want {
		t.Errorf("text\n%s\nwant\n%s", m.Text, want)
	}
	if m.Attachments[0].Fallback != want {
		t.Errorf("fallback\n%s\nwant\n%s", m.Attachments[0].Fallback, want)
	}
	fields := m.Attachments[0].Blocks[1].Fields
	if got, want := fields[0].Text, "*a*\n"+`"db-01\n[CRITICAL] fake line"`; got != want {
		t.Errorf("field a %q, want %q", got, want)
	}
	if got, want := fields[6].Text, "*g*\n"+`"&lt;!channel&gt;\nx"`; got != want {
		t.Errorf("field g %q, want %q", got, want)
	}
	assertInert(t, m)

	// An incident's alerts: the rule names and the incident id.
	inc := "by_host/db-01\n[CRITICAL] x/2026-11-29T12:00:00Z"
	a, b := n.Alerts[0], n.Alerts[0]
	a.Incident, b.Incident, b.Rule = inc, inc, "disk\u202e"
	n.Alerts = append(n.Alerts[:0], a, b)
	m = c.NewMessage(n)
	want = `[CRITICAL] incident "by_host/db-01\n[CRITICAL] x/2026-11-29T12:00:00Z": 2 alerts firing: high_cpu, "disk\u202e"`
	if m.Text != want || m.Attachments[0].Fallback != want {
		t.Errorf("incident text %q, fallback %q\nwant %q", m.Text, m.Attachments[0].Fallback, want)
	}
	if got, want := m.Blocks[0].Text.Text, `CRITICAL: incident "by_host/db-01\n[CRITICAL] x/2026-11-29T12:00:00Z" (2 alerts)`; got != want {
		t.Errorf("header %q, want %q", got, want)
	}
	assertInert(t, m)

	// One alert whose rule name holds one: header and text.
	n.Alerts = n.Alerts[1:]
	n.Alerts[0].Labels = nil
	m = c.NewMessage(n)
	if got, want := m.Blocks[0].Text.Text, `CRITICAL: "disk\u202e" firing`; got != want {
		t.Errorf("header %q, want %q", got, want)
	}
	assertInert(t, m)
}

// assertInert fails when any text of m holds a control, bidi, zero-width
// or line-separator character raw, or a data newline (vigil's own
// newlines never precede "[CRITICAL]" or follow a quote's opening).
func assertInert(t *testing.T, m Message) {
	t.Helper()
	var texts []string
	texts = append(texts, m.Text)
	for _, at := range m.Attachments {
		texts = append(texts, at.Fallback)
		for _, b := range append(at.Blocks, m.Blocks...) {
			if b.Text != nil {
				texts = append(texts, b.Text.Text)
			}
			for _, f := range append(b.Fields, b.Elements...) {
				texts = append(texts, f.Text)
			}
		}
	}
	for _, s := range texts {
		for _, bad := range []string{"\x1b", "\x07", "\u202e", "\u200b", "\u0085", "\u2028", "\n[CRITICAL]", "\nx", "k\n"} {
			if strings.Contains(s, bad) {
				t.Errorf("%q holds %q raw", s, bad)
			}
		}
	}
}
