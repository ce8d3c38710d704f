package state

import (
	"fmt"
	"slices"
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
	// Every run fingerprints each of its observations: the names are
	// sorted in place on the stack and hashed without a hash.Hash or a
	// buffer, which made this a tenth of a replayed run.
	var arr [16]string
	names := arr[:0]
	if len(labels) >= len(arr) {
		names = make([]string, 0, len(labels)+1)
	}
	names = append(names, AlertNameLabel)
	for n := range labels {
		if n != AlertNameLabel {
			names = append(names, n)
		}
	}
	if len(names) > len(arr) {
		slices.Sort(names)
	} else {
		for i := 1; i < len(names); i++ { // a handful: insertion sort
			for j := i; j > 0 && names[j] < names[j-1]; j-- {
				names[j], names[j-1] = names[j-1], names[j]
			}
		}
	}
	h := uint64(fnvOffset64)
	for _, n := range names {
		v := labels[n]
		if n == AlertNameLabel {
			v = rule
		}
		h = fnvAdd(h, n)
		h = fnvAdd(h, v)
	}
	return h
}

// FNV-64a (hash/fnv's), over each string then labelSep.
const (
	fnvOffset64 = 14695981039346656037
	fnvPrime64  = 1099511628211
)

func fnvAdd(h uint64, s string) uint64 {
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= fnvPrime64
	}
	h ^= labelSep
	return h * fnvPrime64
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
