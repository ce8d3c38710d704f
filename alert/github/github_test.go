package github

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vigil-metrics/vigil/alert/config"
	"github.com/vigil-metrics/vigil/alert/notify"
	"github.com/vigil-metrics/vigil/alert/notify/notifytest"
)

const token = "ghp_s3cretT0kenValue1234567890"

// req is one request the fake GitHub received.
type req struct {
	Method, Path string // path with the raw query
	Body         string
}

type issue struct {
	Number int
	Title  string
	Body   string
	State  string
	Labels []string
	PR     bool
}

// canned is a response the fake gives instead of handling a request.
type canned struct {
	code   int
	header map[string]string
	body   string
}

// fakeGitHub answers the REST endpoints the channel uses, with GitHub's
// documented response shapes, and checks every request's headers.
type fakeGitHub struct {
	t        *testing.T
	srv      *httptest.Server
	mu       sync.Mutex
	reqs     []req
	issues   []*issue
	pageSize int
	fail     []canned // answered first, in order
	comments map[int][]string
}

func newFake(t *testing.T) *fakeGitHub {
	f := &fakeGitHub{t: t, pageSize: 100, comments: map[int][]string{}}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeGitHub) issueJSON(is *issue) map[string]any {
	labels := []map[string]any{}
	for i, l := range is.Labels {
		labels = append(labels, map[string]any{"id": 1000 + i, "name": l, "color": "f29513", "default": false})
	}
	m := map[string]any{
		"id": 100000 + is.Number, "node_id": "MDU6SXNzdWUx", "number": is.Number,
		"url":      f.srv.URL + "/repos/acme/shop/issues/" + strconv.Itoa(is.Number),
		"html_url": "https://github.com/acme/shop/issues/" + strconv.Itoa(is.Number),
		"title":    is.Title, "body": is.Body, "state": is.State, "labels": labels, "locked": false,
		"user": map[string]any{"login": "vigil-bot", "id": 1}, "comments": len(f.comments[is.Number]),
		"created_at": "2026-11-29T10:00:31Z", "updated_at": "2026-11-29T10:00:31Z",
	}
	if is.PR {
		m["pull_request"] = map[string]any{"url": f.srv.URL + "/repos/acme/shop/pulls/" + strconv.Itoa(is.Number)}
	}
	return m
}

func (f *fakeGitHub) serve(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	body, _ := io.ReadAll(r.Body)
	f.reqs = append(f.reqs, req{r.Method, r.URL.RequestURI(), string(body)})
	for k, v := range map[string]string{"Authorization": "Bearer " + token, "Accept": "application/vnd.github+json", "X-Github-Api-Version": "2022-11-28"} {
		if got := r.Header.Get(k); got != v {
			f.t.Errorf("%s %s: header %s = %q, want %q", r.Method, r.URL, k, got, v)
		}
	}
	if len(body) > 0 && r.Header.Get("Content-Type") != "application/json" {
		f.t.Errorf("%s %s: Content-Type %q", r.Method, r.URL, r.Header.Get("Content-Type"))
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	if len(f.fail) > 0 {
		c := f.fail[0]
		f.fail = f.fail[1:]
		for k, v := range c.header {
			w.Header().Set(k, v)
		}
		w.WriteHeader(c.code)
		io.WriteString(w, c.body)
		return
	}
	reply := func(code int, v any) {
		w.WriteHeader(code)
		json.NewEncoder(w).Encode(v)
	}
	const base = "/repos/acme/shop/issues"
	switch {
	case r.Method == http.MethodGet && r.URL.Path == base:
		q := r.URL.Query()
		if q.Get("state") != "open" || q.Get("labels") != Label {
			f.t.Errorf("list query %s", r.URL.RawQuery)
		}
		var open []map[string]any
		for _, is := range f.issues {
			if is.State == "open" && contains(is.Labels, Label) {
				open = append(open, f.issueJSON(is))
			}
		}
		page, _ := strconv.Atoi(q.Get("page"))
		page = max(page, 1)
		from := min((page-1)*f.pageSize, len(open))
		to := min(from+f.pageSize, len(open))
		if to < len(open) {
			w.Header().Set("Link", fmt.Sprintf(`<%s%s?labels=vigil&page=%d&per_page=100&state=open>; rel="next", <%s%s?page=9>; rel="last"`, f.srv.URL, base, page+1, f.srv.URL, base))
		}
		reply(200, append([]map[string]any{}, open[from:to]...))
	case r.Method == http.MethodPost && r.URL.Path == base:
		var in struct {
			Title     string   `json:"title"`
			Body      string   `json:"body"`
			Labels    []string `json:"labels"`
			Assignees []string `json:"assignees"`
		}
		if err := json.Unmarshal(body, &in); err != nil {
			reply(400, map[string]any{"message": "Problems parsing JSON"})
			return
		}
		is := &issue{Number: len(f.issues) + 1, Title: in.Title, Body: in.Body, State: "open", Labels: in.Labels}
		f.issues = append(f.issues, is)
		reply(201, f.issueJSON(is))
	case strings.HasPrefix(r.URL.Path, base+"/"):
		rest := strings.TrimPrefix(r.URL.Path, base+"/")
		num, sub, _ := strings.Cut(rest, "/")
		n, _ := strconv.Atoi(num)
		if n < 1 || n > len(f.issues) {
			reply(404, map[string]any{"message": "Not Found", "documentation_url": "https://docs.github.com/rest"})
			return
		}
		is := f.issues[n-1]
		switch {
		case r.Method == http.MethodPost && sub == "comments":
			var in struct{ Body string }
			json.Unmarshal(body, &in)
			f.comments[n] = append(f.comments[n], in.Body)
			reply(201, map[string]any{"id": 1, "node_id": "MDEyOklzc3VlQ29tbWVudDE=", "body": in.Body,
				"html_url": fmt.Sprintf("https://github.com/acme/shop/issues/%d#issuecomment-1", n),
				"user":     map[string]any{"login": "vigil-bot"}, "created_at": "2026-11-29T10:00:31Z"})
		case r.Method == http.MethodPatch && sub == "":
			var in map[string]string
			json.Unmarshal(body, &in)
			if v, ok := in["body"]; ok {
				is.Body = v
			}
			if v, ok := in["state"]; ok {
				is.State = v
			}
			reply(200, f.issueJSON(is))
		default:
			reply(404, map[string]any{"message": "Not Found"})
		}
	default:
		reply(404, map[string]any{"message": "Not Found"})
	}
}

func contains(l []string, s string) bool {
	for _, x := range l {
		if x == s {
			return true
		}
	}
	return false
}

// take returns and forgets the requests so far.
func (f *fakeGitHub) take() []req {
	f.mu.Lock()
	defer f.mu.Unlock()
	r := f.reqs
	f.reqs = nil
	return r
}

// channel is a github channel to f; mod, when not nil, changes its
// settings.
func channel(f *fakeGitHub, mod func(*Config)) config.Channel {
	s := &Config{Repo: "acme/shop", Labels: []string{"alert", "automated"}, APIURL: f.srv.URL}
	if mod != nil {
		mod(s)
	}
	return config.Channel{Name: "issues", Type: "github", Enabled: true, RetryAttempts: 3, RetryDelay: time.Millisecond, SendResolved: true, Settings: s}
}

func env(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

func newChannel(t *testing.T, f *fakeGitHub, settings func(*Config)) (*Channel, config.Channel) {
	t.Helper()
	ch := channel(f, settings)
	c, err := New(ch, env(map[string]string{"GITHUB_TOKEN": token}), f.srv.Client())
	if err != nil {
		t.Fatal(err)
	}
	return c, ch
}

type tries struct{ status []int }

func (tr *tries) hook(n *notify.Notification) {
	n.Attempt = func(try, status int, err error) {
		if try != len(tr.status)+1 {
			panic(fmt.Sprintf("try %d after %d tries", try, len(tr.status)))
		}
		tr.status = append(tr.status, status)
		if err != nil && strings.Contains(err.Error(), token) {
			panic("token in attempt error")
		}
	}
}

func notifyOK(t *testing.T, c *Channel, n notify.Notification) []int {
	t.Helper()
	var tr tries
	tr.hook(&n)
	retry, err := c.Notify(context.Background(), n)
	if err != nil || retry {
		t.Fatalf("Notify: retry %v, %v", retry, err)
	}
	return tr.status
}

func jsonEq(t *testing.T, what, got string, want any) {
	t.Helper()
	var g, w any
	if err := json.Unmarshal([]byte(got), &g); err != nil {
		t.Fatalf("%s: body %q is not JSON: %v", what, got, err)
	}
	b, _ := json.Marshal(want)
	json.Unmarshal(b, &w)
	if !reflect.DeepEqual(g, w) {
		t.Errorf("%s: body\n%s\nwant\n%s", what, got, b)
	}
}

func fixture(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

const listPath = "/repos/acme/shop/issues?labels=vigil&per_page=100&state=open"

func TestFiringOpensIssue(t *testing.T) {
	f := newFake(t)
	c, ch := newChannel(t, f, func(c *Config) { c.Assignees = []string{"octocat"} })
	statuses := notifyOK(t, c, notifytest.Firing(ch))
	if !reflect.DeepEqual(statuses, []int{200, 201}) {
		t.Errorf("attempts %v, want [200 201]", statuses)
	}
	rs := f.take()
	if len(rs) != 2 {
		t.Fatalf("requests %v", rs)
	}
	if rs[0] != (req{"GET", listPath, ""}) {
		t.Errorf("first request %+v", rs[0])
	}
	if rs[1].Method != "POST" || rs[1].Path != "/repos/acme/shop/issues" {
		t.Errorf("second request %s %s", rs[1].Method, rs[1].Path)
	}
	jsonEq(t, "create", rs[1].Body, map[string]any{
		"title":     "Alert: high_cpu - CRITICAL",
		"body":      fixture(t, "firing_issue.md"),
		"labels":    []string{"alert", "automated", "vigil", "severity-critical"},
		"assignees": []string{"octocat"},
	})
}

func TestFiringAgainComments(t *testing.T) {
	f := newFake(t)
	// Another open issue, a pull request carrying the marker and a closed
	// issue of the same alert must all be passed over.
	f.issues = []*issue{
		{Number: 1, Title: "other", Body: "<!-- vigil:fingerprint=0000000000000001 -->", State: "open", Labels: []string{Label}},
		{Number: 2, Title: "pr", Body: Marker(notifytest.Firing(config.Channel{}).Alerts), State: "open", Labels: []string{Label}, PR: true},
		{Number: 3, Title: "old", Body: Marker(notifytest.Firing(config.Channel{}).Alerts), State: "closed", Labels: []string{Label}},
	}
	c, ch := newChannel(t, f, nil)
	notifyOK(t, c, notifytest.Firing(ch))
	f.take()
	if len(f.issues) != 4 {
		t.Fatalf("%d issues, want a new one (4)", len(f.issues))
	}
	n := notifytest.Firing(ch)
	n.At = n.At.Add(15 * time.Minute)
	n.Alerts[0].EscalationStep = 1
	notifyOK(t, c, n)
	rs := f.take()
	want := []req{
		{"GET", listPath, ""},
		{"POST", "/repos/acme/shop/issues/4/comments", ""},
	}
	if len(rs) != len(want) {
		t.Fatalf("requests %+v", rs)
	}
	for i := range want {
		if rs[i].Method != want[i].Method || rs[i].Path != want[i].Path {
			t.Errorf("request %d: %s %s, want %s %s", i, rs[i].Method, rs[i].Path, want[i].Method, want[i].Path)
		}
	}
	jsonEq(t, "comment", rs[1].Body, map[string]string{"body": "### Firing again: high_cpu\n\n" +
		"- **Timestamp**: 2026-11-29T10:15:30Z\n- **Severity**: CRITICAL\n- **Metric Value**: 92.5\n- **Threshold**: 80\n" +
		"- **State**: firing\n- **Escalation Step**: 2\n"})
	if len(f.issues) != 4 {
		t.Errorf("%d issues after firing again, want 4 (no duplicate)", len(f.issues))
	}
}

func TestResolve(t *testing.T) {
	for _, closeIt := range []bool{false, true} {
		t.Run(fmt.Sprint("close_on_resolve=", closeIt), func(t *testing.T) {
			f := newFake(t)
			c, ch := newChannel(t, f, func(c *Config) { c.CloseOnResolve = closeIt })
			notifyOK(t, c, notifytest.Firing(ch))
			f.take()
			notifyOK(t, c, notifytest.Resolved(ch))
			rs := f.take()
			wantN := 2
			if closeIt {
				wantN = 3
			}
			if len(rs) != wantN {
				t.Fatalf("requests %+v", rs)
			}
			if rs[0].Path != listPath || rs[1].Method != "POST" || rs[1].Path != "/repos/acme/shop/issues/1/comments" {
				t.Errorf("requests %+v", rs)
			}
			text := "### Resolved: high_cpu\n\n- **Timestamp**: 2026-11-29T10:05:30Z\n- **Severity**: CRITICAL\n" +
				"- **Metric Value**: 41\n- **Threshold**: 80\n- **State**: resolved\n- **Resolved At**: 2026-11-29T10:05:30Z\n"
			if closeIt {
				text += "\nClosing this issue.\n"
			}
			jsonEq(t, "comment", rs[1].Body, map[string]string{"body": text})
			if closeIt {
				if rs[2].Method != "PATCH" || rs[2].Path != "/repos/acme/shop/issues/1" {
					t.Errorf("close request %s %s", rs[2].Method, rs[2].Path)
				}
				jsonEq(t, "close", rs[2].Body, map[string]string{"state": "closed", "state_reason": "completed"})
				if f.issues[0].State != "closed" {
					t.Error("issue not closed")
				}
				// Firing after the close opens a new issue.
				notifyOK(t, c, notifytest.Firing(ch))
				if len(f.issues) != 2 {
					t.Errorf("%d issues, want 2", len(f.issues))
				}
			}
		})
	}
}

func TestResolveWithoutIssue(t *testing.T) {
	f := newFake(t)
	c, ch := newChannel(t, f, func(c *Config) { c.CloseOnResolve = true })
	notifyOK(t, c, notifytest.Resolved(ch))
	if rs := f.take(); len(rs) != 1 || rs[0].Path != listPath {
		t.Errorf("requests %+v, want the list only", rs)
	}
}

func TestPagination(t *testing.T) {
	f := newFake(t)
	f.pageSize = 2
	for i := 1; i <= 4; i++ {
		f.issues = append(f.issues, &issue{Number: i, Body: fmt.Sprintf("<!-- vigil:fingerprint=%016x -->", i), State: "open", Labels: []string{Label}})
	}
	f.issues = append(f.issues, &issue{Number: 5, Body: "x\n" + Marker(notifytest.Firing(config.Channel{}).Alerts) + "\n", State: "open", Labels: []string{Label}})
	c, ch := newChannel(t, f, nil)
	notifyOK(t, c, notifytest.Firing(ch))
	rs := f.take()
	var paths []string
	for _, r := range rs {
		paths = append(paths, r.Method+" "+r.Path)
	}
	want := []string{
		"GET " + listPath,
		"GET /repos/acme/shop/issues?labels=vigil&page=2&per_page=100&state=open",
		"GET /repos/acme/shop/issues?labels=vigil&page=3&per_page=100&state=open",
		"POST /repos/acme/shop/issues/5/comments",
	}
	if !reflect.DeepEqual(paths, want) {
		t.Errorf("requests\n%s\nwant\n%s", strings.Join(paths, "\n"), strings.Join(want, "\n"))
	}
}

func TestPaginationOtherHostRefused(t *testing.T) {
	f := newFake(t)
	f.fail = []canned{{code: 200, header: map[string]string{"Link": `<https://evil.example.com/x?page=2>; rel="next"`}, body: "[]"}}
	c, ch := newChannel(t, f, nil)
	retry, err := c.Notify(context.Background(), notifytest.Firing(ch))
	if err == nil || retry || !strings.Contains(err.Error(), "another host") {
		t.Fatalf("retry %v, err %v", retry, err)
	}
}

func incidentAlerts(ch config.Channel) notify.Notification {
	n := notifytest.Firing(ch)
	v := 0.12
	inc := "service_incident/api/2026-11-29T10:00:30Z"
	n.Alerts[0].Incident = inc
	n.Alerts = append([]notify.Alert{{Rule: "high_error_rate", Severity: "high", Description: "Error rate above 5%",
		Labels: map[string]string{"service": "api"}, State: "firing", Value: &v, Threshold: 0.05, StartsAt: n.At,
		Fingerprint: "00000000000000aa", EscalationStep: -1, Incident: inc}}, n.Alerts...)
	return n
}

func TestIncident(t *testing.T) {
	f := newFake(t)
	c, ch := newChannel(t, f, func(c *Config) { c.CloseOnResolve, c.Labels = true, nil })
	n := incidentAlerts(ch)
	notifyOK(t, c, n)
	rs := f.take()
	if len(rs) != 2 || rs[1].Path != "/repos/acme/shop/issues" {
		t.Fatalf("requests %+v", rs)
	}
	jsonEq(t, "incident issue", rs[1].Body, map[string]any{
		"title":  "Incident: service_incident/api/2026-11-29T10:00:30Z - CRITICAL",
		"body":   fixture(t, "incident_issue.md"),
		"labels": []string{"vigil", "severity-critical"},
	})

	// A member resolves: a comment and the firing set shrinks; the issue
	// stays open while the other fires.
	first := n
	first.Kind = "resolved"
	first.Alerts = []notify.Alert{n.Alerts[0]}
	first.Alerts[0].State = "resolved"
	notifyOK(t, c, first)
	rs = f.take()
	if len(rs) != 3 || rs[1].Path != "/repos/acme/shop/issues/1/comments" || rs[2].Method != "PATCH" {
		t.Fatalf("requests %+v", rs)
	}
	wantBody := strings.Replace(fixture(t, "incident_issue.md"), "firing=00000000000000aa,f372fee676ae0d86", "firing=f372fee676ae0d86", 1)
	jsonEq(t, "patch", rs[2].Body, map[string]string{"body": wantBody})
	if f.issues[0].State != "open" {
		t.Fatal("incident closed while a member fires")
	}

	// The last member resolves: comment and close.
	last := notifytest.Resolved(ch)
	last.Alerts[0].Incident = n.Alerts[1].Incident
	notifyOK(t, c, last)
	rs = f.take()
	if len(rs) != 3 || rs[2].Method != "PATCH" {
		t.Fatalf("requests %+v", rs)
	}
	closedBody := strings.Replace(wantBody, "firing=f372fee676ae0d86", "firing=", 1)
	jsonEq(t, "close", rs[2].Body, map[string]string{"body": closedBody, "state": "closed", "state_reason": "completed"})
	if len(f.issues) != 1 || f.issues[0].State != "closed" {
		t.Errorf("issues %+v", f.issues)
	}
}

func TestIncidentMemberJoins(t *testing.T) {
	f := newFake(t)
	c, ch := newChannel(t, f, nil)
	n := incidentAlerts(ch)
	one := n
	one.Alerts = n.Alerts[:1]
	notifyOK(t, c, one)
	two := n
	two.Alerts = n.Alerts[1:]
	f.take()
	notifyOK(t, c, two)
	rs := f.take()
	if len(rs) != 3 || rs[1].Path != "/repos/acme/shop/issues/1/comments" || rs[2].Method != "PATCH" {
		t.Fatalf("requests %+v", rs)
	}
	if got := firingSet(f.issues[0].Body); !reflect.DeepEqual(got, []string{"00000000000000aa", "f372fee676ae0d86"}) {
		t.Errorf("firing set %v", got)
	}
	if len(f.issues) != 1 {
		t.Errorf("%d issues, want 1", len(f.issues))
	}
}

func TestFailures(t *testing.T) {
	reset := strconv.FormatInt(notifytest.At.Add(-time.Second).Unix(), 10) // passed: no wait
	farReset := strconv.FormatInt(notifytest.At.Add(time.Hour).Unix(), 10)
	for _, tc := range []struct {
		name     string
		fail     []canned
		attempts int // requests made
		retry    bool
		ok       bool
		want     []string // in the error
	}{
		{name: "401", fail: []canned{{code: 401, body: `{"message":"Bad credentials","documentation_url":"https://docs.github.com/rest","status":"401"}`}},
			attempts: 1, want: []string{"401 Unauthorized", `"Bad credentials"`, "GITHUB_TOKEN is invalid"}},
		{name: "403 permissions", fail: []canned{{code: 403, header: map[string]string{"X-RateLimit-Remaining": "4999"}, body: `{"message":"Resource not accessible by personal access token","documentation_url":"https://docs.github.com/rest/issues/issues#create-an-issue","status":"403"}`}},
			attempts: 1, want: []string{"403 Forbidden", "Resource not accessible", "Issues (read and write)"}},
		{name: "404", fail: []canned{{code: 404, body: `{"message":"Not Found","documentation_url":"https://docs.github.com/rest/issues/issues#list-repository-issues","status":"404"}`}},
			attempts: 1, want: []string{"404 Not Found", "repository acme/shop not found", "token in GITHUB_TOKEN cannot see it"}},
		{name: "410", fail: []canned{{code: 410, body: `{"message":"Issues are disabled for this repo","documentation_url":"https://docs.github.com/v3/issues/","status":"410"}`}},
			attempts: 1, want: []string{"410 Gone", "Issues are disabled for this repo", "enable them"}},
		{name: "422", fail: []canned{{code: 200, body: "[]"}, {code: 422, body: `{"message":"Validation Failed","errors":[{"value":"nobody","resource":"Issue","field":"assignees","code":"invalid"}],"documentation_url":"https://docs.github.com/rest/issues/issues#create-an-issue","status":"422"}`}},
			attempts: 2, want: []string{"POST", "422 Unprocessable Entity", `"Validation Failed: assignees invalid (nobody)"`, "check the channel's labels and assignees"}},
		{name: "500 then ok", fail: []canned{{code: 500, body: `{"message":"Server Error"}`}, {code: 502, body: "<html>bad gateway</html>"}},
			attempts: 4, ok: true},
		{name: "5xx exhausted", fail: []canned{{code: 500}, {code: 503}, {code: 502, body: "<html>bad gateway</html>"}},
			attempts: 3, retry: true, want: []string{"3 attempts failed", "502 Bad Gateway", "GitHub failed to answer"}},
		{name: "403 secondary rate limit", fail: []canned{{code: 403, header: map[string]string{"Retry-After": "0"}, body: `{"message":"You have exceeded a secondary rate limit. Please wait a few minutes before you try again."}`}},
			attempts: 3, ok: true},
		{name: "403 primary rate limit, reset passed", fail: []canned{{code: 403, header: map[string]string{"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": reset}, body: `{"message":"API rate limit exceeded for user ID 1.","documentation_url":"https://docs.github.com/rest/overview/resources-in-the-rest-api#rate-limiting"}`}},
			attempts: 3, ok: true},
		{name: "403 rate limit beyond the cap", fail: []canned{{code: 403, header: map[string]string{"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": farReset}, body: `{"message":"API rate limit exceeded for user ID 1."}`}},
			attempts: 1, retry: true, want: []string{"403 Forbidden", "rate limited by GitHub for 1h0m1s", "a later run retries"}},
		{name: "429", fail: []canned{{code: 429, header: map[string]string{"Retry-After": "7200"}, body: `{"message":"too many"}`}},
			attempts: 1, retry: true, want: []string{"429 Too Many Requests", "rate limited"}},
		{name: "400 other", fail: []canned{{code: 400, body: `{"message":"Problems parsing JSON"}`}},
			attempts: 1, want: []string{"400 Bad Request", "Problems parsing JSON"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFake(t)
			f.fail = tc.fail
			c, ch := newChannel(t, f, func(c *Config) { c.Assignees = []string{"nobody"} })
			c.now = func() time.Time { return notifytest.At }
			var tr tries
			n := notifytest.Firing(ch)
			tr.hook(&n)
			retry, err := c.Notify(context.Background(), n)
			if got := len(f.take()); got != tc.attempts || len(tr.status) != tc.attempts {
				t.Errorf("%d requests, %d attempts reported, want %d", got, len(tr.status), tc.attempts)
			}
			if tc.ok {
				if err != nil {
					t.Fatalf("err %v", err)
				}
				return
			}
			if err == nil {
				t.Fatal("no error")
			}
			if retry != tc.retry {
				t.Errorf("retry %v, want %v (%v)", retry, tc.retry, err)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
			if !strings.HasPrefix(err.Error(), `github "issues": `) {
				t.Errorf("error %q does not name the channel", err)
			}
			notifytest.NoSecrets(t, []string{token}, notifytest.Err(err))
		})
	}
}

func TestRetryAfterHonoured(t *testing.T) {
	if testing.Short() {
		t.Skip("waits a second")
	}
	f := newFake(t)
	f.fail = []canned{{code: 429, header: map[string]string{"Retry-After": "1"}, body: `{"message":"slow down"}`}}
	c, ch := newChannel(t, f, nil)
	start := time.Now()
	notifyOK(t, c, notifytest.Firing(ch))
	if d := time.Since(start); d < time.Second {
		t.Errorf("retried after %s, want Retry-After's 1s", d)
	}
}

func TestNetworkError(t *testing.T) {
	f := newFake(t)
	ch := channel(f, nil)
	f.srv.Close()
	c, err := New(ch, env(map[string]string{"GITHUB_TOKEN": token}), nil)
	if err != nil {
		t.Fatal(err)
	}
	retry, err := c.Notify(context.Background(), notifytest.Firing(ch))
	if err == nil || !retry || !strings.Contains(err.Error(), "3 attempts failed") {
		t.Fatalf("retry %v, err %v", retry, err)
	}
	notifytest.NoSecrets(t, []string{token}, err.Error())
}

func TestCancelled(t *testing.T) {
	f := newFake(t)
	c, ch := newChannel(t, f, nil)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	retry, err := c.Notify(ctx, notifytest.Firing(ch))
	if err == nil || !retry {
		t.Fatalf("retry %v, err %v", retry, err)
	}
}

func TestMissingToken(t *testing.T) {
	f := newFake(t)
	ch := channel(f, func(c *Config) { c.TokenEnv = "VIGIL_GH_TOKEN" })
	c, err := New(ch, env(map[string]string{"GITHUB_TOKEN": token}), nil)
	if err != nil {
		t.Fatal(err)
	}
	retry, err := c.Notify(context.Background(), notifytest.Firing(ch))
	if err == nil || !retry || !strings.Contains(err.Error(), "VIGIL_GH_TOKEN is not set") {
		t.Fatalf("retry %v, err %v", retry, err)
	}
	if rs := f.take(); len(rs) != 0 {
		t.Errorf("requests without a token: %+v", rs)
	}
	notifytest.NoSecrets(t, []string{token}, err.Error())
}

func TestTokenEnvAndEnterprise(t *testing.T) {
	var got []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = append(got, r.Method+" "+r.URL.RequestURI()+" "+r.Header.Get("Authorization"))
		if r.Method == http.MethodGet {
			io.WriteString(w, "[]")
			return
		}
		w.WriteHeader(201)
		io.WriteString(w, `{"number":7,"html_url":"https://ghe.example.com/acme/shop/issues/7"}`)
	}))
	defer srv.Close()
	ch := config.Channel{Name: "ghe", Type: "github", Settings: &Config{Repo: "acme/shop", TokenEnv: "GHE_TOKEN", APIURL: srv.URL + "/api/v3/"}}
	c, err := New(ch, env(map[string]string{"GHE_TOKEN": "t0k", "GITHUB_TOKEN": "other"}), nil)
	if err != nil {
		t.Fatal(err)
	}
	if retry, err := c.Notify(context.Background(), notifytest.Firing(ch)); err != nil {
		t.Fatal(retry, err)
	}
	want := []string{"GET /api/v3/repos/acme/shop/issues?labels=vigil&per_page=100&state=open Bearer t0k", "POST /api/v3/repos/acme/shop/issues Bearer t0k"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("requests %q, want %q", got, want)
	}
}

func TestNewErrors(t *testing.T) {
	for _, tc := range []struct {
		ch   config.Channel
		want string
	}{
		{config.Channel{Name: "x", Type: "webhook"}, `type "webhook" is not github`},
		{config.Channel{Name: "x", Type: "github", Settings: &Config{Repo: "acme"}}, "repo: want owner/name"},
		{config.Channel{Name: "x", Type: "github", Settings: &Config{Repo: "acme/shop/x"}}, "repo: want owner/name"},
		{config.Channel{Name: "x", Type: "github", Settings: &Config{Repo: "acme/shop", APIURL: "ftp://x"}}, "api_url"},
		// (Labels that are not strings, a close_on_resolve that is not a
		// boolean: the config refuses them, TestConfigRefuses.)
	} {
		_, err := New(tc.ch, env(nil), nil)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: err %v, want %q", tc.ch.Settings, err, tc.want)
		}
	}
	c, err := New(config.Channel{Name: "x", Type: "github", Settings: &Config{Repo: "acme/shop"}}, env(nil), nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.api.String() != DefaultAPIURL || c.attempts != DefaultRetryAttempts || c.timeout != DefaultTimeout || c.delay != DefaultRetryDelay {
		t.Errorf("defaults: %s %d %s %s", c.api, c.attempts, c.timeout, c.delay)
	}
}

func TestActions(t *testing.T) {
	if Action("high_cpu_usage") != "Check for runaway processes and optimize resource usage" || Action("x") != DefaultAction {
		t.Error("recommended actions")
	}
	n := notifytest.Firing(config.Channel{})
	n.Alerts[0].Rule = "critical_memory_usage"
	c := &Channel{}
	if !strings.Contains(c.NewIssue(n).Body, "## Recommended Actions\nInvestigate memory leaks and consider scaling\n") {
		t.Error("body lacks the rule's recommended action")
	}
}

var _ notify.Notifier = (*Channel)(nil)
