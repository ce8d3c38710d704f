// Package dashboards writes Grafana dashboards (JSON, the schema of
// Grafana 12 and 13) and provisioning files for vigil's stores served by
// `vigil serve` as a Prometheus data source: an overview of every SLO, one
// dashboard per service, one of the hosts' resources. It translates
// vigil metric paths into the PromQL that vigil serve answers (promql.go)
// and replays the HTTP requests Grafana's Prometheus data source would
// send for a dashboard's panels (replay.go), so that a test can check
// every panel against a running vigil serve without a Grafana.
//
// It reads the stores only to learn which metrics and services exist; it
// sends nothing and reads no clock.
package dashboards
