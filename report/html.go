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
)

//go:embed templates/report.css
var css string

// renderHTML renders the markdown report with goldmark (GFM tables, raw
// HTML omitted, XHTML so the output is well-formed) in a page with a small
// embedded style sheet; each image's relative file is replaced by its SVG
// as a data: URI, so the file stands alone.
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
	_, err := io.WriteString(w, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\" />\n<title>"+
		html.EscapeString(title)+"</title>\n<style>\n"+css+"</style>\n</head>\n<body>\n"+out+"</body>\n</html>\n")
	return err
}
