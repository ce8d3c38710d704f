package state

import (
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

const alertColumns = `fingerprint, rule, labels, state, value,
	active_since_ms, fired_at_ms, resolved_at_ms, last_eval_ms, last_notified_ms,
	notify_count, acked, ack_comment, acked_at_ms, incident, esc_policy, esc_steps, inhibited_by`

type scanner interface{ Scan(dest ...any) error }

func scanAlert(s scanner) (Alert, error) {
	var (
		a                                  Alert
		fp, labels, st                     string
		val                                sql.NullFloat64
		active, fired, resolved, eval, not sql.NullInt64
		acked                              sql.NullInt64
	)
	if err := s.Scan(&fp, &a.Rule, &labels, &st, &val, &active, &fired, &resolved,
		&eval, &not, &a.NotifyCount, &a.Acked, &a.AckComment, &acked, &a.Incident, &a.EscPolicy, &a.EscSteps, &a.InhibitedBy); err != nil {
		return a, err
	}
	var err error
	if a.Fingerprint, err = ParseFingerprint(fp); err != nil {
		return a, err
	}
	if err := json.Unmarshal([]byte(labels), &a.Labels); err != nil {
		return a, fmt.Errorf("alert %s: labels: %w", fp, err)
	}
	if a.State, err = ParseState(st); err != nil {
		return a, fmt.Errorf("alert %s: %w", fp, err)
	}
	a.Value = fromNullFloat(val)
	a.ActiveSince, a.FiredAt, a.ResolvedAt = fromMS(active), fromMS(fired), fromMS(resolved)
	a.LastEval, a.LastNotified, a.AckedAt = fromMS(eval), fromMS(not), fromMS(acked)
	return a, nil
}

// Alerts loads every remembered alert, keyed by fingerprint. On a memory
// DB the map may be the DB's own (see memAlerts): read it, never change it,
// and do not keep it past the run's Save.
func (r *Run) Alerts() (map[uint64]Alert, error) {
	if r.d.alerts != nil {
		return r.memAlerts()
	}
	tx, err := r.q()
	if err != nil {
		return nil, err
	}
	rows, err := tx.QueryContext(r.ctx, `SELECT `+alertColumns+` FROM alerts`)
	if err != nil {
		return nil, fmt.Errorf("load alerts: %w", err)
	}
	defer rows.Close()
	out := map[uint64]Alert{}
	for rows.Next() {
		a, err := scanAlert(rows)
		if err != nil {
			return nil, fmt.Errorf("load alerts: %w", err)
		}
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
	if a.Fingerprint == 0 {
		a.Fingerprint = Fingerprint(a.Rule, a.Labels)
	}
	if r.d.alerts != nil {
		return r.memPut(a)
	}
	tx, err := r.writable()
	if err != nil {
		return err
	}
	fp := FormatFingerprint(a.Fingerprint)
	prev := Inactive
	var st string
	switch err := tx.QueryRowContext(r.ctx, "SELECT state FROM alerts WHERE fingerprint = ?", fp).Scan(&st); {
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
	if _, err := tx.ExecContext(r.ctx, `INSERT INTO alerts(`+alertColumns+`)
		VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)
		ON CONFLICT(fingerprint) DO UPDATE SET rule=excluded.rule, labels=excluded.labels,
		state=excluded.state, value=excluded.value, active_since_ms=excluded.active_since_ms,
		fired_at_ms=excluded.fired_at_ms, resolved_at_ms=excluded.resolved_at_ms,
		last_eval_ms=excluded.last_eval_ms, last_notified_ms=excluded.last_notified_ms,
		notify_count=excluded.notify_count, acked=excluded.acked, ack_comment=excluded.ack_comment,
		acked_at_ms=excluded.acked_at_ms, incident=excluded.incident,
		esc_policy=excluded.esc_policy, esc_steps=excluded.esc_steps, inhibited_by=excluded.inhibited_by`,
		fp, a.Rule, string(lj), a.State.String(), toNullFloat(a.Value),
		toMS(a.ActiveSince), toMS(a.FiredAt), toMS(a.ResolvedAt), toMS(a.LastEval), toMS(a.LastNotified),
		a.NotifyCount, a.Acked, a.AckComment, toMS(a.AckedAt), a.Incident, a.EscPolicy, a.EscSteps, a.InhibitedBy); err != nil {
		return fmt.Errorf("put alert %s: %w", fp, err)
	}
	if prev == a.State {
		return nil
	}
	if _, err := tx.ExecContext(r.ctx, `INSERT INTO events(fingerprint, rule, at_ms, from_state, to_state, value)
		VALUES (?,?,?,?,?,?)`, fp, a.Rule, a.LastEval.UnixMilli(), prev.String(), a.State.String(), toNullFloat(a.Value)); err != nil {
		return fmt.Errorf("put alert %s: event: %w", fp, err)
	}
	return nil
}

// Delete forgets an alert (its history stays until pruned).
func (r *Run) Delete(fp uint64) error {
	if r.d.alerts != nil {
		return r.memDelete(fp)
	}
	tx, err := r.writable()
	if err != nil {
		return err
	}
	if _, err := tx.ExecContext(r.ctx, "DELETE FROM alerts WHERE fingerprint = ?", FormatFingerprint(fp)); err != nil {
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
	return r.events("WHERE fingerprint = ?", FormatFingerprint(fp))
}

// Events returns every event at or after since, oldest first.
func (r *Run) Events(since time.Time) ([]Event, error) {
	return r.events("WHERE at_ms >= ?", since.UnixMilli())
}

func (r *Run) events(where string, arg any) ([]Event, error) {
	tx, err := r.q()
	if err != nil {
		return nil, err
	}
	rows, err := tx.QueryContext(r.ctx, `SELECT fingerprint, rule, at_ms, from_state, to_state, value
		FROM events `+where+` ORDER BY at_ms, id`, arg)
	if err != nil {
		return nil, fmt.Errorf("history: %w", err)
	}
	defer rows.Close()
	var out []Event
	for rows.Next() {
		var e Event
		var fp, from, to string
		var at int64
		var val sql.NullFloat64
		if err := rows.Scan(&fp, &e.Rule, &at, &from, &to, &val); err != nil {
			return nil, fmt.Errorf("history: %w", err)
		}
		if e.Fingerprint, err = ParseFingerprint(fp); err != nil {
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

// PruneHistory deletes what is older than before: events, attempts, rule
// errors, finished notifications and closed incidents. It says how many events
// went.
func (r *Run) PruneHistory(before time.Time) (int64, error) {
	if r.d.ms != nil {
		// The events, attempts and rule errors a memory DB never keeps.
		return 0, r.memPrune(before.UnixMilli())
	}
	tx, err := r.writable()
	if err != nil {
		return 0, err
	}
	ms := before.UnixMilli()
	res, err := tx.ExecContext(r.ctx, "DELETE FROM events WHERE at_ms < ?", ms)
	if err != nil {
		return 0, fmt.Errorf("prune history: %w", err)
	}
	for _, q := range []string{
		"DELETE FROM attempts WHERE at_ms < ?",
		"DELETE FROM rule_errors WHERE at_ms < ?",
		pruneOutboxQuery,
		"DELETE FROM incidents WHERE closed_ms < ?",
	} {
		if _, err := tx.ExecContext(r.ctx, q, ms); err != nil {
			return 0, fmt.Errorf("prune history: %w", err)
		}
	}
	return res.RowsAffected()
}

// The outbox queries a run makes at every step, whose cost must not grow
// with the outbox: a month of one-minute runs keeps tens of thousands of
// sent rows (an Alertmanager channel is refreshed on every run), and
// replay makes those runs back to back. Each reads through the index that
// bounds it to the few rows it can match (the minute's sends, the queued
// notices, the rows past retention); the unary + keeps SQLite from
// choosing the status or fingerprint index, which spans every sent row or
// every notice of an alert.
const (
	sentBetweenQuery = "SELECT count(*) FROM outbox WHERE +status = 'sent' AND kind != 'refresh' AND done_ms >= ? AND done_ms < ?"
	pendingQuery     = `SELECT count(*) FROM outbox WHERE +fingerprint = ? AND +channel = ?
		AND status IN ('queued', 'sending')`
	pruneOutboxQuery = "DELETE FROM outbox WHERE done_ms < ? AND +status IN ('sent', 'failed', 'unknown', 'superseded')"
)

// Ack acknowledges the alert fp at at: escalation stops and it is not
// re-notified until it resolves. It fails for an unknown fingerprint and
// for an alert that is not pending or firing.
func (r *Run) Ack(fp uint64, comment string, at time.Time) (Alert, error) {
	if r.d.alerts != nil {
		return r.memAck(fp, comment, at)
	}
	tx, err := r.writable()
	if err != nil {
		return Alert{}, err
	}
	a, err := scanAlert(tx.QueryRowContext(r.ctx, `SELECT `+alertColumns+` FROM alerts WHERE fingerprint = ?`, FormatFingerprint(fp)))
	if errors.Is(err, sql.ErrNoRows) {
		return Alert{}, fmt.Errorf("no alert with fingerprint %s", FormatFingerprint(fp))
	}
	if err != nil {
		return Alert{}, fmt.Errorf("ack %s: %w", FormatFingerprint(fp), err)
	}
	if a.State != Firing && a.State != Pending {
		return a, fmt.Errorf("alert %s (%s) is %s: only a pending or firing alert can be acknowledged", FormatFingerprint(fp), a.Rule, a.State)
	}
	a.Acked, a.AckComment, a.AckedAt = true, comment, at
	if _, err := tx.ExecContext(r.ctx, "UPDATE alerts SET acked = 1, ack_comment = ?, acked_at_ms = ? WHERE fingerprint = ?",
		comment, at.UnixMilli(), FormatFingerprint(fp)); err != nil {
		return a, fmt.Errorf("ack %s: %w", FormatFingerprint(fp), err)
	}
	return a, nil
}

// Notice statuses.
const (
	Queued  = "queued"  // recorded, not yet sent (new, held back, or to retry)
	Sending = "sending" // a run was sending it; if found so, it stopped mid-send
	Sent    = "sent"
	Failed  = "failed"  // given up: rejected, no sender, or expired
	Unknown = "unknown" // interrupted mid-send: maybe delivered, never resent
	// Superseded: a later notice about the same alert to the same channel
	// was recorded before this one could be sent; it is never sent, so
	// the receiver's last word is the current one.
	Superseded = "superseded"
)

// live are the statuses of a notice the channel heard or will hear: the
// ones a receiver's belief is made of.
const live = "'queued', 'sending', 'sent', 'unknown'"

// The notice lookups every run makes for each firing alert and channel,
// with the index each must search (TestOutboxQueryPlans): without
// statistics the planner would take the index that also gives the ORDER
// BY, walking every notice about the alert; +channel in an ORDER BY keeps
// it on the index of the WHERE.
const (
	// lastWordQuery reads outbox_word (fingerprint, channel, id) from the
	// newest row back.
	lastWordQuery = `SELECT kind, created_ms FROM outbox WHERE fingerprint = ? AND channel = ?
		AND status IN (` + live + `) ORDER BY id DESC LIMIT 1`
	// episodeChannelsQuery reads outbox_episode (fingerprint, episode_ms).
	episodeChannelsQuery = `SELECT DISTINCT channel FROM outbox WHERE fingerprint = ? AND episode_ms = ?
		AND kind IN ('firing', 'refresh') AND status IN (` + live + `) ORDER BY +channel`
	// incidentChannelsQuery reads outbox_incident (incident, kind).
	incidentChannelsQuery = `SELECT DISTINCT channel FROM outbox WHERE incident = ? AND kind = 'firing'
		AND status IN (` + live + `) ORDER BY channel`
	// openIncidentsQuery reads incidents_closed.
	openIncidentsQuery = `SELECT id, correlation, group_value, opened_ms FROM incidents WHERE closed_ms IS NULL ORDER BY opened_ms, id`
)

// Notice is one notification owed to one channel about one alert (a row
// of the outbox).
type Notice struct {
	ID          int64
	Fingerprint uint64
	Rule        string
	Channel     string
	Kind        string // firing | resolved
	Step        int    // escalation step, -1 for none
	Incident    string
	Episode     time.Time // FiredAt of the alert's episode
	Recipients  []string
	Alert       json.RawMessage // the message's content, owned by the caller
	Created     time.Time
	Status      string
	Tries       int
	LastError   string
	Done        time.Time
	// Next is when a later run may retry it (zero: now).
	Next time.Time
}

// Enqueue records n (status queued) and sets its ID.
func (r *Run) Enqueue(n *Notice) error {
	if r.d.ms != nil {
		return r.memEnqueue(n)
	}
	tx, err := r.writable()
	if err != nil {
		return err
	}
	rec := n.Recipients
	if rec == nil {
		rec = []string{}
	}
	rj, _ := json.Marshal(rec)
	var step sql.NullInt64
	if n.Step >= 0 {
		step = sql.NullInt64{Int64: int64(n.Step), Valid: true}
	}
	n.Status = Queued
	res, err := tx.ExecContext(r.ctx, `INSERT INTO outbox(fingerprint, rule, channel, kind, step, incident,
		episode_ms, recipients, alert, created_ms, status) VALUES (?,?,?,?,?,?,?,?,?,?,?)`,
		FormatFingerprint(n.Fingerprint), n.Rule, n.Channel, n.Kind, step, n.Incident,
		n.Episode.UnixMilli(), string(rj), string(n.Alert), n.Created.UnixMilli(), n.Status)
	if err != nil {
		return fmt.Errorf("record notification: %w", err)
	}
	n.ID, err = res.LastInsertId()
	return err
}

const noticeColumns = `id, fingerprint, rule, channel, kind, step, incident, episode_ms, recipients,
	alert, created_ms, status, tries, last_error, done_ms, next_ms`

func scanNotice(s scanner) (Notice, error) {
	var (
		n       Notice
		fp, rec string
		alert   string
		step    sql.NullInt64
		ep, cr  int64
		done    sql.NullInt64
		next    sql.NullInt64
	)
	if err := s.Scan(&n.ID, &fp, &n.Rule, &n.Channel, &n.Kind, &step, &n.Incident, &ep, &rec,
		&alert, &cr, &n.Status, &n.Tries, &n.LastError, &done, &next); err != nil {
		return n, err
	}
	var err error
	if n.Fingerprint, err = ParseFingerprint(fp); err != nil {
		return n, err
	}
	n.Step = -1
	if step.Valid {
		n.Step = int(step.Int64)
	}
	if err := json.Unmarshal([]byte(rec), &n.Recipients); err != nil {
		return n, fmt.Errorf("notification %d: recipients: %w", n.ID, err)
	}
	n.Alert = json.RawMessage(alert)
	n.Episode, n.Created, n.Done, n.Next = time.UnixMilli(ep).UTC(), time.UnixMilli(cr).UTC(), fromMS(done), fromMS(next)
	return n, nil
}

// Notices lists the notifications in the given statuses, oldest first.
func (r *Run) Notices(statuses ...string) ([]Notice, error) {
	if r.d.ms != nil {
		return r.memNotices(statuses...)
	}
	tx, err := r.q()
	if err != nil {
		return nil, err
	}
	args := make([]any, len(statuses))
	for i, s := range statuses {
		args[i] = s
	}
	rows, err := tx.QueryContext(r.ctx, `SELECT `+noticeColumns+` FROM outbox WHERE status IN (`+
		strings.TrimSuffix(strings.Repeat("?,", len(statuses)), ",")+`) ORDER BY id`, args...)
	if err != nil {
		return nil, fmt.Errorf("load notifications: %w", err)
	}
	defer rows.Close()
	var out []Notice
	for rows.Next() {
		n, err := scanNotice(rows)
		if err != nil {
			return nil, fmt.Errorf("load notifications: %w", err)
		}
		out = append(out, n)
	}
	return out, rows.Err()
}

// EpisodeChannels lists the channels that were (or are to be) told that
// the alert fp fired in the episode that began at episode: those with a
// firing notice not failed. Its resolution goes to them.
func (r *Run) EpisodeChannels(fp uint64, episode time.Time) ([]string, error) {
	if r.d.ms != nil {
		return r.memEpisodeChannels(fp, episode)
	}
	tx, err := r.q()
	if err != nil {
		return nil, err
	}
	return channels(r, tx, episodeChannelsQuery, FormatFingerprint(fp), episode.UnixMilli())
}

// channels runs a query of channel names.
func channels(r *Run, tx *stx, query string, args ...any) ([]string, error) {
	rows, err := tx.QueryContext(r.ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("load notifications: %w", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var c string
		if err := rows.Scan(&c); err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// LastWord is the kind (firing, resolved or refresh) and the creation
// time of the latest notice about fp to channel that the channel heard or
// will hear (not failed, not superseded): what the receiver believes of
// the alert. kind is "" when it was never told anything.
func (r *Run) LastWord(fp uint64, channel string) (kind string, created time.Time, err error) {
	if r.d.ms != nil {
		return r.memLastWord(fp, channel)
	}
	tx, err := r.q()
	if err != nil {
		return "", time.Time{}, err
	}
	var ms int64
	err = tx.QueryRowContext(r.ctx, lastWordQuery, FormatFingerprint(fp), channel).Scan(&kind, &ms)
	if errors.Is(err, sql.ErrNoRows) {
		return "", time.Time{}, nil
	}
	if err != nil {
		return "", time.Time{}, fmt.Errorf("load notifications: %w", err)
	}
	return kind, time.UnixMilli(ms).UTC(), nil
}

// IncidentChannels lists the channels that were (or are to be) told of
// the incident: those with a firing notice about one of its members, not
// failed or superseded.
func (r *Run) IncidentChannels(incident string) ([]string, error) {
	if r.d.ms != nil {
		return r.memIncidentChannels(incident)
	}
	tx, err := r.q()
	if err != nil {
		return nil, err
	}
	return channels(r, tx, incidentChannelsQuery, incident)
}

// Pending reports whether a notice to channel about fp is still queued or
// being sent.
func (r *Run) Pending(fp uint64, channel string) (bool, error) {
	if r.d.ms != nil {
		return r.memPending(fp, channel)
	}
	tx, err := r.q()
	if err != nil {
		return false, err
	}
	var n int
	err = tx.QueryRowContext(r.ctx, pendingQuery, FormatFingerprint(fp), channel).Scan(&n)
	return n > 0, err
}

// SetStatus records a notice's new status (and, for a final one, when).
// tries and lastError are stored as given.
func (r *Run) SetStatus(id int64, status string, tries int, lastError string, at time.Time) error {
	if r.d.ms != nil {
		return r.memSetStatus(id, status, tries, lastError, at)
	}
	tx, err := r.writable()
	if err != nil {
		return err
	}
	var done sql.NullInt64
	if status == Sent || status == Failed || status == Unknown || status == Superseded {
		done = toMS(at)
	}
	if _, err := tx.ExecContext(r.ctx, "UPDATE outbox SET status = ?, tries = ?, last_error = ?, done_ms = ? WHERE id = ?",
		status, tries, lastError, done, id); err != nil {
		return fmt.Errorf("record notification %d: %w", id, err)
	}
	return nil
}

// RetryAt keeps a notice queued after a transient failure and sets when a
// later run may try it again.
func (r *Run) RetryAt(id int64, tries int, lastError string, next time.Time) error {
	if r.d.ms != nil {
		return r.memRetryAt(id, tries, lastError, next)
	}
	tx, err := r.writable()
	if err != nil {
		return err
	}
	if _, err := tx.ExecContext(r.ctx, "UPDATE outbox SET status = 'queued', tries = ?, last_error = ?, next_ms = ? WHERE id = ?",
		tries, lastError, toMS(next), id); err != nil {
		return fmt.Errorf("record notification %d: %w", id, err)
	}
	return nil
}

// SentBetween counts the notices sent in [from, to), refreshes aside.
func (r *Run) SentBetween(from, to time.Time) (int, error) {
	if r.d.ms != nil {
		return r.memSentBetween(from, to)
	}
	tx, err := r.q()
	if err != nil {
		return 0, err
	}
	var n int
	err = tx.QueryRowContext(r.ctx, sentBetweenQuery, from.UnixMilli(), to.UnixMilli()).Scan(&n)
	return n, err
}

// Attempt is one delivery attempt of a notice.
type Attempt struct {
	Notice      int64
	Fingerprint uint64
	Rule        string
	Channel     string
	At          time.Time
	Try         int
	Result      string // ok | error | unknown
	Status      int    // HTTP status; 0 when none
	Error       string // redacted by the channel
}

// AddAttempt records a.
func (r *Run) AddAttempt(a Attempt) error {
	if r.d.ms != nil {
		_, err := r.memWrite() // not kept: see memState
		return err
	}
	tx, err := r.writable()
	if err != nil {
		return err
	}
	var st sql.NullInt64
	if a.Status != 0 {
		st = sql.NullInt64{Int64: int64(a.Status), Valid: true}
	}
	if _, err := tx.ExecContext(r.ctx, `INSERT INTO attempts(outbox_id, fingerprint, rule, channel, at_ms, try, result, status, error)
		VALUES (?,?,?,?,?,?,?,?,?)`, a.Notice, FormatFingerprint(a.Fingerprint), a.Rule, a.Channel,
		a.At.UnixMilli(), a.Try, a.Result, st, a.Error); err != nil {
		return fmt.Errorf("record attempt: %w", err)
	}
	return nil
}

// Attempts lists the attempts at or after since, oldest first.
func (r *Run) Attempts(since time.Time) ([]Attempt, error) {
	tx, err := r.q()
	if err != nil {
		return nil, err
	}
	rows, err := tx.QueryContext(r.ctx, `SELECT outbox_id, fingerprint, rule, channel, at_ms, try, result, status, error
		FROM attempts WHERE at_ms >= ? ORDER BY at_ms, id`, since.UnixMilli())
	if err != nil {
		return nil, fmt.Errorf("load attempts: %w", err)
	}
	defer rows.Close()
	var out []Attempt
	for rows.Next() {
		var a Attempt
		var fp string
		var at int64
		var st sql.NullInt64
		if err := rows.Scan(&a.Notice, &fp, &a.Rule, &a.Channel, &at, &a.Try, &a.Result, &st, &a.Error); err != nil {
			return nil, fmt.Errorf("load attempts: %w", err)
		}
		if a.Fingerprint, err = ParseFingerprint(fp); err != nil {
			return nil, err
		}
		a.At, a.Status = time.UnixMilli(at).UTC(), int(st.Int64)
		out = append(out, a)
	}
	return out, rows.Err()
}

// Incident is a group of correlated alerts.
type Incident struct {
	ID          string
	Correlation string // the correlation rule's name
	GroupValue  string
	Opened      time.Time
	Closed      time.Time // zero while open
}

// OpenIncident returns the open incident of correlation rule corr for
// group value gv, if there is one.
func (r *Run) OpenIncident(corr, gv string) (Incident, bool, error) {
	if r.d.ms != nil {
		return r.memOpenIncident(corr, gv)
	}
	tx, err := r.q()
	if err != nil {
		return Incident{}, false, err
	}
	inc := Incident{Correlation: corr, GroupValue: gv}
	var opened int64
	err = tx.QueryRowContext(r.ctx, `SELECT id, opened_ms FROM incidents WHERE correlation = ? AND group_value = ?
		AND closed_ms IS NULL ORDER BY opened_ms DESC LIMIT 1`, corr, gv).Scan(&inc.ID, &opened)
	if errors.Is(err, sql.ErrNoRows) {
		return inc, false, nil
	}
	if err != nil {
		return inc, false, fmt.Errorf("load incident: %w", err)
	}
	inc.Opened = time.UnixMilli(opened).UTC()
	return inc, true, nil
}

// Incidents lists the open incidents.
func (r *Run) Incidents() ([]Incident, error) {
	if r.d.ms != nil {
		return r.memIncidents()
	}
	tx, err := r.q()
	if err != nil {
		return nil, err
	}
	rows, err := tx.QueryContext(r.ctx, openIncidentsQuery)
	if err != nil {
		return nil, fmt.Errorf("load incidents: %w", err)
	}
	defer rows.Close()
	var out []Incident
	for rows.Next() {
		var inc Incident
		var opened int64
		if err := rows.Scan(&inc.ID, &inc.Correlation, &inc.GroupValue, &opened); err != nil {
			return nil, err
		}
		inc.Opened = time.UnixMilli(opened).UTC()
		out = append(out, inc)
	}
	return out, rows.Err()
}

// PutIncident inserts inc, or records its closing.
func (r *Run) PutIncident(inc Incident) error {
	if r.d.ms != nil {
		return r.memPutIncident(inc)
	}
	tx, err := r.writable()
	if err != nil {
		return err
	}
	if _, err := tx.ExecContext(r.ctx, `INSERT INTO incidents(id, correlation, group_value, opened_ms, closed_ms) VALUES (?,?,?,?,?)
		ON CONFLICT(id) DO UPDATE SET closed_ms = excluded.closed_ms`,
		inc.ID, inc.Correlation, inc.GroupValue, inc.Opened.UnixMilli(), toMS(inc.Closed)); err != nil {
		return fmt.Errorf("record incident %s: %w", inc.ID, err)
	}
	return nil
}
