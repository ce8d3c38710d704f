// Package sqlmigrate applies the numbered schema migrations of vigil's
// SQLite files (the metric store, the alert state DB): the .sql files of an
// embedded folder, in name order, each once, the file's PRAGMA user_version
// counting how many have run. Each file format keeps its own checks (what
// a foreign or newer file looks like, what a new file needs besides its
// schema); this is only the part they share, and it must not import any
// other vigil package.
package sqlmigrate

import (
	"context"
	"database/sql"
	"fmt"
	"io/fs"
	"path"
	"sort"
)

// Set is one format's migrations, oldest first.
type Set struct {
	fsys  fs.FS
	names []string
}

// MustLoad lists the files matching glob in fsys (an embed.FS); a bad
// glob is a programming error.
func MustLoad(fsys fs.FS, glob string) Set {
	names, err := fs.Glob(fsys, glob)
	if err != nil {
		panic(err)
	}
	sort.Strings(names)
	return Set{fsys: fsys, names: names}
}

// Version is the newest format version: the number of migrations.
func (s Set) Version() int { return len(s.names) }

// Apply runs the migrations after version from in tx. It does not set
// user_version: the caller does, with whatever else the format needs, in
// the same transaction.
func (s Set) Apply(ctx context.Context, tx *sql.Tx, from int) error {
	for i := from; i < len(s.names); i++ {
		b, err := fs.ReadFile(s.fsys, s.names[i])
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, string(b)); err != nil {
			return fmt.Errorf("migrate %s: %w", path.Base(s.names[i]), err)
		}
	}
	return nil
}
