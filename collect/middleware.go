package collect

import (
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/felixge/httpsnoop"
)

// MiddlewareOptions tune Middleware.
type MiddlewareOptions struct {
	// Endpoint names a request's endpoint label, called after the handler
	// ran. By default it is the route pattern a net/http ServeMux matched
	// (Request.Pattern: "GET /users/{id}" gives "/users/{id}"), and
	// "unmatched" when no route matched (404s of unknown paths, 405s,
	// redirects): a scan of /wp-admin or /.env makes no new series. A
	// handler that is not a ServeMux (or a ServeMux behind a wrapper that
	// copies the request) leaves the pattern empty: set Endpoint then, and
	// keep its values few.
	Endpoint func(*http.Request) string
	// Methods are the method label's allowed values (default: the nine
	// methods of RFC 9110 and PATCH); any other method is "other".
	Methods []string
	// SLIService, when set, records the SLIs of every request for this
	// service: TrackAvailability (a 5xx, a panic included, is a failure)
	// and, with LatencyThreshold > 0, TrackLatency.
	SLIService string
	// LatencyThreshold is TrackLatency's threshold (0: no latency SLI).
	LatencyThreshold time.Duration
}

// Unmatched is the endpoint label of a request no route matched.
const Unmatched = "unmatched"

var defaultMethods = []string{"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "CONNECT", "OPTIONS", "TRACE"}

// labelPool recycles the label maps of the middleware: a lookup does not
// keep the map it is given, so a request allocates none.
var labelPool = sync.Pool{New: func() any { return make(map[string]string, 4) }}

// Middleware records http_requests_total{method,endpoint,status} and the
// histogram response_time_ms{method,endpoint} for every request (see
// MiddlewareOptions for the labels' values), and the SLIs when
// MiddlewareOptions.SLIService is set. The writer handed to next keeps the
// optional interfaces of the server's (http.Flusher, http.Hijacker,
// io.ReaderFrom, http.Pusher; wrapped with github.com/felixge/httpsnoop)
// and unwraps for http.ResponseController. A handler that panics is
// recorded as a 500 and the panic goes on up. On a nil Recorder
// Middleware returns next.
func (r *Recorder) Middleware(next http.Handler, opt MiddlewareOptions) http.Handler {
	if r == nil {
		return next // a nil recorder records nothing: the handler alone
	}
	methods := opt.Methods
	if methods == nil {
		methods = defaultMethods
	}
	allowed := make(map[string]string, len(methods))
	for _, m := range methods {
		allowed[m] = m
	}
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		start := r.opt.Now()
		st := statusWriter{status: http.StatusOK}
		ww := httpsnoop.Wrap(w, httpsnoop.Hooks{
			WriteHeader: func(next httpsnoop.WriteHeaderFunc) httpsnoop.WriteHeaderFunc {
				return func(code int) {
					st.writeHeader(code)
					next(code)
				}
			},
			Write: func(next httpsnoop.WriteFunc) httpsnoop.WriteFunc {
				return func(b []byte) (int, error) {
					st.wroteHeader = true
					return next(b)
				}
			},
			WriteString: func(next httpsnoop.WriteStringFunc) httpsnoop.WriteStringFunc {
				return func(s string) (int, error) {
					st.wroteHeader = true
					return next(s)
				}
			},
			ReadFrom: func(next httpsnoop.ReadFromFunc) httpsnoop.ReadFromFunc {
				return func(src io.Reader) (int64, error) {
					st.wroteHeader = true
					return next(src)
				}
			},
		})
		panicked := true
		defer func() {
			status := st.status
			if panicked {
				status = http.StatusInternalServerError
			}
			r.observeRequest(req, &opt, allowed, status, r.opt.Now().Sub(start))
			if panicked {
				panic(recover())
			}
		}()
		next.ServeHTTP(ww, req)
		panicked = false
	})
}

// observeRequest records one request.
func (r *Recorder) observeRequest(req *http.Request, opt *MiddlewareOptions, allowed map[string]string, status int, d time.Duration) {
	var endpoint string
	switch {
	case opt.Endpoint != nil:
		endpoint = opt.Endpoint(req)
	case req.Pattern != "":
		endpoint = req.Pattern
		if i := strings.IndexByte(endpoint, ' '); i >= 0 {
			endpoint = endpoint[i+1:] // drop the method of "GET /users/{id}"
		}
	default:
		endpoint = Unmatched
	}
	method, ok := allowed[req.Method]
	if !ok {
		method = "other"
	}
	l := labelPool.Get().(map[string]string)
	clear(l)
	l["method"], l["endpoint"] = method, endpoint
	r.Histogram(r.requestDuration(), l).Observe(r.durationIn(r.requestDuration(), d))
	l["status"] = statusText(status)
	r.Counter("http_requests_total", l).Inc()
	labelPool.Put(l)
	if opt.SLIService != "" {
		r.TrackAvailability(opt.SLIService, status < 500, d)
		if opt.LatencyThreshold > 0 {
			r.TrackLatency(opt.SLIService, d, opt.LatencyThreshold)
		}
	}
}

var statusTexts [600]string

func init() {
	for i := range statusTexts {
		statusTexts[i] = strconv.Itoa(i)
	}
}

func statusText(code int) string {
	if code >= 0 && code < len(statusTexts) {
		return statusTexts[code]
	}
	return strconv.Itoa(code)
}

// statusWriter keeps the status a handler wrote: the first WriteHeader
// of a final status (1xx are informational), or 200 on a first write.
type statusWriter struct {
	status      int
	wroteHeader bool
}

func (w *statusWriter) writeHeader(code int) {
	if w.wroteHeader || code < 100 {
		return
	}
	if code >= 200 || code == http.StatusSwitchingProtocols {
		w.status, w.wroteHeader = code, true
	}
}
