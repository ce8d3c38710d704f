package state

import (
	"math"
	"testing"
	"time"
)

func TestStateString(t *testing.T) {
	for s, want := range map[State]string{Inactive: "inactive", Pending: "pending", Firing: "firing", Resolved: "resolved", NoData: "nodata"} {
		if s.String() != want {
			t.Errorf("%d.String() = %q, want %q", s, s.String(), want)
		}
		got, err := ParseState(want)
		if err != nil || got != s {
			t.Errorf("ParseState(%q) = %v, %v", want, got, err)
		}
	}
	if _, err := ParseState("Firing"); err == nil {
		t.Error("ParseState is case-sensitive: want error")
	}
	if State(9).String() != "state(9)" {
		t.Errorf("State(9).String() = %q", State(9).String())
	}
}

// step is one run in a sequence and what the alert must look like after it.
// Times are minutes after t0; -1 means zero (never).
type step struct {
	obs                          Observation
	state                        State
	active, fired, resolved, val float64
}

var (
	t0   = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	hi   = Observation{HasData: true, Breached: true, Value: 9}
	lo   = Observation{HasData: true, Breached: false, Value: 1}
	none = Observation{}
)

func at(min float64) time.Time {
	if min < 0 {
		return time.Time{}
	}
	return t0.Add(time.Duration(min * float64(time.Minute)))
}

func TestStep(t *testing.T) {
	const N = -1 // never
	cases := []struct {
		name  string
		for_  time.Duration
		steps []step
	}{
		{"for 5m, runs every minute: pending t0..t4, firing t5", 5 * time.Minute, []step{
			{hi, Pending, 0, N, N, 9}, {hi, Pending, 0, N, N, 9}, {hi, Pending, 0, N, N, 9},
			{hi, Pending, 0, N, N, 9}, {hi, Pending, 0, N, N, 9},
			{hi, Firing, 0, 5, N, 9}, {hi, Firing, 0, 5, N, 9},
			{lo, Resolved, 0, 5, 7, 1},
			{lo, Inactive, N, 5, 7, 1},
			{lo, Inactive, N, 5, 7, 1},
		}},
		{"for 0 fires at once", 0, []step{
			{lo, Inactive, N, N, N, 1},
			{hi, Firing, 1, 1, N, 9},
			{lo, Resolved, 1, 1, 2, 1},
			// A new breach straight after resolving is a new episode.
			{hi, Firing, 3, 3, N, 9},
		}},
		{"pending that clears never fires", 3 * time.Minute, []step{
			{hi, Pending, 0, N, N, 9}, {hi, Pending, 0, N, N, 9},
			{lo, Inactive, N, N, N, 1},
			{hi, Pending, 3, N, N, 9}, {hi, Pending, 3, N, N, 9}, {hi, Pending, 3, N, N, 9},
			{hi, Firing, 3, 6, N, 9},
		}},
		// Losing data ends the firing episode (ResolvedAt, issue 23: the
		// receivers hear "resolved") but keeps FiredAt and the last value;
		// data back breached is a new episode.
		{"firing loses data: nodata ends the episode, keeps FiredAt and the last value, then pending again", 2 * time.Minute, []step{
			{hi, Pending, 0, N, N, 9}, {hi, Pending, 0, N, N, 9}, {hi, Firing, 0, 2, N, 9},
			{none, NoData, N, 2, 3, 9}, {none, NoData, N, 2, 3, 9},
			{hi, Pending, 5, N, N, 9}, {hi, Pending, 5, N, N, 9}, {hi, Firing, 5, 7, N, 9},
		}},
		{"nodata then healthy is inactive, not resolved", 0, []step{
			{hi, Firing, 0, 0, N, 9}, {none, NoData, N, 0, 1, 9}, {lo, Inactive, N, 0, 1, 1},
		}},
		{"pending loses data", 5 * time.Minute, []step{
			{hi, Pending, 0, N, N, 9}, {none, NoData, N, N, N, 9}, {hi, Pending, 2, N, N, 9},
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			a := NewAlert("r", map[string]string{"job": "api"})
			for i, s := range c.steps {
				now := at(float64(i))
				a = Step(a, s.obs, now, c.for_)
				if a.State != s.state || !a.ActiveSince.Equal(at(s.active)) || !a.FiredAt.Equal(at(s.fired)) ||
					!a.ResolvedAt.Equal(at(s.resolved)) || a.Value != s.val || !a.LastEval.Equal(now) {
					t.Fatalf("run %d (t%d): got %s active=%v fired=%v resolved=%v value=%v last=%v\nwant %s active=%v fired=%v resolved=%v value=%v",
						i, i, a.State, a.ActiveSince, a.FiredAt, a.ResolvedAt, a.Value, a.LastEval,
						s.state, at(s.active), at(s.fired), at(s.resolved), s.val)
				}
			}
		})
	}
}

func TestStepKeepsIdentityAndNotifications(t *testing.T) {
	prev := NewAlert("r", map[string]string{"a": "b"})
	prev.LastNotified, prev.NotifyCount = t0, 3
	a := Step(prev, hi, t0, 0)
	if a.Fingerprint != prev.Fingerprint || a.Rule != "r" || a.Labels["a"] != "b" {
		t.Errorf("identity changed: %+v", a)
	}
	if !a.LastNotified.Equal(t0) || a.NotifyCount != 3 {
		t.Errorf("notification bookkeeping changed: %v %d", a.LastNotified, a.NotifyCount)
	}
	if !math.IsNaN(Step(prev, none, t0, 0).Value) {
		t.Error("no data before any value should keep NaN")
	}
}

func TestStepAckIsPerEpisode(t *testing.T) {
	a := Step(Alert{}, hi, at(0), 0)
	a.Acked, a.AckComment = true, "looking"
	a = Step(a, hi, at(1), 0)
	if !a.Acked {
		t.Fatal("ack lost while still firing")
	}
	a = Step(a, lo, at(2), 0)
	if !a.Acked {
		t.Fatal("ack lost on resolve")
	}
	a = Step(a, hi, at(3), 0)
	if a.Acked || a.AckComment != "" {
		t.Errorf("new episode kept the old ack: %v %q", a.Acked, a.AckComment)
	}
}

func TestStepClockBackwards(t *testing.T) {
	// A clock stepped back must not fire early (negative elapsed time).
	a := Step(Alert{}, hi, at(10), 5*time.Minute)
	a = Step(a, hi, at(4), 5*time.Minute)
	if a.State != Pending {
		t.Errorf("state %s, want pending", a.State)
	}
}

// The no-data policies across a gap: firing, two runs without data, then
// data breached, then not.
func TestStepPolicyGap(t *testing.T) {
	type want struct {
		st    State
		fired time.Time
	}
	for _, c := range []struct {
		policy string
		want   []want // after each of: gap, gap, breached, not breached
	}{
		{NoDataOK, []want{{NoData, at(0)}, {NoData, at(0)}, {Firing, at(3)}, {Resolved, at(3)}}},
		{NoDataAlert, []want{{NoData, at(1)}, {NoData, at(1)}, {Firing, at(3)}, {Resolved, at(3)}}},
		{NoDataKeep, []want{{Firing, at(0)}, {Firing, at(0)}, {Firing, at(0)}, {Resolved, at(0)}}},
	} {
		a := StepPolicy(NewAlert("r", nil), hi, at(0), 0, c.policy) // firing at 0
		for i, obs := range []Observation{none, none, hi, lo} {
			a = StepPolicy(a, obs, at(float64(i+1)), 0, c.policy)
			if w := c.want[i]; a.State != w.st || !a.FiredAt.Equal(w.fired) {
				t.Errorf("%s, step %d: %s fired %v, want %s fired %v", c.policy, i+1, a.State, a.FiredAt, w.st, w.fired)
			}
		}
	}
	// An alerting nodata that gets data back below the threshold resolves.
	a := StepPolicy(NewAlert("r", nil), none, at(0), 0, NoDataAlert)
	if a.State != NoData || !a.FiredAt.Equal(at(0)) {
		t.Fatalf("first gap: %s %v", a.State, a.FiredAt)
	}
	if a = StepPolicy(a, lo, at(1), 0, NoDataAlert); a.State != Resolved || !a.ResolvedAt.Equal(at(1)) {
		t.Errorf("data back, not breached: %s %v, want resolved at 1", a.State, a.ResolvedAt)
	}
}
