package agentcmd

import "testing"

// FuzzParseRetention: any retention (the agent's flag or the config's
// retention:) parses to a non-negative duration or is refused.
func FuzzParseRetention(f *testing.F) {
	for _, s := range []string{"30d", "365d", "12h", "0", "7", "", "-1d", "1e300w", "90m "} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if d, err := ParseRetention(s); err == nil && d < 0 {
			t.Fatalf("%q: negative %v", s, d)
		}
	})
}
