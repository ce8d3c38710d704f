package secret

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"html"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"
)

// forms are the ways a server or vigil itself may write v back: as is,
// URL-escaped, JSON-escaped, HTML-escaped, and each of those Go-quoted
// once more (an error quoting a body, a log line quoting an error).
func forms(v string) []string {
	base := []string{v}
	for _, esc := range []string{url.QueryEscape(v), url.PathEscape(v)} {
		base = append(base, esc, lowerHex(esc))
	}
	base = append(base, jsonForms(v)...)
	base = append(base, html.EscapeString(v), htmlAlt(v))
	// Less common echoes: every byte percent-escaped (either hex case),
	// escaped twice (a proxy escaping an escaped URL: the value's usual
	// escape and the every-byte one, each escaped again), and base64 of the
	// value (a server echoing a header it encoded).
	all := pctAll(v)
	base = append(base, all, strings.ToLower(all), url.QueryEscape(url.QueryEscape(v)),
		url.QueryEscape(all), url.QueryEscape(lowerHex(all)))
	// Every character as JSON's \uXXXX, either hex case (a JSON writer
	// that escapes everything).
	base = append(base, jsonAll(v, "%04x"), jsonAll(v, "%04X"))
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.URLEncoding, base64.RawStdEncoding, base64.RawURLEncoding} {
		base = append(base, enc.EncodeToString([]byte(v)))
	}
	out := make([]string, 0, 2*len(base))
	seen := map[string]bool{}
	for _, f := range base {
		for _, g := range []string{f, quoted(f)} {
			if !seen[g] {
				seen[g] = true
				out = append(out, g)
			}
		}
	}
	return out
}

var pctHex = regexp.MustCompile(`%[0-9A-F]{2}`)

// lowerHex is an escaped string with its %XX in lower case, as some
// servers write them.
func lowerHex(s string) string {
	return pctHex.ReplaceAllStringFunc(s, strings.ToLower)
}

// jsonForms are v inside a JSON string: Go's encoding (with and without
// its HTML escapes), with `/` as `\/` (PHP, some Java), and with every
// non-ASCII rune as \uXXXX in either hex case (Python's json.dumps).
func jsonForms(v string) []string {
	var out []string
	for _, htmlEsc := range []bool{true, false} {
		var b bytes.Buffer
		enc := json.NewEncoder(&b)
		enc.SetEscapeHTML(htmlEsc)
		_ = enc.Encode(v) // a string always encodes
		s := strings.TrimSuffix(b.String(), "\n")
		s = s[1 : len(s)-1]
		out = append(out, s, strings.ReplaceAll(s, "/", `\/`))
		a := asciiJSON(s, "%04x")
		out = append(out, a, strings.ReplaceAll(a, "/", `\/`), asciiJSON(s, "%04X"))
	}
	return out
}

// asciiJSON writes every non-ASCII rune of a JSON string body as \uXXXX
// (a surrogate pair above U+FFFF).
func asciiJSON(s, hex string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r < utf8.RuneSelf:
			b.WriteRune(r)
		case r > 0xFFFF:
			r -= 0x10000
			fmt.Fprintf(&b, `\u`+hex+`\u`+hex, 0xD800+(r>>10), 0xDC00+(r&0x3FF))
		default:
			fmt.Fprintf(&b, `\u`+hex, r)
		}
	}
	return b.String()
}

// jsonAll is v with every rune written as \uXXXX (a surrogate pair
// above U+FFFF), as a JSON writer that escapes every character does.
func jsonAll(v, hex string) string {
	var b strings.Builder
	for _, r := range v {
		if r > 0xFFFF {
			r -= 0x10000
			fmt.Fprintf(&b, `\u`+hex+`\u`+hex, 0xD800+(r>>10), 0xDC00+(r&0x3FF))
			continue
		}
		fmt.Fprintf(&b, `\u`+hex, r)
	}
	return b.String()
}

// htmlAlt is the other common HTML escaping: named quote, hex apostrophe.
func htmlAlt(v string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;", "'", "&#x27;").Replace(v)
}

// quoted is s as Go's %q writes it, without the quotes.
func quoted(s string) string {
	q := strconv.Quote(s)
	return q[1 : len(q)-1]
}

// pctAll is v with every byte percent-escaped, as some clients and
// proxies write a URL they re-encode.
func pctAll(v string) string {
	var b strings.Builder
	for i := 0; i < len(v); i++ {
		fmt.Fprintf(&b, "%%%02X", v[i])
	}
	return b.String()
}
