package email

import (
	"bytes"
	"mime"
	"net/mail"
	"strings"
	"testing"
	"time"

	"github.com/vigil-metrics/vigil/alert/config"
	"github.com/vigil-metrics/vigil/alert/notify"
)

// hostileMessage is the message sent for alerts, parsed back.
func hostileMessage(t *testing.T, alerts ...notify.Alert) (subject, text string) {
	t.Helper()
	c := &Channel{name: "mail", from: &mail.Address{Address: "vigil@example.com"}, now: func() time.Time { return time.Unix(0, 0) }}
	n := notify.Notification{Channel: config.Channel{Name: "mail", Type: "email"}, Kind: "firing", Alerts: alerts,
		At: time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)}
	raw, err := c.message(n, []*mail.Address{{Address: "ops@example.com"}})
	if err != nil {
		t.Fatal(err)
	}
	m, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	if subject, err = new(mime.WordDecoder).DecodeHeader(m.Header.Get("Subject")); err != nil {
		t.Fatal(err)
	}
	text, _, err = Body("mail", n)
	if err != nil {
		t.Fatal(err)
	}
	return subject, text
}

func hostileAlert(labels map[string]string, incident string) notify.Alert {
	v := 95.0
	return notify.Alert{Rule: "r", Severity: "high", State: "firing", Value: &v, Threshold: 1, Labels: labels,
		Fingerprint: "00000000000000aa", EscalationStep: -1, Incident: incident}
}

// A label value's control characters are escaped in the text part, as
// the terminal table does, so that a pushed value cannot forge a row
// (h30 D10).
func TestTextPartEscapesLabelValues(t *testing.T) {
	_, text := hostileMessage(t, hostileAlert(map[string]string{"host": "db-01\n  Runbook:             https://evil.example/x"}, ""))
	if strings.Contains(text, "\n  Runbook:") {
		t.Errorf("a label value forged a Runbook row:\n%s", text)
	}
	if !strings.Contains(text, `host="db-01\n  Runbook:             https://evil.example/x"`) {
		t.Errorf("label value not escaped as the terminal shows it:\n%s", text)
	}
}

// An incident's subject is one line, as an alert's is, and its Incident
// row escapes what the incident id took from a label value (h30 D10).
func TestIncidentSubjectIsOneLine(t *testing.T) {
	inc := "hostinc/a\r\nBcc: inc@example.com/2026-12-01T00:00:00Z"
	l := map[string]string{"host": "a\r\nBcc: inc@example.com"}
	subject, text := hostileMessage(t, hostileAlert(l, inc), hostileAlert(l, inc))
	if strings.ContainsAny(subject, "\r\n") {
		t.Errorf("subject holds a line break: %q", subject)
	}
	if strings.Contains(text, "\nBcc:") {
		t.Errorf("text part holds a raw line break from the incident:\n%s", text)
	}
}

// A subject holding "=?" is encoded as a whole, so that no mail client
// decodes a label value as an encoded-word (h30 D11).
func TestSubjectEncodedWordIsEncoded(t *testing.T) {
	for _, host := range []string{"=?utf-8?q?fake?=", "=?utf-8?b?W1JFU09MVkVEXQ==?="} {
		a := hostileAlert(map[string]string{"host": host}, "")
		subject, _ := hostileMessage(t, a)
		if want := Subject(notify.Notification{Kind: "firing", Alerts: []notify.Alert{a}}); subject != want {
			t.Errorf("subject decodes to %q, want %q", subject, want)
		}
	}
}

// A bidi control in a label value (U+202E, right-to-left override) would
// make a client show the subject's and the text's first line reversed
// ("gnp.exe" as "exe.png"): it is a separator there, as a control is.
func TestSubjectDropsBidiControls(t *testing.T) {
	subject, text := hostileMessage(t, hostileAlert(map[string]string{"host": "\u202Egnp.exe"}, ""))
	if strings.ContainsRune(subject, '\u202E') {
		t.Errorf("subject holds U+202E: %q", subject)
	}
	if first, _, _ := strings.Cut(text, "\n"); strings.ContainsRune(first, '\u202E') {
		t.Errorf("the text's first line holds U+202E: %q", first)
	}
}
