package safetext

import (
	"bytes"
	"html"
	"regexp"
	"strings"
	"testing"

	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/extension"
)

// hostile are label values an attacker may put in a store.
var hostile = []string{
	"a|b",
	"x\n# H",
	"![](http://evil/x.png)",
	"[click](http://evil)",
	"<img src=http://evil>",
	"<http://evil>",
	"\x1b]52;c;ZXZpbA==\x07",
	"\x1b]0;title\x07",
	"\x1b[2J",
	"\u202eevil",
	"`code`",
	"``a`b``",
	"*em* _em_ **b** ~~del~~",
	"&lt;img&gt;",
	"# heading",
	"- item",
	"> quote",
	"1. one",
	"1) one",
	"2.",
	"    code",
	"a\\|b",
	"[x]: http://evil",
	"<!-- vigil:firing=abc -->",
	"\xff\xfe",
}

func TestTerminal(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"db-01", "db-01"},
		{"héllo wörld", "héllo wörld"},
		{"a|b", "a|b"},
		{"x\n# H", `"x\n# H"`},
		{"\x1b]52;c;ZXZpbA==\x07", `"\x1b]52;c;ZXZpbA==\a"`},
		{"\x1b]0;title\x07", `"\x1b]0;title\a"`},
		{"\x1b[2J", `"\x1b[2J"`},
		{"\u202eevil", `"\u202eevil"`},
		{"a\u2066b\u2069", `"a\u2066b\u2069"`},
		{"\u200e\u200f\u061c", `"\u200e\u200f\u061c"`},
		{"\u202a\u202b\u202c\u202d", `"\u202a\u202b\u202c\u202d"`},
		{"\u0085c1", `"\u0085c1"`},
		{"tab\there", `"tab\there"`},
		{"\xff", `"\xff"`},
	} {
		if got := Terminal(c.in); got != c.want {
			t.Errorf("Terminal(%q) = %s, want %s", c.in, got, c.want)
		}
	}
}

// render is the HTML report's renderer (GFM tables, raw HTML omitted).
func render(t *testing.T, md string) string {
	t.Helper()
	var out bytes.Buffer
	if err := goldmark.New(goldmark.WithExtensions(extension.Table, extension.Strikethrough)).Convert([]byte(md), &out); err != nil {
		t.Fatal(err)
	}
	return out.String()
}

var tags = regexp.MustCompile(`<[^>]*>`)

// TestMarkdownInert puts every hostile value in a table cell and at the
// start of a list item and checks that the rendered HTML has exactly the
// cells and elements the fixed text makes, and shows the value's text as
// Terminal writes it.
func TestMarkdownInert(t *testing.T) {
	for _, v := range hostile {
		m := Markdown(v)
		if strings.ContainsAny(m, "\n\r\x1b\x07") || !Safe(m) {
			t.Errorf("Markdown(%q) = %q: holds a control or bidi character", v, m)
		}
		table := render(t, "| a | b |\n|---|---|\n| "+m+" | end |\n")
		wantTags := []string{"<table>", "<thead>", "<tr>", "<th>", "</th>", "<th>", "</th>", "</tr>", "</thead>",
			"<tbody>", "<tr>", "<td>", "</td>", "<td>", "</td>", "</tr>", "</tbody>", "</table>"}
		if got := tags.FindAllString(table, -1); strings.Join(got, "") != strings.Join(wantTags, "") {
			t.Errorf("in a table cell, %q renders as %s", v, table)
		}
		cells := regexp.MustCompile(`(?s)<td>(.*?)</td>`).FindAllStringSubmatch(table, -1)
		if len(cells) == 2 && html.UnescapeString(cells[0][1]) != Terminal(v) {
			t.Errorf("in a table cell, %q shows %q, want %q", v, html.UnescapeString(cells[0][1]), Terminal(v))
		}
		list := render(t, "- "+m+" was seen.\n")
		if got := tags.FindAllString(list, -1); strings.Join(got, "") != "<ul><li></li></ul>" {
			t.Errorf("in a list item, %q renders as %s", v, list)
		}
		if text := html.UnescapeString(tags.ReplaceAllString(list, "")); strings.Trim(text, "\n") != Terminal(v)+" was seen." {
			t.Errorf("in a list item, %q shows %q", v, text)
		}
	}
}

func TestMarkdownKeepsNames(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"http_request_duration_seconds", "http_request_duration_seconds"},
		{"api-gateway", "api-gateway"},
		{"db-01.example.com:9100", "db-01.example.com:9100"},
		{"_private", `\_private`},
		{"a|b", `a\|b`},
		{"x\n# H", `"x\\n\# H"`},
		{"![](http://evil/x.png)", `!\[\](http://evil/x.png)`},
		{"-1", `\-1`},
		{"2026. year", `2026\. year`},
		{"7)", `7\)`},
		{"249.427% (of it)", `249.427% (of it)`},
		{"1234567890. x", `1234567890. x`},
	} {
		if got := Markdown(c.in); got != c.want {
			t.Errorf("Markdown(%q) = %s, want %s", c.in, got, c.want)
		}
	}
}

func TestMarkdownNoAngle(t *testing.T) {
	for _, v := range hostile {
		if m := Markdown(v); strings.ContainsAny(m, "<>") {
			t.Errorf("Markdown(%q) = %s: holds < or >", v, m)
		}
	}
	if got, want := Markdown("<!-- vigil:firing=ab -->"), `&lt;!-- vigil:firing=ab --&gt;`; got != want {
		t.Errorf("got %s, want %s", got, want)
	}
}
