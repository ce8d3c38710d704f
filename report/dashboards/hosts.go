package dashboards

// A host resource graph: the agent's metric, how it is read, its unit.
type hostGraph struct {
	title, metric, expr, legend, unit string
}

// The host graphs over the agent's metrics (docs/agent.md, "Host
// metrics"); $host is the dashboard's variable.
var hostGraphs = []hostGraph{
	{"CPU", "cpu_usage_percent", `avg by (host) (avg_over_time(cpu_usage_percent{host=~"$host"}[$__interval]))`, "{{host}}", "percent"},
	{"Memory", "memory_usage_percent", `avg by (host) (avg_over_time(memory_usage_percent{host=~"$host"}[$__interval]))`, "{{host}}", "percent"},
	{"Disk usage", "disk_usage_percent", `max by (host, mount) (max_over_time(disk_usage_percent{host=~"$host"}[$__interval]))`, "{{host}} {{mount}}", "percent"},
	{"Disk read", "disk_read_bytes_total", `sum by (host, device) (rate(disk_read_bytes_total{host=~"$host"}[$__rate_interval]))`, "{{host}} {{device}}", "Bps"},
	{"Disk written", "disk_written_bytes_total", `sum by (host, device) (rate(disk_written_bytes_total{host=~"$host"}[$__rate_interval]))`, "{{host}} {{device}}", "Bps"},
	{"Network received", "network_receive_bytes_total", `sum by (host, interface) (rate(network_receive_bytes_total{host=~"$host"}[$__rate_interval]))`, "{{host}} {{interface}}", "Bps"},
	{"Network transmitted", "network_transmit_bytes_total", `sum by (host, interface) (rate(network_transmit_bytes_total{host=~"$host"}[$__rate_interval]))`, "{{host}} {{interface}}", "Bps"},
	{"Load (1m)", "load_average_1m", `max by (host) (max_over_time(load_average_1m{host=~"$host"}[$__interval]))`, "{{host}}", ""},
	{"GPU", "gpu_utilization_percent", `avg by (host) (avg_over_time(gpu_utilization_percent{host=~"$host"}[$__interval]))`, "{{host}}", "percent"},
}

// hosts is the agent's host resources, per host, and the rules over them.
func hosts(in Input, ds *DatasourceRef, types map[string]string, rules []Rule, warn func(string, ...any)) *Dashboard {
	b := newBoard("vigil-hosts", "vigil: hosts",
		"Each host's CPU, memory, disk, network and load from vigil's agent metrics, from vigil serve.", ds, "hosts")
	// All hosts by default; Grafana fills $host from the host label's
	// values (replay.go: /api/v1/label/host/values).
	b.d.Templating.List = append(b.d.Templating.List, Variable{
		Name: "host", Label: "host", Type: "query", Datasource: ds, Query: "label_values(host)",
		Refresh: 2, Multi: true, IncludeAll: true, Sort: 1,
	})
	var graphs []hostGraph
	for _, g := range hostGraphs {
		if in.Catalog.has("", g.metric) {
			graphs = append(graphs, g)
		}
	}
	if len(graphs) > 0 {
		b.row("Resources")
	}
	for _, g := range graphs {
		var th *Thresholds
		p := timeseries(g.title, g.metric+", by host.", g.unit, th, Target{Expr: g.expr, LegendFormat: g.legend})
		if g.unit == "percent" {
			p.FieldConfig.Defaults.Min, p.FieldConfig.Defaults.Max = ptr(0.0), ptr(100.0)
		}
		b.add(p, 12, 8)
	}
	b.ruleRow(rules, types, in.Buckets, warn)
	return b.d
}
