package state

import (
	"hash/fnv"
	"math/rand"
	"strconv"
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

// Fingerprint is Alertmanager's label set fingerprint with alertname set
// to the rule, for any label set: few labels or more than fit on its
// stack, empty values, non-ASCII, an alertname label to replace.
func TestFingerprintAsAlertmanager(t *testing.T) {
	rng := rand.New(rand.NewSource(27))
	alphabet := []string{"", "a", "b", "job", "instance", "é", "zz", "alertname", "x\xff", "le"}
	for i := range 2000 {
		labels := map[string]string{}
		for range rng.Intn(24) {
			labels[alphabet[rng.Intn(len(alphabet))]+strconv.Itoa(rng.Intn(30))] = alphabet[rng.Intn(len(alphabet))]
		}
		if i%7 == 0 {
			labels["alertname"] = "other"
		}
		rule := alphabet[rng.Intn(len(alphabet))] + "rule"
		ls := model.LabelSet{}
		for k, v := range labels {
			ls[model.LabelName(k)] = model.LabelValue(v)
		}
		ls["alertname"] = model.LabelValue(rule)
		if got, want := Fingerprint(rule, labels), uint64(ls.Fingerprint()); got != want {
			t.Fatalf("%s %v: %016x, Alertmanager %016x", rule, labels, got, want)
		}
	}
}

func BenchmarkFingerprint(b *testing.B) {
	labels := map[string]string{"service": "api", "endpoint": "/v1/items", "host": "host-17", "status": "500"}
	for b.Loop() {
		Fingerprint("error_ratio_198", labels)
	}
}
