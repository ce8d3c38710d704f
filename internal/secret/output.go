package secret

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"sync"
)

// maxPending bounds what a Writer holds while it waits for the end of a
// line: a longer line is scrubbed and written as it stands (a secret cut
// by that boundary is not caught).
const maxPending = 64 << 10

// Writer scrubs what goes through it, a line at a time (a line ends at
// \n or \r, so a progress line is not held back), so that a secret
// written in two pieces is still caught. Flush writes a last unfinished
// line. It is safe for concurrent use.
type Writer struct {
	set *Set
	w   io.Writer
	mu  sync.Mutex
	buf []byte
}

// Writer returns w behind s. Writes succeed as a whole (n is len(p))
// unless w fails.
func (s *Set) Writer(w io.Writer) *Writer { return &Writer{set: s, w: w} }

func (w *Writer) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.buf) == 0 && w.set.Len() == 0 {
		return w.w.Write(p) // nothing to scrub: as fast as the writer
	}
	w.buf = append(w.buf, p...)
	cut := bytes.LastIndexAny(w.buf, "\n\r") + 1
	if len(w.buf) > maxPending {
		cut = len(w.buf)
	}
	if cut == 0 {
		return len(p), nil
	}
	out := w.set.Scrub(string(w.buf[:cut]))
	w.buf = append(w.buf[:0], w.buf[cut:]...)
	if _, err := io.WriteString(w.w, out); err != nil {
		return 0, err
	}
	return len(p), nil
}

// Flush writes what is held of an unfinished line.
func (w *Writer) Flush() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.buf) == 0 {
		return nil
	}
	out := w.set.Scrub(string(w.buf))
	w.buf = w.buf[:0]
	_, err := io.WriteString(w.w, out)
	return err
}

// Close flushes; the writer beneath stays open.
func (w *Writer) Close() error { return w.Flush() }

// Handler returns h behind s: a record's message and every string,
// error and Stringer attribute (in groups too) are scrubbed before h
// formats them, so no quoting of h's hides a secret from the scrub.
func (s *Set) Handler(h slog.Handler) slog.Handler { return &handler{set: s, next: h} }

type handler struct {
	set  *Set
	next slog.Handler
}

func (h *handler) Enabled(ctx context.Context, l slog.Level) bool { return h.next.Enabled(ctx, l) }

func (h *handler) Handle(ctx context.Context, r slog.Record) error {
	if h.set.Len() == 0 {
		return h.next.Handle(ctx, r)
	}
	out := slog.NewRecord(r.Time, r.Level, h.set.Scrub(r.Message), r.PC)
	r.Attrs(func(a slog.Attr) bool {
		out.AddAttrs(h.attr(a))
		return true
	})
	return h.next.Handle(ctx, out)
}

func (h *handler) WithAttrs(as []slog.Attr) slog.Handler {
	clean := make([]slog.Attr, len(as))
	for i, a := range as {
		clean[i] = h.attr(a)
	}
	return &handler{set: h.set, next: h.next.WithAttrs(clean)}
}

func (h *handler) WithGroup(name string) slog.Handler {
	return &handler{set: h.set, next: h.next.WithGroup(name)}
}

func (h *handler) attr(a slog.Attr) slog.Attr {
	v := a.Value.Resolve()
	switch v.Kind() {
	case slog.KindString:
		return slog.String(a.Key, h.set.Scrub(v.String()))
	case slog.KindGroup:
		g := v.Group()
		clean := make([]any, len(g))
		for i, x := range g {
			clean[i] = h.attr(x)
		}
		return slog.Group(a.Key, clean...)
	case slog.KindAny:
		switch x := v.Any().(type) {
		case error:
			return slog.String(a.Key, h.set.Scrub(x.Error()))
		case interface{ String() string }:
			return slog.String(a.Key, h.set.Scrub(x.String()))
		}
	}
	return slog.Attr{Key: a.Key, Value: v}
}
