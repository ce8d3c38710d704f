package replay

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sync"
	"time"

	"github.com/vigil-metrics/vigil/alert/config"
	"github.com/vigil-metrics/vigil/alert/eval"
	"github.com/vigil-metrics/vigil/analyze"
	"github.com/vigil-metrics/vigil/analyze/slo"
	"github.com/vigil-metrics/vigil/internal/metricpath"
)

// DefaultChunkBytes is the memory a Tables may hold in cells (16 bytes a
// group a step a table) when TablesOptions.ChunkBytes is 0. A chunk's
// read holds about 1.5 times its cells while it is made, and read-ahead
// holds the next one: 32 MiB keeps the tables of a month's replay of 200
// rules over 2,551 groups near 100 MB, at about 800 steps a chunk there
// (issue 27's 1 GiB in all).
const DefaultChunkBytes = 32 << 20

// minChunkSteps is the fewest steps a chunk holds however many groups the
// tables have (half a day at 1m): each chunk re-reads its longest window
// before its first step, so a short chunk reads the data many times over
// (an hour's window: a twelfth more at 720 steps).
const minChunkSteps = 720

// maxChunkSteps is the most steps a chunk holds (three days at 1m): a
// chunk's read holds every series' values over it (analyze.DB.SlidingMany,
// about 40 bytes a series a step, whatever the groups), and in one read
// only up to 16M series-steps; a longer chunk saves little, its overlap
// already a few percent of it.
const maxChunkSteps = 4320

// TablesOptions tune NewTables.
type TablesOptions struct {
	// ChunkBytes bounds the cells held at once: a chunk holds
	// K = clamp(ChunkBytes / (16 x groups), 720, min(n, 4320)) steps, the groups
	// counted over every table of the first chunk (0: DefaultChunkBytes).
	ChunkBytes int64
	// ChunkSteps, when positive, is K itself (tests force small chunks).
	ChunkSteps int
	// ReadAhead reads the chunk after the one held on another goroutine
	// while the caller steps through this one, so that the reads (DuckDB,
	// a fifth of a replay) overlap the pipeline's work on a second core.
	// It holds up to two chunks' cells at once; the caller must Close the
	// tables before it closes the DB.
	ReadAhead bool
}

// Tables answers the queries of a replay's rules at each step of its
// grid, From+Step, From+2*Step, ... From+N*Step, from sliding windows read
// a chunk of steps at a time (analyze.DB.Sliding: one read per table per
// chunk) instead of one store query per rule per step. It is an
// eval.Querier and an slo.Querier. A chunk's cells are dropped when a
// query moves to another chunk, so a replay that steps forward holds one
// chunk at a time. A query it does not hold (a window not listed, an
// instant off the grid) is asked of the DB and counted (Fallbacks).
//
// Values are Sliding's: count, count_le, min, max, last and percentiles
// are Eval's to the bit; sum, increase, rate and avg within about 1e-15
// relative (a value that close to a threshold may compare otherwise than
// evaluate's); stddev within about 1e-12. One goroutine at a time (the
// read ahead is the tables' own).
type Tables struct {
	db     *analyze.DB
	dbMu   sync.Mutex // the DB is one goroutine's at a time: the read ahead's, or the caller's
	ahead  *readAhead // the next chunk, being read (ReadAhead)
	from   time.Time
	step   time.Duration
	n      int
	opt    TablesOptions
	specs  []*table                    // one per distinct (expr, length, offset)
	byExpr map[string][]*table         // by expr string
	byPtr  map[*metricpath.Expr]string // expr strings already made
	k0, k  int                         // steps of the first chunk, of the others
	chunk  int                         // the chunk held; -1: none
	lo, hi int                         // its steps
	cells  int64
	falls  int
	reads  int
}

// A replay's rules and its budget evaluator both ask the tables.
var (
	_ eval.Querier = (*Tables)(nil)
	_ slo.Querier  = (*Tables)(nil)
)

// table is one window of one path at one offset from the step, over the
// chunk held.
type table struct {
	q      eval.Query
	series []analyze.BucketSeries
	err    error // the read's error: the query's answer at every step of the chunk
	first  int   // the chunk's first step
}

// RuleQueries lists the queries of every rule (eval.Queries), for
// NewTables. A rule whose path does not parse has none: its evaluation
// fails at every step, as a rule error, without asking anything.
func RuleQueries(rules []config.Rule) []eval.Query {
	var qs []eval.Query
	for i := range rules {
		q, err := eval.Queries(&rules[i])
		if err == nil {
			qs = append(qs, q...)
		}
	}
	return qs
}

// NewTables prepares the tables of qs (the rules' eval.Queries, and any
// other window a caller asks, offset 0) over the n steps
// from+step ... from+n*step. Queries of one expression string, length and
// offset share a table, whichever rule or config listed them. It reads
// nothing yet: the first query reads its chunk.
func NewTables(db *analyze.DB, qs []eval.Query, from time.Time, step time.Duration, n int, o TablesOptions) (*Tables, error) {
	if step <= 0 || step%time.Millisecond != 0 {
		return nil, fmt.Errorf("step %s: want a positive whole number of milliseconds", step)
	}
	if n <= 0 {
		return nil, fmt.Errorf("%d steps: want one or more", n)
	}
	if o.ChunkBytes <= 0 {
		o.ChunkBytes = DefaultChunkBytes
	}
	t := &Tables{db: db, from: from, step: step, n: n, opt: o, byExpr: map[string][]*table{},
		byPtr: map[*metricpath.Expr]string{}, chunk: -1}
	seen := map[string]bool{}
	for _, q := range qs {
		if q.Expr == nil || q.Length <= 0 || q.Length%time.Millisecond != 0 || q.Offset%time.Millisecond != 0 {
			continue // never on the grid: asked of the DB, as it always was
		}
		s := t.exprString(q.Expr)
		key := fmt.Sprintf("%s\xff%d\xff%d", s, q.Length, q.Offset)
		if seen[key] {
			continue
		}
		seen[key] = true
		tb := &table{q: q}
		t.specs = append(t.specs, tb)
		t.byExpr[s] = append(t.byExpr[s], tb)
	}
	t.k0 = min(minChunkSteps, n)
	if o.ChunkSteps > 0 {
		t.k0 = min(o.ChunkSteps, n)
	}
	t.k = t.k0
	return t, nil
}

// exprString is e.String(), memoised by pointer: the queries' own Exprs
// are asked at every step. eval makes a group_by rule's Expr afresh at
// each evaluation, so the memo is cleared when it outgrows the tables,
// or it would keep one entry per rule per step.
func (t *Tables) exprString(e *metricpath.Expr) string {
	s, ok := t.byPtr[e]
	if !ok {
		s = e.String()
		if len(t.byPtr) >= t.maxMemo() {
			clear(t.byPtr)
		}
		t.byPtr[e] = s
	}
	return s
}

func (t *Tables) maxMemo() int { return 4*len(t.specs) + 64 }

// Fallbacks counts the queries the tables did not hold, asked of the DB.
func (t *Tables) Fallbacks() int { return t.falls }

// Reads counts the Sliding reads made (one per table per chunk).
func (t *Tables) Reads() int { return t.reads }

// LiveCells is the number of cells (one group's value at one step of one
// table) held now: those of the chunk last read.
func (t *Tables) LiveCells() int64 { return t.cells }

// ChunkSteps is K, the steps of every chunk after the first (the first's
// until the first chunk has been read).
func (t *Tables) ChunkSteps() int { return t.k }

// chunkOf is the chunk holding step j, and its steps [lo, hi).
func (t *Tables) chunkOf(j int) (c, lo, hi int) {
	if j < t.k0 {
		return 0, 0, t.k0
	}
	c = 1 + (j-t.k0)/t.k
	lo = t.k0 + (c-1)*t.k
	return c, lo, min(lo+t.k, t.n)
}

// stepOf is the step whose instant minus offset is at, if one is.
func (t *Tables) stepOf(at time.Time, offset time.Duration) (int, bool) {
	d := at.Sub(t.from) + offset
	if d%t.step != 0 {
		return 0, false
	}
	j := int(d/t.step) - 1
	return j, j >= 0 && j < t.n
}

// Eval answers e over w from the table of e's expression, w's length and
// an offset at which w.At is on the grid, reading that step's chunk when
// it is not held; otherwise from the DB, counted.
//
// Tables of one expression and length at two offsets (a spike's reference
// window as long as its window) both hold w, at two steps: the one in the
// chunk held answers, else the nearest step after it (a replay steps
// forward), else the nearest before, so that a step's queries never send
// the tables back and forth between two chunks.
func (t *Tables) Eval(ctx context.Context, e *metricpath.Expr, w analyze.Window) ([]analyze.Result, error) {
	tb, i, err := t.table(ctx, e, w)
	if errors.Is(err, errFallback) {
		t.falls++
		t.dbMu.Lock()
		defer t.dbMu.Unlock()
		return t.db.Eval(ctx, e, w)
	}
	if err != nil {
		return nil, err
	}
	return tb.results(i), nil
}

// table is the table that answers e over w, held, and w's index in it;
// errFallback when none does (the DB answers, counted as a fallback).
func (t *Tables) table(ctx context.Context, e *metricpath.Expr, w analyze.Window) (*table, int, error) {
	var best *table
	bestJ := 0
	lo, hi := t.lo, t.hi
	rank := func(j int) int { // 0 held, then forward by distance, then backward
		switch {
		case t.chunk >= 0 && j >= lo && j < hi:
			return 0
		case j >= hi:
			return 1 + j - hi
		}
		return 1 + t.n + lo - j
	}
	for _, tb := range t.byExpr[t.exprString(e)] {
		if tb.q.Length != w.Length {
			continue
		}
		j, ok := t.stepOf(w.At, tb.q.Offset)
		if ok && (best == nil || rank(j) < rank(bestJ)) {
			best, bestJ = tb, j
		}
	}
	if best == nil {
		return nil, 0, errFallback
	}
	if err := t.hold(ctx, bestJ); err != nil {
		return nil, 0, err
	}
	if best.err != nil {
		return nil, 0, best.err
	}
	return best, bestJ - best.first, nil
}

// errFallback says no table holds a window: the DB answers it.
var errFallback = errors.New("replay: no table holds the window")

// Quiet reports whether e over w has a result and none that breached
// says is breached: what Eval's results would say, without making them
// (the skipper asks it of every quiet rule at every step). ok is false
// when no table holds w.
func (t *Tables) Quiet(ctx context.Context, e *metricpath.Expr, w analyze.Window, breached func(float64) bool) (quiet, ok bool, err error) {
	tb, i, err := t.table(ctx, e, w)
	if errors.Is(err, errFallback) {
		return false, false, nil // the caller asks Eval, which counts it
	}
	if err != nil {
		return false, true, err
	}
	some := false
	for _, s := range tb.series {
		v, n := s.Values[i], s.Samples[i]
		if math.IsNaN(v) && n == 0 {
			continue // no result for the group in this window
		}
		if breached(v) {
			return false, true, nil
		}
		some = true
	}
	return some, true, nil
}

// Buckets is the DB's (SLO budgets read their own tumbling windows).
func (t *Tables) Buckets(ctx context.Context, e *metricpath.Expr, end time.Time, bucket time.Duration, n int) ([]analyze.BucketSeries, error) {
	t.dbMu.Lock()
	defer t.dbMu.Unlock()
	return t.db.Buckets(ctx, e, end, bucket, n)
}

func (tb *table) results(i int) []analyze.Result {
	out := make([]analyze.Result, 0, len(tb.series))
	for _, s := range tb.series {
		v, n := s.Values[i], s.Samples[i]
		if math.IsNaN(v) && n == 0 {
			continue // no result for the group in this window
		}
		out = append(out, analyze.Result{Labels: s.Labels, Value: v, Samples: n})
	}
	return out
}

// hold makes the chunk of step j the one held: the previous chunk's cells
// are dropped first, then every table's is read (or taken from the read
// ahead, when it read this chunk). After the first chunk, K is chosen
// from the groups it found.
func (t *Tables) hold(ctx context.Context, j int) error {
	c, lo, hi := t.chunkOf(j)
	if c == t.chunk {
		return nil
	}
	for _, tb := range t.specs {
		tb.series, tb.err = nil, nil
	}
	t.cells, t.chunk = 0, -1
	var res [][]analyze.BucketSeries
	var errs []error
	if a := t.ahead; a != nil {
		select {
		case <-a.done:
		case <-ctx.Done():
			// Cancelled while the next chunk is read: the read ahead
			// meets it too, and Close waits for it to stop.
			return ctx.Err()
		}
		t.ahead = nil
		a.cancel()
		if a.c == c {
			res, errs = a.res, a.errs
		}
	}
	if errs == nil {
		res, errs = t.read(ctx, lo, hi)
	}
	groups := int64(0)
	for i, tb := range t.specs {
		ss, err := res[i], errs[i]
		t.reads++
		if err != nil {
			if cerr := ctx.Err(); cerr != nil {
				return cerr
			}
			tb.err = err // that query's error at each step, as Eval would give it
		}
		tb.series, tb.first = ss, lo
		groups += int64(len(ss))
		t.cells += int64(len(ss)) * int64(hi-lo)
	}
	t.chunk, t.lo, t.hi = c, lo, hi
	if c == 0 && t.opt.ChunkSteps <= 0 {
		t.k = chunkSteps(t.opt.ChunkBytes, groups, t.n)
	}
	if t.opt.ReadAhead && hi < t.n {
		nc, nlo, nhi := t.chunkOf(hi)
		actx, cancel := context.WithCancel(ctx)
		a := &readAhead{c: nc, done: make(chan struct{}), cancel: cancel}
		t.ahead = a
		go func() {
			defer close(a.done)
			a.res, a.errs = t.read(actx, nlo, nhi)
		}()
	}
	return nil
}

// read is every table's cells over the steps [lo, hi): one call for every
// table, so each metric is read once for all of them.
func (t *Tables) read(ctx context.Context, lo, hi int) ([][]analyze.BucketSeries, []error) {
	end := t.from.Add(time.Duration(hi) * t.step) // step hi-1's instant
	qs := make([]analyze.SlideQuery, len(t.specs))
	for i, tb := range t.specs {
		qs[i] = analyze.SlideQuery{Expr: tb.q.Expr, End: end.Add(-tb.q.Offset), Window: tb.q.Length}
	}
	t.dbMu.Lock()
	defer t.dbMu.Unlock()
	return t.db.SlidingMany(ctx, qs, t.step, hi-lo)
}

// readAhead is a chunk being read on another goroutine: res and errs are
// set when done is closed.
type readAhead struct {
	c      int
	done   chan struct{}
	cancel context.CancelFunc // stops the read (Close)
	res    [][]analyze.BucketSeries
	errs   []error
}

// Close stops the read ahead, if one is under way, waits for it and drops
// it: the DB is the caller's again, and no goroutine of the tables is
// left. The read checks its context as it goes (analyze.DB.SlidingMany),
// so a replay stopped mid-chunk (SIGTERM, or a step's error) does not
// wait for a whole chunk to be read for nothing.
func (t *Tables) Close() {
	if a := t.ahead; a != nil {
		a.cancel()
		<-a.done
		t.ahead = nil
	}
}

// chunkSteps is K = clamp(budget / (16 x groups), 720, min(n,
// maxChunkSteps)); n where the first chunk found no group (nothing to
// hold, and nothing read).
func chunkSteps(budget, groups int64, n int) int {
	if groups <= 0 {
		return n
	}
	k := max(min(budget/(16*groups), maxChunkSteps), minChunkSteps)
	return int(min(k, int64(n)))
}
