package promsrc

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
	"unicode"

	v1 "github.com/prometheus/client_golang/api/prometheus/v1"

	"github.com/vigil-metrics/vigil/internal/store"
)

// endpoints the client reads (query_range it does not call, but v1 reads
// its answer as a query's and it is fuzzed alike).
var fuzzEndpoints = []string{"query", "query_range", "series", "labels", "metadata"}

// bodyTransport answers every request with one status and body.
type bodyTransport struct {
	status int
	body   []byte
}

func (t bodyTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	return &http.Response{StatusCode: t.status, Status: http.StatusText(t.status), Header: http.Header{"Content-Type": {"application/json"}},
		Body: io.NopCloser(bytes.NewReader(t.body)), ContentLength: -1, Request: r}, nil
}

// Real answers (Prometheus 2.42's own words) seed the corpus with the
// shapes that work, the table's with those that must not.
var realAnswers = map[string][]string{
	"query": {goodMatrix, goodVector,
		`{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1000000000000,"11"]}]}}`,
		`{"status":"success","data":{"resultType":"matrix","result":[]}}`,
		`{"status":"success","data":{"resultType":"scalar","result":[1700000000.5,"NaN"]}}`,
		`{"status":"success","data":{"resultType":"matrix","result":[{"metric":{"q":"0.9"},"values":[[1,"+Inf"],[2,"-Inf"],[3,"NaN"]]}]},"warnings":["x"]}`,
		`{"status":"error","errorType":"execution","error":"query processing would load too many samples into memory in query execution"}`,
		`{"status":"error","errorType":"bad_data","error":"1:5: parse error: unexpected \"}\""}`,
	},
	"series":   {goodSeries, `{"status":"success","data":[]}`},
	"labels":   {goodLabels, `{"status":"success","data":[]}`},
	"metadata": {goodMetadata, `{"status":"success","data":{"up":[{"type":"counter","help":"h","unit":""}],"x":[{"type":"histogram","help":"","unit":""}]}}`},
}

// FuzzSourceAnswer feeds raw bytes as the body of each endpoint's answer
// (with a status of 200, 400, 422 or 503) through the real client: any
// answer is numbers that hold together or an error naming the source with
// printable, bounded words, never a panic.
func FuzzSourceAnswer(f *testing.F) {
	for i, ep := range fuzzEndpoints {
		src := ep
		if ep == "query_range" {
			src = "query"
		}
		for _, b := range realAnswers[src] {
			f.Add(uint8(i), uint8(0), []byte(b))
			f.Add(uint8(i), uint8(4), []byte(b))
		}
		for _, m := range malformed {
			f.Add(uint8(i), uint8(0), []byte(m.body))
			f.Add(uint8(i), uint8(4), []byte(m.body))
		}
	}
	f.Add(uint8(0), uint8(3), []byte(`{"status":"error","errorType":"timeout","error":"query timed out"}`))
	f.Add(uint8(0), uint8(1), []byte(`{"status":"success","data":{"resultType":"matrix","result":[]}}`))
	f.Add(uint8(2), uint8(2), []byte(htmlPage))
	statuses := []int{200, 400, 422, 503} // st&3; st&4: a counter
	f.Fuzz(func(t *testing.T, ep, st uint8, body []byte) {
		tr := bodyTransport{status: statuses[int(st&3)], body: body}
		c, err := newClient("http://prom.test:9090", Config{}, 0, tr)
		if err != nil {
			t.Fatal(err)
		}
		ctx := context.Background()
		switch fuzzEndpoints[int(ep)%len(fuzzEndpoints)] {
		case "query":
			typ := store.Gauge
			if st&4 != 0 {
				typ = store.Counter
			}
			err = c.Raw(ctx, "up", Selector("up", nil), typ, 0, 60_000, func(ss []Series) error {
				for _, s := range ss {
					if len(s.TS) != len(s.Values) {
						t.Fatalf("%d timestamps, %d values", len(s.TS), len(s.Values))
					}
					for _, ts := range s.TS {
						if ts < 0 || ts > 60_000 {
							t.Fatalf("sample at %d, outside the window", ts)
						}
					}
				}
				return nil
			})
			check(t, err)
			_, err = c.Over(ctx, "count_over_time", "up", Selector("up", nil), 60_000, 60_000)
		case "query_range":
			_, _, _, err = c.api.QueryRange(ctx, "up", v1.Range{Start: time.Unix(0, 0), End: time.Unix(60, 0), Step: time.Second})
			err = c.ac.annotate(err)
			if err != nil {
				err = c.wrap(err, "range")
			}
		case "series":
			_, err = c.SeriesBefore(ctx, "up", Selector("up", nil), 0, 60_000)
		case "labels":
			_, err = c.LabelNames(ctx, "up")
		case "metadata":
			_, err = c.Type(ctx, "up")
		}
		check(t, err)
	})
}

// check holds an error to what a message may be: it names the source,
// and the server's words in it are bounded and printable.
func check(t *testing.T, err error) {
	t.Helper()
	if err == nil {
		return
	}
	msg := err.Error()
	if !strings.HasPrefix(msg, "source http://prom.test:9090:") {
		t.Fatalf("the source is not named: %q", msg)
	}
	if len(msg) > 3*msgBytes {
		t.Fatalf("a message of %d bytes: %.200q", len(msg), msg)
	}
	if i := strings.IndexFunc(msg, func(r rune) bool { return !unicode.IsPrint(r) && r != '\uFFFD' }); i >= 0 {
		t.Fatalf("an unprintable %q in %q", msg[i:i+1], msg)
	}
}
