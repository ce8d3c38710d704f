package dashboards

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	"github.com/vigil-metrics/vigil/internal/atomicfile"
)

var uidRE = regexp.MustCompile(`^[A-Za-z0-9_-]{1,40}$`)

// CheckUID accepts a Grafana uid: 1 to 40 letters, digits, - and _.
func CheckUID(uid string) error {
	if !uidRE.MatchString(uid) {
		return fmt.Errorf("%q: want 1 to 40 letters, digits, - or _ (a Grafana uid)", uid)
	}
	return nil
}

// CheckURL accepts vigil serve's address: http or https, a host, no
// credentials (the token goes in secureJsonData), no $ (Grafana expands
// $NAME in provisioning files from its environment).
func CheckURL(s string) error {
	u, err := url.Parse(s)
	switch {
	case err != nil:
		return err
	case u.Scheme != "http" && u.Scheme != "https", u.Host == "":
		return fmt.Errorf("%q: want http(s)://host:port", s)
	case u.User != nil:
		return fmt.Errorf("%q: no credentials in the URL (see docs/dashboards.md for the token)", s)
	case strings.ContainsAny(s, "$\n"):
		return fmt.Errorf("%q: a $ would be read by Grafana as an environment variable", s)
	}
	return nil
}

// NotOursError is a file in the output folder that vigil did not write.
type NotOursError struct{ Path string }

func (e *NotOursError) Error() string {
	return fmt.Sprintf("%s exists and was not written by vigil dashboards: not replaced", e.Path)
}

// Owned reports whether data is a file vigil dashboards wrote: a
// dashboard tagged GeneratedTag, a YAML file beginning with
// ProvisionMarker.
func Owned(name string, data []byte) bool {
	if strings.HasSuffix(name, ".yaml") {
		return bytes.HasPrefix(data, []byte(ProvisionMarker))
	}
	var d struct {
		Tags []string `json:"tags"`
	}
	return json.Unmarshal(data, &d) == nil && slices.Contains(d.Tags, GeneratedTag)
}

// WriteAll writes files into dir, each whole (internal/atomicfile). A
// file already there that vigil did not write (or a link, or anything
// not a plain file) is a *NotOursError, before anything is written,
// unless force. Files of services no longer found are left alone.
func WriteAll(dir string, files []File, force bool) error {
	if !force {
		for _, f := range files {
			p := filepath.Join(dir, f.Name)
			st, err := os.Lstat(p)
			if errors.Is(err, fs.ErrNotExist) {
				continue
			}
			if err != nil {
				return err
			}
			if !st.Mode().IsRegular() {
				return &NotOursError{Path: p}
			}
			data, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			if !Owned(f.Name, data) {
				return &NotOursError{Path: p}
			}
		}
	}
	for _, f := range files {
		p := filepath.Join(dir, f.Name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		if err := atomicfile.WriteFile(p, f.Data); err != nil {
			return err
		}
	}
	return nil
}
