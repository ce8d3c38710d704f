package promsrc

import (
	"context"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/prometheus/prompb"
	"github.com/prometheus/prometheus/tsdb/chunkenc"

	"github.com/vigil-metrics/vigil/internal/sources"
	"github.com/vigil-metrics/vigil/internal/store"
)

// frameOf frames one series' samples as Prometheus streams them.
func frameOf(t *testing.T, job string, ts []int64, vs []float64) []byte {
	chk := chunkenc.NewXORChunk()
	app, err := chk.Appender()
	if err != nil {
		t.Fatal(err)
	}
	for i := range ts {
		app.Append(0, ts[i], vs[i])
	}
	msg := prompb.ChunkedReadResponse{ChunkedSeries: []*prompb.ChunkedSeries{{
		Labels: []prompb.Label{{Name: "__name__", Value: "up"}, {Name: "job", Value: job}},
		Chunks: []prompb.Chunk{{MinTimeMs: ts[0], MaxTimeMs: ts[len(ts)-1], Type: prompb.Chunk_XOR, Data: chk.Bytes()}},
	}}}
	pb, err := msg.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	out := binary.AppendUvarint(nil, uint64(len(pb)))
	out = binary.BigEndian.AppendUint32(out, crc32.Checksum(pb, crc32.MakeTable(crc32.Castagnoli)))
	return append(out, pb...)
}

// The streamed protocol has no end-of-stream marker, and Prometheus
// always streams chunked: an answer whose body ends at a frame's end
// because it was close-delimited, or as long as a (short) Content-Length
// said, may be a stream cut by a proxy, and is refused, never read as a
// partial answer (issue 26, hb26 D1). Chunked, it is read; so is an
// empty answer of Content-Length 0 (Prometheus's answer with no series).
func TestRemoteReadRefusesUnchunked(t *testing.T) {
	first := frameOf(t, "a", []int64{10_000, 20_000}, []float64{1, 2})
	second := frameOf(t, "b", []int64{10_000}, []float64{3})
	var mode string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/api/v1/read" {
			http.NotFound(w, r)
			return
		}
		switch mode {
		case "chunked":
			w.Header().Set("Content-Type", streamedType)
			w.Write(first)
			w.(http.Flusher).Flush()
			w.Write(second)
		case "empty":
			w.Header().Set("Content-Type", streamedType)
			w.Header().Set("Content-Length", "0")
		case "length":
			w.Header().Set("Content-Type", streamedType)
			w.Header().Set("Content-Length", fmt.Sprint(len(first)))
			w.Write(first)
		case "close":
			conn, bw, err := w.(http.Hijacker).Hijack()
			if err != nil {
				t.Error(err)
				return
			}
			defer conn.Close()
			fmt.Fprintf(bw, "HTTP/1.1 200 OK\r\nContent-Type: %s\r\nConnection: close\r\n\r\n", streamedType)
			bw.Write(first)
			bw.Flush()
		}
	}))
	defer srv.Close()
	read := func(m string) ([]Series, error) {
		mode = m
		cl, err := New(srv.URL, Config{ReadAPI: sources.ReadRemote}, 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		cl.readProbed = true // the probe's own answer is another test's
		var got []Series
		err = cl.Raw(context.Background(), "up", Selector("up", nil), store.Gauge, 0, 60_000, func(ss []Series) error { got = append(got, ss...); return nil })
		return got, err
	}
	if got, err := read("chunked"); err != nil || len(got) != 2 {
		t.Fatalf("chunked: %v %+v", err, got)
	}
	if got, err := read("empty"); err != nil || len(got) != 0 {
		t.Fatalf("empty: %v %+v", err, got)
	}
	for _, m := range []string{"length", "close"} {
		got, err := read(m)
		if err == nil || !strings.Contains(err.Error(), srv.URL) || !strings.Contains(err.Error(), "not chunked") {
			t.Errorf("%s: want an error naming the source and that the answer is not chunked, got %v %+v", m, err, got)
		}
	}
}
