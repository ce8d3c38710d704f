package yamlconf

import (
	"os"
	"path/filepath"
	"strings"
)

// FromFile is the path p, written in the config file file, as vigil
// opens it: relative to the file's folder, as Prometheus reads the
// relative paths of its config, so that one file means the same stores,
// state DB and secrets wherever the command runs (h30 D1). An absolute
// p, an empty one, or one read from no file ("") is kept as written.
// Paths from flags and VIGIL_* never come here: they are the working
// directory's, as shells expect. A leading ~/ (or a bare ~) is the home
// directory, as a shell would read it: taken for a folder beside the file
// it made one named ~ there (h31 H5). ~user is not expanded.
func FromFile(file, p string) string {
	if p == "~" || strings.HasPrefix(p, "~/") {
		if home, err := os.UserHomeDir(); err == nil && home != "" {
			return filepath.Join(home, p[1:])
		}
	}
	if p == "" || file == "" || filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(filepath.Dir(file), p)
}

// Path is FromFile for the file this decoder reads.
func (d *Decoder) Path(p string) string { return FromFile(d.File, p) }
