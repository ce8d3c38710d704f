package state

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand"
	"path/filepath"
	"reflect"
	"testing"
	"time"
)

// A memory DB's outbox, incidents and last runs are Go structures
// (memoutbox.go); every read a run makes must answer exactly as a file
// DB's tables do after the same writes. Random runs of writes (notices
// enqueued, statuses of queued and sending ones set, retries, incidents
// opened, closed and reopened, last runs, prunes, saves mid-run) are made
// on both, some committed and some rolled back, and every read is
// compared after every write: the same but for a finished notice's body,
// which a memory DB does not keep, nor lets change.
func TestMemoryOutboxAsFile(t *testing.T) {
	ctx := context.Background()
	file, err := Open(ctx, filepath.Join(t.TempDir(), "s.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer file.Close()
	mem, err := OpenMemory(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer mem.Close()

	rng := rand.New(rand.NewSource(27))
	at := oT0
	compared, pruned, enqueued := 0, 0, 0
	// What delivery changes: a queued or sending notice (ids: those of
	// the file DB, read before each change).
	var ids []int64
	ops := outboxOps(rng, &ids)

	for run := range 120 {
		at = at.Add(time.Duration(1+rng.Intn(3)) * time.Minute)
		rf, err := file.Begin(ctx, "test", time.Second)
		if err != nil {
			t.Fatal(err)
		}
		rm, err := mem.Begin(ctx, "test", 0)
		if err != nil {
			t.Fatal(err)
		}
		for range 1 + rng.Intn(12) {
			k := rng.Intn(len(ops))
			o := ops[k]
			active, _ := rf.Notices(Queued, Sending)
			ids = ids[:0]
			for _, n := range active {
				ids = append(ids, n.ID)
			}
			state := rng.Int63()
			rng.Seed(state)
			what, ferr := o(rf, at)
			rng.Seed(state)
			_, merr := o(rm, at)
			rng.Seed(state + 1)
			if (ferr == nil) != (merr == nil) {
				t.Fatalf("run %d, %s: file %v, memory %v", run, what, ferr, merr)
			}
			if k < 3 && ferr == nil {
				enqueued++
			}
			compareReads(t, fmt.Sprintf("run %d, after %s", run, what), rf, rm, at)
			compared++
		}
		if rng.Intn(4) == 0 {
			rf.Rollback()
			rm.Rollback()
		} else {
			if err := rf.Commit(); err != nil {
				t.Fatal(err)
			}
			if err := rm.Commit(); err != nil {
				t.Fatal(err)
			}
		}
		if t.Failed() {
			return
		}
		rf, _ = file.Begin(ctx, "test", time.Second)
		rm, _ = mem.Begin(ctx, "test", 0)
		compareReads(t, fmt.Sprintf("after run %d", run), rf, rm, at)
		n, _ := rf.Notices(oStatuses...)
		pruned = max(pruned, enqueued-len(n))
		// A finished notice is final on a memory DB.
		for _, x := range n {
			if isFinal(x.Status) {
				var fe *FinishedError
				if err := rm.SetStatus(x.ID, Queued, 0, "", at); !errors.As(err, &fe) {
					t.Fatalf("memory DB set finished notice %d (%s) queued: %v, want a FinishedError", x.ID, x.Status, err)
				}
				break
			}
		}
		rf.Rollback()
		rm.Rollback()
	}
	if compared < 300 || pruned == 0 {
		t.Errorf("%d comparisons, %d notices pruned: the test proves little", compared, pruned)
	}
}

// finishedInMemory is a finished notice as a memory DB reads it back:
// what no run reads of it (its rule, step, recipients, tries, last error,
// next time and body) is not kept. Set by hand, field by field, from what
// memState's comment promises.
func finishedInMemory(n Notice) Notice {
	n.Rule, n.Step, n.Recipients, n.Tries, n.LastError, n.Next, n.Alert = "", 0, []string{}, 0, "", time.Time{}, json.RawMessage{}
	return n
}

// compareReads compares every read of the outbox, the incidents and the
// last runs.
func compareReads(t *testing.T, when string, f, m *Run, at time.Time) {
	fps, chans, incs, episodes := oFps, oChans, oIncs, oEpisodes
	t.Helper()
	check := func(what string, a, b any) {
		t.Helper()
		if !reflect.DeepEqual(a, b) {
			t.Fatalf("%s: %s:\nfile   %#v\nmemory %#v", when, what, a, b)
		}
	}
	all := []string{Queued, Sending, Sent, Failed, Unknown, Superseded}
	for _, sts := range [][]string{{Queued}, {Sending}, {Queued, Sending}, all, {Sent, Unknown}} {
		fn, ferr := f.Notices(sts...)
		mn, merr := m.Notices(sts...)
		for i := range fn {
			if isFinal(fn[i].Status) {
				fn[i] = finishedInMemory(fn[i])
			}
		}
		check(fmt.Sprint("notices ", sts), fmt.Sprint(fn, ferr), fmt.Sprint(mn, merr))
		check(fmt.Sprint("notices ", sts, " (deep)"), fn, mn)
	}
	for _, fp := range fps {
		for _, c := range chans {
			fk, fc, ferr := f.LastWord(fp, c)
			mk, mc, merr := m.LastWord(fp, c)
			check(fmt.Sprintf("last word %x %s", fp, c), []any{fk, fc, ferr}, []any{mk, mc, merr})
			fp1, ferr := f.Pending(fp, c)
			mp1, merr := m.Pending(fp, c)
			check(fmt.Sprintf("pending %x %s", fp, c), []any{fp1, ferr}, []any{mp1, merr})
		}
		for _, ep := range episodes {
			fc, ferr := f.EpisodeChannels(fp, ep)
			mc, merr := m.EpisodeChannels(fp, ep)
			check(fmt.Sprintf("episode channels %x %s", fp, ep), []any{fc, ferr}, []any{mc, merr})
		}
	}
	for _, inc := range incs {
		fc, ferr := f.IncidentChannels(inc)
		mc, merr := m.IncidentChannels(inc)
		check("incident channels "+inc, []any{fc, ferr}, []any{mc, merr})
	}
	for _, gv := range []string{"api", "web"} {
		fi, fok, ferr := f.OpenIncident("burst", gv)
		mi, mok, merr := m.OpenIncident("burst", gv)
		check("open incident "+gv, []any{fi, fok, ferr}, []any{mi, mok, merr})
	}
	fi, ferr := f.Incidents()
	mi, merr := m.Incidents()
	check("incidents", []any{fi, ferr}, []any{mi, merr})
	for back := range 6 {
		from := at.Add(-time.Duration(back) * 3 * time.Minute)
		fs, ferr := f.SentBetween(from, from.Add(3*time.Minute))
		ms, merr := m.SentBetween(from, from.Add(3*time.Minute))
		check("sent between "+from.Format(time.TimeOnly), []any{fs, ferr}, []any{ms, merr})
	}
	for _, src := range []string{"evaluate", "budget"} {
		fl, ferr := f.LastRun(src)
		ml, merr := m.LastRun(src)
		check("last run "+src, []any{fl, ferr}, []any{ml, merr})
	}
}

// The values the random runs draw from.
var (
	oFps      = []uint64{0x1111, 0x2222, 0x3333}
	oChans    = []string{"ops", "pager", "am"}
	oIncs     = []string{"", "burst/api/1", "burst/web/1"}
	oStatuses = []string{Queued, Sending, Sent, Failed, Unknown, Superseded}
	oT0       = time.Date(2026, 11, 29, 10, 0, 0, 0, time.UTC)
	oEpisodes = []time.Time{oT0, oT0.Add(7 * time.Minute), oT0.Add(31*time.Minute + 500*time.Microsecond)}
)

// outboxOp is one random write; it says what it did.
type outboxOp func(r *Run, at time.Time) (string, error)

// outboxOps are the writes: three enqueues, three status changes (of
// the notices in *ids), a retry, an incident, a last run, a prune and a
// save in eleven.
func outboxOps(rng *rand.Rand, ids *[]int64) []outboxOp {
	kinds := []string{"firing", "resolved", "refresh"}
	enqueue := func(r *Run, at time.Time) (string, error) {
		n := Notice{Fingerprint: oFps[rng.Intn(3)], Rule: "r", Channel: oChans[rng.Intn(3)], Kind: kinds[rng.Intn(3)],
			Step: rng.Intn(3) - 1, Incident: oIncs[rng.Intn(3)], Episode: oEpisodes[rng.Intn(3)], Alert: []byte(`{"v":1}`),
			Created: at.Add(123 * time.Microsecond)}
		if rng.Intn(2) == 0 {
			n.Recipients = []string{"a@x"}
		}
		err := r.Enqueue(&n)
		return fmt.Sprintf("enqueue %+v", n), err
	}
	setStatus := func(r *Run, at time.Time) (string, error) {
		if len(*ids) == 0 {
			return "no id", nil
		}
		id, st := (*ids)[rng.Intn(len(*ids))], oStatuses[rng.Intn(len(oStatuses))]
		return fmt.Sprintf("set %d %s", id, st), r.SetStatus(id, st, rng.Intn(3), "e", at)
	}
	retry := func(r *Run, at time.Time) (string, error) {
		if len(*ids) == 0 {
			return "no id", nil
		}
		id := (*ids)[rng.Intn(len(*ids))]
		return fmt.Sprintf("retry %d", id), r.RetryAt(id, 2, "later", at.Add(time.Minute))
	}
	incident := func(r *Run, at time.Time) (string, error) {
		inc := Incident{ID: oIncs[1+rng.Intn(2)], Correlation: "burst", Opened: at}
		inc.GroupValue = inc.ID[6:9]
		if rng.Intn(3) > 0 {
			inc.Closed = at
		}
		return fmt.Sprintf("incident %+v", inc), r.PutIncident(inc)
	}
	lastRun := func(r *Run, at time.Time) (string, error) {
		return "last run", r.SetLastRun([]string{"evaluate", "budget"}[rng.Intn(2)], at.Add(-time.Duration(rng.Intn(3))*time.Minute))
	}
	prune := func(r *Run, at time.Time) (string, error) {
		before := at.Add(-time.Duration(rng.Intn(40)) * time.Minute)
		_, err := r.PruneHistory(before)
		return "prune before " + before.Format(time.TimeOnly), err
	}
	save := func(r *Run, at time.Time) (string, error) { return "save", r.Save() }
	return []outboxOp{enqueue, enqueue, enqueue, setStatus, setStatus, setStatus, retry, incident, lastRun, prune, save}
}
