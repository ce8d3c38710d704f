package ingest

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"

	"github.com/vigil-metrics/vigil/collect/store"
	"github.com/vigil-metrics/vigil/collect/vtime"
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
		var ts, value sql.NullFloat64
		var mname, typ, labels, service sql.NullString
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

func referenceSample(ts sql.NullFloat64, name, typ sql.NullString, value sql.NullFloat64, labels, service sql.NullString) (store.Sample, error) {
	var s store.Sample
	if !ts.Valid {
		return s, fmt.Errorf("timestamp is NULL")
	}
	t, err := vtime.FromUnixSeconds(ts.Float64)
	if err != nil {
		return s, err
	}
	if !typ.Valid {
		return s, fmt.Errorf("type is NULL")
	}
	mt, err := store.ParseType(strings.ToLower(typ.String))
	if err != nil {
		return s, err
	}
	if !value.Valid {
		return s, fmt.Errorf("value is NULL")
	}
	var lm map[string]string
	if labels.Valid && strings.TrimSpace(labels.String) != "" {
		if err := json.Unmarshal([]byte(labels.String), &lm); err != nil {
			return s, fmt.Errorf("labels: want a JSON object of strings: %v", strings.TrimPrefix(err.Error(), "json: "))
		}
	}
	s = store.Sample{Name: name.String, Type: mt, Labels: lm, Service: service.String, TS: vtime.UnixMilli(t), Value: value.Float64}
	return s, s.Validate()
}
