package state

import (
	"cmp"
	"container/heap"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"sort"
	"time"
)

// memState is a memory DB's outbox, incidents and last runs: what the
// pipeline reads and writes at every run, kept in Go instead of SQLite.
// Replay makes tens of thousands of runs back to back, each asking for
// every firing alert and channel what the outbox holds (a query each),
// and a month of notices grew the SQLite outbox to gigabytes. The
// structures answer each of Run's outbox and incident methods exactly as
// the tables would for the same calls (TestMemoryOutboxAsFile), from
// counts kept as rows change status instead of scans:
//
//   - pairs: the rows about each alert and channel, oldest first
//     (LastWord walks them back to the latest live one);
//   - pending: per alert and channel, the rows queued or sending;
//   - episodes, incidentChans: per episode and per incident, the live
//     firing (and, for episodes, refresh) rows by channel;
//   - active: the rows queued or sending (Notices of those statuses);
//   - sent: the sent rows (refreshes aside) by done time (SentBetween);
//   - expiry: the finished rows and closed incidents by when they
//     finished, so that pruning takes the expired ones without a scan.
//
// Delivery attempts and rule errors are not kept: like the events table,
// they are history for `vigil alerts history`, which has no memory DB to
// read, and no run reads them. Nor is a finished notice's message body
// (sent, failed, unknown, superseded: its Alert reads back empty): only
// a queued notice's is sent, and a month of bodies was most of the
// outbox; nor its rule, step, recipients, tries, last error and next
// time (they read back empty: memRow). So a finished notice is final:
// changing its status is refused (FinishedError); delivery only ever
// changes queued and sending ones.
type memState struct {
	rows          map[int64]*memRow
	maxID         int64 // the largest id of rows (0: none); -1: to be found
	pairs         map[pairKey][]*memRow
	pending       map[pairKey]int
	episodes      map[episodeKey]chanCounts
	incidentChans map[string]chanCounts
	active        map[int64]*memRow
	sent          []msCount
	expiry        expiryHeap

	incidents map[string]*memIncident
	open      map[string]*memIncident // the incidents not closed, by id
	runs      map[string]int64
}

type pairKey struct {
	fp      uint64
	channel string
}

type episodeKey struct {
	fp      uint64
	episode int64
}

type msCount struct {
	ms int64
	n  int
}

// memRow is a notice of the outbox: its head (what the counts, LastWord
// and pruning read) always, the whole notice only while it is queued or
// sending. A month's replay finishes most of a million notices, and a
// finished one is final and read for nothing else (see memState), so it
// keeps the head alone: a third of the memory.
type memRow struct {
	h       memHead
	full    *Notice // nil once finished
	deleted bool
}

type memHead struct {
	id                     int64
	fp                     uint64
	channel, kind, status  string
	incident               string
	episode, created, done int64 // unix milliseconds; noTime for the zero time
}

// noTime stands for the zero time in memHead.
const noTime = math.MinInt64

func msOf(t time.Time) int64 {
	if t.IsZero() {
		return noTime
	}
	return t.UnixMilli()
}

func timeOf(ms int64) time.Time {
	if ms == noTime {
		return time.Time{}
	}
	return time.UnixMilli(ms).UTC()
}

// set makes n the row's notice (its times already to the millisecond
// in UTC, as a row reads back).
func (row *memRow) set(n Notice) {
	row.h = memHead{id: n.ID, fp: n.Fingerprint, channel: n.Channel, kind: n.Kind, status: n.Status, incident: n.Incident,
		episode: msOf(n.Episode), created: msOf(n.Created), done: msOf(n.Done)}
	row.full = nil
	if !isFinal(n.Status) {
		row.full = &n
	}
}

// notice is the row as a query returns it, the caller's to change: a
// finished row's rule, step, recipients, tries, last error, next time
// and body read back empty.
func (row *memRow) notice() Notice {
	if row.full != nil {
		n := *row.full
		n.Recipients = slices.Clone(n.Recipients)
		n.Alert = slices.Clone(n.Alert)
		return n
	}
	h := &row.h
	return Notice{ID: h.id, Fingerprint: h.fp, Channel: h.channel, Kind: h.kind, Incident: h.incident,
		Episode: timeOf(h.episode), Recipients: []string{}, Alert: json.RawMessage{}, Created: timeOf(h.created),
		Status: h.status, Done: timeOf(h.done)}
}

type memIncident struct {
	inc     Incident
	deleted bool
}

func newMemState() *memState {
	return &memState{rows: map[int64]*memRow{}, pairs: map[pairKey][]*memRow{}, pending: map[pairKey]int{},
		episodes: map[episodeKey]chanCounts{}, incidentChans: map[string]chanCounts{}, active: map[int64]*memRow{},
		incidents: map[string]*memIncident{}, open: map[string]*memIncident{}, runs: map[string]int64{}}
}

func isLive(status string) bool {
	return status == Queued || status == Sending || status == Sent || status == Unknown
}

func isPending(status string) bool { return status == Queued || status == Sending }

func isFinal(status string) bool {
	return status == Sent || status == Failed || status == Unknown || status == Superseded
}

// count adds (sign 1) or takes away (-1) row's part in the counts.
func (m *memState) count(row *memRow, sign int) {
	n := &row.h
	pk := pairKey{n.fp, n.channel}
	if isPending(n.status) {
		m.pending[pk] += sign
		if m.pending[pk] == 0 {
			delete(m.pending, pk)
		}
		if sign > 0 {
			m.active[n.id] = row
		} else {
			delete(m.active, n.id)
		}
	}
	if isLive(n.status) && (n.kind == "firing" || n.kind == "refresh") {
		addCount(m.episodes, episodeKey{n.fp, timeOf(n.episode).UnixMilli()}, n.channel, sign)
	}
	if isLive(n.status) && n.kind == "firing" {
		addCount(m.incidentChans, n.incident, n.channel, sign)
	}
	if n.status == Sent && n.kind != "refresh" && n.done != noTime {
		m.addSent(n.done, sign)
	}
	if sign > 0 && isFinal(n.status) && n.done != noTime {
		heap.Push(&m.expiry, expiring{ms: n.done, row: row})
	}
}

// chanCounts are live rows by channel, in the order the channels came:
// an episode or incident has a channel or two, and a month's replay holds
// most of a million of them, so a slice each instead of a map each.
type chanCounts []chanCount

type chanCount struct {
	channel string
	n       int
}

func addCount[K comparable](m map[K]chanCounts, k K, channel string, sign int) {
	cs := m[k]
	i := slices.IndexFunc(cs, func(c chanCount) bool { return c.channel == channel })
	if i < 0 {
		cs = append(cs, chanCount{channel: channel})
		i = len(cs) - 1
	}
	cs[i].n += sign
	if cs[i].n == 0 {
		cs = slices.Delete(cs, i, i+1)
	}
	if len(cs) == 0 {
		delete(m, k)
		return
	}
	m[k] = cs
}

func (m *memState) addSent(ms int64, sign int) {
	i, ok := slices.BinarySearchFunc(m.sent, ms, func(c msCount, ms int64) int { return cmp.Compare(c.ms, ms) })
	if !ok {
		m.sent = slices.Insert(m.sent, i, msCount{ms: ms})
	}
	m.sent[i].n += sign
}

// insert makes row one of the outbox's (a new one, or one a rollback
// brings back), in id order among its alert's and channel's.
func (m *memState) insert(row *memRow) {
	row.deleted = false
	m.rows[row.h.id] = row
	if m.maxID >= 0 {
		m.maxID = max(m.maxID, row.h.id)
	}
	pk := pairKey{row.h.fp, row.h.channel}
	list := m.pairs[pk]
	i := len(list)
	for i > 0 && list[i-1].h.id > row.h.id {
		i--
	}
	m.pairs[pk] = slices.Insert(list, i, row)
	m.count(row, 1)
}

// remove takes row out of the outbox (pruned, or an insert rolled back).
func (m *memState) remove(row *memRow) {
	m.count(row, -1)
	row.deleted = true
	delete(m.rows, row.h.id)
	if row.h.id == m.maxID {
		m.maxID = -1
	}
	pk := pairKey{row.h.fp, row.h.channel}
	list := m.pairs[pk]
	if i := slices.Index(list, row); i >= 0 {
		list = slices.Delete(list, i, i+1)
	}
	if len(list) == 0 {
		delete(m.pairs, pk)
	} else {
		m.pairs[pk] = list
	}
}

// nextID is the id SQLite gives a new row of a table whose key is an
// INTEGER PRIMARY KEY: one more than the largest.
func (m *memState) nextID() int64 {
	if m.maxID < 0 {
		m.maxID = 0
		for id := range m.rows {
			m.maxID = max(m.maxID, id)
		}
	}
	return m.maxID + 1
}

// expiring is a finished row, or a closed incident, by when it finished.
// An entry whose row has changed since (finished again later, or pruned)
// is stale and skipped when it comes up.
type expiring struct {
	ms  int64
	row *memRow
	inc *memIncident
}

type expiryHeap []expiring

func (h expiryHeap) Len() int           { return len(h) }
func (h expiryHeap) Less(i, j int) bool { return h[i].ms < h[j].ms }
func (h expiryHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *expiryHeap) Push(x any)        { *h = append(*h, x.(expiring)) }
func (h *expiryHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

// memRun is a memory DB run's view of memState: reads check the run is
// open, writes that it may write, and every change records how to undo
// it, so that Rollback drops what was not saved, as a transaction would.
func (r *Run) memRead() (*memState, error) {
	if r.done {
		return nil, errDone
	}
	return r.d.ms, nil
}

// memWrite is writable's check without the SQL transaction it opens.
func (r *Run) memWrite() (*memState, error) {
	if r.readOnly && !r.done {
		return nil, errReadOnly
	}
	return r.memRead()
}

func (r *Run) onUndo(f func()) { r.undo = append(r.undo, f) }

// rollbackMem undoes the run's unsaved changes, newest first.
func (r *Run) rollbackMem() {
	for i := len(r.undo) - 1; i >= 0; i-- {
		r.undo[i]()
	}
	r.undo = nil
}

func (r *Run) memEnqueue(n *Notice) error {
	m, err := r.memWrite()
	if err != nil {
		return err
	}
	n.Status = Queued
	n.ID = m.nextID()
	rec := slices.Clone(n.Recipients)
	if rec == nil {
		rec = []string{}
	}
	// As the row reads back: times to the millisecond in UTC, no done or
	// next time, no tries, the body a copy (the caller owns n.Alert).
	body := slices.Clone(n.Alert)
	if body == nil {
		body = []byte{}
	}
	row := &memRow{}
	row.set(Notice{ID: n.ID, Fingerprint: n.Fingerprint, Rule: n.Rule, Channel: n.Channel, Kind: n.Kind,
		Step: max(n.Step, -1), Incident: n.Incident, Episode: time.UnixMilli(n.Episode.UnixMilli()).UTC(),
		Recipients: rec, Alert: body, Created: time.UnixMilli(n.Created.UnixMilli()).UTC(), Status: Queued})
	m.insert(row)
	r.onUndo(func() { m.remove(row) })
	return nil
}

// memUpdate changes row by f, recounting it, with the undo.
func (r *Run) memUpdate(m *memState, row *memRow, f func(n *Notice)) {
	old := *row
	n := row.notice()
	m.count(row, -1)
	f(&n)
	row.set(n) // finished: the head alone (see memRow)
	m.count(row, 1)
	r.onUndo(func() {
		if row.deleted {
			return // the insert was undone after it
		}
		m.count(row, -1)
		row.h, row.full = old.h, old.full
		m.count(row, 1)
	})
}

func (r *Run) memSetStatus(id int64, status string, tries int, lastError string, at time.Time) error {
	m, err := r.memWrite()
	if err != nil {
		return err
	}
	row, ok := m.rows[id]
	if !ok {
		return nil // UPDATE of no row
	}
	if isFinal(row.h.status) {
		return &FinishedError{ID: id, Status: row.h.status}
	}
	var done time.Time
	if isFinal(status) {
		done = fromMS(toMS(at))
	}
	r.memUpdate(m, row, func(n *Notice) { n.Status, n.Tries, n.LastError, n.Done = status, tries, lastError, done })
	return nil
}

func (r *Run) memRetryAt(id int64, tries int, lastError string, next time.Time) error {
	m, err := r.memWrite()
	if err != nil {
		return err
	}
	row, ok := m.rows[id]
	if !ok {
		return nil
	}
	if isFinal(row.h.status) {
		return &FinishedError{ID: id, Status: row.h.status}
	}
	r.memUpdate(m, row, func(n *Notice) { n.Status, n.Tries, n.LastError, n.Next = Queued, tries, lastError, fromMS(toMS(next)) })
	return nil
}

func (r *Run) memNotices(statuses ...string) ([]Notice, error) {
	m, err := r.memRead()
	if err != nil {
		return nil, err
	}
	want := map[string]bool{}
	onlyActive := true
	for _, s := range statuses {
		want[s] = true
		onlyActive = onlyActive && isPending(s)
	}
	from := m.active
	if !onlyActive {
		from = m.rows
	}
	var out []Notice
	for _, row := range from {
		if want[row.h.status] {
			out = append(out, row.notice())
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}

func (r *Run) memEpisodeChannels(fp uint64, episode time.Time) ([]string, error) {
	m, err := r.memRead()
	if err != nil {
		return nil, err
	}
	return m.episodes[episodeKey{fp, episode.UnixMilli()}].channels(), nil
}

func (r *Run) memIncidentChannels(incident string) ([]string, error) {
	m, err := r.memRead()
	if err != nil {
		return nil, err
	}
	return m.incidentChans[incident].channels(), nil
}

// channels are the channels counted, sorted.
func (cs chanCounts) channels() []string {
	if len(cs) == 0 {
		return nil
	}
	out := make([]string, 0, len(cs))
	for _, c := range cs {
		out = append(out, c.channel)
	}
	slices.Sort(out)
	return out
}

func (r *Run) memLastWord(fp uint64, channel string) (string, time.Time, error) {
	m, err := r.memRead()
	if err != nil {
		return "", time.Time{}, err
	}
	list := m.pairs[pairKey{fp, channel}]
	for i := len(list) - 1; i >= 0; i-- {
		if isLive(list[i].h.status) {
			return list[i].h.kind, timeOf(list[i].h.created), nil
		}
	}
	return "", time.Time{}, nil
}

func (r *Run) memPending(fp uint64, channel string) (bool, error) {
	m, err := r.memRead()
	if err != nil {
		return false, err
	}
	return m.pending[pairKey{fp, channel}] > 0, nil
}

func (r *Run) memSentBetween(from, to time.Time) (int, error) {
	m, err := r.memRead()
	if err != nil {
		return 0, err
	}
	lo, hi := from.UnixMilli(), to.UnixMilli()
	i, _ := slices.BinarySearchFunc(m.sent, lo, func(c msCount, ms int64) int { return cmp.Compare(c.ms, ms) })
	n := 0
	for ; i < len(m.sent) && m.sent[i].ms < hi; i++ {
		n += m.sent[i].n
	}
	return n, nil
}

// memPrune is PruneHistory's outbox and incidents on a memory DB: the
// finished rows and closed incidents that finished before ms.
func (r *Run) memPrune(ms int64) error {
	m, err := r.memWrite()
	if err != nil {
		return err
	}
	for len(m.expiry) > 0 && m.expiry[0].ms < ms {
		e := heap.Pop(&m.expiry).(expiring)
		switch {
		case e.row != nil && !e.row.deleted && isFinal(e.row.h.status) && e.row.h.done == e.ms:
			row := e.row
			m.remove(row)
			r.onUndo(func() { m.insert(row) })
		case e.inc != nil && !e.inc.deleted && !e.inc.inc.Closed.IsZero() && e.inc.inc.Closed.UnixMilli() == e.ms:
			x := e.inc
			m.dropIncident(x)
			r.onUndo(func() { m.putIncident(x) })
		}
	}
	return nil
}

// putIncident makes x one of the incidents (new, or brought back).
func (m *memState) putIncident(x *memIncident) {
	x.deleted = false
	m.incidents[x.inc.ID] = x
	m.setClosed(x, x.inc.Closed)
}

// dropIncident takes x out (pruned, or an insert rolled back).
func (m *memState) dropIncident(x *memIncident) {
	x.deleted = true
	delete(m.incidents, x.inc.ID)
	delete(m.open, x.inc.ID)
}

// setClosed records x's closing (zero: open again), which a prune reads.
func (m *memState) setClosed(x *memIncident, closed time.Time) {
	x.inc.Closed = closed
	if closed.IsZero() {
		m.open[x.inc.ID] = x
		return
	}
	delete(m.open, x.inc.ID)
	heap.Push(&m.expiry, expiring{ms: closed.UnixMilli(), inc: x})
}

func (r *Run) memOpenIncident(corr, gv string) (Incident, bool, error) {
	m, err := r.memRead()
	if err != nil {
		return Incident{}, false, err
	}
	var best *memIncident
	for _, x := range m.open {
		if x.inc.Correlation != corr || x.inc.GroupValue != gv {
			continue
		}
		if best == nil || x.inc.Opened.After(best.inc.Opened) || x.inc.Opened.Equal(best.inc.Opened) && x.inc.ID > best.inc.ID {
			best = x
		}
	}
	if best == nil {
		return Incident{Correlation: corr, GroupValue: gv}, false, nil
	}
	return Incident{ID: best.inc.ID, Correlation: corr, GroupValue: gv, Opened: best.inc.Opened}, true, nil
}

func (r *Run) memIncidents() ([]Incident, error) {
	m, err := r.memRead()
	if err != nil {
		return nil, err
	}
	var out []Incident
	for _, x := range m.open {
		out = append(out, Incident{ID: x.inc.ID, Correlation: x.inc.Correlation, GroupValue: x.inc.GroupValue, Opened: x.inc.Opened})
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].Opened.Equal(out[j].Opened) {
			return out[i].Opened.Before(out[j].Opened)
		}
		return out[i].ID < out[j].ID
	})
	return out, nil
}

func (r *Run) memPutIncident(inc Incident) error {
	m, err := r.memWrite()
	if err != nil {
		return err
	}
	closed := fromMS(toMS(inc.Closed))
	if x, ok := m.incidents[inc.ID]; ok {
		// ON CONFLICT(id) DO UPDATE SET closed_ms: only the closing moves.
		old := x.inc.Closed
		m.setClosed(x, closed)
		r.onUndo(func() {
			if !x.deleted {
				m.setClosed(x, old)
			}
		})
		return nil
	}
	x := &memIncident{inc: Incident{ID: inc.ID, Correlation: inc.Correlation, GroupValue: inc.GroupValue,
		Opened: time.UnixMilli(inc.Opened.UnixMilli()).UTC(), Closed: closed}}
	m.putIncident(x)
	r.onUndo(func() { m.dropIncident(x) })
	return nil
}

func (r *Run) memLastRun(source string) (time.Time, error) {
	m, err := r.memRead()
	if err != nil {
		return time.Time{}, err
	}
	ms, ok := m.runs[source]
	if !ok {
		return time.Time{}, nil
	}
	return time.UnixMilli(ms).UTC(), nil
}

func (r *Run) memSetLastRun(source string, at time.Time) error {
	m, err := r.memWrite()
	if err != nil {
		return err
	}
	old, had := m.runs[source]
	ms := at.UnixMilli()
	if had {
		ms = max(old, ms)
	}
	m.runs[source] = ms
	r.onUndo(func() {
		if had {
			m.runs[source] = old
		} else {
			delete(m.runs, source)
		}
	})
	return nil
}

// FinishedError refuses, on a memory DB, to change a notice that is
// finished (see memState).
type FinishedError struct {
	ID     int64
	Status string
}

func (e *FinishedError) Error() string {
	return fmt.Sprintf("record notification %d: it is %s, and a memory state keeps a finished notice as it is", e.ID, e.Status)
}
