package main

import (
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
	stored                 // first: the first slo
	services, days, series int
	slo, budget            runs // warm, in pairs: slo then budget
	met, breached, invalid int  // of the last slo run
	alerts                 map[string]int
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
			target = secsTarget(sloTargetS)
		}
		// The same rows as a success, so that the layout never moves.
		return []row{res.importFailed("slo"),
			failed("slo first run, builds cache (s)", "ref"),
			failed(fmt.Sprintf("slo warm, best of %d (s)", sloRuns), "ref"),
			failed(fmt.Sprintf("budget warm, best of %d (s)", sloRuns), "ref"),
			failed(bestOf(name, sloRuns), target),
			failed("slo+budget warm peak RSS (MiB)", "ref")}, err
	}
	db, err := res.importJSONL(cfg, "slo", func(path string) error { return writeSLOData(path, res.services, steps) })
	if err != nil {
		return fail(err)
	}
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
	if err := res.runFirst("slo", slo); err != nil {
		return fail(err)
	}
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
	t := newStepTable(40)
	t.stored(&res.stored, "vigil slo")
	if len(res.slo) > 0 {
		// The warm runs go in pairs: as many of each as rounds.
		t.warm("vigil slo", res.slo, "")
		t.warm("vigil budget", res.budget, "")
		t.warm("slo + budget", res.pairs(), " rounds")
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
	return []row{
		res.importRow("slo"),
		secsRow("slo first run, builds cache (s)", res.first.wall),
		secsRow(fmt.Sprintf("slo warm, best of %d (s)", n), res.slo.best()),
		secsRow(fmt.Sprintf("budget warm, best of %d (s)", n), res.budget.best()),
		targetRow(bestOf(name, n), ps.best(), sloTargetS, fullSLO(res)),
		mibRow("slo+budget warm peak RSS (MiB)", ps.peakRSS()),
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
	// Each series' line up to its value, and after it.
	heads := [4][]byte{
		[]byte(`,"name":"sli_requests_total","type":"counter","value":`),
		[]byte(`,"name":"sli_requests_total","type":"counter","value":`),
		[]byte(`,"name":"sli_latency_requests_total","type":"counter","value":`),
		[]byte(`,"name":"sli_latency_requests_total","type":"counter","value":`),
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
	return writeJSONL(path, func(j *jsonlWriter) error {
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
					j.sample(ts, heads[k], v, tails[i][k])
				}
			}
		}
		return nil
	})
}

// writeSLOObjectives writes an objectives file: one availability
// objective per service over 30 days, every other one with a latency
// target too; then, per service, an OpenSLO availability objective over
// one-minute time slices of the same 30 days (Timeslices with a 95% slice
// target for even services, RatioTimeslices for odd ones), so that the
// figure covers sliced objectives (each reads its paths' 43,200 slices).
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
	for i := range services {
		method, target := "Timeslices", "\n      timeSliceTarget: 0.95"
		if i%2 == 1 {
			method, target = "RatioTimeslices", ""
		}
		fmt.Fprintf(&b, sloSlicedDoc, sloService(i), sloService(i), sloService(i), method, sloTargets[i%len(sloTargets)], target)
	}
	return os.WriteFile(path, []byte(b.String()), 0o644)
}

// sloSlicedDoc is an OpenSLO objective over one-minute slices: service
// (three times), budgeting method, target percent, and the slice target's
// line (Timeslices) or nothing.
const sloSlicedDoc = `---
apiVersion: openslo/v1
kind: SLO
metadata:
  name: availability-slices
spec:
  service: %s
  indicator:
    metadata:
      name: availability-slices
    spec:
      ratioMetric:
        counter: true
        good:
          metricSource:
            type: vigil
            spec:
              query: 'sli_requests_total{service="%s",success="true"}.increase'
        total:
          metricSource:
            type: vigil
            spec:
              query: 'sli_requests_total{service="%s"}.increase'
  timeWindow:
    - duration: 30d
      isRolling: true
  budgetingMethod: %s
  objectives:
    - targetPercent: %s
      timeSliceWindow: 1m%s
`
