package promsrc

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	jsoniter "github.com/json-iterator/go"
	"github.com/prometheus/client_golang/api"
	v1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/model"

	"github.com/vigil-metrics/vigil/internal/noredirect"
	"github.com/vigil-metrics/vigil/internal/secret"
	"github.com/vigil-metrics/vigil/internal/sources"
)

// apiClient is the api.Client the v1 API runs on. It is the official
// one's URL building with its own request: redirects are refused (never
// followed, nothing goes to the other host), an answer is read through a
// limit (no more than max bytes ever sit in memory), and a 2xx answer
// that is not the API's envelope ({"status":"success","data":...} or
// {"status":"error","error":"..."}) is an error before v1 reads it, as
// v1 takes {} and "data": null for an empty success. It keeps the start
// of the last answer, for messages.
type apiClient struct {
	api.Client // URL
	hc         *http.Client
	max        sources.ByteSize
	last       []byte
	// secrets are this source's own credentials: a server that echoes
	// the request puts them in the words a message quotes, and the cut
	// to a quote's length would leave a secret's first part unscrubbed
	// for the edge's scrubbing to miss.
	secrets *secret.Set
}

// wordsBytes is how much of an answer a message quotes; msgBytes how
// much of an error message the server wrote for one.
const (
	wordsBytes = 200
	msgBytes   = 1000
)

func (c *apiClient) Do(ctx context.Context, req *http.Request) (*http.Response, []byte, error) {
	c.last = c.last[:0]
	resp, err := c.hc.Do(req.WithContext(ctx))
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	if rerr := noredirect.Check(resp); rerr != nil {
		return nil, nil, rerr
	}
	body, err := readLimited(resp, c.max)
	if err != nil {
		return nil, nil, err
	}
	c.last = append(c.last, body[:min(len(body), 4*wordsBytes)]...)
	if resp.StatusCode/100 == 2 {
		if err := c.checkEnvelope(body); err != nil {
			return resp, nil, err
		}
	}
	return resp, body, nil
}

// readLimited reads resp's body, refusing one over max bytes before
// reading it where its length is announced, else as soon as max bytes
// have come: the buffer never grows past max+1 bytes, and closing the
// body then drops the connection, so the server stops sending.
func readLimited(resp *http.Response, max sources.ByteSize) ([]byte, error) {
	// Config.Defaults holds max to MaxMaxResponseBytes; held here too, so
	// that limit+1 and the doublings below never overflow whatever a
	// caller hands in.
	limit := int64(min(max, sources.MaxMaxResponseBytes))
	if resp.ContentLength > limit {
		return nil, &tooLargeError{sources.ByteSize(limit)}
	}
	size := int64(4096)
	if resp.ContentLength >= 0 {
		size = resp.ContentLength + 1 // +1: the EOF needs room to be seen
	}
	buf := make([]byte, 0, min(size, limit+1))
	for {
		if len(buf) == cap(buf) {
			if int64(len(buf)) > limit {
				return nil, &tooLargeError{sources.ByteSize(limit)}
			}
			grown := make([]byte, len(buf), min(int64(cap(buf))*2, limit+1))
			copy(grown, buf)
			buf = grown
		}
		n, err := resp.Body.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if int64(len(buf)) > limit {
			return nil, &tooLargeError{sources.ByteSize(limit)}
		}
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			return nil, err
		}
	}
}

// tooLargeError is an answer over max_response_bytes.
type tooLargeError struct{ max sources.ByteSize }

func (e *tooLargeError) Error() string {
	return fmt.Sprintf("the answer is larger than %s, this source's max_response_bytes: read no further (narrow the query or the window, or raise max_response_bytes for this source in the config's sources: section)", e.max)
}

// envJSON reads the envelope's keys as v1 will (jsoniter, keys matched
// as encoding/json matches them, whatever their case).
var envJSON = jsoniter.ConfigCompatibleWithStandardLibrary

// checkEnvelope refuses a 2xx answer that is not the API's envelope: not
// JSON, no status or another one than success and error, an error without
// its words, a success without data. What the data holds is v1's to read:
// it is skipped here, not decoded (v1 decodes the body; a second full
// parse here cost a sixth of a raw read's time).
func (c *apiClient) checkEnvelope(body []byte) error {
	if len(bytes.TrimSpace(body)) == 0 {
		return &badAnswerError{what: "it is empty"}
	}
	it := envJSON.BorrowIterator(body)
	defer envJSON.ReturnIterator(it)
	var (
		status           *string
		errMsg           string
		dataSet, dataNil bool
	)
	switch it.WhatIsNext() {
	case jsoniter.NilValue:
		it.Skip()
	case jsoniter.ObjectValue:
		it.ReadObjectCB(func(it *jsoniter.Iterator, key string) bool {
			switch {
			case strings.EqualFold(key, "status"):
				status = nil
				if it.WhatIsNext() == jsoniter.StringValue {
					s := it.ReadString()
					status = &s
				} else if it.WhatIsNext() != jsoniter.NilValue {
					it.ReportError("read status", "not a string")
				} else {
					it.Skip()
				}
			case strings.EqualFold(key, "error") && it.WhatIsNext() == jsoniter.StringValue:
				errMsg = it.ReadString()
			case strings.EqualFold(key, "data"):
				dataSet, dataNil = true, it.WhatIsNext() == jsoniter.NilValue
				it.Skip()
			default:
				it.Skip()
			}
			return it.Error == nil
		})
	default:
		return &badAnswerError{what: "not JSON (not an object)", words: c.words(body)}
	}
	if it.Error == nil && it.WhatIsNext() != jsoniter.InvalidValue {
		it.ReportError("read the end", "data after the answer")
	}
	if it.Error != nil && it.Error != io.EOF {
		return &badAnswerError{what: "not JSON (" + c.words([]byte(it.Error.Error())) + ")", words: c.words(body)}
	}
	switch {
	case status == nil:
		return &badAnswerError{what: "no status", words: c.words(body)}
	case *status == "error" && strings.TrimSpace(errMsg) == "":
		return &badAnswerError{what: "status error without a message", words: c.words(body)}
	case *status == "error":
		return nil // v1 reads it: errorType and error
	case *status != "success":
		return &badAnswerError{what: "a status other than success or error", words: c.words(body)}
	case !dataSet || dataNil:
		return &badAnswerError{what: "status success without data", words: c.words(body)}
	}
	return nil
}

// badAnswerError is an answer vigil cannot read as the API's, with the
// server's words (cut short).
type badAnswerError struct{ what, words string }

func (e *badAnswerError) Error() string {
	if e.words == "" {
		return "the server's answer is not the API's: " + e.what
	}
	return "the server's answer is not the API's: " + e.what + "; it answered: " + e.words
}

// annotate gives v1's own decoding errors (a shape it could not read) the
// server's words from the answer just read.
func (c *apiClient) annotate(err error) error {
	var ae *v1.Error
	if errors.As(err, &ae) && ae.Type == v1.ErrBadResponse && ae.Detail == "" && len(c.last) > 0 {
		return &badAnswerError{what: c.words([]byte(ae.Msg)), words: c.words(c.last)}
	}
	return err
}

// words is words of b with this source's secrets scrubbed first (and a
// secret's start masked where b, or the part of it words looks at, was
// cut), so that no cut leaves part of one.
func (c *apiClient) words(b []byte) string {
	const look = 4 * wordsBytes // what wordsN reads at most
	if len(b) >= look {
		return words([]byte(c.secrets.ScrubCut(string(b[:look]))))
	}
	return words([]byte(c.secrets.Scrub(string(b))))
}

// words is the start of an answer fit for a message: at most wordsBytes
// bytes, white space run together, anything not printable (terminal
// escapes, bidi controls, invalid UTF-8) written as an escape.
func words(b []byte) string { return wordsN(b, wordsBytes) }

// wordsN is words cut at n bytes.
func wordsN(b []byte, n int) string {
	s := strings.Join(strings.Fields(strings.ToValidUTF8(string(b[:min(len(b), 4*n)]), "\uFFFD")), " ")
	var out strings.Builder
	for _, r := range cut(s, n) {
		if unicode.IsPrint(r) || r == '…' {
			out.WriteRune(r)
			continue
		}
		q := strconv.QuoteRuneToASCII(r)
		out.WriteString(q[1 : len(q)-1])
	}
	if out.Len() == 0 {
		return ""
	}
	return out.String()
}

// cut shortens s to at most n bytes on a rune boundary, marking the cut.
func cut(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}

// matrix is v as a range of samples, or an error saying what came.
func (c *Client) matrix(v model.Value) (model.Matrix, error) {
	m, ok := v.(model.Matrix)
	if !ok {
		return nil, c.shapeError(v, "a range of samples")
	}
	for _, ss := range m {
		if ss == nil {
			return nil, &badAnswerError{what: "a null series in a range of samples", words: c.ac.words(c.ac.last)}
		}
	}
	return m, nil
}

// vector is v as one sample per series, or an error saying what came.
func (c *Client) vector(v model.Value) (model.Vector, error) {
	vec, ok := v.(model.Vector)
	if !ok {
		return nil, c.shapeError(v, "a vector")
	}
	for _, s := range vec {
		if s == nil {
			return nil, &badAnswerError{what: "a null sample in a vector", words: c.ac.words(c.ac.last)}
		}
	}
	return vec, nil
}

func (c *Client) shapeError(v model.Value, want string) error {
	got := "no value"
	if v != nil {
		got = "a " + v.Type().String()
	}
	return &badAnswerError{what: got + " where " + want + " was asked for", words: c.ac.words(c.ac.last)}
}
