package main

import (
	"bufio"
	"os"
	"strconv"
	"time"
)

// The serve section's samples, as JSON Lines for `vigil import` (counter
// increments, which vigil stores) and as OpenMetrics for promtool (their
// running totals, which a scrape reads). Increments are whole numbers, so
// both sides' totals are exact and the counter answers differ only by the
// engines' own rounding.

// serveIncrement is counter series s's increment at step i: 1 to 5.
func serveIncrement(s, i int) float64 {
	return float64(1 + splitmix(uint64(s)<<32|uint64(i))%5)
}

// serveGauge is gauge series s's value at step i, in [0, 1000) with one
// decimal.
func serveGauge(s, i int) float64 {
	return float64(splitmix(uint64(s+serveCounters)<<32|uint64(i))%10000) / 10
}

// serveLabels are series s's labels in OpenMetrics: its number, and one
// of serveServices services.
func serveLabels(s int) string {
	return `{series="` + strconv.Itoa(s) + `",service="svc-` + strconv.Itoa(s%serveServices) + `"}`
}

// writeServeJSONL writes the samples in time order, as scrapes append
// them: at each step, every counter's increment, then every gauge.
func writeServeJSONL(path string, first time.Time, every time.Duration, steps int) error {
	tail := func(s int) []byte {
		return []byte(`,"labels":{"series":"` + strconv.Itoa(s) + `"},"service":"svc-` + strconv.Itoa(s%serveServices) + "\"}\n")
	}
	ctails, gtails := make([][]byte, serveCounters), make([][]byte, serveGauges)
	for s := range ctails {
		ctails[s] = tail(s)
	}
	for s := range gtails {
		gtails[s] = tail(s)
	}
	chead := []byte(`,"name":"x_total","type":"counter","value":`)
	ghead := []byte(`,"name":"g","type":"gauge","value":`)
	return writeJSONL(path, func(j *jsonlWriter) error {
		var ts []byte
		for i := range steps {
			ts = strconv.AppendInt(ts[:0], first.Add(time.Duration(i)*every).Unix(), 10)
			for s := range serveCounters {
				j.sample(ts, chead, serveIncrement(s, i), ctails[s])
			}
			for s := range serveGauges {
				j.sample(ts, ghead, serveGauge(s, i), gtails[s])
			}
		}
		return nil
	})
}

// writeServeOM writes the same samples as OpenMetrics, each series'
// samples together: counters as their running totals.
func writeServeOM(path string, first time.Time, every time.Duration, steps int) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer f.Close()
	w := bufio.NewWriterSize(f, 1<<20)
	var b []byte
	family := func(head, name string, n int, value func(s, i int) float64) {
		w.WriteString(head) //nolint:errcheck // bufio keeps the first error for Flush
		for s := range n {
			prefix := name + serveLabels(s) + " "
			for i := range steps {
				b = append(b[:0], prefix...)
				b = strconv.AppendFloat(b, value(s, i), 'f', -1, 64)
				b = append(b, ' ')
				b = strconv.AppendInt(b, first.Add(time.Duration(i)*every).Unix(), 10)
				w.Write(append(b, '\n')) //nolint:errcheck
			}
		}
	}
	var total float64
	family("# TYPE x counter\n", "x_total", serveCounters, func(s, i int) float64 {
		if i == 0 {
			total = 0
		}
		total += serveIncrement(s, i)
		return total
	})
	family("# TYPE g gauge\n", "g", serveGauges, serveGauge)
	w.WriteString("# EOF\n") //nolint:errcheck
	if err := w.Flush(); err != nil {
		return err
	}
	return f.Close()
}
