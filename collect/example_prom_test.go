package collect_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"strings"

	"github.com/vigil-metrics/vigil/collect"
)

// Help text is given where the metric is made; /metrics shows it as the
// family's # HELP line (a newline escaped as \n) and the store keeps it.
func ExampleHelp() {
	r, _ := collect.Open(":memory:", collect.Options{Service: "billing", Now: clock, FlushInterval: -1})
	defer r.Close()
	r.Counter("invoices_total", map[string]string{"currency": "EUR"},
		collect.Help("Invoices sent.\nOne per customer and month.")).Inc()

	w := httptest.NewRecorder()
	r.Handler().ServeHTTP(w, httptest.NewRequest("GET", "/metrics", nil))
	fmt.Print(w.Body.String())

	r.Flush(context.Background())
	var help string
	storeDB(r).QueryRow(`SELECT help FROM metric_metadata WHERE name = 'invoices_total'`).Scan(&help)
	fmt.Println("stored:", strings.ReplaceAll(help, "\n", " / "))
	// Output:
	// # HELP invoices_total Invoices sent.\nOne per customer and month.
	// # TYPE invoices_total counter
	// invoices_total{currency="EUR"} 1
	// stored: Invoices sent. / One per customer and month.
}
