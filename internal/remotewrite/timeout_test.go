package remotewrite

import (
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vigil-metrics/vigil/internal/store"
)

// A receiver that sends its headers at once and then its answer a byte
// every half second holds no send past Timeout: the request is cut off,
// logged, and retried like a 5xx; the batch goes through once the
// receiver answers properly, and it answers every send the same way
// (2xx with a trickled body, then a trickled 503).
func TestTricklingAnswerTimesOut(t *testing.T) {
	for _, status := range []int{http.StatusOK, http.StatusServiceUnavailable} {
		t.Run(http.StatusText(status), func(t *testing.T) {
			rc, good := newReceiver(t)
			var hits atomic.Int32
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if hits.Add(1) > 2 {
					good.Config.Handler.ServeHTTP(w, r)
					return
				}
				w.WriteHeader(status)
				for i := 0; i < 60; i++ {
					if _, err := w.Write([]byte("x")); err != nil {
						return
					}
					w.(http.Flusher).Flush()
					select {
					case <-r.Context().Done():
						return
					case <-time.After(500 * time.Millisecond):
					}
				}
			}))
			t.Cleanup(srv.Close)
			var logs syncBuffer
			w := start(t, Options{URL: srv.URL, Protocol: ProtocolV1, Timeout: 300 * time.Millisecond,
				Logger: slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})
			w.Enqueue([]store.Sample{gauge("g", 1000, 1), gauge("g", 2000, 2)})
			waitFor(t, "2 samples sent", func() bool { return w.Stats().Sent == 2 || w.Stats().Failed > 0 })
			st := w.Stats()
			if st.Sent != 2 || st.Failed != 0 || st.Retries != 2 {
				t.Fatalf("sent %d, failed %d, retries %d; want 2, 0, 2\n%s", st.Sent, st.Failed, st.Retries, logs.String())
			}
			if got, want := rc.got(), []string{"__name__=g, 1000 1", "__name__=g, 2000 2"}; !slices.Equal(got, want) {
				t.Fatalf("received %q, want %q", got, want)
			}
			if n := strings.Count(logs.String(), "level=WARN msg=\"remote write request timed out; retrying\""); n != 2 {
				t.Errorf("%d warnings for the 2 timed-out requests, want 2:\n%s", n, logs.String())
			}
		})
	}
}
