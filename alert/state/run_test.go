package state

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"reflect"
	"testing"
	"time"
)

// The lock outlives Save: a run commits its intent, and another run is
// still refused until the first one ends; a snapshot reads what was saved
// meanwhile without waiting.
func TestLockHeldAcrossSave(t *testing.T) {
	ctx := context.Background()
	p := filepath.Join(t.TempDir(), "s.db")
	a, b := openTest(t, p), openTest(t, p)
	ra, err := a.Begin(ctx, "pid 1 on a", 0)
	if err != nil {
		t.Fatal(err)
	}
	al := Step(NewAlert("r", map[string]string{"x": "1"}), hi, at(0), 0)
	if err := ra.Put(al); err != nil {
		t.Fatal(err)
	}
	if err := ra.Save(); err != nil {
		t.Fatal(err)
	}
	var le *LockedError
	if _, err := b.Begin(ctx, "pid 2 on b", 0); !errors.As(err, &le) || le.Holder != "pid 1 on a" {
		t.Fatalf("Begin while held across Save: %v", err)
	}
	snap, err := b.Snapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	got, err := snap.Alerts()
	if err != nil || len(got) != 1 || got[al.Fingerprint].State != Firing {
		t.Fatalf("snapshot sees %v, %v; want the saved firing alert", got, err)
	}
	if err := snap.Put(al); err == nil {
		t.Error("Put in a snapshot: want error")
	}
	snap.Rollback()
	// Unsaved changes go with Rollback; saved ones stay.
	al2 := Step(NewAlert("r", map[string]string{"x": "2"}), hi, at(0), 0)
	if err := ra.Put(al2); err != nil {
		t.Fatal(err)
	}
	ra.Rollback()
	rb, err := b.Begin(ctx, "pid 2 on b", 0)
	if err != nil {
		t.Fatalf("Begin after Rollback: %v", err)
	}
	defer rb.Rollback()
	got, _ = rb.Alerts()
	if _, ok := got[al.Fingerprint]; !ok || len(got) != 1 {
		t.Fatalf("after rollback: %d alerts, want only the saved one", len(got))
	}
}

func TestOutbox(t *testing.T) {
	ctx := context.Background()
	d := openTest(t, filepath.Join(t.TempDir(), "s.db"))
	r, err := d.Begin(ctx, "t", 0)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Rollback()
	ep := at(0)
	mk := func(ch, kind string, step int) Notice {
		return Notice{Fingerprint: 0xabc, Rule: "r", Channel: ch, Kind: kind, Step: step, Episode: ep,
			Recipients: []string{"x@example.com"}, Alert: json.RawMessage(`{"rule":"r"}`), Created: at(0)}
	}
	ns := []Notice{mk("a", "firing", -1), mk("b", "firing", 1), mk("c", "firing", -1), mk("a", "resolved", -1)}
	for i := range ns {
		if err := r.Enqueue(&ns[i]); err != nil {
			t.Fatal(err)
		}
	}
	if ns[0].ID == 0 || ns[1].ID != ns[0].ID+1 {
		t.Fatalf("ids %d %d", ns[0].ID, ns[1].ID)
	}
	if err := r.SetStatus(ns[0].ID, Sent, 1, "", at(1)); err != nil {
		t.Fatal(err)
	}
	if err := r.SetStatus(ns[1].ID, Failed, 1, "400 Bad Request", at(1)); err != nil {
		t.Fatal(err)
	}
	if err := r.SetStatus(ns[2].ID, Sending, 0, "", at(1)); err != nil {
		t.Fatal(err)
	}
	q, err := r.Notices(Queued)
	if err != nil || len(q) != 1 || q[0].Channel != "a" || q[0].Kind != "resolved" || q[0].Step != -1 ||
		!reflect.DeepEqual(q[0].Recipients, []string{"x@example.com"}) || string(q[0].Alert) != `{"rule":"r"}` || !q[0].Episode.Equal(ep) {
		t.Fatalf("queued: %+v, %v", q, err)
	}
	// Resolution goes to channels told of the firing: sent a, sending c
	// (maybe delivered), not the failed b.
	chans, err := r.EpisodeChannels(0xabc, ep)
	if err != nil || !reflect.DeepEqual(chans, []string{"a", "c"}) {
		t.Fatalf("EpisodeChannels = %v, %v; want [a c]", chans, err)
	}
	if chans, _ := r.EpisodeChannels(0xabc, at(5)); len(chans) != 0 {
		t.Errorf("another episode: %v", chans)
	}
	n, err := r.SentBetween(at(1), at(1).Add(time.Minute))
	if err != nil || n != 1 {
		t.Errorf("SentBetween = %d, %v; want 1", n, err)
	}
	if n, _ := r.SentBetween(at(2), at(3)); n != 0 {
		t.Errorf("SentBetween later = %d", n)
	}
	if err := r.AddAttempt(Attempt{Notice: ns[1].ID, Fingerprint: 0xabc, Rule: "r", Channel: "b", At: at(1), Try: 1, Result: "error", Status: 400, Error: "400"}); err != nil {
		t.Fatal(err)
	}
	atts, err := r.Attempts(at(0))
	if err != nil || len(atts) != 1 || atts[0].Status != 400 || atts[0].Channel != "b" || !atts[0].At.Equal(at(1)) {
		t.Fatalf("attempts %+v, %v", atts, err)
	}
	// Pruning at at(2) removes finished notices and attempts before it,
	// keeps queued and sending ones.
	if _, err := r.PruneHistory(at(2)); err != nil {
		t.Fatal(err)
	}
	left, _ := r.Notices(Queued, Sending, Sent, Failed)
	if len(left) != 2 {
		t.Errorf("after prune %d notices, want 2 (queued, sending)", len(left))
	}
	if atts, _ := r.Attempts(at(0)); len(atts) != 0 {
		t.Errorf("attempts after prune: %v", atts)
	}
}

func TestAckAndIncidents(t *testing.T) {
	ctx := context.Background()
	d := openTest(t, filepath.Join(t.TempDir(), "s.db"))
	r, err := d.Begin(ctx, "t", 0)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Rollback()
	if _, err := r.Ack(42, "x", at(0)); err == nil {
		t.Error("ack of an unknown alert: want error")
	}
	a := Step(NewAlert("r", nil), hi, at(0), 0)
	r.Put(a)
	got, err := r.Ack(a.Fingerprint, "on it", at(1))
	if err != nil || !got.Acked || got.AckComment != "on it" || !got.AckedAt.Equal(at(1)) {
		t.Fatalf("Ack = %+v, %v", got, err)
	}
	all, _ := r.Alerts()
	if x := all[a.Fingerprint]; !x.Acked || !x.AckedAt.Equal(at(1)) {
		t.Errorf("stored ack: %+v", x)
	}
	// A new episode clears the ack (Step), and an inactive alert cannot be acked.
	x := Step(Step(all[a.Fingerprint], lo, at(2), 0), lo, at(3), 0)
	r.Put(x)
	if _, err := r.Ack(a.Fingerprint, "", at(4)); err == nil {
		t.Error("ack of an inactive alert: want error")
	}

	inc := Incident{ID: "svc/api/t0", Correlation: "svc", GroupValue: "api", Opened: at(0)}
	if err := r.PutIncident(inc); err != nil {
		t.Fatal(err)
	}
	got2, ok, err := r.OpenIncident("svc", "api")
	if err != nil || !ok || got2.ID != inc.ID || !got2.Opened.Equal(at(0)) {
		t.Fatalf("OpenIncident = %+v, %v, %v", got2, ok, err)
	}
	if _, ok, _ := r.OpenIncident("svc", "web"); ok {
		t.Error("no incident for web")
	}
	inc.Closed = at(5)
	r.PutIncident(inc)
	if _, ok, _ := r.OpenIncident("svc", "api"); ok {
		t.Error("closed incident still open")
	}
	if open, _ := r.Incidents(); len(open) != 0 {
		t.Errorf("open incidents %v", open)
	}
}

// LastWord is what the receiver believes: the latest notice about the
// alert to that channel it heard or will hear. IncidentChannels are the
// channels a firing notice about a member reached (or will). Failed and
// superseded notices count for neither; superseded ones are pruned like
// finished ones.
//
//	1 a firing   (incident i) sent      a: firing, then
//	2 a resolved              sent      a: resolved (latest)
//	3 b firing   (incident i) superseded by 4
//	4 b resolved              queued    b: resolved
//	5 c firing   (incident i) failed    c: nothing
//	6 d refresh  (incident i) sent      d: refresh; not told of i
func TestLastWordAndIncidentChannels(t *testing.T) {
	ctx := context.Background()
	d := openTest(t, filepath.Join(t.TempDir(), "s.db"))
	r, err := d.Begin(ctx, "t", 0)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Rollback()
	rows := []struct {
		ch, kind, inc, status string
	}{
		{"a", "firing", "i", Sent}, {"a", "resolved", "", Sent}, {"b", "firing", "i", Superseded},
		{"b", "resolved", "", Queued}, {"c", "firing", "i", Failed}, {"d", "refresh", "i", Sent},
	}
	for i, x := range rows {
		n := Notice{Fingerprint: 0xabc, Rule: "r", Channel: x.ch, Kind: x.kind, Step: -1, Incident: x.inc, Episode: at(0),
			Alert: json.RawMessage(`{}`), Created: at(float64(i))}
		if err := r.Enqueue(&n); err != nil {
			t.Fatal(err)
		}
		if x.status != Queued {
			if err := r.SetStatus(n.ID, x.status, 1, "", at(float64(i))); err != nil {
				t.Fatal(err)
			}
		}
	}
	for ch, want := range map[string]string{"a": "resolved 1", "b": "resolved 3", "c": " -1", "d": "refresh 5"} {
		kind, created, err := r.LastWord(0xabc, ch)
		if err != nil {
			t.Fatal(err)
		}
		got := kind + " -1"
		if !created.IsZero() {
			got = fmt.Sprintf("%s %d", kind, int(created.Sub(at(0))/time.Minute))
		}
		if got != want {
			t.Errorf("LastWord(%s) = %q, want %q", ch, got, want)
		}
	}
	if kind, _, _ := r.LastWord(0xdef, "a"); kind != "" {
		t.Errorf("another alert's last word: %q", kind)
	}
	chans, err := r.IncidentChannels("i")
	if err != nil || !reflect.DeepEqual(chans, []string{"a"}) {
		t.Errorf("IncidentChannels = %v, %v; want [a]", chans, err)
	}
	if _, err := r.PruneHistory(at(10)); err != nil {
		t.Fatal(err)
	}
	if left, _ := r.Notices(Superseded); len(left) != 0 {
		t.Errorf("superseded notices after prune: %d", len(left))
	}
}
