package notify_test

import (
	"context"
	"encoding/json"
	"fmt"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vigil-metrics/vigil/alert/config"
	"github.com/vigil-metrics/vigil/alert/notify"
	"github.com/vigil-metrics/vigil/alert/state"
)

// outbox is a Writer in memory.
type outbox struct {
	notices  []state.Notice
	attempts []state.Attempt
	saves    int
}

func (o *outbox) add(fp uint64, channel, incident string, created time.Time) {
	body, _ := json.Marshal(notify.Alert{Rule: "r", Fingerprint: state.FormatFingerprint(fp), State: "firing", EscalationStep: -1})
	o.notices = append(o.notices, state.Notice{ID: int64(len(o.notices) + 1), Fingerprint: fp, Rule: "r", Channel: channel,
		Kind: "firing", Step: -1, Incident: incident, Alert: body, Created: created, Status: state.Queued})
}

func (o *outbox) Notices(statuses ...string) ([]state.Notice, error) {
	var out []state.Notice
	for _, n := range o.notices {
		if slices.Contains(statuses, n.Status) {
			out = append(out, n)
		}
	}
	return out, nil
}

func (o *outbox) SetStatus(id int64, status string, tries int, lastError string, at time.Time) error {
	n := &o.notices[id-1]
	n.Status, n.Tries, n.LastError = status, tries, lastError
	if status == state.Sent || status == state.Failed || status == state.Unknown {
		n.Done = at
	}
	return nil
}

func (o *outbox) RetryAt(id int64, tries int, lastError string, next time.Time) error {
	n := &o.notices[id-1]
	n.Status, n.Tries, n.LastError, n.Next = state.Queued, tries, lastError, next
	return nil
}

func (o *outbox) AddAttempt(a state.Attempt) error { o.attempts = append(o.attempts, a); return nil }

func (o *outbox) SentBetween(from, to time.Time) (int, error) {
	c := 0
	for _, n := range o.notices {
		if n.Status == state.Sent && !n.Done.Before(from) && n.Done.Before(to) {
			c++
		}
	}
	return c, nil
}

func (o *outbox) Save() error { o.saves++; return nil }

func (o *outbox) statuses() string {
	s := make([]string, len(o.notices))
	for i, n := range o.notices {
		s[i] = fmt.Sprintf("%d:%s/%d", n.ID, n.Status, n.Tries)
	}
	return strings.Join(s, " ")
}

// fakeChannel answers each Notify with the next scripted result: a list
// of HTTP statuses, one per attempt (the last one decides).
type fakeChannel struct {
	script [][]int
	sent   [][]string // the fingerprints of each notification
	kinds  []string   // the kind of each notification
}

func (f *fakeChannel) Notify(_ context.Context, n notify.Notification) (bool, error) {
	var fps []string
	for _, a := range n.Alerts {
		fps = append(fps, a.Fingerprint)
	}
	f.sent = append(f.sent, fps)
	f.kinds = append(f.kinds, n.Kind)
	statuses := []int{200}
	if len(f.script) > 0 {
		statuses, f.script = f.script[0], f.script[1:]
	}
	var err error
	for i, st := range statuses {
		err = nil
		if st/100 != 2 {
			err = fmt.Errorf("HTTP %d", st)
		}
		n.Attempt(i+1, st, err)
	}
	last := statuses[len(statuses)-1]
	return err != nil && (last >= 500 || last == 429), err
}

func deliverConfig() *config.Config {
	return &config.Config{Channels: []config.Channel{
		{Name: "ops", Type: "webhook", Enabled: true, SendResolved: true},
		{Name: "mail", Type: "email", Enabled: true, SendResolved: true},
	}}
}

// The rate limit sends what the minute allows, oldest first, and holds
// the rest queued; the next minute sends more; nothing is lost.
func TestDeliverRateLimit(t *testing.T) {
	w := &outbox{}
	for fp := uint64(1); fp <= 3; fp++ {
		w.add(fp, "ops", "", t0)
	}
	ch := &fakeChannel{}
	o := notify.Options{Senders: map[string]notify.Notifier{"ops": ch}, MaxPerMinute: 1}
	run := func(at time.Time, wantSent, wantHeld []uint64, wantStatuses string) {
		t.Helper()
		out, err := notify.Deliver(context.Background(), w, deliverConfig(), at, o)
		if err != nil {
			t.Fatal(err)
		}
		var sent, held []uint64
		for fp := range out.Sent {
			sent = append(sent, fp)
		}
		for fp := range out.Held {
			held = append(held, fp)
		}
		slices.Sort(sent)
		slices.Sort(held)
		if !slices.Equal(sent, wantSent) || !slices.Equal(held, wantHeld) || len(out.Errors) != 0 {
			t.Errorf("at %v: sent %v, held %v, errors %v; want sent %v, held %v", at, sent, held, out.Errors, wantSent, wantHeld)
		}
		if got := w.statuses(); got != wantStatuses {
			t.Errorf("at %v: outbox %s, want %s", at, got, wantStatuses)
		}
	}
	run(t0.Add(30*time.Second), []uint64{1}, []uint64{2, 3}, "1:sent/1 2:queued/0 3:queued/0")
	run(t0.Add(50*time.Second), nil, []uint64{2, 3}, "1:sent/1 2:queued/0 3:queued/0") // same minute
	run(t0.Add(90*time.Second), []uint64{2}, []uint64{3}, "1:sent/1 2:sent/1 3:queued/0")
	run(t0.Add(150*time.Second), []uint64{3}, nil, "1:sent/1 2:sent/1 3:sent/1")
	if len(ch.sent) != 3 {
		t.Errorf("%d requests, want 3", len(ch.sent))
	}
}

// An incident's message with more members than a minute allows goes in a
// minute nothing else went in, rather than never (and holding back every
// message after it).
func TestDeliverIncidentOverRateLimit(t *testing.T) {
	w := &outbox{}
	w.add(9, "ops", "", t0.Add(-time.Minute)) // an older single notice
	for fp := uint64(1); fp <= 3; fp++ {
		w.add(fp, "ops", "inc", t0)
	}
	w.add(4, "ops", "", t0)
	ch := &fakeChannel{}
	o := notify.Options{Senders: map[string]notify.Notifier{"ops": ch}, MaxPerMinute: 2}
	// 10:00:30: the single notice uses one of the two; the incident (3)
	// waits, and so does the notice after it.
	if _, err := notify.Deliver(context.Background(), w, deliverConfig(), t0.Add(30*time.Second), o); err != nil {
		t.Fatal(err)
	}
	if got, want := w.statuses(), "1:sent/1 2:queued/0 3:queued/0 4:queued/0 5:queued/0"; got != want {
		t.Errorf("10:00:30: outbox %s, want %s", got, want)
	}
	// 10:01:30: nothing sent in this minute yet: the incident goes, as one
	// message; the minute is then used up.
	if _, err := notify.Deliver(context.Background(), w, deliverConfig(), t0.Add(90*time.Second), o); err != nil {
		t.Fatal(err)
	}
	if got, want := w.statuses(), "1:sent/1 2:sent/1 3:sent/1 4:sent/1 5:queued/0"; got != want {
		t.Errorf("10:01:30: outbox %s, want %s", got, want)
	}
	if _, err := notify.Deliver(context.Background(), w, deliverConfig(), t0.Add(150*time.Second), o); err != nil {
		t.Fatal(err)
	}
	if got, want := w.statuses(), "1:sent/1 2:sent/1 3:sent/1 4:sent/1 5:sent/1"; got != want {
		t.Errorf("10:02:30: outbox %s, want %s", got, want)
	}
	want := [][]string{{state.FormatFingerprint(9)},
		{state.FormatFingerprint(1), state.FormatFingerprint(2), state.FormatFingerprint(3)}, {state.FormatFingerprint(4)}}
	if fmt.Sprint(ch.sent) != fmt.Sprint(want) {
		t.Errorf("requests %v, want %v", ch.sent, want)
	}
}

// A transient failure stays queued (tries counted across runs) and is
// sent by a later run; a rejection fails for good; a channel without a
// sender fails with the reason; a notice found sending is marked unknown
// and never resent; one unsent for RetryFor is given up.
func TestDeliverOutcomes(t *testing.T) {
	w := &outbox{}
	w.add(1, "ops", "", t0) // 503, 503 then 200 next run
	w.add(2, "ops", "", t0) // 400
	w.add(3, "mail", "", t0)
	w.add(4, "ops", "", t0)
	w.notices[3].Status = state.Sending
	w.add(5, "ops", "", t0.Add(-notify.RetryFor-time.Second))
	ch := &fakeChannel{script: [][]int{{503, 503}, {400}}}
	o := notify.Options{Senders: map[string]notify.Notifier{"ops": ch}}
	out, err := notify.Deliver(context.Background(), w, deliverConfig(), t0, o)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := w.statuses(), "1:queued/2 2:failed/1 3:failed/0 4:unknown/1 5:failed/0"; got != want {
		t.Errorf("outbox %s, want %s", got, want)
	}
	if out.Interrupted != 1 || len(out.Errors) != 4 || len(out.Sent) != 0 {
		t.Errorf("interrupted %d, errors %v, sent %v; want 1, 4 errors, none", out.Interrupted, out.Errors, out.Sent)
	}
	if e := w.notices[2].LastError; !strings.Contains(e, `channel "mail": vigil cannot send through type email yet`) {
		t.Errorf("mail notice error %q", e)
	}
	if e := w.notices[4].LastError; !strings.HasPrefix(e, "gave up after 24h0m0s unsent") {
		t.Errorf("expired notice error %q", e)
	}
	var tries []string
	for _, a := range w.attempts {
		tries = append(tries, fmt.Sprintf("%d:%d:%s:%d", a.Notice, a.Try, a.Result, a.Status))
	}
	// The notices given up without a request (3: no sender, 5: expired)
	// are recorded while the run plans, before any request goes out.
	if got, want := strings.Join(tries, " "), "4:1:unknown:0 3:0:error:0 5:0:error:0 1:1:error:503 1:2:error:503 2:1:error:400"; got != want {
		t.Errorf("attempts %s, want %s", got, want)
	}

	out, err = notify.Deliver(context.Background(), w, deliverConfig(), t0.Add(time.Minute), o)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := w.statuses(), "1:sent/3 2:failed/1 3:failed/0 4:unknown/1 5:failed/0"; got != want {
		t.Errorf("next run: outbox %s, want %s", got, want)
	}
	if out.Interrupted != 0 || len(out.Errors) != 0 || len(out.Sent[1]) != 1 {
		t.Errorf("next run: interrupted %d, errors %v, sent %v", out.Interrupted, out.Errors, out.Sent)
	}
	if len(ch.sent) != 3 { // 1, 2, then 1 again; never 4
		t.Errorf("requests %v, want 3", ch.sent)
	}
	if last := w.attempts[len(w.attempts)-1]; last.Notice != 1 || last.Try != 3 || last.Result != "ok" {
		t.Errorf("last attempt %+v, want notice 1 try 3 ok", last)
	}
}

// BeforeSend runs after the message's notices are marked sending and
// saved, so a run killed there leaves them sending. Channels send from
// goroutines of their own, so the "kill" ends that goroutine (Goexit)
// rather than panicking through Deliver.
func TestDeliverBeforeSend(t *testing.T) {
	w := &outbox{}
	w.add(1, "ops", "", t0)
	ch := &fakeChannel{}
	o := notify.Options{Senders: map[string]notify.Notifier{"ops": ch}, BeforeSend: func() {
		if w.notices[0].Status != state.Sending || w.saves == 0 {
			t.Errorf("before send: status %s after %d saves", w.notices[0].Status, w.saves)
		}
		runtime.Goexit()
	}}
	notify.Deliver(context.Background(), w, deliverConfig(), t0, o) //nolint:errcheck // killed
	if w.notices[0].Status != state.Sending {
		t.Errorf("status %s, want sending", w.notices[0].Status)
	}
	if len(ch.sent) != 0 {
		t.Errorf("requests %v, want none", ch.sent)
	}
}

// A notice failing transiently waits as long again as it has been failing
// (at least a minute, at most 30) before a later run retries it.
func TestDeliverBackoffAcrossRuns(t *testing.T) {
	t0 := time.Date(2026, 11, 29, 10, 0, 0, 0, time.UTC)
	w := &outbox{}
	w.add(1, "ops", "", t0)
	ch := &fakeChannel{script: [][]int{{500}, {500}, {200}}}
	o := notify.Options{Senders: map[string]notify.Notifier{"ops": ch}}
	run := func(at time.Time) notify.Outcome {
		t.Helper()
		out, err := notify.Deliver(context.Background(), w, deliverConfig(), at, o)
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	run(t0.Add(5 * time.Minute)) // fails after 5m of age: next at +10m
	if got := w.notices[0].Next; !got.Equal(t0.Add(10 * time.Minute)) {
		t.Fatalf("next %v, want 10:10", got)
	}
	if out := run(t0.Add(9 * time.Minute)); len(out.Waiting[1]) != 1 || len(ch.sent) != 1 {
		t.Fatalf("before its time: waiting %v, calls %d; want waiting, 1 call", out.Waiting, len(ch.sent))
	}
	run(t0.Add(10 * time.Minute)) // fails again after 10m: next at +20m
	if got := w.notices[0].Next; !got.Equal(t0.Add(20 * time.Minute)) {
		t.Fatalf("next %v, want 10:20", got)
	}
	if out := run(t0.Add(20 * time.Minute)); len(out.Sent[1]) != 1 {
		t.Fatalf("third try: %+v", out)
	}
}

// Issue 23: per alert and channel only the latest queued notice is sent;
// an older one is superseded (never sent, history says by what), so the
// receiver's last word is the current one whatever the backoff or the
// rate limit held back.
//
//	t0      1 (alert 1 firing -> ops) fails (500): waits until t0+1m
//	        2 (alert 2 firing -> ops) sent
//	t0+30s  the alert resolved: 3 (alert 1 resolved -> ops) and 4 (alert
//	        1 resolved -> mail) are recorded; 1 is superseded by 3, 3 and 4
//	        are sent (mail is another channel: 4 supersedes nothing)
//	t0+90s  nothing left: 1 is never sent after 3
//
// ops receives firing(1, refused), firing(2), resolved(1).
func TestDeliverSupersedes(t *testing.T) {
	w := &outbox{}
	w.add(1, "ops", "", t0)
	w.add(2, "ops", "", t0)
	ops, mail := &fakeChannel{script: [][]int{{500}}}, &fakeChannel{}
	o := notify.Options{Senders: map[string]notify.Notifier{"ops": ops, "mail": mail}}
	run := func(at time.Time, want string) {
		t.Helper()
		if _, err := notify.Deliver(context.Background(), w, deliverConfig(), at, o); err != nil {
			t.Fatal(err)
		}
		if got := w.statuses(); got != want {
			t.Errorf("at %v: outbox %s, want %s", at, got, want)
		}
	}
	run(t0, "1:queued/1 2:sent/1")
	w.add(1, "ops", "", t0.Add(30*time.Second))
	w.add(1, "mail", "", t0.Add(30*time.Second))
	w.notices[2].Kind, w.notices[3].Kind = "resolved", "resolved"
	run(t0.Add(30*time.Second), "1:superseded/1 2:sent/1 3:sent/1 4:sent/1")
	run(t0.Add(90*time.Second), "1:superseded/1 2:sent/1 3:sent/1 4:sent/1")
	if got, want := fmt.Sprint(ops.sent, ops.kinds), "[[0000000000000001] [0000000000000002] [0000000000000001]] [firing firing resolved]"; got != want {
		t.Errorf("ops got %s, want %s", got, want)
	}
	if got, want := fmt.Sprint(mail.sent, mail.kinds), "[[0000000000000001]] [resolved]"; got != want {
		t.Errorf("mail got %s, want %s", got, want)
	}
	a := w.attempts[len(w.attempts)-3] // at t0+30s: 1 superseded, then 3 and 4 sent
	if a.Notice != 1 || a.Result != state.Superseded || a.Try != 0 || a.Error != "by the resolved notice of 2026-11-29T10:00:30Z" {
		t.Errorf("history of 1: %+v, want superseded by the resolved notice of 10:00:30", a)
	}
}

// A notice the rate limit held back is superseded by a later one about
// the same alert and channel: the next minute sends the later one only.
//
//	t0+30s  1 (alert 1 firing) sent, 2 (alert 2 firing) held (1 a minute)
//	t0+70s  3 (alert 2 resolved) recorded
//	t0+90s  a new minute: 2 superseded by 3; 3 sent
func TestDeliverSupersedesHeld(t *testing.T) {
	w := &outbox{}
	w.add(1, "ops", "", t0)
	w.add(2, "ops", "", t0)
	ch := &fakeChannel{}
	o := notify.Options{Senders: map[string]notify.Notifier{"ops": ch}, MaxPerMinute: 1}
	if _, err := notify.Deliver(context.Background(), w, deliverConfig(), t0.Add(30*time.Second), o); err != nil {
		t.Fatal(err)
	}
	w.add(2, "ops", "", t0.Add(70*time.Second))
	w.notices[2].Kind = "resolved"
	if _, err := notify.Deliver(context.Background(), w, deliverConfig(), t0.Add(90*time.Second), o); err != nil {
		t.Fatal(err)
	}
	if got, want := w.statuses(), "1:sent/1 2:superseded/0 3:sent/1"; got != want {
		t.Errorf("outbox %s, want %s", got, want)
	}
	if got, want := fmt.Sprint(ch.kinds), "[firing resolved]"; got != want {
		t.Errorf("ops got %s, want %s", got, want)
	}
}

// Channels send at the same time, but the rate limit is decided in queue
// order before any request: with a cap of 3, notices 1 (ops), 2 (mail)
// and 3 (ops) go, 4 (mail) and 5 (ops) wait, however fast each channel is.
func TestDeliverRateLimitAcrossChannels(t *testing.T) {
	w := &outbox{}
	for fp, ch := range []string{"ops", "mail", "ops", "mail", "ops"} {
		w.add(uint64(fp+1), ch, "", t0)
	}
	ops, mail := &fakeChannel{}, &fakeChannel{}
	o := notify.Options{Senders: map[string]notify.Notifier{"ops": ops, "mail": mail}, MaxPerMinute: 3}
	out, err := notify.Deliver(context.Background(), w, deliverConfig(), t0, o)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := w.statuses(), "1:sent/1 2:sent/1 3:sent/1 4:queued/0 5:queued/0"; got != want {
		t.Errorf("outbox %s, want %s", got, want)
	}
	if len(out.Held[4]) != 1 || len(out.Held[5]) != 1 || len(ops.sent) != 2 || len(mail.sent) != 1 {
		t.Errorf("held %v, ops %v, mail %v", out.Held, ops.sent, mail.sent)
	}
}

// A run past its deadline tries nothing more: every due notice stays
// queued, untried, with a history row that says why.
func TestDeliverPastDeadline(t *testing.T) {
	w := &outbox{}
	w.add(1, "ops", "", t0)
	w.add(2, "mail", "", t0)
	ops, mail := &fakeChannel{}, &fakeChannel{}
	ctx, cancel := context.WithCancelCause(context.Background())
	cancel(notify.ErrRunDeadline)
	o := notify.Options{Senders: map[string]notify.Notifier{"ops": ops, "mail": mail}}
	out, err := notify.Deliver(ctx, w, deliverConfig(), t0, o)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := w.statuses(), "1:queued/0 2:queued/0"; got != want {
		t.Errorf("outbox %s, want %s", got, want)
	}
	if len(ops.sent)+len(mail.sent) != 0 || len(out.Deferred) != 2 || out.Stopped != notify.ErrRunDeadline {
		t.Errorf("requests %v %v, deferred %v, stopped %v", ops.sent, mail.sent, out.Deferred, out.Stopped)
	}
	for _, a := range w.attempts {
		if a.Result != "deferred" || !strings.HasPrefix(a.Error, "run deadline") {
			t.Errorf("attempt %+v, want deferred: run deadline ...", a)
		}
	}
}

// A notice's key does not change with its tries, status or errors (every
// retry carries the same key) and differs for another notice: another
// alert, channel, kind, or decision instant.
func TestKey(t *testing.T) {
	w := &outbox{}
	w.add(1, "ops", "", t0)
	n := w.notices[0]
	k := notify.Key([]state.Notice{n})
	if len(k) != 32 {
		t.Fatalf("key %q: want 32 hex digits", k)
	}
	retried := n
	retried.Tries, retried.Status, retried.LastError, retried.Next = 3, state.Queued, "503", t0.Add(time.Minute)
	if got := notify.Key([]state.Notice{retried}); got != k {
		t.Errorf("retried notice: key %s, want %s", got, k)
	}
	other := func(f func(*state.Notice)) string { m := n; f(&m); return notify.Key([]state.Notice{m}) }
	for name, got := range map[string]string{
		"alert":   other(func(m *state.Notice) { m.Fingerprint = 2 }),
		"channel": other(func(m *state.Notice) { m.Channel = "mail" }),
		"kind":    other(func(m *state.Notice) { m.Kind = "resolved" }),
		"created": other(func(m *state.Notice) { m.Created = t0.Add(time.Minute) }),
		"row":     other(func(m *state.Notice) { m.ID = 2 }),
	} {
		if got == k {
			t.Errorf("another %s: same key %s", name, k)
		}
	}
}

// A refresh goes out as a firing notification (what Alertmanager reads)
// flagged Refresh, so a recorder (replay) can leave it out of the
// notifications it counts; a firing notice is not flagged.
func TestDeliverFlagsRefresh(t *testing.T) {
	w := &outbox{}
	w.add(1, "ops", "", t0)
	w.add(2, "ops", "", t0)
	w.notices[1].Kind = notify.Refresh
	var got []notify.Notification
	rec := notifierFunc(func(n notify.Notification) { got = append(got, n) })
	if _, err := notify.Deliver(context.Background(), w, deliverConfig(), t0, notify.Options{Senders: map[string]notify.Notifier{"ops": rec}}); err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].Kind != "firing" || got[0].Refresh || got[1].Kind != "firing" || !got[1].Refresh {
		t.Fatalf("notifications %+v, want a firing one then a refresh sent as firing", got)
	}
}

type notifierFunc func(n notify.Notification)

func (f notifierFunc) Notify(_ context.Context, n notify.Notification) (bool, error) {
	f(n)
	return false, nil
}
