package collect

import (
	"context"
	"errors"
	"strings"
	"testing"
)

// A vec of a name another vec declared with another type is refused when
// made.
func TestVecTypeConflict(t *testing.T) {
	r, _ := newRecorder(t, Options{Service: "app"})
	if _, err := r.NewCounterVec(Opts{Name: "x"}, []string{"k"}); err != nil {
		t.Fatal(err)
	}
	if _, err := r.NewGaugeVec(Opts{Name: "x"}, []string{"k"}); !errors.Is(err, ErrTypeConflict) {
		t.Errorf("NewGaugeVec after NewCounterVec: %v, want ErrTypeConflict", err)
	}
	if _, err := r.NewHistogramVec(Opts{Name: "x"}, nil); !errors.Is(err, ErrTypeConflict) {
		t.Errorf("NewHistogramVec after NewCounterVec: %v, want ErrTypeConflict", err)
	}
	if _, err := r.NewCounterVec(Opts{Name: "x"}, []string{"other"}); err != nil {
		t.Errorf("a second counter vec of x: %v", err)
	}
}

// Help text that is not valid UTF-8 is refused (Prometheus's parser
// refuses the page).
func TestHelpNotUTF8Refused(t *testing.T) {
	r, _ := newRecorder(t, Options{Service: "app"})
	r.Counter("b_total", nil, Help("bad \xff\xfe")).Inc()
	if _, err := r.NewCounter("c_total", nil, Help("bad \xff")); !errors.Is(err, ErrInvalid) {
		t.Errorf("NewCounter with help not UTF-8: %v, want ErrInvalid", err)
	}
	if err := r.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	if h := r.helpOf("b_total"); h != "" {
		t.Errorf("help kept: %q", h)
	}
	md, _ := r.storeNow().Metadata(context.Background())
	if len(md) != 0 {
		t.Errorf("metadata stored: %+v", md)
	}
}

// The error-returning forms neither log nor use up the log-once of the
// forms that log.
func TestErrorFormsDoNotLog(t *testing.T) {
	r, log := logRecorder(t, Options{Service: "app"})
	v := r.MustCounterVec(Opts{Name: "g_total"}, []string{"a"})
	r.MustCounter("h_total", map[string]string{"a": "ok"})
	if _, err := v.GetMetricWithLabelValues("x", "y"); err == nil {
		t.Error("two values for one label name: no error")
	}
	if _, err := v.GetMetricWithLabelValues("\xff"); err == nil {
		t.Error("a value not UTF-8: no error")
	}
	if _, err := r.NewCounter("h_total", map[string]string{"a": "\xff"}); err == nil {
		t.Error("NewCounter with a value not UTF-8: no error")
	}
	if _, err := r.NewGauge("h_total", nil); err == nil {
		t.Error("NewGauge of a counter's name: no error")
	}
	if log.Len() != 0 {
		t.Errorf("the error-returning forms logged:\n%s", log)
	}
	v.WithLabelValues("x", "y")
	r.Counter("h_total", map[string]string{"a": "\xff"})
	r.Gauge("h_total", nil)
	for _, name := range []string{"g_total", "h_total"} {
		if !strings.Contains(log.String(), name) {
			t.Errorf("the logging forms did not log %s:\n%s", name, log)
		}
	}
	if n := strings.Count(log.String(), "level=WARN"); n != 3 {
		t.Errorf("%d warnings, want 3:\n%s", n, log)
	}
}

// Help given by a call that is refused (a type conflict) is not the
// help of the metric that holds the name.
func TestRefusedCallGivesNoHelp(t *testing.T) {
	r, _ := newRecorder(t, Options{Service: "app"})
	r.Counter("d", nil).Inc()
	r.Gauge("d", nil, Help("Queue depth (a gauge).")).Set(1) // refused: d is a counter
	if h := r.helpOf("d"); h != "" {
		t.Errorf("the counter d took the refused gauge's help %q", h)
	}
}
