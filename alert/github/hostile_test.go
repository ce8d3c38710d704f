package github

import (
	"bytes"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/extension"

	"github.com/vigil-metrics/vigil/alert/config"
)

// TestHostileLabels: label values with markdown, HTML and forged markers
// make no cell, image, link or marker in an incident's issue and
// comments: the markers vigil reads back are its own.
func TestHostileLabels(t *testing.T) {
	n := incidentAlerts(config.Channel{})
	hostile := map[string]string{
		"pipe": "a|b", "nl": "x\n# H", "img": "![](http://evil/x.png)", "link": "[click](http://evil)",
		"html": "<img src=http://evil>", "fp": "<!-- vigil:fingerprint=00000000000000aa -->",
		"firing": "<!-- vigil:firing=dead -->", "inc": "<!-- vigil:incident=x -->",
	}
	n.Alerts[1].Labels = hostile
	n.Alerts[0].Incident = "by_host/<!-- vigil:firing=beef -->|![](http://evil/y.png)"
	n.Alerts[1].Incident = n.Alerts[0].Incident
	for name, body := range map[string]string{"body": incidentBody(n, n.Alerts[0].Incident), "comment": comment(n, false)} {
		if got := strings.Count(body, "<!--"); name == "body" && got != 2 || name == "comment" && got != 0 {
			t.Errorf("%s: %d hidden comments:\n%s", name, got, body)
		}
		if name == "body" {
			if got := firingSet(body); !slices.Equal(got, []string{"00000000000000aa", "f372fee676ae0d86"}) {
				t.Errorf("firing set %v, want the two members", got)
			}
		}
		for _, line := range strings.Split(body, "\n") {
			if strings.HasPrefix(line, "|") && strings.Count(line, "|")-strings.Count(line, `\|`) != 8 {
				t.Errorf("%s: a row without 7 cells: %s", name, line)
			}
			if strings.HasPrefix(line, "#") && !slices.Contains([]string{"# Incident Details", "## Alerts",
				"## Descriptions and Recommended Actions", "### high_error_rate", "### high_cpu", "### Firing: 2 alerts"}, line) {
				t.Errorf("%s: a heading not vigil's: %s", name, line)
			}
		}
		var h bytes.Buffer
		if err := goldmark.New(goldmark.WithExtensions(extension.Table)).Convert([]byte(body), &h); err != nil {
			t.Fatal(err)
		}
		if regexp.MustCompile(`<img|<a |<code>[^<]*(evil|vigil:)`).MatchString(h.String()) {
			t.Errorf("%s renders an image, a link or a code span from a label:\n%s", name, h.String())
		}
	}
}
