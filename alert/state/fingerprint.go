package state

import (
	"fmt"
	"hash/fnv"
	"sort"
)

// labelSep separates names and values in the hashed byte string. 0xff never
// occurs in valid UTF-8, so "a"+"bc" and "ab"+"c" cannot collide; it is the
// byte Prometheus and Alertmanager use (model.SeparatorByte).
const labelSep = 0xff

// AlertNameLabel is the label that carries the rule name in a fingerprint.
const AlertNameLabel = "alertname"

// Fingerprint identifies the alert that rule raises for one label set.
//
// It is Alertmanager's model.LabelSet.Fingerprint applied to the labels plus
// alertname=rule: FNV-64a over the label names in byte order, each name and
// each value followed by 0xff. Rows in vigil-state.db are keyed by it, so it
// must never change between versions or differ between hosts: it depends on
// nothing but these bytes (no map order, no seed). Sharing Alertmanager's
// scheme also means an alert vigil forwards to an Alertmanager keeps the same
// identity there. The rule name replaces any alertname in labels, as
// Prometheus does when it builds an alert's labels.
func Fingerprint(rule string, labels map[string]string) uint64 {
	names := make([]string, 0, len(labels)+1)
	names = append(names, AlertNameLabel)
	for n := range labels {
		if n != AlertNameLabel {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	h := fnv.New64a()
	buf := make([]byte, 0, 64)
	for _, n := range names {
		v := labels[n]
		if n == AlertNameLabel {
			v = rule
		}
		buf = append(buf[:0], n...)
		buf = append(buf, labelSep)
		buf = append(buf, v...)
		buf = append(buf, labelSep)
		h.Write(buf)
	}
	return h.Sum64()
}

// FormatFingerprint renders fp as 16 lower-case hex digits, the form users
// see and the form the state DB stores (Alertmanager prints the same).
func FormatFingerprint(fp uint64) string { return fmt.Sprintf("%016x", fp) }

// ParseFingerprint reads what FormatFingerprint writes.
func ParseFingerprint(s string) (uint64, error) {
	var fp uint64
	if len(s) != 16 {
		return 0, fmt.Errorf("fingerprint %q: want 16 hex digits", s)
	}
	if _, err := fmt.Sscanf(s, "%016x", &fp); err != nil {
		return 0, fmt.Errorf("fingerprint %q: want 16 hex digits", s)
	}
	return fp, nil
}
