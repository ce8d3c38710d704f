package collect

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"
)

type forwarded struct {
	mu  sync.Mutex
	got []string
}

func (f *forwarded) add(samples []Sample) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, s := range samples {
		f.got = append(f.got, fmt.Sprintf("%s %s %v %s %d %g", s.Name, s.Type, s.Labels, s.Service, s.TS, s.Value))
	}
}

func (f *forwarded) list() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.got)
}

// With a store, Forward gets the samples of each write after they are
// committed (they are in the store when it is called).
func TestForwardAfterCommit(t *testing.T) {
	f := &forwarded{}
	var r *Recorder
	var inStore []int
	r, _ = newRecorder(t, Options{Forward: func(s []Sample) {
		var n int
		r.storeNow().DBForTest().QueryRow("SELECT count(*) FROM samples").Scan(&n)
		inStore = append(inStore, n)
		f.add(s)
	}})
	r.Add(Sample{Name: "jobs_total", Type: TypeCounter, Labels: map[string]string{"q": "a"}, Service: "svc", TS: 1000, Value: 4})
	r.Add(Sample{Name: "temp", Type: TypeGauge, TS: 2000, Value: 21.5})
	if err := r.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := r.Flush(context.Background()); err != nil { // nothing new: no call
		t.Fatal(err)
	}
	want := []string{"jobs_total counter map[q:a] svc 1000 4", "temp gauge map[]  2000 21.5"}
	if got := f.list(); !slices.Equal(got, want) {
		t.Fatalf("forwarded %q, want %q", got, want)
	}
	if !slices.Equal(inStore, []int{2}) {
		t.Fatalf("rows in the store at each Forward: %v, want [2]", inStore)
	}
}

// Without a store (New(nil, ...)) flushes hand everything to Forward:
// handles (coalesced) and Add alike; Close and Stats work; nothing is
// written anywhere.
func TestForwardWithoutStore(t *testing.T) {
	f := &forwarded{}
	at := time.Date(2026, 11, 29, 10, 0, 0, 0, time.UTC)
	r := New(nil, Options{Forward: f.add, FlushInterval: -1, Now: func() time.Time { return at }})
	if r.Store() != nil {
		t.Fatal("a store")
	}
	c := r.Counter("hits_total", nil)
	c.Add(2)
	c.Add(3)
	if err := r.Add(Sample{Name: "temp", Type: TypeGauge, TS: 5, Value: 1}); err != nil {
		t.Fatal(err)
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	want := []string{"temp gauge map[]  5 1", fmt.Sprintf("hits_total counter map[]  %d 5", at.UnixMilli())}
	got := f.list()
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Fatalf("forwarded %q, want %q", got, want)
	}
	if st := r.Stats(); st.Written != 2 || st.Buffered != 0 {
		t.Fatalf("stats %+v", st)
	}
	defer func() {
		if recover() == nil {
			t.Error("New(nil) without Forward did not panic")
		}
	}()
	New(nil, Options{})
}
