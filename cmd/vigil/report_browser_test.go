package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// overflowProbe, put in a copy of the report (the report itself runs no
// script: its CSP forbids them), marks the body with the elements that
// stick out of the viewport sideways (a table scrolls inside itself: its
// cells are the table's business, the table must fit) and the page's
// scroll width against the viewport's.
const overflowProbe = `<script>
addEventListener('load', () => {
  const vw = document.documentElement.clientWidth, bad = [];
  for (const el of document.body.querySelectorAll('*')) {
    if (el.tagName !== 'TABLE' && el.closest('table')) continue;
    const r = el.getBoundingClientRect();
    if (r.right > vw + 1 || r.left < -1) bad.push(el.tagName + '@' + Math.round(r.left) + '..' + Math.round(r.right));
  }
  document.body.setAttribute('data-overflow', bad.join(' ') || 'none');
  document.body.setAttribute('data-scroll', document.documentElement.scrollWidth + '/' + vw);
  const imgs = [...document.images], tops = new Set(imgs.map(i => Math.round(i.getBoundingClientRect().top)));
  document.body.setAttribute('data-charts', imgs.length + '/' + tops.size);
});
</script>`

// TestReportInBrowser renders the demo's HTML report in headless Chromium
// at desktop and phone widths (issue 30; headless Chromium's window is at
// least 500 px wide, so "phone" lays out at 500 px, what a large phone in
// landscape shows, and the CSS has no rule between 390 and 500 px): nothing sticks out sideways, the
// page never scrolls sideways, and the charts lie two in a row on the
// desktop and one under the other on the phone. Screenshots go to
// $VIGIL_SCREENSHOTS when set (docs/images/ has the README's). Debian's
// chromium is needed (CI installs it); without it the test skips, or
// fails under CI=true.
func TestReportInBrowser(t *testing.T) {
	browser := ""
	for _, b := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(b); err == nil {
			browser = p
			break
		}
	}
	if browser == "" {
		if os.Getenv("CI") != "" {
			t.Fatal("no chromium: CI installs Debian's chromium for this test (.ci/run)")
		}
		t.Skip("no chromium on this machine")
	}
	cfg, _ := reportFixture(t)
	t.Setenv("SOURCE_DATE_EPOCH", "1795953900")
	if code, _, stderr := sloRun(t, "report", "--config", cfg, "--db", "demo.db", "--state", "state.db", "--at", reportAt,
		"--format", "html", "--out", "r.html"); code != 0 {
		t.Fatalf("report: exit %d: %s", code, stderr)
	}
	page, err := os.ReadFile("r.html")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(page), `<meta name="viewport" content="width=device-width, initial-scale=1" />`) {
		t.Error("no viewport meta tag: phones would lay the page out 980 px wide")
	}
	csp := regexp.MustCompile(`<meta http-equiv="Content-Security-Policy"[^>]*>`)
	probe := strings.Replace(csp.ReplaceAllString(string(page), ""), "</body>", overflowProbe+"</body>", 1)
	abs, err := filepath.Abs("probe.html")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(abs, []byte(probe), 0o644); err != nil {
		t.Fatal(err)
	}
	chrome := func(t *testing.T, args ...string) string {
		ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
		defer cancel()
		args = append([]string{"--headless=new", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
			"--user-data-dir=" + t.TempDir()}, args...)
		out, err := exec.CommandContext(ctx, browser, args...).Output()
		if err != nil {
			t.Fatalf("%s %s: %v", browser, strings.Join(args, " "), err)
		}
		return string(out)
	}
	attr := func(dom, name string) string {
		m := regexp.MustCompile(name + `="([^"]*)"`).FindStringSubmatch(dom)
		if m == nil {
			t.Fatalf("no %s in the rendered page", name)
		}
		return m[1]
	}
	for _, c := range []struct {
		name          string
		width, height int
		chartsInARow  bool
	}{{"desktop", 1280, 2400, true}, {"phone", 390, 2400, false}} {
		t.Run(c.name, func(t *testing.T) {
			size := "--window-size=" + strconv.Itoa(c.width) + "," + strconv.Itoa(c.height)
			dom := chrome(t, size, "--virtual-time-budget=5000", "--dump-dom", "file://"+abs)
			if o := attr(dom, "data-overflow"); o != "none" {
				t.Errorf("elements wider than the %d px viewport: %s", c.width, o)
			}
			// Charts / distinct rows they lie on.
			ch := strings.Split(attr(dom, "data-charts"), "/")
			if n, rows := atoiT(t, ch[0]), atoiT(t, ch[1]); n < 4 || c.chartsInARow != (rows < n) {
				t.Errorf("%d charts on %d rows; want two in a row: %v", n, rows, c.chartsInARow)
			}
			sw := strings.Split(attr(dom, "data-scroll"), "/")
			if len(sw) != 2 || sw[0] != sw[1] {
				t.Errorf("the page scrolls sideways: scroll width / viewport %s", attr(dom, "data-scroll"))
			}
			if dir := os.Getenv("VIGIL_SCREENSHOTS"); dir != "" {
				shot, err := filepath.Abs(filepath.Join(dir, "report-"+c.name+".png"))
				if err != nil {
					t.Fatal(err)
				}
				chrome(t, size, "--screenshot="+shot, "file://"+abs)
			}
		})
	}
}

func atoiT(t *testing.T, s string) int {
	t.Helper()
	n, err := strconv.Atoi(s)
	if err != nil {
		t.Fatal(err)
	}
	return n
}
