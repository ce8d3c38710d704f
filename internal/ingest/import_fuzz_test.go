package ingest

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/vigil-metrics/vigil/internal/fuzzseed"
	"github.com/vigil-metrics/vigil/internal/store"
)

// FuzzImport: any file given to vigil import, as CSV, OpenMetrics or JSON
// Lines, imports or is refused with an *InputError naming the file and a
// line inside it (0: the whole file); never a panic or a hang. On a
// refusal the store is unchanged (empty here).
func FuzzImport(f *testing.F) {
	names := []string{"f.csv", "f.om", "f.jsonl"}
	for i, g := range []string{"testdata/import/sample.csv", "testdata/import/sample.om", "testdata/import/sample.jsonl"} {
		for _, b := range fuzzseed.Files(f, g) {
			f.Add(b, uint8(i))
		}
	}
	for _, b := range fuzzseed.Sections(f, "cmd/vigil/testdata/script/import*.txtar", "*.csv") {
		f.Add(b, uint8(0))
	}
	f.Add([]byte("# TYPE h histogram\nh_bucket{le=\"1\"} 1 1795946400\nh_bucket{le=\"+Inf\"} 2 1795946400\nh_count 2 1795946400\nh_sum 3 1795946400\n# EOF\n"), uint8(1))
	f.Add([]byte("ts,name,type,value\n1795946400,m,gauge,1\n\"2026-11-29T10:00:00Z\",m,gauge,\"2\"\n"), uint8(0))
	f.Fuzz(func(t *testing.T, data []byte, format uint8) {
		name := names[int(format)%len(names)]
		// A new store each time: what one input stored must not decide
		// the next one's fate (a name's type is fixed by its first use).
		p := filepath.Join(os.TempDir(), "vigil-fuzz-import-"+strconv.Itoa(os.Getpid())+".db")
		for _, s := range []string{"", "-wal", "-shm"} {
			os.Remove(p + s)
		}
		defer func() {
			for _, s := range []string{"", "-wal", "-shm"} {
				os.Remove(p + s)
			}
		}()
		st, err := store.Open(context.Background(), p, store.Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		_, err = Import(context.Background(), st, []Source{{Name: name, R: bytes.NewReader(data)}})
		if err == nil {
			return
		}
		var ie *InputError
		if !errors.As(err, &ie) {
			t.Fatalf("not an input error: %v", err)
		}
		if lines := int64(bytes.Count(data, []byte("\n")) + 1); ie.File != name || ie.Line < 0 || ie.Line > lines {
			t.Fatalf("%q does not name a line of the %d-line %s", err, lines, name)
		}
		if rows := dump(t, st); len(rows) != 0 {
			t.Fatalf("refused (%v) but stored %d rows", err, len(rows))
		}
	})
}
