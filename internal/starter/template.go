package starter

// text is the starter config. Comments say what each part is for and
// what to change; `vigil check --config vigil.yaml` must pass on it as
// rendered.
const text = `# vigil.yaml: a starting point{{with .Generated}} ({{.}}){{end}}.
# Check it after each edit:   vigil check --config {{sh (or .Config "vigil.yaml")}}
# Evaluate the rules every minute from cron (docs/alerting.md), e.g.
# /etc/cron.d/vigil:
#   {{.Cron}}
{{- if .SLO}}
# and, for the SLOs below (evaluate sends no burn-rate or budget alerts):
#   {{.BudgetCron}}
{{- end}}
# or with the systemd timer of examples/systemd (make install puts it in
# place: systemctl enable --now vigil-evaluate.timer), which keeps its
# state in the same state DB. Give vigil alerts (list, ack) that --state.
# /var/lib/vigil must exist and be writable by user vigil (the agent
# unit's StateDirectory creates it); journalctl -t vigil-evaluate shows
# the output.

# The stores the agent (vigil-agent --db ...) writes; a glob takes a fleet.
db: {{.DB}}

settings:
  evaluation_interval: 60       # seconds: what cron (or the timer) uses

alert_rules:
  # The agent records {{.Heartbeat}} (1) every interval: no sample for 5
  # minutes from a host that reported in the last 7 days means its agent
  # (or the host, or its disk) is down. Never silence this one by default:
  # a dead agent is otherwise indistinguishable from a quiet host.
  # nodata: keep: a host silent for longer than the lookback is no longer
  # a known label set; its page stays firing (never "resolved" while the
  # agent is dead) until the agent writes again. A host taken out of
  # service for good: vigil alerts ack, or a silence.
{{- if .NoHeartbeat}}
  # No store holds {{.Heartbeat}} yet (an agent older than this vigil, or
  # pushes only): this rule watches the hosts whose agent writes it, none
  # so far; run vigil-agent (or vigil collect) of this version on each.
{{- end}}
  - name: agent_down
    description: the vigil agent on a host stopped writing for 5 minutes
    metric_path: {{.Heartbeat}}.last
    condition: absent
    group_by: [host]
    lookback: 7d
    nodata: keep
    evaluation_window: 5m
    severity: critical

{{.HostRules}}
# Where notifications go (docs/channels.md). Secrets come from the
# environment (here SMTP_PASSWORD and ALERT_WEBHOOK_URL), never from this
# file. Uncomment one, fill in the addresses, then vigil check; until then
# vigil evaluate keeps alert state and prints what fires, sending nothing.
# channels:
#   - type: email
#     name: oncall_email
#     smtp_server: smtp.example.com
#     smtp_port: 587
#     username: alerts@example.com
#     password_env: SMTP_PASSWORD    # read at send time, never written here
#     to_emails: [oncall@example.com]
#     filters:
#       - severity: [critical, high]
#   - type: webhook
#     name: chat
#     url: "${ALERT_WEBHOOK_URL}"
#     send_resolved: true

# Service level objectives (vigil slo, vigil budget; docs/slo.md).
{{- with .LeftOut}}
# Left out (vigil check refuses the name): {{quoteList .}}
{{- end}}
{{- with .NoSuccess}}
# Left out (sli_requests_total without a success label): {{quoteList .}}
{{- end}}
{{- if and .NotHTTP .Services}}
# Left out (http_requests_total status values that are not HTTP codes,
# seen: {{quoteList .OtherStatuses}}): {{quoteList .NotHTTP}}
{{- end}}
{{- if eq .SLO "sli"}}
# From the SLI counters the stores hold (sli_requests_total{success}):
# adjust the targets (percent) and windows.
slos:
{{- range .Services}}
  - service: {{quote .}}
    target: 99.9
    window: 30d
{{- if $.Latency}}
    latency_target: 99
{{- end}}
{{- end}}
{{- else if eq .SLO "http"}}
# From http_requests_total: a request answered with a 5xx status is bad.
# Adjust the targets (percent) and windows.
slos:
{{- range .Services}}
  - service: {{quote .}}
    sli: availability
    target: 99.9
    window: 30d
    good: {{quote (sliPath .)}}
    total: {{quote (totalPath .)}}
{{- end}}
{{- else}}
{{- if .OtherStatuses}}
# http_requests_total has a status label whose values are not HTTP codes
# (seen: {{quoteList .OtherStatuses}}): no availability SLO is inferred from it;
# write good and total paths that name the failed requests yourself.
{{- end}}
# The stores hold no SLI metrics yet (sli_requests_total{service, success},
# as collect's SLI helpers record them, or http_requests_total with a
# status label). A skeleton to uncomment once they do:
# slos:
#   - service: api
#     target: 99.9            # percent
#     window: 30d
#     latency_target: 99      # with sli_latency_requests_total{service, fast}
# Until then an empty list (replace it with the skeleton above): without
# the key vigil slo would show the reference design's default services.
slos: []
{{- end}}
`
