package metricpath

import (
	"testing"
)

// FuzzParse: any metric path (from a flag, a rule, an SLO, a report)
// parses or is a *SyntaxError with a column inside it; what parses prints
// as a path that parses back to the same print (decode, encode, decode).
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		`response_time_ms.p95 by (service, endpoint)`,
		`http_requests_total{status=~"5.."}.increase by (service) / http_requests_total.increase by (service)`,
		`cpu_usage_percent.avg by (host)`, `m{a!="x",b!~"y|z"}.p99.9`, `m{a="\"quoted\" \\ back"}.rate`,
		`m.last`, `m`, `m{}`, `m{a="é"}.count_le(250)`, `a / b / c`, `m{a="x"`, `m.p100`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		e, err := Parse(s)
		if err != nil {
			if se, ok := err.(*SyntaxError); ok && (se.Col < 1 || se.Offset < 0 || se.Offset > len(s)) {
				t.Fatalf("%q: error outside the path: %+v", s, se)
			}
			return
		}
		printed := e.String()
		e2, err := Parse(printed)
		if err != nil {
			t.Fatalf("%q printed as %q, which does not parse: %v", s, printed, err)
		}
		if again := e2.String(); again != printed {
			t.Fatalf("%q printed as %q, then as %q", s, printed, again)
		}
	})
}
