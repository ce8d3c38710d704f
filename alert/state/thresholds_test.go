package state

import (
	"context"
	"math"
	"path/filepath"
	"testing"
	"time"
)

func TestThresholds(t *testing.T) {
	ctx := context.Background()
	d := openTest(t, filepath.Join(t.TempDir(), "s.db"))
	at := time.Date(2026, 11, 29, 10, 0, 0, 0, time.UTC)

	snap, err := d.Snapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := snap.Thresholds(); err != nil || len(got) != 0 {
		t.Fatalf("empty DB: %v %v", got, err)
	}
	if err := snap.PutThreshold(ThresholdChange{Rule: "r", New: 1, TunedAt: at}); err == nil {
		t.Error("a snapshot wrote a threshold")
	}
	snap.Rollback()

	run, err := d.Begin(ctx, "test", 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, bad := range []ThresholdChange{{New: 1, TunedAt: at}, {Rule: "r", New: math.NaN(), TunedAt: at}, {Rule: "r", New: 1}} {
		if err := run.PutThreshold(bad); err == nil {
			t.Errorf("PutThreshold(%+v) accepted", bad)
		}
	}
	if err := run.PutThreshold(ThresholdChange{Rule: "cpu", TunedAt: at, Old: 90, New: 120, Method: "percentile", Reason: "p95", Samples: 100}); err != nil {
		t.Fatal(err)
	}
	if err := run.PutThreshold(ThresholdChange{Rule: "cpu", TunedAt: at.Add(time.Hour), Old: 120, New: 130.5, Method: "mad", Reason: "m", Samples: 50, Written: true}); err != nil {
		t.Fatal(err)
	}
	if err := run.PutThreshold(ThresholdChange{Rule: "mem", TunedAt: at, Old: math.NaN(), New: 7, Method: "percentile"}); err != nil {
		t.Fatal(err)
	}
	if err := run.Commit(); err != nil {
		t.Fatal(err)
	}

	snap, err = d.Snapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer snap.Rollback()
	got, err := snap.Thresholds()
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]Threshold{
		"cpu": {Rule: "cpu", Value: 130.5, Method: "mad", Reason: "m", TunedAt: at.Add(time.Hour)},
		"mem": {Rule: "mem", Value: 7, Method: "percentile", TunedAt: at},
	}
	if len(got) != len(want) || got["cpu"] != want["cpu"] || got["mem"] != want["mem"] {
		t.Errorf("thresholds %+v, want %+v", got, want)
	}
	h, err := snap.ThresholdHistory("cpu")
	if err != nil {
		t.Fatal(err)
	}
	if len(h) != 2 || h[0].New != 120 || h[0].Old != 90 || h[0].Samples != 100 || h[0].Written ||
		h[1].New != 130.5 || !h[1].Written || !h[1].TunedAt.Equal(at.Add(time.Hour)) {
		t.Errorf("cpu history %+v", h)
	}
	all, err := snap.ThresholdHistory("")
	if err != nil || len(all) != 3 {
		t.Fatalf("all history: %v %v", all, err)
	}
	if all[1].Rule != "mem" || !math.IsNaN(all[1].Old) {
		t.Errorf("mem change %+v (ordered by time: cpu, mem, cpu)", all[1])
	}
	snap.Rollback()

	run, err = d.Begin(ctx, "test", 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := run.DeleteThreshold("cpu"); err != nil {
		t.Fatal(err)
	}
	if got, _ := run.Thresholds(); len(got) != 1 {
		t.Errorf("after delete: %v", got)
	}
	if h, _ := run.ThresholdHistory("cpu"); len(h) != 2 {
		t.Errorf("history after delete: %v", h)
	}
	run.Rollback()
}
