package state

import (
	"context"
	"crypto/rand"
	"database/sql"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	_ "modernc.org/sqlite" // registers the "sqlite" driver

	"github.com/vigil-metrics/vigil/internal/sqlmigrate"
)

//go:embed migrations/*.sql
var migrationFS embed.FS

var migrations = sqlmigrate.MustLoad(migrationFS, "migrations/*.sql")

// Version is the newest state DB format this binary understands.
var Version = migrations.Version()

// applicationID marks a file as a vigil state DB ("vgST"). user_version
// alone cannot tell it from a metric store, which also counts migrations
// from 1; without this, `--state vigil.db` would quietly write alert tables
// into the metric store.
const applicationID = 0x76675354

// busyTimeout is how long ordinary statements wait for another writer. Begin
// waits on its own terms (its wait argument) and sets a shorter one.
const busyTimeout = 10 * time.Second

// ErrNotState says a file exists but is not a vigil state DB.
var ErrNotState = errors.New("not a vigil state DB")

// DB is an open state DB. It is safe for concurrent use, but Begin lets one
// Run at a time write, across processes.
type DB struct {
	Path string
	db   *sql.DB
	// mem is an in-memory DB of OpenMemory: one process's only, so Begin
	// takes no lock (there is no file to lock, nor another process).
	mem bool
	// alerts are a memory DB's alerts (nil otherwise): replay steps
	// hundreds of firing alerts tens of thousands of times, and writing
	// each through SQL every step cost milliseconds a step. Nothing reads
	// the alerts table but Alerts, Put, Delete and Ack, so a map kept
	// exactly as the table would be (see memPut) is the same state.
	alerts map[uint64]Alert
	// ms is a memory DB's outbox, incidents and last runs (memoutbox.go),
	// and memMu the hold a run of it has from Begin (or Snapshot) to its
	// end, as the one connection to an SQLite memory DB was.
	ms    *memState
	memMu sync.Mutex
	// stmts and want are a memory DB's prepared statements (stmts.go).
	stmts map[string]*sql.Stmt
	want  map[string]bool
	// readOnly marks a DB of OpenReadOnly: Begin refuses.
	readOnly bool
	// Clock stamps the lock row's since (and only that: alert times are
	// always passed in). Tests replace it.
	Clock func() time.Time
}

// LockedError says another run holds the state DB.
type LockedError struct {
	// Holder is what the other run passed to Begin; "" when unknown (it has
	// not announced itself, e.g. a migration, or the rare race below).
	Holder string
	// Since is when the holder announced itself; zero when unknown.
	Since time.Time
}

func (e *LockedError) Error() string {
	if e.Holder == "" {
		return "state DB is locked by another run"
	}
	return fmt.Sprintf("state DB is locked by %s since %s", e.Holder, e.Since.UTC().Format(time.RFC3339))
}

func dsn(p string, create bool) string {
	q := url.Values{}
	q.Add("_pragma", "busy_timeout("+strconv.Itoa(int(busyTimeout/time.Millisecond))+")")
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "synchronous(NORMAL)")
	// Every transaction takes the write lock at BEGIN: a run reads alerts,
	// then writes them, and a deferred transaction upgraded to a writer can
	// fail with SQLITE_BUSY half way, after decisions were made.
	q.Add("_txlock", "immediate")
	if !create {
		// An existing file only: if it vanished since Open looked, SQLite
		// must not quietly make an empty one there.
		q.Add("mode", "rw")
	}
	return "file:" + (&url.URL{Path: p}).EscapedPath() + "?" + q.Encode()
}

// EmptyError says the state DB file has 0 bytes. A state DB is never
// empty once created (Open creates it whole, see create), so this is a
// file truncated by something else, a failed restore or a full disk: read
// as a new state DB, it would forget every alert and notify all that is
// firing again.
type EmptyError struct{ Path string }

func (e *EmptyError) Error() string { return "the file is empty (0 bytes)" }

// Hint says what to do; the command line prints it.
func (e *EmptyError) Hint() string {
	return "restore it from a backup, or remove " + e.Path + " to start over (alerts then start inactive and what fires is notified again)"
}

// NotExistError says a state DB that a command only reads does not exist:
// a typo in --state would otherwise read as "no alerts".
type NotExistError struct{ Path string }

func (e *NotExistError) Error() string { return "state DB " + e.Path + " does not exist" }

// Unwrap makes errors.Is(err, fs.ErrNotExist) true.
func (e *NotExistError) Unwrap() error { return fs.ErrNotExist }

// Hint says what to do; the command line prints it.
func (e *NotExistError) Hint() string {
	return "vigil evaluate creates it on its first run; check --state or the config's state:"
}

// Open opens the state DB at p, creating it (and its folder) or migrating it
// as needed. It refuses a file written by a newer vigil, a file that is
// not a state DB and an empty file (*EmptyError).
func Open(ctx context.Context, p string) (*DB, error) {
	return open(ctx, p, true)
}

// OpenExisting opens the state DB at p like Open, but never creates it:
// a missing one is a *NotExistError. What only reads the state (the alerts
// commands, reports, a dry run) uses it.
func OpenExisting(ctx context.Context, p string) (*DB, error) {
	return open(ctx, p, false)
}

// OpenReadOnly opens an existing state DB to read it and nothing else:
// SQLite opens the file read-only, and a DB of an older format is read as
// it is, not migrated. Migrating would be a write, and would make a state
// DB that an older vigil's cron runs still use unreadable to them ("newer
// than this vigil understands"): what replay's --state must never do to a
// production state DB. Reads that need a newer format's tables fail. Runs
// on it are snapshots (Begin refuses).
func OpenReadOnly(ctx context.Context, p string) (*DB, error) {
	st, err := os.Stat(p)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil, &NotExistError{Path: p}
	case err != nil:
		return nil, fmt.Errorf("open state DB %s: %w", p, err)
	case st.IsDir():
		return nil, fmt.Errorf("open state DB %s: is a directory", p)
	case st.Size() == 0:
		return nil, fmt.Errorf("open state DB %s: %w", p, &EmptyError{Path: p})
	}
	d, v, app, err := openRO(ctx, p, false)
	if err != nil {
		// A WAL DB read-only still writes its -shm beside it: a file the
		// user may only read (a backup, a read-only mount) opens as
		// immutable instead, which reads the main file as it is (what a
		// cron run last checkpointed into it).
		d, v, app, err = openRO(ctx, p, true)
	}
	if err != nil {
		return nil, fmt.Errorf("open state DB %s: %w", p, err)
	}
	db := d.db
	switch {
	case err != nil:
	case v == 0 || app != applicationID:
		err = fmt.Errorf("%w: application_id is %#x", ErrNotState, app)
	case v > Version:
		err = fmt.Errorf("state DB format version %d is newer than this vigil understands (%d): upgrade vigil", v, Version)
	}
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("open state DB %s: %w", p, err)
	}
	return d, nil
}

// openRO opens p read-only (immutable: as an unchanging file, no -shm)
// and reads its format.
func openRO(ctx context.Context, p string, immutable bool) (*DB, int, int, error) {
	q := url.Values{}
	q.Add("_pragma", "busy_timeout("+strconv.Itoa(int(busyTimeout/time.Millisecond))+")")
	q.Add("mode", "ro")
	if immutable {
		q.Add("immutable", "1")
	}
	db, err := sql.Open("sqlite", "file:"+(&url.URL{Path: p}).EscapedPath()+"?"+q.Encode())
	if err != nil {
		return nil, 0, 0, err
	}
	d := &DB{Path: p, db: db, Clock: time.Now, readOnly: true}
	v, app, err := d.versions(ctx, db)
	if err == nil {
		// The tables too: a WAL DB fails only when it is first read.
		err = db.QueryRowContext(ctx, "SELECT count(*) FROM sqlite_schema").Scan(new(int))
	}
	if err != nil {
		db.Close()
		return nil, 0, 0, err
	}
	return d, v, app, nil
}

// OpenEmpty is a new, empty state DB in memory, gone when closed: what a
// dry run reads when there is no state DB yet, so that it creates no file.
func OpenEmpty(ctx context.Context) (*DB, error) {
	return openMemory(ctx, "open empty state DB")
}

// OpenMemory is a new, empty, writable state DB in memory, gone when
// closed: what replay steps the evaluate pipeline on. Its Begin takes no
// lock and reads no clock (see Begin); nothing else can reach it.
func OpenMemory(ctx context.Context) (*DB, error) {
	d, err := openMemory(ctx, "open memory state DB")
	if err != nil {
		return nil, err
	}
	d.mem = true
	d.alerts = map[uint64]Alert{}
	d.ms = newMemState()
	return d, nil
}

func openMemory(ctx context.Context, what string) (*DB, error) {
	db, err := sql.Open("sqlite", "file::memory:?_txlock=immediate")
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	// Each connection to :memory: is a database of its own, and closing
	// the only one drops the data: one connection, kept idle in the pool
	// between runs, never closed for age or idleness.
	db.SetMaxOpenConns(1)
	db.SetMaxIdleConns(1)
	db.SetConnMaxLifetime(0)
	db.SetConnMaxIdleTime(0)
	d := &DB{Path: ":memory:", db: db, Clock: time.Now}
	if err := d.init(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	return d, nil
}

func open(ctx context.Context, p string, create bool) (*DB, error) {
	st, err := os.Stat(p)
	switch {
	case errors.Is(err, fs.ErrNotExist) && !create:
		return nil, &NotExistError{Path: p}
	case errors.Is(err, fs.ErrNotExist):
		if err := createDB(ctx, p); err != nil {
			return nil, fmt.Errorf("open state DB %s: %w", p, err)
		}
	case err != nil:
		return nil, fmt.Errorf("open state DB %s: %w", p, err)
	case st.IsDir():
		return nil, fmt.Errorf("open state DB %s: is a directory", p)
	case st.Size() == 0:
		return nil, fmt.Errorf("open state DB %s: %w", p, &EmptyError{Path: p})
	}
	d, err := openFile(ctx, p, false)
	if err != nil {
		return nil, fmt.Errorf("open state DB %s: %w", p, err)
	}
	return d, nil
}

func openFile(ctx context.Context, p string, create bool) (*DB, error) {
	db, err := sql.Open("sqlite", dsn(p, create))
	if err != nil {
		return nil, err
	}
	d := &DB{Path: p, db: db, Clock: time.Now}
	if err := d.init(ctx); err != nil {
		db.Close()
		return nil, err
	}
	return d, nil
}

// createDB makes a new state DB at p whole: it is built under a temporary
// name in the same folder and linked into place, so p is either absent or
// a complete state DB, never the 0-byte file SQLite starts from (which
// Open must refuse, see EmptyError). Of two runs creating it at once, the
// first link wins and the other opens that one.
func createDB(ctx context.Context, p string) error {
	dir := filepath.Dir(p)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	tmp, err := tempName(dir, "."+filepath.Base(p)+".new-")
	if err != nil {
		return err
	}
	defer os.Remove(tmp) //nolint:errcheck // after the link, p keeps the file
	d, err := openFile(ctx, tmp, true)
	if err != nil {
		return err
	}
	if err := d.Close(); err != nil { // checkpoints the WAL into the file
		return err
	}
	err = os.Link(tmp, p)
	if err == nil || errors.Is(err, fs.ErrExist) {
		return nil
	}
	// A file system without hard links: rename, which would replace a
	// state DB another run created in the meantime, so only while there
	// is still none (a narrow race, on such file systems only).
	if _, serr := os.Lstat(p); errors.Is(serr, fs.ErrNotExist) {
		return os.Rename(tmp, p)
	}
	return nil
}

// tempName creates an empty file named prefix plus a random suffix in dir,
// readable and writable by its owner only (0600): the state DB holds alert
// history, label values and receivers' answers. SQLite gives the -wal and
// -shm files it makes beside it the same mode.
func tempName(dir, prefix string) (string, error) {
	var b [6]byte
	for range 100 {
		if _, err := rand.Read(b[:]); err != nil {
			return "", err
		}
		name := filepath.Join(dir, prefix+hex.EncodeToString(b[:]))
		f, err := os.OpenFile(name, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
		if errors.Is(err, fs.ErrExist) {
			continue
		}
		if err != nil {
			return "", err
		}
		return name, f.Close()
	}
	return "", fmt.Errorf("no free temporary name in %s", dir)
}

// Close releases the DB. Runs must be finished first.
func (d *DB) Close() error {
	for _, st := range d.stmts {
		st.Close()
	}
	return d.db.Close()
}

func (d *DB) init(ctx context.Context) error {
	v, app, err := d.versions(ctx, d.db)
	if err != nil {
		return err
	}
	if v > 0 && app != applicationID {
		return fmt.Errorf("%w: application_id is %#x", ErrNotState, app)
	}
	if v > Version {
		return fmt.Errorf("state DB format version %d is newer than this vigil understands (%d): upgrade vigil", v, Version)
	}
	if v == Version {
		return nil
	}
	return d.migrate(ctx)
}

type queryer interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

func (d *DB) versions(ctx context.Context, q queryer) (v, app int, err error) {
	if err := q.QueryRowContext(ctx, "PRAGMA user_version").Scan(&v); err != nil {
		return 0, 0, notState(err)
	}
	if err := q.QueryRowContext(ctx, "PRAGMA application_id").Scan(&app); err != nil {
		return 0, 0, notState(err)
	}
	return v, app, nil
}

func notState(err error) error {
	var se interface{ Code() int }
	if errors.As(err, &se) && se.Code()&0xff == 26 { // SQLITE_NOTADB
		return fmt.Errorf("%w: file is not a database", ErrNotState)
	}
	return err
}

func (d *DB) migrate(ctx context.Context) error {
	tx, err := d.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	defer tx.Rollback()
	// Re-read under the write lock: another cron run may have migrated
	// while we waited for it.
	v, app, err := d.versions(ctx, tx)
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	if v >= Version {
		return nil
	}
	if v > 0 && app != applicationID {
		return fmt.Errorf("%w: application_id is %#x", ErrNotState, app)
	}
	if v == 0 {
		var n int
		if err := tx.QueryRowContext(ctx, "SELECT count(*) FROM sqlite_schema").Scan(&n); err != nil {
			return notState(err)
		}
		if n > 0 {
			return fmt.Errorf("%w: the file has tables but no vigil format version", ErrNotState)
		}
	}
	if err := migrations.Apply(ctx, tx, v); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, "PRAGMA application_id = "+strconv.Itoa(applicationID)); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	if _, err := tx.ExecContext(ctx, "PRAGMA user_version = "+strconv.Itoa(Version)); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	return tx.Commit()
}

// Run is one evaluate run's hold on the state DB. Begin takes the run lock
// (see lock.go), so a second cron run started while this one is slow waits
// or gives up instead of acting on stale state and notifying twice. The
// lock is held across several transactions: a run records what it means to
// send (Save commits it), sends, then records the outcome, so a run killed
// in between leaves durable intent for the next run to finish. If the
// process dies, the kernel drops the lock with it: there is no stale lock
// to clear.
//
// Statements run in a transaction opened by the first of them (BEGIN
// IMMEDIATE) and committed by Save or Commit.
//
// A Run is not safe for concurrent use.
type Run struct {
	ctx  context.Context
	d    *DB
	lock *runLock // nil for a snapshot and on a memory DB
	// readOnly marks a Snapshot: writes fail. It is its own flag because
	// a memory DB's writable runs hold no lock either.
	readOnly bool
	conn     *sql.Conn
	tx       *sql.Tx
	done     bool
	// pend are a memory DB run's alert writes not yet saved (a nil entry:
	// deleted), applied to DB.alerts by Save and dropped by Rollback, as
	// the transaction's rows would be.
	pend map[uint64]*Alert
	// undo are a memory DB run's changes to DB.ms not yet saved, as the
	// functions that take them back (Rollback runs them, newest first);
	// memHeld says the run holds DB.memMu.
	undo    []func()
	memHeld bool
}

// Begin starts a run for holder (e.g. "pid 4242 on web-1"), waiting up to
// wait for a run already in progress to finish. If it does not, Begin
// returns a *LockedError naming that run. wait 0 tries once.
func (d *DB) Begin(ctx context.Context, holder string, wait time.Duration) (*Run, error) {
	if holder == "" {
		return nil, errors.New("begin state run: empty holder")
	}
	if d.readOnly {
		return nil, fmt.Errorf("begin state run: %s was opened read-only", d.Path)
	}
	if d.mem {
		// No file to lock and no other process to exclude; the one pooled
		// connection serializes this process's runs. No Clock either: the
		// lock row's "since" is all it stamps.
		d.memMu.Lock()
		return &Run{ctx: context.WithoutCancel(ctx), d: d, memHeld: true}, nil
	}
	l, err := acquire(ctx, d.Path+".lock", holder, d.Clock(), wait)
	if err != nil {
		return nil, err
	}
	// What the run records must outlive a SIGTERM: a run stopped while a
	// notice waits between tries still writes that the notice is queued
	// again (local writes take milliseconds), or the next run would find
	// it "sending" and never resend what the receiver refused.
	return &Run{ctx: context.WithoutCancel(ctx), d: d, lock: l}, nil
}

// Snapshot is a read-only run that takes no lock: what --dry-run and the
// alerts commands read. It sees the last committed state (WAL readers do
// not wait for a writer). Writes fail.
func (d *DB) Snapshot(ctx context.Context) (*Run, error) {
	if d.ms != nil { // first, as Begin takes it before any connection
		d.memMu.Lock()
	}
	conn, err := d.db.Conn(ctx)
	if err == nil {
		var tx *sql.Tx
		if tx, err = conn.BeginTx(ctx, &sql.TxOptions{ReadOnly: true}); err == nil {
			return &Run{ctx: ctx, d: d, conn: conn, tx: tx, readOnly: true, memHeld: d.ms != nil}, nil
		}
		conn.Close()
	}
	if d.ms != nil {
		d.memMu.Unlock()
	}
	return nil, fmt.Errorf("read state: %w", err)
}

// q returns the run's transaction, opening one if none is open.
func (r *Run) q() (*stx, error) {
	if r.done {
		return nil, errDone
	}
	if r.tx != nil {
		return &stx{tx: r.tx, d: r.d}, nil
	}
	conn, err := r.d.db.Conn(r.ctx)
	if err != nil {
		return nil, err
	}
	tx, err := conn.BeginTx(r.ctx, nil)
	if err != nil {
		conn.Close()
		return nil, err
	}
	r.conn, r.tx = conn, tx
	return &stx{tx: tx, d: r.d}, nil
}

// writable refuses writes in a snapshot.
func (r *Run) writable() (*stx, error) {
	if r.readOnly && !r.done {
		return nil, errReadOnly
	}
	return r.q()
}

var errReadOnly = errors.New("state snapshot is read-only")

var errDone = errors.New("state run already committed or rolled back")

// Save commits what the run has written so far and keeps the lock.
func (r *Run) Save() error {
	if r.done {
		return errDone
	}
	if r.tx == nil {
		r.applyPending()
		r.undo = nil
		return nil
	}
	tx, conn := r.tx, r.conn
	r.tx, r.conn = nil, nil
	err := tx.Commit()
	conn.Close()
	if err != nil {
		r.pend = nil
		r.rollbackMem()
		return fmt.Errorf("save state: %w", err)
	}
	r.applyPending()
	r.undo = nil
	r.d.prepareWanted(r.ctx)
	return nil
}

// Commit saves the run's changes and lets the next run in.
func (r *Run) Commit() error {
	if r.done {
		return errDone
	}
	err := r.Save()
	r.finish()
	if err != nil {
		return fmt.Errorf("commit state run: %w", err)
	}
	return nil
}

// Rollback drops the changes not yet saved and lets the next run in. It is
// safe to defer after Commit.
func (r *Run) Rollback() {
	if r.done {
		return
	}
	r.finish()
}

func (r *Run) finish() {
	r.pend = nil
	r.rollbackMem()
	if r.tx != nil {
		r.tx.Rollback()
		r.conn.Close()
		r.tx, r.conn = nil, nil
	}
	if r.lock != nil {
		r.lock.release()
	}
	if r.memHeld {
		r.memHeld = false
		r.d.memMu.Unlock()
	}
	r.done = true
}

// Zero times are NULL: unix millisecond 0 is a real instant (1970), and
// time.Time{}.UnixMilli() is a large negative number nobody should read.
func toMS(t time.Time) sql.NullInt64 {
	if t.IsZero() {
		return sql.NullInt64{}
	}
	return sql.NullInt64{Int64: t.UnixMilli(), Valid: true}
}

func fromMS(v sql.NullInt64) time.Time {
	if !v.Valid {
		return time.Time{}
	}
	return time.UnixMilli(v.Int64).UTC()
}

// SQLite turns a bound NaN into NULL anyway; say so explicitly both ways.
func toNullFloat(f float64) sql.NullFloat64 {
	if math.IsNaN(f) {
		return sql.NullFloat64{}
	}
	return sql.NullFloat64{Float64: f, Valid: true}
}

func fromNullFloat(v sql.NullFloat64) float64 {
	if !v.Valid {
		return math.NaN()
	}
	return v.Float64
}
