package report

import (
	"bytes"
	_ "embed"
	"encoding/base64"
	"html"
	"io"
	"strings"

	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/extension"
	ghtml "github.com/yuin/goldmark/renderer/html"

	"github.com/vigil-metrics/vigil/internal/safetext"
)

//go:embed templates/report.css
var css string

// CSP is the HTML report's Content-Security-Policy: it loads nothing from
// anywhere (default-src 'none'), its images are the charts inlined as
// data: URIs, and its styles are the inline style sheet and goldmark's
// table alignment. A value in the report can make no element (raw HTML is
// omitted and Escape makes data text), and even an element slipped in
// could load no image, font, frame or script from outside the file.
const CSP = "default-src 'none'; img-src data:; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'"

// renderHTML renders the markdown report with goldmark (GFM tables, raw
// HTML omitted, no autolinks, XHTML so the output is well-formed) in a
// page with a small embedded style sheet and the CSP; each image's
// relative file is replaced by its SVG as a data: URI, so the file stands
// alone. No src or href is built from data: the only src values are the
// chart files vigil names (slugs), and the template makes no links.
func renderHTML(w io.Writer, r *Report) error {
	var md bytes.Buffer
	if err := renderMarkdown(&md, r, "; "); err != nil {
		return err
	}
	gm := goldmark.New(goldmark.WithExtensions(extension.Table), goldmark.WithRendererOptions(ghtml.WithXHTML()))
	var body bytes.Buffer
	if err := gm.Convert(md.Bytes(), &body); err != nil {
		return err
	}
	out := body.String()
	for _, im := range r.Images {
		out = strings.ReplaceAll(out, `src="`+html.EscapeString(im.File)+`"`,
			`src="data:image/svg+xml;base64,`+base64.StdEncoding.EncodeToString(im.SVG)+`"`)
	}
	title := "vigil report"
	if r.Title != "" {
		title = r.Title
	}
	_, err := io.WriteString(w, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\" />\n"+
		"<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\" />\n"+
		"<meta http-equiv=\"Content-Security-Policy\" content=\""+CSP+"\" />\n<meta name=\"referrer\" content=\"no-referrer\" />\n<title>"+
		html.EscapeString(safetext.Terminal(title))+"</title>\n<style>\n"+css+"</style>\n</head>\n<body>\n"+out+"</body>\n</html>\n")
	return err
}
