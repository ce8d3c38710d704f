package ingest

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/vigil-metrics/vigil/internal/store"
	"github.com/vigil-metrics/vigil/internal/vtime"
)

// readSQLite imports the reference design's table
// metrics(timestamp REAL, name TEXT, type TEXT, value REAL, labels TEXT,
// service_name TEXT). A vigil store has a view of that shape, so stores can
// be merged the same way. Errors name the rowid as the line.
func readSQLite(ctx context.Context, name, path string, add func(int64, store.Sample) error) error {
	q := url.Values{}
	q.Set("mode", "ro")
	q.Add("_pragma", "busy_timeout(10000)")
	db, err := sql.Open("sqlite", "file:"+(&url.URL{Path: path}).EscapedPath()+"?"+q.Encode())
	if err != nil {
		return &InputError{File: name, Err: err}
	}
	defer db.Close()
	var n int
	if err := db.QueryRowContext(ctx,
		"SELECT count(*) FROM sqlite_schema WHERE name = 'metrics' AND type IN ('table', 'view')").Scan(&n); err != nil {
		return &InputError{File: name, Err: fmt.Errorf("not a SQLite database: %w", err)}
	}
	if n == 0 {
		return &InputError{File: name, Err: fmt.Errorf("no metrics table (want the reference schema metrics(timestamp, name, type, value, labels, service_name))")}
	}
	rows, err := db.QueryContext(ctx, `SELECT row_number() OVER (), timestamp, name, type, value, labels, service_name FROM metrics`)
	if err != nil {
		return &InputError{File: name, Err: fmt.Errorf("read metrics table: %w", err)}
	}
	defer rows.Close()
	for rows.Next() {
		var line int64
		var ts, mname, typ, value, labels, service any
		if err := rows.Scan(&line, &ts, &mname, &typ, &value, &labels, &service); err != nil {
			return &InputError{File: name, Line: line, Err: err}
		}
		s, err := referenceSample(ts, mname, typ, value, labels, service)
		if err != nil {
			return &InputError{File: name, Line: line, Err: err}
		}
		if err := add(line, s); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return &InputError{File: name, Err: err}
	}
	return nil
}

// referenceSample maps one row of the reference table, whatever types its
// columns hold (SQLite's columns are only affinities): timestamps as
// numbers or text times, values as numbers or numeric text, label values
// as strings or numbers.
func referenceSample(ts, name, typ, value, labels, service any) (store.Sample, error) {
	var s store.Sample
	tsMS, tsRange, err := referenceTime(ts)
	if err != nil {
		return s, err
	}
	t, ok := sqlText(typ)
	if !ok {
		return s, fmt.Errorf("type is %s, want text", sqlKind(typ))
	}
	mt, err := store.ParseType(strings.ToLower(t))
	if err != nil {
		return s, err
	}
	v, err := referenceValue(value)
	if err != nil {
		return s, err
	}
	var lm map[string]string
	if labels != nil {
		lt, ok := sqlText(labels)
		if !ok {
			return s, fmt.Errorf("labels is %s, want JSON text", sqlKind(labels))
		}
		if lm, err = parseLabels([]byte(lt), true); err != nil {
			return s, err
		}
	}
	n, ok := sqlText(name)
	if !ok && name != nil {
		return s, fmt.Errorf("name is %s, want text", sqlKind(name))
	}
	svc, ok := sqlText(service)
	if !ok && service != nil {
		return s, fmt.Errorf("service_name is %s, want text", sqlKind(service))
	}
	s = store.Sample{Name: n, Type: mt, Labels: lm, Service: svc, TS: tsMS, Value: v}
	if err := s.Validate(); err != nil {
		return s, err
	}
	return s, tsRange
}

// sqlText is a TEXT (or BLOB) value; ok is false for NULL and numbers.
func sqlText(v any) (string, bool) {
	switch x := v.(type) {
	case string:
		return x, true
	case []byte:
		return string(x), true
	}
	return "", false
}

func sqlKind(v any) string {
	switch v.(type) {
	case nil:
		return "NULL"
	case int64:
		return "an integer"
	case float64:
		return "a real"
	case []byte:
		return "a blob"
	case string:
		return "text"
	}
	return fmt.Sprintf("a %T", v)
}

// sqliteTimeLayouts are the text times SQLite's own functions write
// (datetime(), strftime): UTC without a zone, with or without the T.
var sqliteTimeLayouts = []string{
	"2006-01-02 15:04:05.999999999",
	"2006-01-02T15:04:05.999999999",
	"2006-01-02 15:04:05.999999999Z07:00",
	"2006-01-02 15:04",
	"2006-01-02T15:04",
}

// referenceTime reads the timestamp column: unix seconds as a number or
// numeric text, RFC 3339 text, or SQLite's "YYYY-MM-DD HH:MM:SS" (UTC).
func referenceTime(v any) (ms int64, rangeErr, err error) {
	switch x := v.(type) {
	case nil:
		return 0, nil, fmt.Errorf("timestamp is NULL")
	case int64:
		ms, rangeErr = secondsMS(strconv.FormatInt(x, 10), float64(x))
		return ms, rangeErr, nil
	case float64:
		ms, rangeErr = secondsMS(strconv.FormatFloat(x, 'f', -1, 64), x)
		return ms, rangeErr, nil
	case []byte:
		return 0, nil, fmt.Errorf("timestamp is a blob")
	}
	text, ok := sqlText(v)
	if !ok {
		return 0, nil, fmt.Errorf("timestamp is %s", sqlKind(v))
	}
	text = strings.TrimSpace(text)
	if ms, rangeErr, err := instantMS(text); err == nil {
		return ms, rangeErr, nil
	}
	for _, layout := range sqliteTimeLayouts {
		if t, err := time.Parse(layout, text); err == nil {
			ms = vtime.UnixMilli(t.UTC())
			return ms, checkMS(text, ms), nil
		}
	}
	return 0, nil, fmt.Errorf("timestamp %q is not a time (want unix seconds, RFC 3339 or YYYY-MM-DD HH:MM:SS in UTC)", text)
}

func referenceValue(v any) (float64, error) {
	switch x := v.(type) {
	case nil:
		return 0, fmt.Errorf("value is NULL")
	case int64:
		return float64(x), nil
	case float64:
		return x, nil
	}
	text, ok := sqlText(v)
	if !ok {
		return 0, fmt.Errorf("value is %s", sqlKind(v))
	}
	f, err := strconv.ParseFloat(strings.TrimSpace(text), 64)
	if err != nil && !errors.Is(err, strconv.ErrRange) {
		return 0, fmt.Errorf("value %q is not a number", text)
	}
	return f, nil
}
