package dashboards

import (
	"strings"
	"testing"
)

// Every generated dashboard uid is one Grafana's provisioning takes (at
// most 40 letters, digits, - and _; it refuses longer ones with "uid too
// long"), stable from one run to the next and unique per service, over
// long and hostile service names; the file names stay vigil-service-SLUG.
func TestUIDsFitGrafana(t *testing.T) {
	names := []string{
		"api", "a.b", "a-b",
		strings.Repeat("a", 26), strings.Repeat("a", 27), strings.Repeat("a", 100),
		strings.Repeat("b", 30) + "x", strings.Repeat("b", 30) + "y",
		strings.Repeat("c", 24) + ".1", strings.Repeat("c", 24) + ".2",
		"Ünïcödé service with spaces and / slashes / and more / and more",
		"payments.eu-west-1.production.internal.example.com",
	}
	build := func() map[string]string { // file name -> uid
		in := testInput(t)
		for _, n := range names {
			in.Catalog.add("orders_total", Counter, n, nil)
		}
		files, _, err := Build(in)
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]string{}
		bs, _ := boards(t, in)
		for _, f := range files {
			out[f.Name] = bs[f.Name].UID
		}
		return out
	}
	first, again := build(), build()
	seen := map[string]string{}
	for file, uid := range first {
		if err := CheckUID(uid); err != nil {
			t.Errorf("%s: uid %v", file, err)
		}
		if other, dup := seen[uid]; dup {
			t.Errorf("uid %q for both %s and %s", uid, file, other)
		}
		seen[uid] = file
		if again[file] != uid {
			t.Errorf("%s: uid %q, then %q", file, uid, again[file])
		}
	}
	for _, n := range names {
		if _, ok := first["vigil-service-"+slug(n)+".json"]; !ok {
			t.Errorf("service %q: no file vigil-service-%s.json in %v", n, slug(n), first)
		}
	}
	if first["vigil-service-api.json"] != "vigil-service-api" {
		t.Errorf("api's uid %q, want vigil-service-api", first["vigil-service-api.json"])
	}
}

// Grafana expands [[name]] as it does $name: a service with [[ is left
// out with a warning, as one with a $ is.
func TestBuildLeavesOutDoubleBrackets(t *testing.T) {
	in := testInput(t)
	in.Catalog.add("orders_total", Counter, "shop[[__interval]]", nil)
	bs, warnings := boards(t, in)
	for file, d := range bs {
		if strings.Contains(d.Title, "[[") || strings.Contains(file, "shop") {
			t.Errorf("%s: %q served", file, d.Title)
		}
	}
	found := false
	for _, w := range warnings {
		found = found || w == `service "shop[[__interval]]": left out: Grafana would read its [[ as a variable`
	}
	if !found {
		t.Errorf("no warning: %v", warnings)
	}
}
