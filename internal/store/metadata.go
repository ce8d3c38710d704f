package store

import (
	"context"
	"fmt"
	"strings"
	"unicode/utf8"
)

// Metadata is what a store keeps about a metric beside its samples (format
// version 2): help text and unit, per metric name and service, as
// Prometheus keeps metadata per metric family.
type Metadata struct {
	Name    string
	Service string
	Help    string
	Unit    string
}

// SetMetadata records (or replaces) a metric's metadata in the
// transaction.
func (t *Tx) SetMetadata(ctx context.Context, m Metadata) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.broken != nil {
		return t.broken
	}
	if !ValidName(m.Name) {
		return invalid("metadata: invalid metric name %q", m.Name)
	}
	if !utf8.ValidString(m.Help) || !utf8.ValidString(m.Unit) {
		return invalid("metadata: help or unit of %q is not valid UTF-8", m.Name)
	}
	_, err := t.tx.ExecContext(ctx, `INSERT INTO metric_metadata(name, service, help, unit) VALUES (?, ?, ?, ?)
ON CONFLICT (name, service) DO UPDATE SET help = excluded.help, unit = excluded.unit`, m.Name, m.Service, m.Help, m.Unit)
	if err != nil {
		t.broken = fmt.Errorf("write metadata: %w", err)
		return t.broken
	}
	return nil
}

// Metadata reads every metric's metadata, by name then service. A store
// of format version 1 (opened read-only, not migrated) has none.
func (s *Store) Metadata(ctx context.Context) ([]Metadata, error) {
	rows, err := s.db.QueryContext(ctx, "SELECT name, service, help, unit FROM metric_metadata ORDER BY name, service")
	if err != nil {
		if strings.Contains(err.Error(), "no such table") {
			return nil, nil
		}
		return nil, fmt.Errorf("read metadata: %w", err)
	}
	defer rows.Close()
	var out []Metadata
	for rows.Next() {
		var m Metadata
		if err := rows.Scan(&m.Name, &m.Service, &m.Help, &m.Unit); err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, rows.Err()
}
