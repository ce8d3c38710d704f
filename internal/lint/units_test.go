package lint

import "testing"

// vigil lint knows the units the collect library honours in names (its
// own job_memory_delta_mb among them): lint must not flag them.
func TestLintKnowsMB(t *testing.T) {
	for _, u := range []string{"mb", "us", "ns", "minutes"} {
		found := false
		for _, s := range UnitSuffixes {
			found = found || s == u
		}
		if !found {
			t.Errorf("UnitSuffixes lacks %q", u)
		}
	}
}
