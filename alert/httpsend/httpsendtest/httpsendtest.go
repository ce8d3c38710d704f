// Package httpsendtest is a scripted receiver for the tests of HTTP
// channels: it answers with the statuses, bodies and headers it is given,
// in turn, and keeps every request it saw.
//
// It is for tests alone: no non-test code may import it.
package httpsendtest

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// Answer is one scripted answer.
type Answer struct {
	Code   int
	Body   string
	Header map[string]string
}

// Request is what the receiver saw.
type Request struct {
	Method, Path string
	Header       http.Header
	Body         []byte
	At           time.Time
}

// Server answers Answers in turn (the last one repeats), each with Header
// and then the answer's own headers. Set its fields before it serves.
type Server struct {
	Answers []Answer
	Header  map[string]string

	mu  sync.Mutex
	got []Request
}

func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	s.mu.Lock()
	s.got = append(s.got, Request{r.Method, r.URL.Path, r.Header.Clone(), body, time.Now()})
	a := s.Answers[min(len(s.got), len(s.Answers))-1]
	s.mu.Unlock()
	for k, v := range s.Header {
		w.Header().Set(k, v)
	}
	for k, v := range a.Header {
		w.Header().Set(k, v)
	}
	w.WriteHeader(a.Code)
	_, _ = io.WriteString(w, a.Body)
}

// Script replaces the answers and forgets the requests seen, as for a
// fresh server.
func (s *Server) Script(answers ...Answer) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.Answers, s.got = answers, nil
}

// Requests is what the server saw so far, in order.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.got...)
}

// Golden is testdata/name, a JSON file, compacted.
func Golden(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := json.Compact(&out, b); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}
