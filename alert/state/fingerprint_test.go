package state

import (
	"hash/fnv"
	"testing"

	"github.com/prometheus/common/model"
)

func TestFingerprint(t *testing.T) {
	labels := map[string]string{"job": "api", "instance": "web-1"}
	// Names sorted: alertname, instance, job; each name and value ends in 0xff.
	raw := "alertname\xffHighLatency\xffinstance\xffweb-1\xffjob\xffapi\xff"
	h := fnv.New64a()
	h.Write([]byte(raw))
	got := Fingerprint("HighLatency", labels)
	if got != h.Sum64() {
		t.Fatalf("Fingerprint = %016x, FNV-64a of the byte string = %016x", got, h.Sum64())
	}
	// Pinned: if this changes, every stored alert loses its identity.
	const pinned = "6ddbd0b791da97cc"
	if FormatFingerprint(got) != pinned {
		t.Errorf("Fingerprint = %s, pinned %s", FormatFingerprint(got), pinned)
	}
	// Same scheme as Alertmanager.
	ls := model.LabelSet{"alertname": "HighLatency", "job": "api", "instance": "web-1"}
	if am := uint64(ls.Fingerprint()); am != got {
		t.Errorf("Alertmanager fingerprint %016x, ours %016x", am, got)
	}
	// The rule name wins over an alertname label.
	if Fingerprint("HighLatency", map[string]string{"job": "api", "instance": "web-1", "alertname": "x"}) != got {
		t.Error("alertname label should be replaced by the rule name")
	}
	if Fingerprint("HighLatency", nil) == Fingerprint("HighLatenc", map[string]string{"y": ""}) {
		t.Error("separator bytes should keep names apart")
	}
	fp, err := ParseFingerprint(FormatFingerprint(got))
	if err != nil || fp != got {
		t.Errorf("ParseFingerprint round trip: %x, %v", fp, err)
	}
	for _, bad := range []string{"", "abc", "zzzzzzzzzzzzzzzz", "0123456789abcdef0"} {
		if _, err := ParseFingerprint(bad); err == nil {
			t.Errorf("ParseFingerprint(%q): want error", bad)
		}
	}
}
