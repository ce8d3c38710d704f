package email

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"html/template"
	"maps"
	"math"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/mail"
	"net/textproto"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/vigil-metrics/vigil/alert/config"
	"github.com/vigil-metrics/vigil/alert/notify"
	"github.com/vigil-metrics/vigil/internal/safetext"
)

// Subject is n's subject line: severity, rule and the key labels
// ("[CRITICAL] high_cpu: host=db-01, team=infra", the state in
// parentheses when it is not firing: "[HIGH] disk_full (nodata): ...",
// "[RESOLVED] high_cpu: host=db-01, team=infra"), and for several alerts
// "[CRITICAL] 3 alerts firing: high_cpu, disk_full, +1 more (incident
// inc-1)".
func Subject(n notify.Notification) string {
	resolved := status(n) == "resolved"
	tag := "RESOLVED"
	if !resolved {
		tag = strings.ToUpper(topSeverity(n.Alerts))
	}
	if len(n.Alerts) == 1 {
		a := n.Alerts[0]
		s := fmt.Sprintf("[%s] %s", tag, a.Rule)
		if !resolved && a.State != "" && a.State != "firing" {
			s += " (" + a.State + ")" // pending, nodata
		}
		if l := keyLabels(a.Labels); l != "" {
			s += ": " + l
		}
		return s
	}
	var rules []string
	seen := map[string]bool{}
	for _, a := range n.Alerts {
		if !seen[a.Rule] {
			seen[a.Rule] = true
			rules = append(rules, a.Rule)
		}
	}
	const show = 3
	list := strings.Join(rules[:min(show, len(rules))], ", ")
	if len(rules) > show {
		list += fmt.Sprintf(", +%d more", len(rules)-show)
	}
	s := fmt.Sprintf("[%s] %d alerts", tag, len(n.Alerts))
	if resolved {
		s += " resolved"
	} else {
		s += " firing"
	}
	s += ": " + list
	if inc := n.Alerts[0].Incident; inc != "" {
		s += " (incident " + oneLine(inc) + ")" // an incident id holds a label value
	}
	return s
}

// oneLine is s on one line: each run of control characters, line
// separators or bidi controls becomes a space (a header is one line, a
// subject that decodes to several misleads as much as one that is
// several, and a right-to-left override shows "gnp.exe" as "exe.png").
func oneLine(s string) string {
	return strings.Join(strings.FieldsFunc(s, func(r rune) bool {
		return unicode.IsControl(r) || r == '\u2028' || r == '\u2029' || unicode.Is(unicode.Bidi_Control, r)
	}), " ")
}

// encodeSubject is the Subject header's value: Q-encoded where it needs
// encoding, and as a whole (base64 encoded-words) where it holds "=?",
// which a mail client would otherwise decode as an encoded-word that a
// label value put there ("=?utf-8?b?W1JFU09MVkVEXQ==?=" shows
// "[RESOLVED]").
func encodeSubject(s string) string {
	if !strings.Contains(s, "=?") {
		return mime.QEncoding.Encode("utf-8", s)
	}
	var words []string
	for s != "" {
		n := 0 // at most 45 bytes a word (60 in base64: a word stays under 75), whole runes
		for n < len(s) {
			_, k := utf8.DecodeRuneInString(s[n:])
			if n+k > 45 {
				break
			}
			n += k
		}
		words = append(words, "=?utf-8?b?"+base64.StdEncoding.EncodeToString([]byte(s[:n]))+"?=")
		s = s[n:]
	}
	return strings.Join(words, " ")
}

// Subject labels: at most subjectLabels of them, each value clipped to
// subjectValue characters, so that the subject stays readable in a list.
const (
	subjectLabels = 4
	subjectValue  = 40
)

// keyLabels are an alert's labels as a subject shows them: "k=v" by
// name, at most subjectLabels ("+2 more" for the rest), each on one
// line (control characters become spaces: a header is one line).
func keyLabels(labels map[string]string) string {
	keys := slices.Sorted(maps.Keys(labels))
	var parts []string
	for i, k := range keys {
		if i == subjectLabels {
			parts = append(parts, fmt.Sprintf("+%d more", len(keys)-subjectLabels))
			break
		}
		v := []rune(oneLine(labels[k]))
		if len(v) > subjectValue {
			v = append(v[:subjectValue-1], '…')
		}
		parts = append(parts, k+"="+string(v))
	}
	return strings.Join(parts, ", ")
}

// status is firing or resolved: n.Kind, else from the alerts' states.
func status(n notify.Notification) string {
	switch n.Kind {
	case "firing", "resolved":
		return n.Kind
	}
	for _, a := range n.Alerts {
		if a.State != "resolved" && a.State != "inactive" {
			return "firing"
		}
	}
	return "resolved"
}

// topSeverity is the most severe of the alerts' severities.
func topSeverity(alerts []notify.Alert) string {
	best, rank := "", len(config.Severities)+1
	for _, a := range alerts {
		r := slices.Index(config.Severities, a.Severity)
		if r < 0 {
			r = len(config.Severities)
		}
		if r < rank {
			best, rank = a.Severity, r
		}
	}
	if best == "" {
		best = "alert"
	}
	return best
}

// message is the whole message (headers and body, CRLF line ends) that
// Notify sends for n to rcpts.
func (c *Channel) message(n notify.Notification, rcpts []*mail.Address) ([]byte, error) {
	var buf bytes.Buffer
	h := func(k, v string) { fmt.Fprintf(&buf, "%s: %s\r\n", k, v) }
	var to []string
	for _, a := range rcpts {
		to = append(to, a.String())
	}
	now := c.now()
	h("From", c.from.String())
	h("To", strings.Join(to, ", "))
	h("Subject", encodeSubject(Subject(n)))
	h("Date", now.Format(time.RFC1123Z))
	h("Message-ID", messageID(n.Key, c.from.Address))
	h("MIME-Version", "1.0")
	h("Auto-Submitted", "auto-generated")
	h("X-Vigil-Status", status(n))
	if inc := n.Alerts[0].Incident; inc != "" && !strings.ContainsAny(inc, "\r\n") {
		h("X-Vigil-Incident", inc)
	}
	mw := multipart.NewWriter(&buf)
	h("Content-Type", mime.FormatMediaType("multipart/alternative", map[string]string{"boundary": mw.Boundary()}))
	buf.WriteString("\r\n")
	text, html, err := Body(c.name, n)
	if err != nil {
		return nil, err
	}
	for _, p := range []struct{ typ, body string }{{"text/plain", text}, {"text/html", html}} {
		w, err := mw.CreatePart(textproto.MIMEHeader{
			"Content-Type":              {p.typ + "; charset=utf-8"},
			"Content-Transfer-Encoding": {"quoted-printable"},
		})
		if err != nil {
			return nil, err
		}
		qw := quotedprintable.NewWriter(w)
		if _, err := qw.Write([]byte(strings.ReplaceAll(p.body, "\n", "\r\n"))); err != nil {
			return nil, err
		}
		if err := qw.Close(); err != nil {
			return nil, err
		}
	}
	if err := mw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func messageID(key, from string) string {
	id := key // every try of one notification is the same message to a mail client
	if id == "" {
		var b [12]byte
		_, _ = rand.Read(b[:])
		id = hex.EncodeToString(b[:])
	}
	domain := "vigil.invalid"
	if i := strings.LastIndexByte(from, '@'); i >= 0 && i+1 < len(from) {
		domain = from[i+1:]
	}
	return "<vigil." + id + "@" + domain + ">"
}

// row is one line of an alert's details.
type row struct{ Key, Value string }

type alertView struct {
	Title       string
	Description string
	Rows        []row
}

func fmtTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format("2006-01-02 15:04:05 UTC")
}

func fmtFloat(v float64) string {
	if math.IsNaN(v) {
		return "NaN"
	}
	return strconv.FormatFloat(v, 'g', -1, 64)
}

func view(a notify.Alert) alertView {
	v := alertView{Title: fmt.Sprintf("%s is %s (%s)", a.Rule, orDash(a.State), orDash(a.Severity)), Description: a.Description}
	add := func(k, val string) {
		if val != "" {
			v.Rows = append(v.Rows, row{k, val})
		}
	}
	add("Rule", a.Rule)
	add("Severity", a.Severity)
	add("State", a.State)
	add("Summary", a.Summary)
	add("Value", emailValue(a))
	add("Window", a.Window)
	add("Metric", a.Path)
	for _, d := range a.Details {
		k, val, ok := strings.Cut(d, ": ")
		if !ok {
			k, val = "", d
		}
		if k != "" {
			k = strings.ToUpper(k[:1]) + k[1:] // a row's key: "Time to exhaustion"
		}
		add(k, val)
	}
	// Label values (and an incident id, made of one) are data: anyone who
	// can push to the agent writes them. Escaped as the terminal table
	// escapes them, so that a line break cannot forge a row.
	var labels []string
	for _, k := range slices.Sorted(maps.Keys(a.Labels)) {
		labels = append(labels, k+"="+safetext.Terminal(a.Labels[k]))
	}
	add("Labels", strings.Join(labels, ", "))
	add("Started", fmtTime(a.StartsAt))
	ended := fmtTime(a.EndsAt)
	if ended != "" && !a.StartsAt.IsZero() && a.EndsAt.After(a.StartsAt) {
		ended += " (after " + a.EndsAt.Sub(a.StartsAt).Round(time.Second).String() + ")"
	}
	add("Ended", ended)
	add("Fingerprint", a.Fingerprint)
	add("Incident", safetext.Terminal(a.Incident))
	if a.EscalationStep >= 0 {
		add("Escalation step", strconv.Itoa(a.EscalationStep+1))
	}
	add("Runbook", a.RunbookURL)
	if a.Acknowledgeable() {
		add("Acknowledge", a.AckCommand)
	}
	return v
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

var htmlBody = template.Must(template.New("html").Parse(`<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>{{.Subject}}</title></head>
<body style="font-family: sans-serif; font-size: 14px;">
<h2 style="margin: 0 0 12px 0;">{{.Subject}}</h2>
{{range .Alerts}}<h3 style="margin: 16px 0 4px 0;">{{.Title}}</h3>
{{if .Description}}<p style="margin: 0 0 8px 0;">{{.Description}}</p>
{{end}}<table style="border-collapse: collapse;">
{{range .Rows}}<tr><th style="text-align: left; padding: 2px 12px 2px 0; vertical-align: top;">{{.Key}}</th><td style="padding: 2px 0;">{{.Value}}</td></tr>
{{end}}</table>
{{end}}<p style="color: #666; font-size: 12px; margin-top: 16px;">Evaluated at {{.At}}. Sent by vigil through channel {{.Channel}}.</p>
</body></html>
`))

// Body is n's text and HTML bodies, for the channel named channel.
func Body(channel string, n notify.Notification) (text, html string, err error) {
	views := make([]alertView, len(n.Alerts))
	for i, a := range n.Alerts {
		views[i] = view(a)
	}
	subject := Subject(n)
	at := fmtTime(n.At)
	var t strings.Builder
	t.WriteString(subject + "\n")
	if len(n.Alerts) > 1 {
		fmt.Fprintf(&t, "\n%d alerts:\n", len(n.Alerts))
	}
	for _, v := range views {
		t.WriteString("\n" + v.Title + "\n")
		if v.Description != "" {
			t.WriteString(v.Description + "\n")
		}
		t.WriteString("\n")
		for _, r := range v.Rows {
			fmt.Fprintf(&t, "  %-20s %s\n", r.Key+":", r.Value) // room for "Time to exhaustion:"
		}
	}
	fmt.Fprintf(&t, "\n-- \nEvaluated at %s. Sent by vigil through channel %s.\n", orDash(at), channel)
	var h strings.Builder
	err = htmlBody.Execute(&h, map[string]any{"Subject": subject, "Alerts": views, "At": orDash(at), "Channel": channel})
	return t.String(), h.String(), err
}

// emailValue is a's value beside its threshold (notify.Alert.ValueLine);
// NaN and no value as the email always wrote them.
func emailValue(a notify.Alert) string {
	if a.ValueText == "" {
		val := "no value"
		if a.Value != nil {
			val = fmtFloat(*a.Value)
		}
		return fmt.Sprintf("%s (%s %s)", val, a.ThresholdWords(), a.ThresholdString())
	}
	return a.ValueLine()
}
