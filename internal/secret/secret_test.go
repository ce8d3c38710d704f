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

// A secret made of digits is matched only where it stands alone: never
// inside a longer number (a value, a timestamp), so JSON and tables
// stay valid (issue 24 review: OPS_TOKEN=410801 turned 0.0410801... into
// 0.0<redacted>...). Expectations worked by hand.
func TestDigitSecretStandsAlone(t *testing.T) {
	s := New()
	s.Add("410801")
	for in, want := range map[string]string{
		`{"value":0.041080112618377275}`:         `{"value":0.041080112618377275}`,
		`{"value":410801.5,"n":1410801}`:         `{"value":410801.5,"n":1410801}`,
		`{"t":4108019,"v":2.410801}`:             `{"t":4108019,"v":2.410801}`,
		"tenant 410801":                          "tenant <redacted>",
		`"X-Scope-OrgID: 410801"`:                `"X-Scope-OrgID: <redacted>"`,
		"org=410801.":                            "org=<redacted>.",
		"Bearer 410801, id-410801x":              "Bearer <redacted>, id-<redacted>x",
		"410801":                                 "<redacted>",
		"410801 0.410801 410801":                 "<redacted> 0.410801 <redacted>",
		"base64 NDEwODAx and %34%31%30%38%30%31": "base64 <redacted> and <redacted>",
	} {
		if got := s.Scrub(in); got != want {
			t.Errorf("Scrub(%q) = %q, want %q", in, got, want)
		}
	}
	// A cut text ending in the start of the number inside a longer one
	// is left alone; one ending in it alone is masked.
	if got := s.ScrubCut(`"v":0.4108`); got != `"v":0.4108` {
		t.Errorf("ScrubCut inside a number: %q", got)
	}
	if got := s.ScrubCut(`org 4108`); got != "org "+Mask {
		t.Errorf("ScrubCut: %q", got)
	}
}

// Only credentials are registered from headers: a header whose name
// says credential, or a value that looks generated. X-Team: checkout is
// ordinary text and must not be scrubbed from all output.
func TestHeaderCredentialsOnly(t *testing.T) {
	s := New()
	s.AddHeader("X-Team", "checkout")
	s.AddHeader("X-Env", "production")
	s.AddHeader("X-Request-Id", "20261129")
	if n := s.Len(); n != 0 {
		t.Errorf("ordinary header values registered %d forms", n)
	}
	for name, v := range map[string]string{
		"X-Scope-OrgID":       "410801",
		"X-Api-Key":           "plainkey",
		"Cookie":              "sid=abcdef",
		"Proxy-Authorization": "Bearer bearer-word",
		"X-Tenant":            "acme-corp",
		"X-Auth-Token":        "letmein",
		"X-Custom":            "aB3dE5fG7h", // generated-looking: registered whatever its name
	} {
		s.AddHeader(name, v)
	}
	in := "checkout production 20261129 410801 plainkey sid=abcdef bearer-word acme-corp letmein aB3dE5fG7h"
	want := "checkout production 20261129 <redacted> <redacted> <redacted> <redacted> <redacted> <redacted> <redacted>"
	if got := s.Scrub(in); got != want {
		t.Errorf("got  %q\nwant %q", got, want)
	}
}

// A URL's query values are registered when the parameter's name says
// credential or the value looks generated; ?route=checkout stays.
func TestURLQueryCredentialsOnly(t *testing.T) {
	s := New()
	s.AddURL("https://hooks.example/hook?route=checkout&page=123456&token=plaintoken&sig=abcdefgh&x=Zq9Xk2Lm", true)
	in := `endpoint="/checkout" route=checkout page=123456 plaintoken abcdefgh Zq9Xk2Lm`
	want := `endpoint="/checkout" route=checkout page=123456 <redacted> <redacted> <redacted>`
	if got := s.Scrub(in); got != want {
		t.Errorf("got  %q\nwant %q", got, want)
	}
	// A user name is registered when it looks generated (a token as the
	// user name: https://TOKEN@host), a password always.
	u := New()
	u.AddURL("https://ghp_Zx81abCD@h/x", false)
	u.AddURL("https://grafana@h/x", false)
	u.AddURL("https://alice:pw-secret-1@h/x", false)
	if got := u.Scrub("ghp_Zx81abCD grafana alice pw-secret-1"); got != "<redacted> grafana alice <redacted>" {
		t.Errorf("user info: %q", got)
	}
}

// Plain counts the registered credentials that are all digits or one
// lowercase word: vigil check warns about them.
func TestPlain(t *testing.T) {
	s := New()
	s.Add("service")
	s.Add("410801")
	s.Add("s3rvice-X")
	s.AddHeader("Authorization", "Bearer checkout")
	s.AddHeader("X-Team", "payments")
	if got := s.Plain(); got != 3 {
		t.Errorf("Plain = %d, want 3 (service, 410801, checkout)", got)
	}
}

// The every-byte escape escaped once more, and JSON's \uXXXX of every
// character (ASCII too, either hex case), for whTok_9f8e7d6c5b, written
// out by hand.
func TestEveryCharacterForms(t *testing.T) {
	s := New()
	s.Add("whTok_9f8e7d6c5b")
	s.Add("clé-secrète")
	for _, in := range []string{
		"%2577%2568%2554%256F%256B%255F%2539%2566%2538%2565%2537%2564%2536%2563%2535%2562",
		"%2577%2568%2554%256f%256b%255f%2539%2566%2538%2565%2537%2564%2536%2563%2535%2562",
		`\u0077\u0068\u0054\u006f\u006b\u005f\u0039\u0066\u0038\u0065\u0037\u0064\u0036\u0063\u0035\u0062`,
		`\u0077\u0068\u0054\u006F\u006B\u005F\u0039\u0066\u0038\u0065\u0037\u0064\u0036\u0063\u0035\u0062`,
		`\u0063\u006c\u00e9\u002d\u0073\u0065\u0063\u0072\u00e8\u0074\u0065`,
	} {
		if got := s.Scrub("[" + in + "]"); got != "["+Mask+"]" {
			t.Errorf("Scrub(%q) = %q", in, got)
		}
	}
}
