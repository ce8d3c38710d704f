package promsrc

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/golang/snappy"
	"github.com/prometheus/prometheus/model/value"
	"github.com/prometheus/prometheus/prompb"
	"github.com/prometheus/prometheus/tsdb/chunkenc"
	"go.yaml.in/yaml/v3"

	"github.com/vigil-metrics/vigil/internal/noredirect"
	"github.com/vigil-metrics/vigil/internal/sources"
)

// Raw samples come by the streamed remote-read API where the engine
// serves it (Prometheus, Mimir, Cortex): the engine's own XOR chunks,
// framed, which cost a fraction of the query API's JSON to make, send and
// read. Chunks hold whole runs of samples, so their samples are trimmed
// to the window here.

const streamedType = "application/x-streamed-protobuf"

// useRemoteRead says whether raw samples come by remote read: never with
// read_api: query; with auto where the probe (once per source) found it;
// with remote_read, an error where it did not.
func (c *Client) useRemoteRead(ctx context.Context) (bool, error) {
	if c.cfg.ReadAPI == sources.ReadQuery {
		return false, nil
	}
	if !c.readProbed {
		var err error
		c.readWhy, err = c.probeRead(ctx)
		if err != nil {
			return false, err
		}
		c.readProbed = true
	}
	if c.readWhy != "" && c.cfg.ReadAPI == sources.ReadRemote && !c.readAutoOnly {
		return false, fmt.Errorf("source %s: read_api is remote_read, but %s (set read_api: auto or query for this source in the config's sources: section)", c.URL, c.readWhy)
	}
	return c.readWhy == "" || (c.readAutoOnly && c.cfg.ReadAPI == sources.ReadRemote), nil
}

// ReadBy says, once raw samples were read, by which API and why not by
// remote read where not (the debug log's; "" before the first read).
func (c *Client) ReadBy() string {
	switch {
	case c.cfg.ReadAPI == sources.ReadQuery:
		return "the query API (read_api: query)"
	case !c.readProbed:
		return ""
	case c.readWhy == "":
		return "remote read"
	case c.readAutoOnly && c.cfg.ReadAPI == sources.ReadRemote:
		return "remote read (read_api: remote_read), though " + c.readWhy
	}
	return "the query API: " + c.readWhy
}

// probeRead asks for a name no series has over one second, streamed: an
// engine that serves it answers with the streamed type and no frame. It
// gives why not ("" where it does); an error only where the engine could
// not be asked at all. VictoriaMetrics answers 400 "unsupported path",
// others 404 or 405, or their answers' own type.
func (c *Client) probeRead(ctx context.Context) (string, error) {
	ms := []*prompb.LabelMatcher{{Type: prompb.LabelMatcher_EQ, Name: "__name__", Value: "vigil_remote_read_probe"}}
	ctx, cancel := c.ctx(ctx)
	defer cancel()
	resp, err := c.readRequest(ctx, ms, 0, 1000)
	if err != nil {
		var re *readError
		if errors.As(err, &re) {
			return "the engine does not serve streamed remote read (/api/v1/read answered " + re.Error() + ")", nil
		}
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			err = &timeoutError{c.timeout}
		}
		return "", c.wrap(err, "probe remote read")
	}
	defer resp.Body.Close()
	if _, err := c.decodeStream(resp, 0, 1000, nil); err != nil {
		return "the engine's remote read answered the probe with what vigil cannot read (" + err.Error() + ")", nil
	}
	// Prometheus adds its external labels to every series it streams,
	// which the query API does not: the two would give other series.
	ext, err := c.externalLabels(ctx)
	if err != nil {
		// Whether it adds external labels is not known: auto reads by
		// the query API, whose series are the same either way; a forced
		// remote_read reads on (with the labels, if any).
		c.readAutoOnly = true
		return "the engine's configuration (/api/v1/status/config), which says whether remote read adds external labels, could not be read (" + err.Error() + ")", nil
	}
	if ext != "" {
		return "the engine adds its external labels (" + ext + ") to the series remote read gives, and not to the query API's", nil
	}
	return "", nil
}

// externalLabels lists the external labels of the engine's configuration
// (Prometheus): "" where it has none; an error where its configuration
// cannot be read, so that none is not assumed.
func (c *Client) externalLabels(ctx context.Context) (string, error) {
	cfg, err := c.api.Config(ctx)
	if err != nil {
		return "", errors.New(c.ac.secrets.ScrubCut(wordsN([]byte(err.Error()), msgBytes)))
	}
	var doc struct {
		Global struct {
			ExternalLabels map[string]string `yaml:"external_labels"`
		} `yaml:"global"`
	}
	if err := yaml.Unmarshal([]byte(cfg.YAML), &doc); err != nil {
		return "", fmt.Errorf("its YAML: %s", wordsN([]byte(err.Error()), msgBytes))
	}
	if len(doc.Global.ExternalLabels) == 0 {
		return "", nil
	}
	var names []string
	for k := range doc.Global.ExternalLabels {
		names = append(names, k)
	}
	return strings.Join(names, ", "), nil
}

// readError is a non-2xx or non-streamed answer to a remote read, with
// the server's words (cut short, secrets scrubbed).
type readError struct{ status, words string }

func (e *readError) Error() string {
	if e.words == "" {
		return e.status
	}
	return e.status + ": " + e.words
}

// readRequest posts a streamed read of ms over [s+1, e] and returns the
// answer when it is 2xx and streamed.
func (c *Client) readRequest(ctx context.Context, ms []*prompb.LabelMatcher, s, e int64) (*http.Response, error) {
	rr := &prompb.ReadRequest{
		Queries:               []*prompb.Query{{StartTimestampMs: s + 1, EndTimestampMs: e, Matchers: ms}},
		AcceptedResponseTypes: []prompb.ReadRequest_ResponseType{prompb.ReadRequest_STREAMED_XOR_CHUNKS},
	}
	pb, err := rr.Marshal()
	if err != nil {
		return nil, err
	}
	u := c.ac.URL("/api/v1/read", nil)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u.String(), bytes.NewReader(snappy.Encode(nil, pb)))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Encoding", "snappy")
	req.Header.Set("Content-Type", "application/x-protobuf")
	req.Header.Set("X-Prometheus-Remote-Read-Version", "0.1.0")
	resp, err := c.ac.hc.Do(req)
	if err != nil {
		return nil, err
	}
	if rerr := noredirect.Check(resp); rerr != nil {
		resp.Body.Close()
		return nil, rerr
	}
	if resp.StatusCode/100 != 2 || !strings.HasPrefix(resp.Header.Get("Content-Type"), streamedType) {
		defer resp.Body.Close()
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 4*msgBytes))
		status := resp.Status
		if resp.StatusCode/100 == 2 {
			status += " of type " + strconv.Quote(resp.Header.Get("Content-Type"))
		}
		return nil, &readError{status: status, words: wordsN([]byte(c.ac.secrets.ScrubCut(string(b))), msgBytes)}
	}
	return resp, nil
}

// readRange reads the raw samples of sel in (s, e] by remote read: its
// series sorted as the engine sends them, and how many samples came
// (in the window or not).
func (c *Client) readRange(ctx context.Context, sel string, s, e int64) ([]Series, int, error) {
	ms, err := matchersOf(sel)
	if err != nil {
		return nil, 0, err
	}
	ctx, cancel := c.ctx(ctx)
	defer cancel()
	resp, err := c.readRequest(ctx, ms, s, e)
	if err == nil {
		defer resp.Body.Close()
		var out []Series
		n := 0
		n, err = c.decodeStream(resp, s, e, func(sr Series) { out = append(out, sr) })
		if err == nil {
			return out, n, nil
		}
	}
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return nil, 0, &timeoutError{c.timeout}
	}
	return nil, 0, err
}

// decodeStream reads the frames of a streamed answer, no more than
// max_response_bytes in all, and hands each series' samples in (s, e]
// to emit (where it is not nil), a series split over frames joined. It
// gives how many float samples came.
func (c *Client) decodeStream(resp *http.Response, s, e int64, emit func(Series)) (int, error) {
	if why := unchunked(resp); why != "" {
		return 0, errors.New(why)
	}
	limit := int64(min(c.cfg.MaxResponseBytes, sources.MaxMaxResponseBytes))
	fr := frameReader{r: bufio.NewReaderSize(&capReader{r: resp.Body, left: limit, max: sources.ByteSize(limit)}, 64<<10), max: uint64(limit)}
	var (
		msg  prompb.ChunkedReadResponse
		cur  Series
		key  []byte
		prev []byte
		it   chunkenc.Iterator
		n    int
	)
	flush := func() {
		if len(cur.TS) > 0 && emit != nil {
			emit(cur)
		}
		cur = Series{}
	}
	for {
		b, err := fr.next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return 0, err
		}
		msg.Reset()
		if err := msg.Unmarshal(b); err != nil {
			return 0, fmt.Errorf("a frame of the stream is not a ChunkedReadResponse: %w", err)
		}
		for _, cs := range msg.ChunkedSeries {
			key = key[:0]
			for _, l := range cs.Labels {
				key = append(append(append(append(key, l.Name...), 0xff), l.Value...), 0xff)
			}
			if !bytes.Equal(key, prev) || cur.Labels == nil {
				// Series come sorted and whole, a long one split over
				// consecutive frames.
				flush()
				prev = append(prev[:0], key...)
				cur.Labels = make(map[string]string, len(cs.Labels))
				for _, l := range cs.Labels {
					if l.Name != "__name__" {
						cur.Labels[l.Name] = l.Value
					}
				}
			}
			// Room for the chunks' samples at once (an XOR chunk starts
			// with its count; none holds more than 4 a byte).
			need := 0
			for _, ch := range cs.Chunks {
				if len(ch.Data) >= 2 {
					need += min(int(binary.BigEndian.Uint16(ch.Data)), 4*len(ch.Data))
				}
			}
			cur.TS, cur.Values = slices.Grow(cur.TS, need), slices.Grow(cur.Values, need)
			for _, ch := range cs.Chunks {
				enc := chunkenc.Encoding(ch.Type)
				if enc != chunkenc.EncXOR && enc != chunkenc.EncXOR2 {
					continue // native histograms: as the query API's floats, none
				}
				chk, err := chunkenc.FromData(enc, ch.Data)
				if err != nil {
					return 0, err
				}
				it = chk.Iterator(it)
				for it.Next() == chunkenc.ValFloat {
					t, v := it.At()
					n++
					if t <= s || t > e || (len(cur.TS) > 0 && t <= cur.TS[len(cur.TS)-1]) {
						continue // out of the window, or a chunk's overlap
					}
					if math.IsNaN(v) || math.IsInf(v, 0) {
						if !value.IsStaleNaN(v) { // a range selector drops staleness markers
							c.dropped++
						}
						continue
					}
					cur.TS, cur.Values = append(cur.TS, t), append(cur.Values, v)
				}
				if err := it.Err(); err != nil {
					return 0, fmt.Errorf("a chunk of the stream: %w", err)
				}
			}
		}
	}
	flush()
	return n, nil
}

// unchunked says why a streamed answer cannot be known whole ("" where
// it can). The stream has no end-of-stream marker: a body cut after a
// whole frame reads as a shorter answer. Prometheus flushes each frame,
// so it streams chunked (HTTP/1.1) or with no length (HTTP/2, whose
// frames say where the body ends); only an answer with no series, which
// it never flushes, comes with a Content-Length (0). A body ended by the
// connection closing, or one of a length a proxy set, may be a stream
// cut at a frame's end, and is refused rather than read as a partial
// answer.
func unchunked(resp *http.Response) string {
	switch {
	case resp.ContentLength == 0:
		return ""
	case resp.ContentLength > 0:
		return fmt.Sprintf("the remote-read answer is not chunked (a Content-Length of %d, which a proxy may have cut to a frame's end; Prometheus streams chunked): vigil cannot tell it whole (set read_api: query for this source if a proxy buffers the answers)", resp.ContentLength)
	case resp.ProtoMajor >= 2 || slices.Contains(resp.TransferEncoding, "chunked"):
		return ""
	}
	return "the remote-read answer is not chunked (its end was the connection closing, which a cut stream also gives; Prometheus streams chunked): vigil cannot tell it whole (set read_api: query for this source if a proxy buffers the answers)"
}

// frameReader reads the stream's frames: a uvarint length, the CRC-32
// (Castagnoli) of the data, big-endian, and the data.
type frameReader struct {
	r   *bufio.Reader
	max uint64
	buf []byte
}

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

func (f *frameReader) next() ([]byte, error) {
	size, err := binary.ReadUvarint(f.r)
	if err == io.EOF {
		return nil, io.EOF
	}
	if err != nil {
		return nil, fmt.Errorf("a frame's length: %w", err)
	}
	if size > f.max {
		return nil, &tooLargeError{sources.ByteSize(f.max)}
	}
	var sum [4]byte
	if _, err := io.ReadFull(f.r, sum[:]); err != nil {
		return nil, fmt.Errorf("a frame's checksum: %w", noEOF(err))
	}
	if uint64(cap(f.buf)) < size {
		f.buf = make([]byte, size)
	}
	f.buf = f.buf[:size]
	if _, err := io.ReadFull(f.r, f.buf); err != nil {
		return nil, fmt.Errorf("a frame: %w", noEOF(err))
	}
	if crc32.Checksum(f.buf, castagnoli) != binary.BigEndian.Uint32(sum[:]) {
		return nil, errors.New("a frame's checksum does not match its data (the stream was cut or garbled)")
	}
	return f.buf, nil
}

func noEOF(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}

// capReader reads no more than left bytes of r: past them, an error.
type capReader struct {
	r    io.Reader
	left int64
	max  sources.ByteSize
}

func (c *capReader) Read(p []byte) (int, error) {
	if int64(len(p)) > c.left+1 {
		p = p[:c.left+1] // one byte past the limit says it is passed
	}
	n, err := c.r.Read(p)
	c.left -= int64(n)
	if c.left < 0 {
		return 0, &tooLargeError{c.max}
	}
	return n, err
}

// matchersOf reads back a selector Selector wrote: name{label op "value",...}.
func matchersOf(sel string) ([]*prompb.LabelMatcher, error) {
	bad := func() error { return fmt.Errorf("selector %q: not one vigil wrote", sel) }
	name, rest, ok := strings.Cut(sel, "{")
	if !ok || name == "" || !strings.HasSuffix(rest, "}") {
		return nil, bad()
	}
	ms := []*prompb.LabelMatcher{{Type: prompb.LabelMatcher_EQ, Name: "__name__", Value: name}}
	rest = strings.TrimSuffix(rest, "}")
	for rest != "" {
		i := strings.IndexAny(rest, "=!")
		if i <= 0 {
			return nil, bad()
		}
		m := &prompb.LabelMatcher{Name: rest[:i]}
		rest = rest[i:]
		for _, op := range []struct {
			s string
			t prompb.LabelMatcher_Type
		}{{"=~", prompb.LabelMatcher_RE}, {"!~", prompb.LabelMatcher_NRE}, {"!=", prompb.LabelMatcher_NEQ}, {"=", prompb.LabelMatcher_EQ}} {
			if r, ok := strings.CutPrefix(rest, op.s); ok {
				m.Type, rest = op.t, r
				break
			}
		}
		q, err := strconv.QuotedPrefix(rest)
		if err != nil {
			return nil, bad()
		}
		if m.Value, err = strconv.Unquote(q); err != nil {
			return nil, bad()
		}
		ms = append(ms, m)
		rest = strings.TrimPrefix(rest[len(q):], ",")
	}
	return ms, nil
}
