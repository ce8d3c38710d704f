package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
)

// MetaImportPrefix starts the meta keys that remember imported files:
// "import_sha256:" followed by the hex SHA-256 of the bytes read (of a
// compressed file, the compressed bytes), so the same file is not imported
// twice by mistake. The value is an ImportRecord as JSON.
const MetaImportPrefix = "import_sha256:"

// ImportRecord is what a store remembers of one imported file.
type ImportRecord struct {
	File       string `json:"file"`
	ImportedAt string `json:"imported_at"` // RFC 3339, UTC
	Samples    int64  `json:"samples"`
}

// LookupImport returns the record of an earlier import of the content
// whose SHA-256 is sha (hex), if this store has one.
func (t *Tx) LookupImport(ctx context.Context, sha string) (ImportRecord, bool, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.broken != nil {
		return ImportRecord{}, false, t.broken
	}
	var v string
	err := t.tx.QueryRowContext(ctx, "SELECT value FROM meta WHERE key = ?", MetaImportPrefix+sha).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return ImportRecord{}, false, nil
	}
	if err != nil {
		t.broken = fmt.Errorf("look up earlier imports: %w", err)
		return ImportRecord{}, false, t.broken
	}
	var rec ImportRecord
	if json.Unmarshal([]byte(v), &rec) != nil {
		rec = ImportRecord{File: v} // written by hand: still a record
	}
	return rec, true, nil
}

// RecordImport remembers, in this transaction, that the content whose
// SHA-256 is sha (hex) was imported (replacing an earlier record).
func (t *Tx) RecordImport(ctx context.Context, sha string, rec ImportRecord) error {
	b, err := json.Marshal(rec)
	if err != nil {
		return err
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.broken != nil {
		return t.broken
	}
	if _, err := t.tx.ExecContext(ctx, "INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)", MetaImportPrefix+sha, string(b)); err != nil {
		t.broken = fmt.Errorf("record import: %w", err)
		return t.broken
	}
	return nil
}
