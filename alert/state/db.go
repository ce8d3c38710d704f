package state

import (
	"context"
	"database/sql"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strconv"
	"time"

	_ "modernc.org/sqlite" // registers the "sqlite" driver
)

//go:embed migrations/*.sql
var migrationFS embed.FS

// Version is the newest state DB format this binary understands.
var Version = len(mustMigrations())

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

func dsn(p string) string {
	q := url.Values{}
	q.Add("_pragma", "busy_timeout("+strconv.Itoa(int(busyTimeout/time.Millisecond))+")")
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "synchronous(NORMAL)")
	// Every transaction takes the write lock at BEGIN: a run reads alerts,
	// then writes them, and a deferred transaction upgraded to a writer can
	// fail with SQLITE_BUSY half way, after decisions were made.
	q.Add("_txlock", "immediate")
	return "file:" + (&url.URL{Path: p}).EscapedPath() + "?" + q.Encode()
}

// Open opens the state DB at p, creating it (and its folder) or migrating it
// as needed. It refuses a file written by a newer vigil and a file that is
// not a state DB.
func Open(ctx context.Context, p string) (*DB, error) {
	if st, err := os.Stat(p); err == nil && st.IsDir() {
		return nil, fmt.Errorf("open state DB %s: is a directory", p)
	}
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return nil, fmt.Errorf("open state DB %s: %w", p, err)
	}
	db, err := sql.Open("sqlite", dsn(p))
	if err != nil {
		return nil, fmt.Errorf("open state DB %s: %w", p, err)
	}
	d := &DB{Path: p, db: db, Clock: time.Now}
	if err := d.init(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("open state DB %s: %w", p, err)
	}
	return d, nil
}

// Close releases the DB. Runs must be finished first.
func (d *DB) Close() error { return d.db.Close() }

func mustMigrations() []string {
	names, err := fs.Glob(migrationFS, "migrations/*.sql")
	if err != nil {
		panic(err)
	}
	sort.Strings(names)
	return names
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
	names := mustMigrations()
	for i := v; i < len(names); i++ {
		b, err := migrationFS.ReadFile(names[i])
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, string(b)); err != nil {
			return fmt.Errorf("migrate %s: %w", path.Base(names[i]), err)
		}
	}
	if _, err := tx.ExecContext(ctx, "PRAGMA application_id = "+strconv.Itoa(applicationID)); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	if _, err := tx.ExecContext(ctx, "PRAGMA user_version = "+strconv.Itoa(Version)); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	return tx.Commit()
}

// Run is one evaluate run's view of the state DB: one transaction that holds
// SQLite's write lock from Begin to Commit or Rollback, so a second cron run
// started while this one is slow waits or gives up instead of acting on
// stale state and notifying twice. If the process dies, SQLite drops the
// lock and the transaction with it: there is no stale lock to clear.
//
// A Run is not safe for concurrent use.
type Run struct {
	ctx  context.Context
	conn *sql.Conn
	tx   *sql.Tx
	done bool
}

// Begin starts a run for holder (e.g. "pid 4242 on web-1"), waiting up to
// wait for a run already in progress to finish. If it does not, Begin
// returns a *LockedError naming that run. wait 0 tries once.
//
// SQLite cannot show another connection's uncommitted rows, so the holder
// cannot be recorded inside the run's own transaction and be seen by the
// run that is refused. Begin therefore announces itself first, in a short
// committed transaction, then takes the run's transaction; Commit clears the
// announcement. The row is only a name: the write lock does the excluding.
// If two runs announce in the gap between those two transactions, the one
// refused may find its own name and reports the holder as unknown.
func (d *DB) Begin(ctx context.Context, holder string, wait time.Duration) (*Run, error) {
	if holder == "" {
		return nil, errors.New("begin state run: empty holder")
	}
	// A dedicated connection: the run's statements and its busy_timeout
	// must stay on the connection that holds the lock.
	conn, err := d.db.Conn(ctx)
	if err != nil {
		return nil, fmt.Errorf("begin state run: %w", err)
	}
	deadline := time.Now().Add(wait) // waiting is I/O, not a decision: the real clock
	for {
		// Let SQLite do the waiting, in slices, so the deadline holds and a
		// cancelled ctx is noticed between slices.
		slice := min(max(time.Until(deadline), 0), 200*time.Millisecond)
		tx, err := d.tryBegin(ctx, conn, holder, slice)
		if err == nil {
			return &Run{ctx: ctx, conn: conn, tx: tx}, nil
		}
		if !isBusy(err) || ctx.Err() != nil || !time.Now().Before(deadline) {
			// Back to the pool with the ordinary patience, not our slice.
			conn.ExecContext(context.Background(), "PRAGMA busy_timeout = "+strconv.Itoa(int(busyTimeout/time.Millisecond))) //nolint:errcheck // best effort: the connection is closed next
			conn.Close()
			if isBusy(err) {
				return nil, d.lockedError(ctx, holder)
			}
			return nil, fmt.Errorf("begin state run: %w", err)
		}
	}
}

func (d *DB) tryBegin(ctx context.Context, conn *sql.Conn, holder string, busy time.Duration) (*sql.Tx, error) {
	if _, err := conn.ExecContext(ctx, "PRAGMA busy_timeout = "+strconv.FormatInt(busy.Milliseconds(), 10)); err != nil {
		return nil, err
	}
	ann, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return nil, err
	}
	if _, err := ann.ExecContext(ctx, "UPDATE lock SET holder = ?, since_ms = ? WHERE id = 1", holder, d.Clock().UnixMilli()); err != nil {
		ann.Rollback()
		return nil, err
	}
	if err := ann.Commit(); err != nil {
		return nil, err
	}
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return nil, err
	}
	// Holding the lock, statements wait only for checkpoints and readers;
	// give them the ordinary patience.
	if _, err := tx.ExecContext(ctx, "PRAGMA busy_timeout = "+strconv.Itoa(int(busyTimeout/time.Millisecond))); err != nil {
		tx.Rollback()
		return nil, err
	}
	return tx, nil
}

// lockedError reads the announcement through another connection, which in
// WAL mode reads the last committed state without waiting for the writer.
func (d *DB) lockedError(ctx context.Context, self string) error {
	var holder string
	var since int64
	if err := d.db.QueryRowContext(ctx, "SELECT holder, since_ms FROM lock WHERE id = 1").Scan(&holder, &since); err != nil {
		return &LockedError{}
	}
	if holder == "" || holder == self {
		return &LockedError{}
	}
	return &LockedError{Holder: holder, Since: time.UnixMilli(since).UTC()}
}

func isBusy(err error) bool {
	var se interface{ Code() int }
	if errors.As(err, &se) {
		c := se.Code() & 0xff
		return c == 5 || c == 6 // SQLITE_BUSY, SQLITE_LOCKED
	}
	return false
}

var errDone = errors.New("state run already committed or rolled back")

// Commit makes the run's changes durable and lets the next run in.
func (r *Run) Commit() error {
	if r.done {
		return errDone
	}
	r.done = true
	defer r.conn.Close()
	if _, err := r.tx.ExecContext(r.ctx, "UPDATE lock SET holder = '', since_ms = 0 WHERE id = 1"); err != nil {
		r.tx.Rollback()
		return fmt.Errorf("commit state run: %w", err)
	}
	if err := r.tx.Commit(); err != nil {
		return fmt.Errorf("commit state run: %w", err)
	}
	return nil
}

// Rollback drops the run's changes and lets the next run in. It is safe to
// defer after Commit. The announcement stays behind, harmless: it names
// nobody once the write lock is free, and the next Begin overwrites it.
func (r *Run) Rollback() {
	if r.done {
		return
	}
	r.done = true
	r.tx.Rollback()
	r.conn.Close()
}

// Alerts loads every remembered alert, keyed by fingerprint.
func (r *Run) Alerts() (map[uint64]Alert, error) {
	if r.done {
		return nil, errDone
	}
	rows, err := r.tx.QueryContext(r.ctx, `SELECT fingerprint, rule, labels, state, value,
		active_since_ms, fired_at_ms, resolved_at_ms, last_eval_ms, last_notified_ms,
		notify_count, acked, ack_comment FROM alerts`)
	if err != nil {
		return nil, fmt.Errorf("load alerts: %w", err)
	}
	defer rows.Close()
	out := map[uint64]Alert{}
	for rows.Next() {
		var (
			a                                  Alert
			fp, labels, st                     string
			val                                sql.NullFloat64
			active, fired, resolved, eval, not sql.NullInt64
		)
		if err := rows.Scan(&fp, &a.Rule, &labels, &st, &val, &active, &fired, &resolved,
			&eval, &not, &a.NotifyCount, &a.Acked, &a.AckComment); err != nil {
			return nil, fmt.Errorf("load alerts: %w", err)
		}
		if a.Fingerprint, err = ParseFingerprint(fp); err != nil {
			return nil, fmt.Errorf("load alerts: %w", err)
		}
		if err := json.Unmarshal([]byte(labels), &a.Labels); err != nil {
			return nil, fmt.Errorf("load alert %s: labels: %w", fp, err)
		}
		if a.State, err = ParseState(st); err != nil {
			return nil, fmt.Errorf("load alert %s: %w", fp, err)
		}
		a.Value = fromNullFloat(val)
		a.ActiveSince, a.FiredAt, a.ResolvedAt = fromMS(active), fromMS(fired), fromMS(resolved)
		a.LastEval, a.LastNotified = fromMS(eval), fromMS(not)
		out[a.Fingerprint] = a
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("load alerts: %w", err)
	}
	return out, nil
}

// Put stores a (inserting or replacing by fingerprint; a zero Fingerprint
// is computed from Rule and Labels) and, when its state differs from the
// stored one (Inactive for a new alert), appends an event at a.LastEval.
// Times keep millisecond precision.
func (r *Run) Put(a Alert) error {
	if r.done {
		return errDone
	}
	if a.Fingerprint == 0 {
		a.Fingerprint = Fingerprint(a.Rule, a.Labels)
	}
	fp := FormatFingerprint(a.Fingerprint)
	prev := Inactive
	var st string
	switch err := r.tx.QueryRowContext(r.ctx, "SELECT state FROM alerts WHERE fingerprint = ?", fp).Scan(&st); {
	case errors.Is(err, sql.ErrNoRows):
	case err != nil:
		return fmt.Errorf("put alert %s: %w", fp, err)
	default:
		if prev, err = ParseState(st); err != nil {
			return fmt.Errorf("put alert %s: %w", fp, err)
		}
	}
	if prev != a.State && a.LastEval.IsZero() {
		// History without a time would be a lie about when; callers step
		// (which sets LastEval) before they store a new state. Checked
		// before writing so a refused Put changes nothing.
		return fmt.Errorf("put alert %s: state changed from %s to %s with no LastEval", fp, prev, a.State)
	}
	labels := a.Labels
	if labels == nil {
		labels = map[string]string{}
	}
	lj, err := json.Marshal(labels) // map keys come out sorted: stable text
	if err != nil {
		return fmt.Errorf("put alert %s: %w", fp, err)
	}
	if _, err := r.tx.ExecContext(r.ctx, `INSERT INTO alerts(fingerprint, rule, labels, state, value,
		active_since_ms, fired_at_ms, resolved_at_ms, last_eval_ms, last_notified_ms,
		notify_count, acked, ack_comment) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)
		ON CONFLICT(fingerprint) DO UPDATE SET rule=excluded.rule, labels=excluded.labels,
		state=excluded.state, value=excluded.value, active_since_ms=excluded.active_since_ms,
		fired_at_ms=excluded.fired_at_ms, resolved_at_ms=excluded.resolved_at_ms,
		last_eval_ms=excluded.last_eval_ms, last_notified_ms=excluded.last_notified_ms,
		notify_count=excluded.notify_count, acked=excluded.acked, ack_comment=excluded.ack_comment`,
		fp, a.Rule, string(lj), a.State.String(), toNullFloat(a.Value),
		toMS(a.ActiveSince), toMS(a.FiredAt), toMS(a.ResolvedAt), toMS(a.LastEval), toMS(a.LastNotified),
		a.NotifyCount, a.Acked, a.AckComment); err != nil {
		return fmt.Errorf("put alert %s: %w", fp, err)
	}
	if prev == a.State {
		return nil
	}
	if _, err := r.tx.ExecContext(r.ctx, `INSERT INTO events(fingerprint, rule, at_ms, from_state, to_state, value)
		VALUES (?,?,?,?,?,?)`, fp, a.Rule, a.LastEval.UnixMilli(), prev.String(), a.State.String(), toNullFloat(a.Value)); err != nil {
		return fmt.Errorf("put alert %s: event: %w", fp, err)
	}
	return nil
}

// Delete forgets an alert (its history stays until pruned).
func (r *Run) Delete(fp uint64) error {
	if r.done {
		return errDone
	}
	if _, err := r.tx.ExecContext(r.ctx, "DELETE FROM alerts WHERE fingerprint = ?", FormatFingerprint(fp)); err != nil {
		return fmt.Errorf("delete alert %s: %w", FormatFingerprint(fp), err)
	}
	return nil
}

// Event is one recorded state change.
type Event struct {
	Fingerprint uint64
	Rule        string
	At          time.Time
	From, To    State
	Value       float64 // NaN when none was observed
}

// History returns fp's events, oldest first.
func (r *Run) History(fp uint64) ([]Event, error) {
	if r.done {
		return nil, errDone
	}
	rows, err := r.tx.QueryContext(r.ctx, `SELECT rule, at_ms, from_state, to_state, value
		FROM events WHERE fingerprint = ? ORDER BY at_ms, id`, FormatFingerprint(fp))
	if err != nil {
		return nil, fmt.Errorf("history %s: %w", FormatFingerprint(fp), err)
	}
	defer rows.Close()
	var out []Event
	for rows.Next() {
		e := Event{Fingerprint: fp}
		var at int64
		var from, to string
		var val sql.NullFloat64
		if err := rows.Scan(&e.Rule, &at, &from, &to, &val); err != nil {
			return nil, fmt.Errorf("history: %w", err)
		}
		e.At = time.UnixMilli(at).UTC()
		if e.From, err = ParseState(from); err != nil {
			return nil, fmt.Errorf("history: %w", err)
		}
		if e.To, err = ParseState(to); err != nil {
			return nil, fmt.Errorf("history: %w", err)
		}
		e.Value = fromNullFloat(val)
		out = append(out, e)
	}
	return out, rows.Err()
}

// PruneHistory deletes events older than before and says how many.
func (r *Run) PruneHistory(before time.Time) (int64, error) {
	if r.done {
		return 0, errDone
	}
	res, err := r.tx.ExecContext(r.ctx, "DELETE FROM events WHERE at_ms < ?", before.UnixMilli())
	if err != nil {
		return 0, fmt.Errorf("prune history: %w", err)
	}
	return res.RowsAffected()
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
