package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// The slo target, at the shape (the reference design's SLI
// counters of sloFullServices services for sloFullDays days at 10 s): one
// `vigil slo` and one `vigil budget`, cache warm, within sloTargetS
// together. A smaller shape (-slo-services, -slo-days) shows its figures
// for reference only.
const (
	sloTargetS      = 2.0
	sloRuns         = 5
	sloFullServices = 20
	sloFullDays     = 30
	sloInterval     = 10 * time.Second
	sloDay          = 24 * time.Hour
)

// sloResult is the section's measurements.
type sloResult struct {
	services, days, series, samples int
	write                           time.Duration // writing the JSON Lines file
	load                            run           // vigil import
	first                           run           // the first slo: builds the DuckDB cache
	slo, budget                     runs          // warm, in pairs: slo then budget
	met, breached, invalid          int           // of the last slo run
	alerts                          map[string]int
}

// pairs are the warm rounds' slo + budget walls, one per round.
func (res *sloResult) pairs() runs {
	ps := make(runs, 0, min(len(res.slo), len(res.budget)))
	for i := range min(len(res.slo), len(res.budget)) {
		ps = append(ps, run{wall: res.slo[i].wall + res.budget[i].wall, rssKiB: max(res.slo[i].rssKiB, res.budget[i].rssKiB)})
	}
	return ps
}

// fullSLO says whether the run has the shape or a bigger one,
// where the target applies.
func fullSLO(res *sloResult) bool {
	return res.services >= sloFullServices && res.days >= sloFullDays
}

// benchSLO builds a store of the reference design's SLI counters,
// sli_requests_total{success} and sli_latency_requests_total{fast}, for
// every service (in the store's service column, as the reference design
// records it), one increment per series every 10 s, with some services
// burning their budgets at the end; then times `vigil slo` and `vigil
// budget` over 30-day objectives, warm, as a CI gate or cron runs them.
func benchSLO(cfg *config) ([]row, error) {
	res := sloResult{services: cfg.sloServices, days: cfg.sloDays, series: 4 * cfg.sloServices}
	steps := cfg.sloDays * int(sloDay/sloInterval)
	res.samples = steps * res.series
	rows, err := sloStore(cfg, steps, &res)
	printSLOTable(res)
	return rows, err
}

func sloName(res *sloResult) string {
	return fmt.Sprintf("slo+budget %d svc %dd", res.services, res.days)
}

// sloStore does the section's work into res and returns its rows; on
// error, the rows of what could not be measured fail.
func sloStore(cfg *config, steps int, res *sloResult) ([]row, error) {
	name := sloName(res)
	fail := func(err error) ([]row, error) {
		target := "ref"
		if fullSLO(res) {
			target = fmt.Sprintf("<= %g s", sloTargetS)
		}
		// The same rows as a success, so that the layout never moves.
		return []row{failed("slo import "+humanCount(res.samples)+" .jsonl (rows/s)", "ref"),
			failed("slo first run, builds cache (s)", "ref"),
			failed(fmt.Sprintf("slo warm, best of %d (s)", sloRuns), "ref"),
			failed(fmt.Sprintf("budget warm, best of %d (s)", sloRuns), "ref"),
			failed(name+fmt.Sprintf(" warm, best of %d (s)", sloRuns), target),
			failed("slo+budget warm peak RSS (MiB)", "ref")}, err
	}
	db := filepath.Join(cfg.dir, "slo.db")
	if err := removeStore(db); err != nil {
		return fail(err)
	}
	data := filepath.Join(cfg.dir, "slo.jsonl")
	start := time.Now()
	if err := writeSLOData(data, res.services, steps); err != nil {
		return fail(fmt.Errorf("write %s: %w", data, err))
	}
	res.write = time.Since(start)
	load, err := measure(cfg.vigil, "import", "--db", db, "-o", "json", data)
	_ = os.Remove(data)
	if err != nil {
		return fail(fmt.Errorf("import: %w", err))
	}
	var out struct {
		Samples int `json:"samples"`
	}
	if err := json.Unmarshal(load.out, &out); err != nil {
		return fail(fmt.Errorf("vigil import -o json: %w", err))
	} else if out.Samples != res.samples {
		return fail(fmt.Errorf("imported %d samples, want %d", out.Samples, res.samples))
	}
	res.load = load
	objectives := filepath.Join(cfg.dir, "slo.yaml")
	if err := writeSLOObjectives(objectives, res.services); err != nil {
		return fail(fmt.Errorf("write %s: %w", objectives, err))
	}
	at := end.Format(time.RFC3339)
	slo := func() (run, error) {
		return measure(cfg.vigil, "slo", "--slo-file", objectives, "--db", db, "--at", at, "--no-fail", "-o", "json")
	}
	budget := func() (run, error) {
		return measure(cfg.vigil, "budget", "--slo-file", objectives, "--db", db, "--at", at, "-o", "json")
	}
	first, err := slo()
	if err != nil {
		return fail(fmt.Errorf("first slo: %w", err))
	}
	res.first = first
	for range sloRuns {
		s, err := slo()
		if err != nil {
			return fail(fmt.Errorf("warm slo: %w", err))
		}
		b, err := budget()
		if err != nil {
			return fail(fmt.Errorf("warm budget: %w", err))
		}
		res.slo, res.budget = append(res.slo, s), append(res.budget, b)
	}
	if err := sloOutcomes(res); err != nil {
		return fail(err)
	}
	return sloRows(name, res), nil
}

// sloOutcomes counts what the last runs found, to show that the
// objectives see data and that the burning services alert (a run over no
// events would time nothing worth having).
func sloOutcomes(res *sloResult) error {
	var s struct {
		SLOs []struct {
			Met     bool `json:"met"`
			Invalid bool `json:"invalid"`
			NoData  bool `json:"no_data"`
		} `json:"slos"`
	}
	if err := json.Unmarshal(res.slo[len(res.slo)-1].out, &s); err != nil {
		return fmt.Errorf("vigil slo -o json: %w", err)
	}
	for _, o := range s.SLOs {
		switch {
		case o.NoData:
			return fmt.Errorf("vigil slo: an objective without data")
		case o.Invalid:
			res.invalid++
		case o.Met:
			res.met++
		default:
			res.breached++
		}
	}
	var b struct {
		Budgets []struct {
			Alerts []struct {
				Severity string `json:"severity"`
			} `json:"alerts"`
		} `json:"budgets"`
	}
	if err := json.Unmarshal(res.budget[len(res.budget)-1].out, &b); err != nil {
		return fmt.Errorf("vigil budget -o json: %w", err)
	}
	res.alerts = map[string]int{}
	for _, x := range b.Budgets {
		for _, a := range x.Alerts {
			res.alerts[a.Severity]++
		}
	}
	return nil
}

func printSLOTable(res sloResult) {
	fmt.Printf("slo: %d services, %d series (sli_requests_total{success}, sli_latency_requests_total{fast}), one sample per %s for %dd: %d samples\n",
		res.services, res.series, sloInterval, res.days, res.samples)
	fmt.Printf("%-40s %10s %13s\n", "step", "seconds", "peak RSS MiB")
	line := func(name string, d time.Duration, kib int64) {
		rss := ""
		if kib > 0 {
			rss = fmt.Sprintf("%.0f", mib(kib))
		}
		printLine("%-40s %10.3f %13s", name, d.Seconds(), rss)
	}
	if res.write > 0 {
		line("write .jsonl", res.write, 0)
	}
	if res.load.wall > 0 {
		line(fmt.Sprintf("vigil import (%.0f rows/s)", float64(res.samples)/res.load.wall.Seconds()), res.load.wall, res.load.rssKiB)
	}
	if res.first.wall > 0 {
		line("vigil slo, first (builds cache)", res.first.wall, res.first.rssKiB)
	}
	if len(res.slo) > 0 {
		n := len(res.slo)
		line(fmt.Sprintf("vigil slo warm, best of %d", n), res.slo.best(), res.slo.peakRSS())
		line(fmt.Sprintf("vigil slo warm, median of %d", n), res.slo.median(), 0)
		line(fmt.Sprintf("vigil budget warm, best of %d", n), res.budget.best(), res.budget.peakRSS())
		line(fmt.Sprintf("vigil budget warm, median of %d", n), res.budget.median(), 0)
		ps := res.pairs()
		line(fmt.Sprintf("slo + budget warm, best of %d rounds", n), ps.best(), ps.peakRSS())
		line(fmt.Sprintf("slo + budget warm, median of %d rounds", n), ps.median(), 0)
	}
	if res.alerts != nil {
		fmt.Printf("objectives of the last run: %d met, %d breached, %d invalid; budget alerts: %d page, %d ticket, %d budget\n",
			res.met, res.breached, res.invalid, res.alerts["page"], res.alerts["ticket"], res.alerts["budget"])
	}
	fmt.Println()
}

// sloRows are the section's rows of the final table. The target applies
// to a round's slo + budget (best of the rounds), as a pipeline runs both.
func sloRows(name string, res *sloResult) []row {
	n := len(res.slo)
	ps := res.pairs()
	sum := ps.best().Seconds()
	sumRow := row{measure: name + fmt.Sprintf(" warm, best of %d (s)", n), value: fmt.Sprintf("%.3f", sum),
		ratio: sum / sloTargetS, vs: fmt.Sprintf("%g s", sloTargetS), target: "ref", ok: noTarget}
	if fullSLO(res) {
		sumRow.target, sumRow.ok = fmt.Sprintf("<= %g s", sloTargetS), verdict(sum <= sloTargetS)
	}
	secs := func(measure string, d time.Duration) row {
		return row{measure: measure, value: fmt.Sprintf("%.3f", d.Seconds()), target: "ref", ok: noTarget}
	}
	return []row{
		rateRow("slo import "+humanCount(res.samples)+" .jsonl (rows/s)", float64(res.samples)/res.load.wall.Seconds(), "ref"),
		secs("slo first run, builds cache (s)", res.first.wall),
		secs(fmt.Sprintf("slo warm, best of %d (s)", n), res.slo.best()),
		secs(fmt.Sprintf("budget warm, best of %d (s)", n), res.budget.best()),
		sumRow,
		{measure: "slo+budget warm peak RSS (MiB)", value: fmt.Sprintf("%.0f", mib(ps.peakRSS())), target: "ref", ok: noTarget},
	}
}

// ---- the data ----

var sloServiceNames = append(append([]string{}, evalServices...),
	"gateway", "payments", "inventory", "shipping", "profile", "media", "ledger", "pricing", "feed", "admin")

func sloService(i int) string {
	if i < len(sloServiceNames) {
		return sloServiceNames[i]
	}
	return fmt.Sprintf("svc-%03d", i)
}

// sloTargets are the objectives' targets, going round the services.
var sloTargets = []string{"99", "99.5", "99.9"}

// sloBudget is service i's availability budget, 1 - target.
func sloBudget(i int) float64 {
	t, _ := strconv.ParseFloat(sloTargets[i%len(sloTargets)], 64)
	return 1 - t/100
}

// sloLatencyTarget is service i's latency target, or "" for none (every
// other service).
func sloLatencyTarget(i int) string {
	if i%2 == 1 {
		return ""
	}
	return []string{"95", "99"}[i/2%2]
}

// The burning services. One service in five pages: errors at 25 times its
// budget in the last two hours. Another in five tickets: errors at twice
// its budget over the last three days. Another in five has overspent:
// errors at 1.2 times its budget all along (breached, exhausted, budget
// alert). The others spend a fifth of their budgets, evenly.
const (
	sloPageSpan   = 2 * time.Hour
	sloTicketSpan = 3 * sloDay
)

// sloErrorRatio is service i's error ratio at the step left steps before
// the end.
func sloErrorRatio(i, left int) float64 {
	b := sloBudget(i)
	at := time.Duration(left) * sloInterval
	switch {
	case i%5 == 0 && at < sloPageSpan:
		return 25 * b
	case i%5 == 1 && at < sloTicketSpan:
		return 2 * b
	case i%5 == 2:
		return 1.2 * b
	}
	return b / 5
}

// sloSlowRatio is service i's share of slow requests: a fifth of its
// latency budget, or 5% where it has no latency objective; the paging
// services are slow too while they page.
func sloSlowRatio(i, left int) float64 {
	b := 0.05
	if t := sloLatencyTarget(i); t != "" {
		f, _ := strconv.ParseFloat(t, 64)
		b = 1 - f/100
	}
	if i%5 == 0 && time.Duration(left)*sloInterval < sloPageSpan {
		return 10 * b
	}
	return b / 5
}

// sloSplit splits n requests into bad ones at ratio (rounded at random, a
// pure function of its seed, so that the expected count is n x ratio) and
// good ones.
func sloSplit(n, ratio float64, seed uint64) (good, bad float64) {
	u := float64(splitmix(seed)%1_000_000) / 1_000_000
	bad = math.Min(n, math.Floor(n*ratio+u))
	return n - bad, bad
}

// writeSLOData writes the services' SLI counters as JSON Lines, step by
// step across every series, ending at end. The values are increments, as
// vigil stores counters.
func writeSLOData(path string, services, steps int) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer f.Close()
	w := bufio.NewWriterSize(f, 1<<20)
	// Each series' line up to its value, and after it.
	heads := [4]string{
		`,"name":"sli_requests_total","type":"counter","value":`,
		`,"name":"sli_requests_total","type":"counter","value":`,
		`,"name":"sli_latency_requests_total","type":"counter","value":`,
		`,"name":"sli_latency_requests_total","type":"counter","value":`,
	}
	tails := make([][4][]byte, services)
	for i := range services {
		s := sloService(i)
		tails[i] = [4][]byte{
			[]byte(`,"labels":{"success":"true"},"service":"` + s + "\"}\n"),
			[]byte(`,"labels":{"success":"false"},"service":"` + s + "\"}\n"),
			[]byte(`,"labels":{"fast":"true"},"service":"` + s + "\"}\n"),
			[]byte(`,"labels":{"fast":"false"},"service":"` + s + "\"}\n"),
		}
	}
	first := end.Add(-time.Duration(steps-1) * sloInterval).Unix()
	var buf []byte
	for step := range steps {
		left := steps - 1 - step
		ts := strconv.AppendInt(nil, first+int64(step)*int64(sloInterval/time.Second), 10)
		for i := range services {
			seed := uint64(i)<<40 | uint64(step)
			// Requests per 10 s: from 50 to 240 by service, with a daily swing.
			n := math.Round((50 + float64(i%20)*10) * (1 + 0.3*math.Sin(2*math.Pi*float64(step)/8640+float64(i))))
			good, bad := sloSplit(n, sloErrorRatio(i, left), seed)
			fast, slow := sloSplit(n, sloSlowRatio(i, left), seed^0x5bd1e995)
			for k, v := range [4]float64{good, bad, fast, slow} {
				buf = append(buf[:0], `{"ts":`...)
				buf = append(buf, ts...)
				buf = append(buf, heads[k]...)
				buf = strconv.AppendFloat(buf, v, 'f', -1, 64)
				buf = append(buf, tails[i][k]...)
				w.Write(buf) //nolint:errcheck // bufio keeps the first error for Flush
			}
		}
	}
	if err := w.Flush(); err != nil {
		return err
	}
	return f.Close()
}

// writeSLOObjectives writes an objectives file: one availability
// objective per service over 30 days, every other one with a latency
// target too.
func writeSLOObjectives(path string, services int) error {
	var b strings.Builder
	b.WriteString("# vigil-bench slo: 30-day objectives over the reference design's SLI counters.\nslos:\n")
	for i := range services {
		fmt.Fprintf(&b, "  - service: %s\n", sloService(i))
		fmt.Fprintf(&b, "    target: %s\n", sloTargets[i%len(sloTargets)])
		b.WriteString("    window: 30d\n")
		if t := sloLatencyTarget(i); t != "" {
			fmt.Fprintf(&b, "    latency_target: %s\n", t)
		}
	}
	return os.WriteFile(path, []byte(b.String()), 0o644)
}
