package main

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"

	"github.com/vigil-metrics/vigil/alert/replay"
)

// The streamed JSON of a replay is byte for byte what encoding it whole
// gives: with and without episodes and notices, labels and warnings that
// need escaping (HTML characters, quotes, even the text the stream looks
// for).
func TestReplayJSONStreamAsEncoder(t *testing.T) {
	t0 := time.Date(2026, 11, 29, 10, 0, 0, 0, time.UTC)
	full := &replay.Replay{From: t0, To: t0.Add(time.Hour), Step: time.Minute, Steps: 60,
		Rules:     []replay.RuleSummary{{Rule: "r<1>", Severity: "high", Episodes: 2, Notices: map[string]int{"ops": 3}, FirstFiring: t0}},
		Channels:  []replay.ChannelSummary{{Channel: "ops", Type: "webhook", Notices: 3}},
		Incidents: []replay.Incident{{ID: "burst/api/x", Correlation: "burst", GroupValue: "api", Opened: t0, Members: []string{`r<1>{host="a&b"}`}}},
		Episodes: []replay.Episode{{Rule: "r<1>", Fingerprint: "00000000000000ab", Labels: map[string]string{"host": "a&b"}, Start: t0, End: t0.Add(time.Minute)},
			{Rule: "r<1>", Fingerprint: "00000000000000cd", Start: t0, End: t0.Add(time.Hour), Open: true, Notified: []string{"ops"}}},
		Notices: []replay.Notice{{At: t0, Channel: "ops", Rule: "r<1>", Fingerprint: "00000000000000ab", Labels: map[string]string{"q": `"x"`}, State: "firing", Kind: "firing", Incident: "burst/api/x"},
			{At: t0.Add(time.Minute), Channel: "ops", Rule: "r<1>", Fingerprint: "00000000000000ab", State: "resolved", Kind: "resolved", Step: 1}},
		Warnings: []string{`a warning ,"episodes":[],"notices":[],"warnings": <here>`}}
	for name, r := range map[string]*replay.Replay{"full": full, "empty": {From: t0, To: t0.Add(time.Minute), Step: time.Minute, Steps: 1}} {
		var want, got bytes.Buffer
		if err := json.NewEncoder(&want).Encode(replayToJSON(r)); err != nil {
			t.Fatal(err)
		}
		if err := writeReplayJSONStream(&got, r); err != nil {
			t.Fatal(err)
		}
		if got.String() != want.String() {
			t.Errorf("%s:\nstream  %s\nencoder %s", name, got.String(), want.String())
		}
	}
}
