package dashboards

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// ProvisionMarker begins every provisioning file vigil writes: --out
// refuses to replace a file without it.
const ProvisionMarker = "# Written by vigil dashboards"

// Provisioning are Grafana's provisioning files (Grafana's
// conf/provisioning layout): the data source pointing at vigil serve and
// the file provider loading the dashboards from dashboardsPath, the
// folder as Grafana sees it.
type Provisioning struct {
	DatasourceUID string
	URL           string // vigil serve, e.g. http://127.0.0.1:9464
	// ScrapeInterval is the data source's timeInterval (TimeInterval's
	// form, "60s"): Grafana's lower bound for $__interval, and the base of
	// $__rate_interval (replay.go).
	ScrapeInterval string
	// DashboardsPath is written with each $ doubled: Grafana expands
	// $NAME in provisioning files from its environment, and reads $$ as $.
	DashboardsPath string
}

// Files are provisioning/datasources/vigil.yaml and
// provisioning/dashboards/vigil.yaml. The data source is named as its uid:
// Grafana wants names unique too, and two vigil serves (--datasource-uid)
// are then two data sources.
func (p Provisioning) Files() []File {
	q := strconv.Quote
	var ds strings.Builder
	fmt.Fprintf(&ds, `%s: vigil serve as a Prometheus data source.
# Copy to Grafana's provisioning/datasources/ (or point paths.provisioning here).
apiVersion: 1
datasources:
  - name: %s
    type: prometheus
    uid: %s
    access: proxy
    url: %s
    editable: false
    jsonData:
      httpMethod: POST
      timeInterval: %s
      # With vigil serve --token-file, send the token (Grafana expands
      # $VIGIL_SERVE_TOKEN from its environment when it reads this file):
      # httpHeaderName1: Authorization
    # secureJsonData:
    #   httpHeaderValue1: Bearer $VIGIL_SERVE_TOKEN
`, ProvisionMarker, q(p.DatasourceUID), q(p.DatasourceUID), q(p.URL), q(p.ScrapeInterval))
	dash := fmt.Sprintf(`%s: the vigil dashboards, loaded from the files.
# Copy to Grafana's provisioning/dashboards/; path is the folder as Grafana sees it.
apiVersion: 1
providers:
  - name: vigil
    folder: vigil
    type: file
    disableDeletion: false
    allowUiUpdates: false
    updateIntervalSeconds: 30
    options:
      path: %s
`, ProvisionMarker, q(strings.ReplaceAll(p.DashboardsPath, "$", "$$")))
	return []File{
		{Name: "provisioning/datasources/vigil.yaml", Data: []byte(ds.String())},
		{Name: "provisioning/dashboards/vigil.yaml", Data: []byte(dash)},
	}
}

// DefaultTimeInterval is the data source's timeInterval when neither
// --scrape-interval nor the stores give one: the agent's interval.
const DefaultTimeInterval = 10 * time.Second

// TimeInterval writes a sample interval as the data source's
// timeInterval: whole seconds (at least 1s, rounded to the nearest), in
// one unit, since Grafana's browser reads only the first number and
// unit of "1m30s"; 0 is DefaultTimeInterval.
func TimeInterval(d time.Duration) string {
	if d <= 0 {
		d = DefaultTimeInterval
	}
	return strconv.FormatInt(max(int64(d.Round(time.Second)/time.Second), 1), 10) + "s"
}
