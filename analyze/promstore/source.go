package promstore

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/vigil-metrics/vigil/analyze"
	"github.com/vigil-metrics/vigil/analyze/cache"
)

// Config is what a Source reads.
type Config struct {
	// Paths lists the store files; it is called again at each check, so
	// a glob picks up a store that appears later.
	Paths func() ([]string, error)
	// Open syncs and opens the stores (analyze.Open with the caller's
	// options).
	Open func(ctx context.Context, paths []string) (*analyze.DB, error)
	// Buckets are the bucket bounds served as NAME_bucket{le} per
	// histogram metric name (+Inf is added).
	Buckets map[string][]float64
	Logger  *slog.Logger
}

// Source is the stores as they were at the last sync. Before each read
// it checks whether a store file changed (its size and modification
// time, and its -wal's), and if so syncs the caches again (a new
// analyze.DB: the sync copies only the new rows). Safe for concurrent
// use: reads of the stores take turns (analyze.DB serves one goroutine).
type Source struct {
	cfg Config
	mu  sync.Mutex
	db  *analyze.DB
	fp  string
	cat *catalog
	// closed: Close was called; reads fail rather than open the stores again.
	closed bool
	// paths and storeIDs are the stores of the last sync (storeIDs nil
	// where a cache was rebuilt then).
	paths, storeIDs []string
	// warned are the clashes already logged (catalog.clashes).
	warned map[string]bool
	// Syncs counts the syncs done, for tests and logs.
	Syncs int
	// Reads counts the reads of samples from the stores (a query whose
	// points were all kept reads none), for tests and logs.
	Reads int
	// LastSync is how long the last sync took (open and list series).
	LastSync time.Duration
}

// NewSource syncs the stores once (an error here is the caller's to
// report at start) and returns the Source.
func NewSource(ctx context.Context, cfg Config) (*Source, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	s := &Source{cfg: cfg, warned: map[string]bool{}}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.refresh(ctx); err != nil {
		return nil, err
	}
	return s, nil
}

// Close releases the stores.
func (s *Source) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	if s.db == nil {
		return nil
	}
	err := s.db.Close()
	s.db = nil
	return err
}

// fingerprint is the paths with each file's and -wal's size,
// modification time, and identity (device and inode): any append changes
// it, and so does another file moved into place with the same size and
// time (a restore with cp -p or rsync -a). Not the change time, which
// moves on more than writes (it made a sync per query).
func fingerprint(paths []string) string {
	var b strings.Builder
	for _, p := range paths {
		b.WriteString(p)
		for _, f := range []string{p, p + "-wal"} {
			if fi, err := os.Stat(f); err == nil {
				b.WriteString("|" + strconv.FormatInt(fi.Size(), 10) + "|" + strconv.FormatInt(fi.ModTime().UnixNano(), 10))
				if st, ok := fi.Sys().(*syscall.Stat_t); ok {
					fmt.Fprintf(&b, "|%d:%d", st.Dev, st.Ino)
				}
			}
		}
		b.WriteByte('\n')
	}
	return b.String()
}

// refresh syncs again when the stores changed. Called with mu held.
func (s *Source) refresh(ctx context.Context) error {
	if s.closed {
		return errors.New("stores closed")
	}
	paths, err := s.cfg.Paths()
	if err != nil {
		return err
	}
	fp := fingerprint(paths)
	if s.db != nil && fp == s.fp {
		return nil
	}
	start := time.Now()
	// The old sync's DuckDB goes first: two DuckDB instances on one cache
	// file in one process corrupt it (seen: "Bitpacking offset is out of
	// range" while the new one synced).
	old := s.cat
	if s.db != nil {
		s.db.Close()
		s.db, s.cat = nil, nil
	}
	db, err := s.cfg.Open(ctx, paths)
	if err != nil {
		return err // the next read tries again
	}
	stored, err := db.AllSeries(ctx)
	if err != nil {
		db.Close()
		return err
	}
	s.db, s.fp, s.cat = db, fp, buildCatalog(stored, s.cfg.Buckets)
	// What the last sync kept holds where the same stores synced
	// incrementally (catalog.carry).
	ids := incremental(db.Syncs)
	if old != nil && ids != nil && slices.Equal(paths, s.paths) && slices.Equal(ids, s.storeIDs) {
		s.cat.carry(old)
	}
	s.paths, s.storeIDs = paths, ids
	for _, c := range s.cat.clashes {
		// Once per server: the stores grow and sync again and again.
		if k := c.served + "\xff" + c.left; !s.warned[k] {
			s.warned[k] = true
			s.cfg.Logger.Warn("two stored series would be served with one label set: one served, the other left out", "served", c.served, "left_out", c.left)
		}
	}
	s.Syncs++
	s.LastSync = time.Since(start)
	s.cfg.Logger.Debug("stores synced", "stores", len(paths), "series", len(s.cat.series), "took", s.LastSync)
	return nil
}

// incremental is each store's identity where every cache synced
// incrementally (none rebuilt: a rebuilt cache may differ anywhere), else
// nil.
func incremental(syncs []cache.Stats) []string {
	ids := make([]string, len(syncs))
	for i, st := range syncs {
		if st.Rebuilt || st.StoreID == "" {
			return nil
		}
		ids[i] = st.StoreID
	}
	return ids
}

// selected is the served series matching ms with a sample in
// [mint, maxt] (for running totals, one at or before maxt whose total
// reaches the range: any sample at or before maxt), and their points
// (shared with the kept points: read only).
type selected struct {
	series []vseries
	pts    []fpoints
}

// read selects series and, unless seriesOnly, reads their points: the
// kept ones where they cover [mint, maxt], those of series that grew
// since they were kept extended with the new samples (extend), the
// others from the stores.
func (s *Source) read(ctx context.Context, mint, maxt int64, ms []matcherSet, seriesOnly bool) (*selected, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.refresh(ctx); err != nil {
		return nil, err
	}
	out := &selected{}
	var at []int // each selected series' index in the catalog
	for i := range s.cat.series {
		v := &s.cat.series[i]
		if v.hi < mint || v.lo > maxt || !anyMatches(v, ms) {
			continue
		}
		out.series, at = append(out.series, *v), append(at, i)
	}
	if seriesOnly || len(out.series) == 0 {
		return out, nil
	}
	out.pts = make([]fpoints, len(out.series))
	var grown, missing []int // indexes in out.series of those not kept
	for j := range out.series {
		if pts, ok := s.cat.kept.get(at[j], mint, maxt); ok {
			out.pts[j] = pts
		} else if g, ok := s.cat.kept.grown[at[j]]; ok && g.from <= mint {
			grown = append(grown, j)
		} else {
			missing = append(missing, j)
		}
	}
	if len(grown) > 0 {
		s.Reads++
		failed, err := s.extend(ctx, out, at, grown, mint, maxt)
		if err != nil {
			return nil, err
		}
		missing = append(missing, failed...)
	}
	if len(missing) == 0 {
		return out, nil
	}
	s.Reads++
	return out, s.readPoints(ctx, out, at, missing, mint, maxt)
}

// extend reads the samples of the grown series' groups after their
// points' end and, where those are all the samples the group gained,
// extends the points with them (a running total from its last point):
// the same additions in the same order as a read from the first sample.
// It returns the series whose groups gained samples before that end (a
// backfill), to be read whole.
func (s *Source) extend(ctx context.Context, out *selected, at, grown []int, mint, maxt int64) (failed []int, err error) {
	var groups [][]analyze.SeriesRef
	var raw [][]analyze.RawSample
	idx := map[int]int{}
	from, to := int64(math.MaxInt64), int64(math.MinInt64)
	for _, j := range grown {
		v, g := &out.series[j], s.cat.kept.grown[at[j]]
		from, to = min(from, g.hi+1), max(to, v.hi)
		if _, ok := idx[v.group]; !ok {
			idx[v.group] = len(groups)
			groups = append(groups, s.cat.groups[v.group])
			raw = append(raw, make([]analyze.RawSample, 0, g.added))
		}
	}
	if err := s.readParts(ctx, raw, groups, from, to); err != nil {
		return nil, fmt.Errorf("read samples: %w", err)
	}
	for _, j := range grown {
		v, g := &out.series[j], s.cat.kept.grown[at[j]]
		s.cat.kept.drop(at[j])
		tail := raw[idx[v.group]]
		tail = tail[sort.Search(len(tail), func(i int) bool { return tail[i].TS > g.hi }):]
		n := len(g.pts)
		if int64(len(tail)) != g.added || n == 0 || g.pts[n-1].TS != g.hi {
			failed = append(failed, j)
			continue
		}
		// The points end at the old newest sample (the read reached it),
		// where the total stood at the last point's value.
		more, _ := v.points(tail, g.hi+1, checkpoint{g.hi, g.pts[n-1].Value}, false)
		e := kept{from: g.from, to: math.MaxInt64, pts: append(g.pts, more...)}
		s.cat.kept.keep(at[j], e, nil)
		out.pts[j] = within(e.pts, mint, maxt)
	}
	return failed, nil
}

// readPoints reads the points of the selected series missing from the
// stores and keeps them.
func (s *Source) readPoints(ctx context.Context, out *selected, at, missing []int, mint, maxt int64) error {
	// Gauges read [mint, maxt]; totals read every sample up to maxt.
	var gaugeGroups, totalGroups [][]analyze.SeriesRef
	gIdx, tIdx := map[int]int{}, map[int]int{}
	for _, j := range missing {
		v := &out.series[j]
		idx, groups := tIdx, &totalGroups
		if v.kind == gauge {
			idx, groups = gIdx, &gaugeGroups
		}
		if _, ok := idx[v.group]; !ok {
			idx[v.group] = len(*groups)
			*groups = append(*groups, s.cat.groups[v.group])
		}
	}
	gRaw := make([][]analyze.RawSample, len(gaugeGroups))
	tRaw := make([][]analyze.RawSample, len(totalGroups))
	for _, j := range missing {
		if v := &out.series[j]; v.kind == gauge && gRaw[gIdx[v.group]] == nil {
			gRaw[gIdx[v.group]] = make([]analyze.RawSample, 0, v.room(mint, maxt))
		}
	}
	if err := s.readParts(ctx, gRaw, gaugeGroups, mint, maxt); err != nil {
		return fmt.Errorf("read samples: %w", err)
	}
	// Running totals start from each series' checkpoint before mint, if
	// every selected one has such (dashboards ask again and again, the
	// range moving forward), else from the first sample.
	from := int64(-minTime)
	cps := make([]checkpoint, len(out.series))
	for _, j := range missing {
		cps[j] = noCheckpoint
		if out.series[j].kind == gauge {
			continue
		}
		if cp, ok := s.cat.checkpoints[at[j]]; ok && cp.ts < mint {
			cps[j], from = cp, min(from, cp.ts+1)
		} else {
			from = minTime
		}
	}
	for _, j := range missing {
		if v := &out.series[j]; v.kind != gauge && tRaw[tIdx[v.group]] == nil {
			tRaw[tIdx[v.group]] = make([]analyze.RawSample, 0, v.room(from, maxt))
		}
	}
	if err := s.readParts(ctx, tRaw, totalGroups, from, maxt); err != nil {
		return fmt.Errorf("read samples: %w", err)
	}
	// A group's samples go as soon as the points of its last series are
	// built, which are built in their place where they fill most of it:
	// the samples and the points (as many) are not both held in full
	// (vigil serve's peak memory, docs/performance.md).
	gLeft, tLeft := make([]int, len(gRaw)), make([]int, len(tRaw))
	for _, j := range missing {
		if v := &out.series[j]; v.kind == gauge {
			gLeft[gIdx[v.group]]++
		} else {
			tLeft[tIdx[v.group]]++
		}
	}
	for _, j := range missing {
		v := &out.series[j]
		raws, left, g := tRaw, tLeft, tIdx[v.group]
		if v.kind == gauge {
			raws, left, g = gRaw, gLeft, gIdx[v.group]
		}
		left[g]--
		pts, last := v.points(raws[g], mint, cps[j], left[g] == 0)
		if left[g] == 0 {
			raws[g] = nil
		}
		if v.kind != gauge && last.ts > cps[j].ts {
			s.cat.checkpoints[at[j]] = last
		}
		out.pts[j] = pts
		s.cat.kept.put(at[j], v, mint, maxt, pts)
	}
	return nil
}

// readParts reads groups' samples (RawSamplesInto) in parts of about
// partRows samples by the room made for each group. DuckDB holds a
// query's whole answer before the first row is read (20 bytes a row):
// over a day of 1,000 counters (5.8M samples) one read took about 100 MiB
// more at its peak than reads of 1M samples, which cost a scan of the
// cache each (0.72 s of CPU for the first query against 0.82 s;
// docs/performance.md).
func (s *Source) readParts(ctx context.Context, out [][]analyze.RawSample, groups [][]analyze.SeriesRef, mint, maxt int64) error {
	for a := 0; a < len(out); {
		b, rows := a+1, cap(out[a])
		for b < len(out) && rows+cap(out[b]) <= partRows {
			rows += cap(out[b])
			b++
		}
		if err := s.db.RawSamplesInto(ctx, out[a:b], groups[a:b], mint, maxt); err != nil {
			return err
		}
		a = b
	}
	return nil
}

// partRows is readParts' part (a variable for the tests).
var partRows = 1 << 20

const minTime = -1 << 62

func anyMatches(v *vseries, sets []matcherSet) bool {
	if len(sets) == 0 {
		return true
	}
	return slices.ContainsFunc(sets, func(ms matcherSet) bool { return v.matches(ms) })
}

// families is each metric's type by the name a scrape's metadata gives
// it (a histogram by its base name).
func (s *Source) families(ctx context.Context) (map[string]string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.refresh(ctx); err != nil {
		return nil, err
	}
	return s.cat.families, nil
}

// Stores is how many stores the last sync read.
func (s *Source) Stores() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.db == nil {
		return 0
	}
	return len(s.db.Stores)
}

// CacheDir is where vigil serve keeps its DuckDB caches: serve/ under
// the cache folder given (--cache-dir, cache_dir:), else under the
// user's ($XDG_CACHE_HOME/vigil/serve). A server holds its caches open
// for as long as it runs, and DuckDB lets one process at a time open a
// file: in the caches the other commands share (beside the stores), it
// would make every cron run of query or evaluate wait for it and fail.
func CacheDir(base string) (string, error) {
	if base == "" {
		ud, err := cache.UserDir()
		if err != nil {
			return "", fmt.Errorf("no cache folder for vigil serve's caches (%v): give --cache-dir", err)
		}
		base = ud
	}
	return filepath.Join(base, "serve"), nil
}
