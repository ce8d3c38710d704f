package agent

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"
)

// fullFile is a spill file on a full disk: its first 100 bytes are
// written, then every write fails with ENOSPC.
type fullFile struct {
	*os.File
	n int
}

func (f *fullFile) Write(p []byte) (int, error) {
	if f.n+len(p) <= 100 {
		f.n += len(p)
		return f.File.Write(p)
	}
	k, _ := f.File.Write(p[:100-f.n])
	f.n += k
	return k, syscall.ENOSPC
}

// diskFull makes spill files in dirs fail as on a full disk.
func diskFull(dirs ...string) func(string, os.FileMode) (spillFile, error) {
	return func(path string, perm os.FileMode) (spillFile, error) {
		f, err := createSpill(path, perm)
		if err != nil || !slices.Contains(dirs, filepath.Dir(path)) {
			return f, err
		}
		return &fullFile{File: f.(*os.File)}, nil
	}
}

// breakStore makes every write of samples fail as on a full disk (a
// trigger: root ignores a read-only folder); mend undoes it.
func breakStore(t *testing.T, db string) (mend func()) {
	t.Helper()
	h := openDB(t, db)
	if _, err := h.Exec(`CREATE TRIGGER full BEFORE INSERT ON samples BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END`); err != nil {
		t.Fatal(err)
	}
	return func() {
		if _, err := h.Exec(`DROP TRIGGER full`); err != nil {
			t.Fatal(err)
		}
	}
}

// pushUntilFull pushes batches of 50 new samples of fd_g until one is
// refused; it checks the refusal is a 503 with Retry-After, that pushes
// stay refused, and returns how many samples were accepted (202).
func pushUntilFull(t *testing.T, addr string) int {
	t.Helper()
	accepted := 0
	for i := 0; ; i++ {
		if i == 100 {
			t.Fatalf("100 pushes accepted while the store fails: the buffer is not bounded")
		}
		code, retry, msg := pushBatch(t, addr, i)
		if code == http.StatusAccepted {
			accepted += 50
			continue
		}
		if code != http.StatusServiceUnavailable || retry == "" || !strings.Contains(msg, "buffer full") {
			t.Fatalf("push %d while the store fails: %d (Retry-After %q) %s; want 503 with Retry-After", i, code, retry, msg)
		}
		for j := 1; j <= 3; j++ {
			if code, retry, msg := pushBatch(t, addr, i+j); code != http.StatusServiceUnavailable || retry == "" {
				t.Fatalf("push after the first 503: %d (Retry-After %q) %s", code, retry, msg)
			}
		}
		return accepted
	}
}

func pushBatch(t *testing.T, addr string, i int) (code int, retryAfter, msg string) {
	t.Helper()
	var b strings.Builder
	for j := 0; j < 50; j++ {
		fmt.Fprintf(&b, `{"ts": %d, "name": "fd_g", "type": "gauge", "value": %d, "labels": {"p": "%d"}}`+"\n", 1795946400+i, j, j)
	}
	resp, err := http.Post("http://"+addr+"/v1/metrics", "application/x-ndjson", strings.NewReader(b.String()))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body strings.Builder
	bufio.NewReader(resp.Body).WriteTo(&body)
	return resp.StatusCode, resp.Header.Get("Retry-After"), body.String()
}

func storedFD(t *testing.T, db string) int {
	t.Helper()
	var n int
	if err := openDB(t, db).QueryRow(`SELECT count(*) FROM metrics WHERE name = 'fd_g'`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// spillFiles are the files in dir named like a spill.
func spillFiles(t *testing.T, dir string) []string {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(dir, "*.spill-*.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func countSpilledFD(t *testing.T, path string) int {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	n := 0
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var r spilled
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		if r.Name == "fd_g" {
			n++
		}
	}
	return n
}

// While every write fails (disk full), pushes are accepted while the
// bounded buffer has room, then refused with 503 and Retry-After; at
// shutdown the spill beside the store fails too (same disk), so it goes to
// the next place, which the log names; the next start loads it: every
// sample that got a 202 is in the store in the end, once.
func TestFullDiskNothingAcceptedIsLost(t *testing.T) {
	for _, c := range []struct {
		name   string
		broken func(store, state, tmp string) []string // folders on the full disk
		lands  func(store, state, tmp string) string   // where the spill goes
	}{
		{"state dir", func(s, _, _ string) []string { return []string{s} }, func(_, st, _ string) string { return st }},
		{"temp dir", func(s, st, _ string) []string { return []string{s, st} }, func(_, _, tmp string) string { return tmp }},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir, state, tmp := t.TempDir(), filepath.Join(t.TempDir(), "state", "vigil"), t.TempDir()
			t.Setenv("TMPDIR", tmp)
			db := filepath.Join(dir, "v.db")
			at := time.Date(2026, 11, 29, 10, 0, 0, 0, time.UTC)
			cfg := Config{DB: db, Interval: time.Hour, BufferSize: 100, MaxBuffer: 1000, SpillDir: state,
				Now: func() time.Time { return at }}
			broken := cfg
			broken.createSpill = diskFull(c.broken(dir, state, tmp)...)
			addr, log, stop := runAgent(t, broken)
			breakStore(t, db)
			accepted := pushUntilFull(t, addr)
			if accepted == 0 || accepted > 1000 {
				t.Fatalf("%d samples accepted; want some, at most the buffer (1000)", accepted)
			}
			err := stop()
			where := c.lands(dir, state, tmp)
			spills := spillFiles(t, where)
			if len(spills) != 1 {
				t.Fatalf("spill files in %s: %v\nRun: %v\n%s", where, spills, err, log)
			}
			if err == nil || !strings.Contains(err.Error(), spills[0]) {
				t.Errorf("Run = %v, want an error naming %s", err, spills[0])
			}
			for _, d := range c.broken(dir, state, tmp) {
				if left := spillFiles(t, d); len(left) != 0 {
					t.Errorf("a failed spill left %v", left)
				}
			}
			if !strings.Contains(log.String(), `level=WARN msg="spill file failed; trying the next place" spill=`+filepath.Join(dir, "v.db.spill-")) ||
				!strings.Contains(log.String(), "spill="+spills[0]) {
				t.Errorf("the log does not say where the spill went:\n%s", log)
			}
			if got := countSpilledFD(t, spills[0]); got != accepted {
				t.Errorf("spilled %d fd_g samples, want the %d accepted", got, accepted)
			}
			if fi, err := os.Stat(spills[0]); err != nil || fi.Mode().Perm()&0o077 != 0 {
				t.Errorf("spill in a shared folder: mode %v (%v), want none for others", fi.Mode(), err)
			}

			// The disk has room again: the next start loads the spill.
			if n := storedFD(t, db); n != 0 {
				t.Fatalf("%d fd_g samples in the store while it failed", n)
			}
			openDB(t, db).Exec(`DROP TRIGGER full`)
			_, log2, stop2 := runAgent(t, cfg)
			if err := stop2(); err != nil {
				t.Fatalf("restart: %v\n%s", err, log2)
			}
			if n := storedFD(t, db); n != accepted {
				t.Errorf("after restart the store holds %d fd_g samples, want the %d accepted\n%s", n, accepted, log2)
			}
			if left := spillFiles(t, where); len(left) != 0 {
				t.Errorf("loaded spill not removed: %v", left)
			}
			if !strings.Contains(log2.String(), `msg="loaded a spill file into the store" spill=`+spills[0]) {
				t.Errorf("the log does not say the spill was loaded:\n%s", log2)
			}
			// A third start loads nothing twice.
			_, _, stop3 := runAgent(t, cfg)
			stop3()
			if n := storedFD(t, db); n != accepted {
				t.Errorf("after a third start %d fd_g samples, want %d", n, accepted)
			}
		})
	}
}

// When the disk recovers while the agent runs, every accepted sample
// reaches the store and pushes are accepted again.
func TestFullDiskRecovers(t *testing.T) {
	db := filepath.Join(t.TempDir(), "v.db")
	addr, log, stop := runAgent(t, Config{DB: db, Interval: time.Second, BufferSize: 100, MaxBuffer: 1000, SpillDir: t.TempDir()})
	mend := breakStore(t, db)
	accepted := pushUntilFull(t, addr)
	mend()
	deadline := time.Now().Add(15 * time.Second)
	for storedFD(t, db) < accepted && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if n := storedFD(t, db); n != accepted {
		t.Fatalf("store holds %d fd_g samples, want the %d accepted\n%s", n, accepted, log)
	}
	if code, _, msg := pushBatch(t, addr, 1000); code != http.StatusAccepted {
		t.Errorf("push after recovery: %d %s", code, msg)
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if n := storedFD(t, db); n != accepted+50 {
		t.Errorf("store holds %d fd_g samples, want %d", n, accepted+50)
	}
}

// Anyone may create files in the temp folder: a file named like this
// store's spill there is loaded only if it is this user's and others
// cannot write it.
func TestForeignSpillNotLoaded(t *testing.T) {
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	db := filepath.Join(t.TempDir(), "v.db")
	a := &agent{cfg: Config{DB: db}}
	places := a.spillPlaces()
	if len(places) != 2 || places[1].dir != tmp {
		t.Fatalf("spill places %+v, want beside the store, then %s", places, tmp)
	}
	planted := filepath.Join(tmp, places[1].prefix+"1795946400.jsonl")
	os.WriteFile(planted, []byte(`{"ts": 1795946400, "name": "fd_g", "type": "gauge", "value": 666}`+"\n"), 0o666)
	os.Chmod(planted, 0o666)
	_, log, stop := runAgent(t, Config{DB: db, Interval: time.Hour})
	stop()
	if n := storedFD(t, db); n != 0 {
		t.Errorf("a spill others can write was loaded (%d samples)", n)
	}
	if !strings.Contains(log.String(), `msg="spill file not loaded" spill=`+planted+` reason="writable by others"`) {
		t.Errorf("log:\n%s", log)
	}
	if os.Geteuid() != 0 {
		return // only root can give a file to another user
	}
	os.Chmod(planted, 0o600)
	os.Chown(planted, 4242, 4242)
	_, log, stop = runAgent(t, Config{DB: db, Interval: time.Hour})
	stop()
	if n := storedFD(t, db); n != 0 {
		t.Errorf("another user's spill was loaded (%d samples)", n)
	}
	if !strings.Contains(log.String(), `reason="owned by uid 4242, not this user (0)"`) {
		t.Errorf("log:\n%s", log)
	}
}

// A store's folder may be writable by others (mode 1777): a file named
// like the store's spill beside it is loaded only on the same terms as in
// the temp folder (a plain file of this user that others cannot write);
// any other is left, and the log names it and why.
func TestForeignSpillBesideStoreNotLoaded(t *testing.T) {
	dir := t.TempDir()
	os.Chmod(dir, 0o1777)
	db := filepath.Join(dir, "v.db")
	line := []byte(`{"ts": 1795946400, "name": "fd_g", "type": "gauge", "value": 666}` + "\n")
	planted := db + ".spill-1796600000.jsonl"
	writable := db + ".spill-1796600001.jsonl"
	os.WriteFile(writable, line, 0o666)
	os.Chmod(writable, 0o664)
	target := filepath.Join(t.TempDir(), "elsewhere.jsonl")
	os.WriteFile(target, line, 0o600)
	link := db + ".spill-1796600002.jsonl"
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{writable: `"writable by others"`, link: `"not a plain file"`}
	if os.Geteuid() == 0 { // only root can give a file to another user
		os.WriteFile(planted, line, 0o600)
		os.Chown(planted, 65534, 65534)
		want[planted] = `"owned by uid 65534, not this user (0)"`
	}
	_, log, stop := runAgent(t, Config{DB: db, Interval: time.Hour, SpillDir: t.TempDir()})
	stop()
	if n := storedFD(t, db); n != 0 {
		t.Errorf("a foreign spill beside the store was loaded (%d samples)\n%s", n, log)
	}
	for f, why := range want {
		if !strings.Contains(log.String(), `msg="spill file not loaded" spill=`+f+` reason=`+why) {
			t.Errorf("no warning for %s (%s):\n%s", f, why, log)
		}
		if _, err := os.Lstat(f); err != nil {
			t.Errorf("%s was removed: %v", f, err)
		}
	}
}

// A spill's name in a shared folder cannot be guessed: another local user
// who plants files and links at the names the agent would use there (its
// store's name and hash, the time) does not make it lose the samples nor
// write through a link; the spill lands in that folder all the same, and
// the next start loads it.
func TestPlantedSpillNamesDoNotLoseSamples(t *testing.T) {
	dir, state, tmp := t.TempDir(), t.TempDir(), t.TempDir()
	t.Setenv("TMPDIR", tmp)
	db := filepath.Join(dir, "v.db")
	at := time.Date(2026, 11, 29, 10, 0, 0, 0, time.UTC)
	cfg := Config{DB: db, Interval: time.Hour, BufferSize: 100, MaxBuffer: 1000, SpillDir: state,
		Now: func() time.Time { return at }}
	victim := filepath.Join(t.TempDir(), "victim")
	os.WriteFile(victim, []byte("keep\n"), 0o600)
	a := &agent{cfg: cfg}
	for _, p := range a.spillPlaces()[1:] {
		for s := at.Unix() - 1; s <= at.Unix()+1; s++ {
			os.Symlink(victim, filepath.Join(p.dir, fmt.Sprintf("%s%d.jsonl", p.prefix, s)))
		}
	}
	broken := cfg
	broken.createSpill = diskFull(dir)
	addr, log, stop := runAgent(t, broken)
	breakStore(t, db)
	accepted := pushUntilFull(t, addr)
	err := stop()
	var spills []string
	for _, f := range spillFiles(t, state) {
		if fi, _ := os.Lstat(f); fi.Mode().IsRegular() {
			spills = append(spills, f)
		}
	}
	if len(spills) != 1 || err == nil || !strings.Contains(err.Error(), spills[0]) {
		t.Fatalf("spills in %s: %v; Run = %v\n%s", state, spills, err, log)
	}
	if got := countSpilledFD(t, spills[0]); got != accepted {
		t.Errorf("spilled %d fd_g samples, want the %d accepted", got, accepted)
	}
	if b, _ := os.ReadFile(victim); string(b) != "keep\n" {
		t.Errorf("the file a planted link points to was changed: %q", b)
	}
	openDB(t, db).Exec(`DROP TRIGGER full`)
	_, log2, stop2 := runAgent(t, cfg)
	stop2()
	if n := storedFD(t, db); n != accepted {
		t.Errorf("after restart the store holds %d fd_g samples, want the %d accepted\n%s", n, accepted, log2)
	}
}

// The loader takes the names spills had before the random part, and the
// names with it, and nothing else.
func TestSpillNames(t *testing.T) {
	const prefix = "v.db.ea5ff689.spill-"
	for name, want := range map[string]uint64{
		prefix + "1795946400.jsonl":            1795946400,
		prefix + "1795946400-3141592653.jsonl": 1795946400,
		prefix + "1795946400-.jsonl":           0,
		prefix + "1795946400-a.b.jsonl":        0,
		prefix + "x-1.jsonl":                   0,
		prefix + "1795946400.jsonl.tmp":        0,
		"w.db.ea5ff689.spill-1.jsonl":          0,
	} {
		got, ok := spillTime(name, prefix)
		if got != want || ok != (want != 0) {
			t.Errorf("spillTime(%s) = %d, %v; want %d", name, got, ok, want)
		}
	}
}
