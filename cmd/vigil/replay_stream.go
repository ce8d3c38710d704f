package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"io"

	"github.com/vigil-metrics/vigil/alert/replay"
	"github.com/vigil-metrics/vigil/internal/atomicfile"
)

// streamReplayJSON writes one replay's JSON to stdout or out as it is
// encoded: a month's episodes and notices are hundreds of megabytes of
// JSON, which encoded whole (and buffered again for the file) were the
// replay's peak memory.
func (a *app) streamReplayJSON(out string, r *replay.Replay) error {
	write := func(w io.Writer) error {
		bw := bufio.NewWriterSize(w, 1<<16)
		if err := writeReplayJSONStream(bw, r); err != nil {
			return err
		}
		return bw.Flush()
	}
	if out == "" {
		return write(a.stdout)
	}
	return atomicfile.Write(out, write)
}

// listsKeys are where the episodes and the notices go in the JSON of a
// replay whose lists are empty: adjacent fields of replayJSON, then the
// warnings (strings, whose quotes are escaped, so this cannot match in
// one).
var listsKeys = []byte(`,"episodes":[],"notices":[],"warnings":`)

// writeReplayJSONStream writes what json.NewEncoder(w).Encode(
// replayToJSON(r)) writes, byte for byte, encoding one episode and one
// notice at a time.
func writeReplayJSONStream(w io.Writer, r *replay.Replay) error {
	head := replayToJSON(&replay.Replay{From: r.From, To: r.To, Step: r.Step, Steps: r.Steps, Rules: r.Rules,
		Channels: r.Channels, Incidents: r.Incidents, Warnings: r.Warnings})
	b, err := json.Marshal(head)
	if err != nil {
		return err
	}
	i := bytes.LastIndex(b, listsKeys)
	if i < 0 {
		return errors.New("replay JSON: the lists' place not found")
	}
	if _, err := w.Write(b[:i]); err != nil {
		return err
	}
	list := func(key string, n int, item func(int) any) error {
		if _, err := io.WriteString(w, key); err != nil {
			return err
		}
		for j := range n {
			if j > 0 {
				if _, err := io.WriteString(w, ","); err != nil {
					return err
				}
			}
			x, err := json.Marshal(item(j))
			if err != nil {
				return err
			}
			if _, err := w.Write(x); err != nil {
				return err
			}
		}
		_, err := io.WriteString(w, "]")
		return err
	}
	if err := list(`,"episodes":[`, len(r.Episodes), func(j int) any { return episodeJSON(r.Episodes[j]) }); err != nil {
		return err
	}
	if err := list(`,"notices":[`, len(r.Notices), func(j int) any { return noticeJSON(r.Notices[j]) }); err != nil {
		return err
	}
	rest := b[i+len(`,"episodes":[],"notices":[]`):]
	if _, err := w.Write(rest); err != nil {
		return err
	}
	_, err = io.WriteString(w, "\n") // as json.Encoder ends a value
	return err
}
