// The spill: samples the final flush could not write go to a file in the
// import's JSON Lines, beside the store or, when that fails too (the
// store's disk is full), in a fallback folder; at start the agent loads
// every spill of its store it finds back into the store, so an accepted
// sample outlives a full disk and a restart.

package agent

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"

	"github.com/vigil-metrics/vigil/collect"
	"github.com/vigil-metrics/vigil/internal/collectlink"
	"github.com/vigil-metrics/vigil/internal/ingest"
	"github.com/vigil-metrics/vigil/internal/store"
)

// close flushes and closes the Recorder, giving up once the store has
// taken no write for ShutdownTimeout (a store locked by another process, or
// failing, waits no longer; a big write under way is never cut). Samples
// the store did not take (locked, read-only, disk full) are written to a
// spill file (see spill), so the next start, or `vigil import`, loads
// them; the remote-write queues are flushed last, so their
// RemoteWriteFlushTimeout does not delay the spill.
func (a *agent) close() error {
	err := a.rec.CloseWithin(a.cfg.ShutdownTimeout)
	if we := (*collect.WaitError)(nil); errors.As(err, &we) {
		if we.Locked {
			err = fmt.Errorf("the store took no write within --shutdown-timeout %v: another process holds its write lock (%w)", a.cfg.ShutdownTimeout, we.Err)
		} else {
			err = fmt.Errorf("the store took no write within --shutdown-timeout %v: %w", a.cfg.ShutdownTimeout, we.Err)
		}
	}
	defer a.closeWriters() // after the Recorder's last flush, which forwards
	if err == nil || a.cfg.NoStore {
		return nil
	}
	left := collectlink.Unwritten(a.rec)
	if len(left) == 0 {
		return err
	}
	path, serr := a.spill(left)
	if serr != nil {
		a.log.Error("samples lost: the store and every spill place failed", "samples", len(left), "err", serr)
		return fmt.Errorf("flush at shutdown: %w; %d samples lost (spill: %w)", err, len(left), serr)
	}
	a.log.Warn("the store could not be written at shutdown: samples spilled; the next start loads them", "samples", len(left), "spill", path,
		"load_with", "vigil import --db "+a.cfg.DB+" "+path)
	return fmt.Errorf("flush at shutdown: %w; %d samples written to %s instead (the agent loads them at its next start; or vigil import)", err, len(left), path)
}

// DefaultSpillDir is the user's state folder for vigil, where a spill goes
// when it cannot be written beside the store: $XDG_STATE_HOME/vigil, else
// ~/.local/state/vigil; "" when neither is known.
func DefaultSpillDir() string {
	if d := os.Getenv("XDG_STATE_HOME"); filepath.IsAbs(d) {
		return filepath.Join(d, "vigil")
	}
	if h, err := os.UserHomeDir(); err == nil && h != "" {
		return filepath.Join(h, ".local", "state", "vigil")
	}
	return ""
}

// spillPlace is a folder a spill may go to and the name prefix of this
// store's spills there.
type spillPlace struct {
	dir, prefix string
	fallback    bool // a folder shared by stores and users (SpillDir, temp)
}

// spillPlaces are where a spill goes, in order: beside the store, then
// SpillDir, then the temp folder. In the fallback folders a spill's name
// carries a hash of the store's absolute path, so each agent finds its
// own there, and a random part (see spill).
func (a *agent) spillPlaces() []spillPlace {
	db := a.cfg.DB
	places := []spillPlace{{dir: filepath.Dir(db), prefix: filepath.Base(db) + ".spill-"}}
	abs, err := filepath.Abs(db)
	if err != nil {
		abs = db
	}
	sum := sha256.Sum256([]byte(abs))
	prefix := fmt.Sprintf("%s.%x.spill-", filepath.Base(db), sum[:4])
	seen := map[string]bool{}
	for _, d := range []string{a.cfg.SpillDir, os.TempDir()} {
		if d == "" {
			continue
		}
		if ad, err := filepath.Abs(d); err == nil {
			d = ad
		}
		if !seen[d] {
			seen[d] = true
			places = append(places, spillPlace{dir: d, prefix: prefix, fallback: true})
		}
	}
	return places
}

// spill writes samples to the first spill place that takes them whole and
// returns the file; a place that fails is logged and leaves no file.
func (a *agent) spill(samples []store.Sample) (string, error) {
	// Beside the store readable as the store is (the same readers) but
	// writable by the owner alone, as the loader wants it (untrustedSpill);
	// elsewhere for the owner alone: who else can read a shared folder is
	// unknown.
	perm := os.FileMode(0o600)
	if fi, err := os.Stat(a.cfg.DB); err == nil {
		perm = fi.Mode().Perm() & 0o644
	}
	var failed []string
	for _, p := range a.spillPlaces() {
		path := filepath.Join(p.dir, fmt.Sprintf("%s%d.jsonl", p.prefix, a.cfg.Now().Unix()))
		mode := perm
		var err error
		if p.fallback {
			// Anyone may create files there: a random part in the name
			// (createSpill) means one planted at the name the agent would
			// use cannot make it give up the folder.
			path = strings.TrimSuffix(path, ".jsonl") + "-*.jsonl"
			mode &= 0o600
			err = os.MkdirAll(p.dir, 0o700)
		}
		if err == nil {
			path, err = writeSpill(a.cfg.createSpill, path, mode, samples)
		}
		if err == nil {
			return path, nil
		}
		a.log.Warn("spill file failed; trying the next place", "spill", path, "err", err)
		failed = append(failed, fmt.Sprintf("%s: %v", path, err))
	}
	return "", errors.New(strings.Join(failed, "; "))
}

// spillFile is what a spill is written to: an *os.File, or in tests one
// that fails as a full disk does.
type spillFile interface {
	io.Writer
	Name() string
	Sync() error
	Close() error
}

// createSpill creates a new file at path, never through a link or over a
// file there (O_EXCL); a "*" in the name is replaced by a random part, as
// os.CreateTemp does, retried until the name is free.
func createSpill(path string, perm os.FileMode) (spillFile, error) {
	if dir, pattern := filepath.Split(path); strings.Contains(pattern, "*") {
		f, err := os.CreateTemp(dir, pattern) // O_EXCL, 0600
		if err == nil && perm != 0o600 {
			if err = f.Chmod(perm); err != nil {
				f.Close()
				os.Remove(f.Name())
				return nil, err
			}
		}
		return f, err
	}
	return os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, perm)
}

// spillRecord is one line of the import's JSON Lines.
type spillRecord struct {
	TS      json.Number       `json:"ts"`
	Name    string            `json:"name"`
	Type    store.Type        `json:"type"`
	Value   float64           `json:"value"`
	Labels  map[string]string `json:"labels,omitempty"`
	Service string            `json:"service,omitempty"`
}

// writeSpill writes samples to a new file at path (see createSpill),
// synced, and returns its name; on failure the part written is removed,
// so no half spill is ever loaded.
func writeSpill(create func(string, os.FileMode) (spillFile, error), path string, perm os.FileMode, samples []store.Sample) (string, error) {
	f, err := create(path, perm)
	if err != nil {
		return path, err
	}
	path = f.Name()
	fail := func(err error) (string, error) {
		f.Close()
		os.Remove(path)
		return path, err
	}
	w := bufio.NewWriter(f)
	enc := json.NewEncoder(w)
	for _, s := range samples {
		ts := json.Number(spillSeconds(s.TS))
		if err := enc.Encode(spillRecord{TS: ts, Name: s.Name, Type: s.Type, Value: s.Value, Labels: s.Labels, Service: s.Service}); err != nil {
			return fail(err)
		}
	}
	if err := w.Flush(); err != nil {
		return fail(err)
	}
	if err := f.Sync(); err != nil {
		return fail(err)
	}
	if err := f.Close(); err != nil {
		os.Remove(path)
		return path, err
	}
	return path, nil
}

// spillSeconds writes unix milliseconds as exact decimal seconds.
func spillSeconds(ms int64) string {
	sign := ""
	if ms < 0 {
		sign, ms = "-", -ms
	}
	if ms%1000 == 0 {
		return sign + strconv.FormatInt(ms/1000, 10)
	}
	return strings.TrimRight(fmt.Sprintf("%s%d.%03d", sign, ms/1000, ms%1000), "0")
}

// loadSpills loads every spill of this store found in the spill places
// into st, oldest first, and removes each file once the store holds it (an
// import records the file's SHA-256, so a file loaded before, by a start
// that stopped before removing it or by `vigil import`, is not loaded
// twice). A file that does not load stays, and is logged.
func (a *agent) loadSpills(ctx context.Context, st *store.Store) {
	for _, p := range a.spillPlaces() {
		entries, err := os.ReadDir(p.dir)
		if err != nil {
			continue
		}
		var files []string
		times := map[string]uint64{}
		for _, e := range entries {
			if ts, ok := spillTime(e.Name(), p.prefix); ok {
				f := filepath.Join(p.dir, e.Name())
				files = append(files, f)
				times[f] = ts
			}
		}
		sort.SliceStable(files, func(i, j int) bool { return times[files[i]] < times[files[j]] })
		for _, f := range files {
			fh, why := openSpill(f)
			if why != "" {
				a.log.Warn("spill file not loaded", "spill", f, "reason", why)
				continue
			}
			a.loadSpill(ctx, st, f, fh)
			fh.Close()
		}
	}
}

// spillTime reads the unix time of a spill's name: prefix, the time, then
// ".jsonl", or in a shared folder "-<random>.jsonl" (see spill); ok is
// false for any other name.
func spillTime(name, prefix string) (uint64, bool) {
	rest, ok := strings.CutPrefix(name, prefix)
	rest, ok2 := strings.CutSuffix(rest, ".jsonl")
	if !ok || !ok2 {
		return 0, false
	}
	ts, random, _ := strings.Cut(rest, "-")
	n, err := strconv.ParseUint(ts, 10, 63)
	if err != nil || (strings.Contains(rest, "-") && !alnum(random)) {
		return 0, false
	}
	return n, true
}

func alnum(s string) bool {
	for _, c := range s {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z') {
			return false
		}
	}
	return s != ""
}

// untrustedSpill says why a file is not loaded: anyone may create files
// in the temp folder, and others may in the store's folder (mode 1777, a
// shared group folder), so a spill anywhere is loaded only if it is a
// plain file (not a link) of this user that others cannot write; what the
// agent writes itself always is (see spill).
func untrustedSpill(fi os.FileInfo) string {
	switch {
	case !fi.Mode().IsRegular():
		return "not a plain file"
	case fi.Mode().Perm()&0o022 != 0:
		return "writable by others"
	}
	if sys, ok := fi.Sys().(*syscall.Stat_t); ok && int(sys.Uid) != os.Geteuid() {
		return fmt.Sprintf("owned by uid %d, not this user (%d)", sys.Uid, os.Geteuid())
	}
	return ""
}

// openSpill opens a spill for loading, or says why not (untrustedSpill).
// The checks are made on the file opened (never through a link, never
// waiting on a FIFO), so it cannot be swapped between check and read.
func openSpill(path string) (*os.File, string) {
	fi, err := os.Lstat(path)
	if err != nil {
		return nil, err.Error()
	}
	if why := untrustedSpill(fi); why != "" {
		return nil, why
	}
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NOFOLLOW|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, err.Error()
	}
	ofi, err := f.Stat()
	why := ""
	switch {
	case err != nil:
		why = err.Error()
	case !os.SameFile(fi, ofi):
		why = "replaced while opened"
	default:
		why = untrustedSpill(ofi)
	}
	if why != "" {
		f.Close()
		return nil, why
	}
	return f, ""
}

func (a *agent) loadSpill(ctx context.Context, st *store.Store, path string, f *os.File) {
	src := ingest.Source{Name: path, Path: path, R: f, Format: ingest.JSONL}
	n, err := ingest.ImportWith(ctx, st, []ingest.Source{src}, ingest.Options{Now: a.cfg.Now})
	switch {
	case err == nil:
		a.log.Info("loaded a spill file into the store", "spill", path, "samples", n)
		a.forwardSpill(path, f)
	case errors.Is(err, ingest.ErrAlreadyImported):
		a.log.Info("spill file already in the store", "spill", path)
	default:
		a.log.Warn("could not load a spill file; it stays", "spill", path, "err", err, "load_with", "vigil import --db "+a.cfg.DB+" "+path)
		return
	}
	if err := os.Remove(path); err != nil {
		a.log.Warn("remove loaded spill file", "spill", path, "err", err)
	}
}

// forwardSpill hands a spill just loaded into the store to the
// remote-write queues, as a flush hands what it wrote (forward): its
// samples never reached the endpoints, as only what is written is
// forwarded. The agent calls it at start, before anything live is queued,
// so the endpoints get them in time order. A spill found already in the
// store (loaded by a start that stopped before removing it, or by vigil
// import) is not forwarded again.
func (a *agent) forwardSpill(path string, f *os.File) {
	if len(a.writers) == 0 {
		return
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil { // the file the import read
		a.log.Warn("spill file loaded into the store but not sent to remote write", "spill", path, "err", err)
		return
	}
	r := bufio.NewReader(f)
	buf := make([]store.Sample, 0, forwardChunk)
	for lineNo := 1; ; lineNo++ {
		line, rerr := r.ReadBytes('\n')
		if len(strings.TrimSpace(string(line))) > 0 {
			smp, err := ingest.ParseJSONRecord(line)
			if err != nil { // the import took it: not a spill the agent wrote
				a.log.Warn("spill file loaded into the store but not all sent to remote write", "spill", path, "line", lineNo, "err", err)
				break
			}
			if buf = append(buf, smp); len(buf) == forwardChunk {
				a.forward(buf)
				buf = buf[:0]
			}
		}
		if rerr != nil {
			if rerr != io.EOF {
				a.log.Warn("spill file loaded into the store but not all sent to remote write", "spill", path, "err", rerr)
			}
			break
		}
	}
	a.forward(buf)
}

// forwardChunk is the most samples handed to the queues at once.
const forwardChunk = 4096
