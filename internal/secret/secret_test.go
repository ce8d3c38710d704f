package secret

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"log/slog"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// echoes are ways a receiver writes a value back, written here
// independently of forms().
func echoes(v string) map[string]string {
	j, _ := json.Marshal(v)
	js := string(j[1 : len(j)-1])
	return map[string]string{
		"raw":         v,
		"query":       url.QueryEscape(v),
		"query-lower": regexp.MustCompile(`%[0-9A-F]{2}`).ReplaceAllStringFunc(url.QueryEscape(v), strings.ToLower),
		"path":        url.PathEscape(v),
		"json":        js,
		"json-slash":  strings.ReplaceAll(js, "/", `\/`),
		"html":        html.EscapeString(v),
		"quoted":      strconv.Quote(v),
		"quoted-json": strconv.Quote(js),
	}
}

func TestScrubEveryEcho(t *testing.T) {
	for _, v := range []string{"s3cr3t-T0ken", "p@ss w/rd&<x>\"'", "tökén/ñ+=?#", "https://hooks.example/T01/B02/xyzXYZ1234"} {
		s := New()
		s.Add(v)
		for name, e := range echoes(v) {
			line := "HTTP 401: bad " + e + " given"
			got := s.Scrub(line)
			if strings.Contains(got, e) && e != "" {
				t.Errorf("%q, %s form %q: not scrubbed from %q", v, name, e, got)
			}
			if !strings.Contains(got, Mask) {
				t.Errorf("%q, %s form: %q has no %s", v, name, got, Mask)
			}
			if !strings.HasPrefix(got, "HTTP 401: bad ") || !strings.HasSuffix(got, " given") {
				t.Errorf("%q, %s form: the text around the secret changed: %q", v, name, got)
			}
		}
	}
}

func TestNonASCIIJSONEscapes(t *testing.T) {
	s := New()
	s.Add("clé-secrète-😀")
	for _, e := range []string{`cl\u00e9-secr\u00e8te-\ud83d\ude00`, `cl\u00E9-secr\u00E8te-\uD83D\uDE00`} {
		if got := s.Scrub(`{"error":"` + e + `"}`); got != `{"error":"<redacted>"}` {
			t.Errorf("%s: got %s", e, got)
		}
	}
}

func TestShortValuesAreNotRegistered(t *testing.T) {
	s := New()
	if s.Add("abcde") {
		t.Error("a 5-byte value was registered")
	}
	if !s.Add("abcdef") {
		t.Error("a 6-byte value was not registered")
	}
	if s.Skipped() != 1 {
		t.Errorf("Skipped = %d, want 1", s.Skipped())
	}
	if got := s.Scrub("abcde abcdef"); got != "abcde <redacted>" {
		t.Errorf("got %q", got)
	}
	// A query value that is no secret (?v=1) is not counted as skipped.
	s.AddURL("http://h/x?v=1&token=long-enough", false)
	if s.Skipped() != 1 {
		t.Errorf("Skipped = %d after a short query value, want 1", s.Skipped())
	}
}

func TestLongestFirst(t *testing.T) {
	s := New()
	s.Add("secret-one")
	s.Add("secret-one-and-more")
	if got := s.Scrub("x secret-one-and-more y"); got != "x <redacted> y" {
		t.Errorf("got %q", got)
	}
}

func TestAddURL(t *testing.T) {
	s := New()
	s.AddURL("https://user:pa55word@hooks.example.com/services/T0123ABCD/B0456EFGH/abcdefghijklmnopqrstuvwx?token=tok-123456&v=1", true)
	for _, leak := range []string{"pa55word", "T0123ABCD", "B0456EFGH", "abcdefghijklmnopqrstuvwx", "tok-123456", "/services/T0123ABCD/B0456EFGH/abcdefghijklmnopqrstuvwx"} {
		if got := s.Scrub("echo: " + leak); strings.Contains(got, leak) {
			t.Errorf("%s: not scrubbed: %q", leak, got)
		}
	}
	// Words of an API path stay readable.
	if got := s.Scrub("see /services for hooks"); got != "see /services for hooks" {
		t.Errorf("a plain path word was scrubbed: %q", got)
	}
	// A URL that is not secret-bearing keeps its path.
	p := New()
	p.AddURL("https://am.example.com/api/v2/T0123ABCD?key=q-secret-1", false)
	if got := p.Scrub("GET /api/v2/T0123ABCD?key=q-secret-1"); got != "GET /api/v2/T0123ABCD?<redacted>" {
		t.Errorf("got %q", got)
	}
}

func TestAddHeaderAndBasicAuth(t *testing.T) {
	s := New()
	s.AddHeader("Authorization", "Bearer bearer-tok-1")
	s.AddHeader("X-Scope-OrgID", "tenant-42")
	s.AddHeader("Content-Type", "application/json")
	s.AddBasicAuth("alice", "alice-pw-9")
	basic := base64.StdEncoding.EncodeToString([]byte("bob:bob-pw-77"))
	s.AddHeader("Authorization", "Basic "+basic)
	line := "Bearer bearer-tok-1 tenant-42 application/json " + base64.StdEncoding.EncodeToString([]byte("alice:alice-pw-9")) + " alice-pw-9 " + basic + " bob-pw-77"
	want := "<redacted> <redacted> application/json <redacted> <redacted> <redacted> <redacted>"
	if got := s.Scrub(line); got != want {
		t.Errorf("got  %q\nwant %q", got, want)
	}
}

type exitErr struct{ code int }

func (e *exitErr) Error() string { return fmt.Sprintf("exit %d: tok-secret-1", e.code) }

func TestErrKeepsTheChain(t *testing.T) {
	s := New()
	s.Add("tok-secret-1")
	base := &exitErr{2}
	err := s.Err(fmt.Errorf("wrapped: %w", base))
	if err.Error() != "wrapped: exit 2: <redacted>" {
		t.Errorf("got %q", err)
	}
	var ee *exitErr
	if !errors.As(err, &ee) || ee.code != 2 {
		t.Error("the scrubbed error lost what it wraps")
	}
	plain := errors.New("nothing here")
	if s.Err(plain) != plain || s.Err(nil) != nil {
		t.Error("an error without a secret was replaced")
	}
}

func TestWriterLines(t *testing.T) {
	s := New()
	s.Add("tok-secret-1")
	var b bytes.Buffer
	w := s.Writer(&b)
	// The secret arrives in pieces, as a formatted write may send it.
	for _, p := range []string{"a tok-se", "cret-1 b\nc tok-", "secret-1"} {
		if _, err := w.Write([]byte(p)); err != nil {
			t.Fatal(err)
		}
	}
	if b.String() != "a <redacted> b\n" {
		t.Errorf("before Flush: %q", b.String())
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if b.String() != "a <redacted> b\nc <redacted>" {
		t.Errorf("after Flush: %q", b.String())
	}
	// Nothing registered: written straight through.
	var c bytes.Buffer
	n, _ := New().Writer(&c).Write([]byte("partial"))
	if n != 7 || c.String() != "partial" {
		t.Errorf("empty set: %d %q", n, c.String())
	}
}

func TestHandler(t *testing.T) {
	s := New()
	s.Add(`tok"secret\1`)
	for _, json := range []bool{false, true} {
		var b bytes.Buffer
		var h slog.Handler = slog.NewTextHandler(&b, nil)
		if json {
			h = slog.NewJSONHandler(&b, nil)
		}
		log := slog.New(s.Handler(h)).With("url", `http://h/?t=tok"secret\1`)
		log.WithGroup("g").Error(`failed tok"secret\1`, "err", errors.New(`body: "tok\"secret\\1"`),
			"n", 3, slog.Group("inner", "v", `tok"secret\1`))
		out := b.String()
		if strings.Contains(out, "secret") {
			t.Errorf("json=%v: %s", json, out)
		}
		if strings.Count(out, Mask) != 4 || !strings.Contains(out, "3") {
			t.Errorf("json=%v: want 4 masks and the number kept: %s", json, out)
		}
	}
}

func TestNilSet(t *testing.T) {
	var s *Set
	s.Add("whatever-secret")
	s.AddURL("http://u:p@h/?q=1", true)
	s.AddHeader("X", "y")
	s.AddBasicAuth("u", "p")
	if s.Scrub("whatever-secret") != "whatever-secret" || s.Len() != 0 || s.Skipped() != 0 {
		t.Error("a nil set changed something")
	}
}

// ScrubCut masks what a cut left of a secret at the end of a text, and
// only what is at least MinCut bytes of one (worked by hand).
func TestScrubCut(t *testing.T) {
	s := New()
	s.Add("whTok_9f8e7d6c5b")
	for in, want := range map[string]string{
		"aaa whTok_9f8e":                 "aaa " + Mask,
		"aaa whT":                        "aaa " + Mask,
		"aaa wh":                         "aaa wh", // 2 bytes: under MinCut
		"x whTok_9f8e7d6c5b y whTok_9f8": "x " + Mask + " y " + Mask,
		"nothing here":                   "nothing here",
		"aaa %77%68%54%6F":               "aaa " + Mask, // the start of an escaped form
	} {
		if got := s.ScrubCut(in); got != want {
			t.Errorf("ScrubCut(%q) = %q, want %q", in, got, want)
		}
	}
}

// A URL's user info reaches a server as a Basic Authorization header,
// which it may echo: base64("uiuser:userinfoPw999") is
// dWl1c2VyOnVzZXJpbmZvUHc5OTk= (worked with base64(1)).
func TestURLUserInfoBasic(t *testing.T) {
	s := New()
	s.AddURL("http://uiuser:userinfoPw999@127.0.0.1:18000/x", false)
	if got := s.Scrub("Authorization: Basic dWl1c2VyOnVzZXJpbmZvUHc5OTk="); got != "Authorization: Basic "+Mask {
		t.Errorf("got %q", got)
	}
}

// The rarer echoes: base64 of a token (d2hUb2tfOWY4ZTdkNmM1Yg== for
// whTok_9f8e7d6c5b, by base64(1)), every byte escaped, escaped twice.
func TestRareForms(t *testing.T) {
	s := New()
	s.Add("whTok_9f8e7d6c5b")
	s.Add("a b/c+d=e")
	for _, in := range []string{
		"d2hUb2tfOWY4ZTdkNmM1Yg==", "d2hUb2tfOWY4ZTdkNmM1Yg",
		"%77%68%54%6F%6B%5F%39%66%38%65%37%64%36%63%35%62", "%77%68%54%6f%6b%5f%39%66%38%65%37%64%36%63%35%62",
		"a%2Bb%252Fc%252Bd%253De", // a proxy escaping "a+b%2Fc%2Bd%3De" again
	} {
		if got := s.Scrub("[" + in + "]"); got != "["+Mask+"]" {
			t.Errorf("Scrub(%q) = %q", in, got)
		}
	}
}
