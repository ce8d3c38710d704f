// Package starter writes the first vigil.yaml of a host (`vigil init`):
// the stores found, a heartbeat rule that fires when the agent stops
// writing, CPU, memory and disk rules, an SLO skeleton fitted to the SLI
// metrics the stores hold, a commented channel, and the crontab line.
//
// What it writes must pass `vigil check` as written (the command's test
// checks it): every rule active, every channel and SLO that needs an
// address or a metric the stores lack left commented out with a word on
// what to fill in.
package starter

import (
	"bytes"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"text/template"
)

// Heartbeat is the gauge the agent records every interval (1, labelled
// with its host): the heartbeat rule's metric.
const Heartbeat = "vigil_agent_up"

// Inputs is what the starter config is fitted to.
type Inputs struct {
	// Stores are the stores as the config's db: should name them (paths
	// or globs), in the order given; empty means the default (./vigil.db).
	Stores []string
	// Metrics are the metric names the stores hold, and Services the
	// services of the SLI metrics among them (sli_requests_total, else
	// http_requests_total with a status label).
	Metrics  []string
	Services []string
	// Inspected: Metrics were read from at least one store. Without, every
	// rule is written active (they fit what the agent will write).
	Inspected bool
	// LeftOut are the services whose names vigil check would refuse in an
	// objective (see Printable): named in a comment, given no SLO.
	LeftOut []string
	// NoSuccess are the services of sli_requests_total none of whose
	// series has a success label: named in a comment, given no SLO.
	NoSuccess []string
	// StatusLabel: http_requests_total has a status label (so an
	// availability SLO can count 5xx as bad).
	StatusLabel bool
	// OtherStatuses are the status values seen that are not HTTP codes,
	// and NotHTTP the services of http_requests_total that have one: they
	// get no availability SLO (5xx would not name their failures), and a
	// comment names them; the other services still get theirs.
	OtherStatuses []string
	NotHTTP       []string
	// Generated names the command and time, for the file's first line
	// (the caller's clock: this package reads none).
	Generated string
	// Dir and Config are the absolute folder of the written file and its
	// name there: the crontab line runs `cd Dir && vigil evaluate --config
	// Config` (h30 D1). Empty Dir: /etc/vigil, Config: vigil.yaml.
	Dir, Config string
}

// Render is the starter vigil.yaml for in.
func Render(in Inputs) ([]byte, error) {
	d := data{Inputs: in, Heartbeat: Heartbeat, StateDB: StateDB}
	has := func(m string) bool { return slices.Contains(in.Metrics, m) }
	switch {
	case has("sli_requests_total") && len(in.Services) > 0:
		d.SLO = "sli"
	case has("http_requests_total") && in.StatusLabel && len(in.Services) > 0:
		d.SLO = "http"
	}
	d.Latency = has("sli_latency_requests_total")
	d.DB = dbLine(in.Stores)
	d.Cron = cronLine(in.Dir, in.Config, "evaluate", "evaluate")
	d.BudgetCron = cronLine(in.Dir, in.Config, "budget --notify", "budget")
	d.HostRules = hostRulesText(in)
	d.NoHeartbeat = NoHeartbeat(in)
	var b bytes.Buffer
	if err := tmpl.Execute(&b, d); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

type data struct {
	Inputs
	Heartbeat, DB, Cron, BudgetCron, SLO, HostRules, StateDB string
	Latency, NoHeartbeat                                     bool
}

// dbLine is the db: key's value: one store as a scalar, several as a flow
// list, every path quoted (a glob's * is YAML's alias marker).
func dbLine(stores []string) string {
	if len(stores) == 0 {
		return strconv.Quote("vigil.db")
	}
	q := make([]string, len(stores))
	for i, s := range stores {
		q[i] = strconv.Quote(s)
	}
	if len(q) == 1 {
		return q[0]
	}
	return "[" + strings.Join(q, ", ") + "]"
}

// StateDB is the state DB the crontab lines name: the one
// examples/systemd's vigil-evaluate.service uses, so that following both
// never gives two state DBs (and every notice twice, h30 D20).
const StateDB = "/var/lib/vigil/vigil-state.db"

// cronLine is the crontab entry for `vigil CMD` (evaluate, or budget
// --notify), run in the config's folder (the stores come from the
// config's db:, so the line names none). Its output goes to syslog
// through logger(1): a redirect to a log folder nothing creates would
// fail before vigil ran, every minute, mailed to nobody (h30 D33).
func cronLine(dir, config, cmd, log string) string {
	if dir == "" {
		dir = "/etc/vigil"
	}
	if config == "" {
		config = "vigil.yaml"
	}
	sub, flags, _ := strings.Cut(cmd, " ")
	if flags != "" {
		flags = " " + flags
	}
	return "* * * * *  vigil  cd " + shellQuote(dir) + " && vigil " + sub + " --config " + shellQuote(config) + flags +
		" --state " + StateDB + " 2>&1 | logger -t vigil-" + log
}

// shellQuote is s as one word of a crontab command (cron runs it with
// sh): as it is when it holds only safe characters, else single-quoted.
func shellQuote(s string) string {
	safe := s != ""
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("/._-+,:@=", r)) {
			safe = false
			break
		}
	}
	if safe {
		return s
	}
	// cron reads % as a newline, inside quotes too, unless escaped.
	return strings.ReplaceAll("'"+strings.ReplaceAll(s, "'", `'\''`)+"'", "%", `\%`)
}

func quote(s string) string { return strconv.Quote(s) }

// quoteList is names as a one-line comment: ASCII-quoted, so that no
// newline or escape in a name leaves the comment; the first 10 (they come
// from the data: a flood of them must not flood the file).
func quoteList(names []string) string {
	const most = 10
	q := make([]string, 0, most+1)
	for i, n := range names {
		if i == most {
			q = append(q, fmt.Sprintf("and %d more", len(names)-most))
			break
		}
		q = append(q, strconv.QuoteToASCII(n))
	}
	return strings.Join(q, ", ")
}

var tmpl = template.Must(template.New("vigil.yaml").Funcs(template.FuncMap{"quote": quote, "quoteList": quoteList, "sh": shellQuote,
	"sliPath": func(svc string) string {
		return fmt.Sprintf("http_requests_total{service=%s,status!~\"5..\"}.increase", strconv.Quote(svc))
	},
	"totalPath": func(svc string) string {
		return fmt.Sprintf("http_requests_total{service=%s}.increase", strconv.Quote(svc))
	},
}).Parse(text))
