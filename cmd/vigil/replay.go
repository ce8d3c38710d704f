package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"os"
	"path/filepath"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/vigil-metrics/vigil/alert/channels"
	alertconfig "github.com/vigil-metrics/vigil/alert/config"
	"github.com/vigil-metrics/vigil/alert/replay"
	"github.com/vigil-metrics/vigil/alert/state"
	"github.com/vigil-metrics/vigil/alert/tune"
	"github.com/vigil-metrics/vigil/analyze/slo"
	"github.com/vigil-metrics/vigil/cmd/internal/cli"
	"github.com/vigil-metrics/vigil/internal/atomicfile"
	"github.com/vigil-metrics/vigil/internal/configfile"
	"github.com/vigil-metrics/vigil/internal/safetext"
	"github.com/vigil-metrics/vigil/internal/vtime"
	"github.com/vigil-metrics/vigil/report"
)

// maxReplaySteps bounds the runs one replay steps through: it counts
// steps, not rule-steps, so that 30 days at 1m of a 200-rule config (the
// issue's benchmark) is allowed; a year at 32s is the most.
const maxReplaySteps = 1_000_000

type replayOptions struct {
	From, To, Step, Against, Output, Out string
	FailIfMorePages                      int
}

func newReplayCmd(a *app) *cobra.Command {
	o := &replayOptions{}
	cmd := &cobra.Command{
		Use:   "replay",
		Short: "What this config would have sent over the history you have: episodes, notices, pages, incidents",
		Long: `Replay the evaluate pipeline (and budget --notify's, for the config's slos:)
over (--from, --to] at every --step, on a fresh in-memory state, sending
nothing: rule evaluation with for:, nodata, absent and spike, correlation,
cooldown, dedup, escalation, silences active at each time, channel filters,
rate limits. It prints per rule the episodes, firing time, flapping,
notices per channel and pages (the noisiest first), per channel the notices
and what rate limits and dedup held back, and the incidents. JSON holds
the full timeline of notices.

--from is a duration back from --to (30d) or an instant; --to defaults to
now. --step defaults to settings.evaluation_interval (1m). More than
1,000,000 steps is refused (exit 2). --state reads the state DB's
threshold history (read-only, never created) so that a dynamic rule uses
its threshold as tuned at each time; without it, the config's.

--against OTHER.yaml replays the same history under a second config and
shows both side by side, with the episodes one notifies and the other
misses. --fail-if-more-pages N exits 3 when --config pages more than N
more times than --against (without --against: more than N pages).
See docs/replay.md.`,
		Example: `  vigil replay --db vigil.db --from 30d
  git show origin/main:vigil.yaml > /tmp/main.yaml
  vigil replay --config vigil.yaml --against /tmp/main.yaml --db vigil.db --from 30d --fail-if-more-pages 5`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return stoppedReplay(cmd.Context(), a.runReplay(cmd, o)) },
	}
	cmd.Flags().StringVar(&o.From, "from", "30d", "start (excluded): a duration back from --to (30d) or an instant")
	cmd.Flags().StringVar(&o.To, "to", "", "end (included), RFC 3339 or unix seconds (default now)")
	cmd.Flags().StringVar(&o.Step, "step", "", "interval between two runs (default settings.evaluation_interval, else 1m)")
	cmd.Flags().StringVar(&o.Against, "against", "", "a second config file replayed over the same history, side by side")
	outputFlag(cmd, &o.Output, "table", "json", "markdown")
	cmd.Flags().StringVar(&o.Out, "out", "", "write the output to this file (default stdout); markdown's chart beside it")
	cmd.Flags().IntVar(&o.FailIfMorePages, "fail-if-more-pages", -1, "exit 3 when --config pages more than N more than --against (without it: more than N)")
	addStateFlag(cmd)
	// Replay reads --state only when given, and only its threshold
	// history: evaluate's help ("default: vigil-state.db") would mislead.
	cmd.Flags().Lookup("state").Usage = "state DB whose threshold history dynamic rules use, read-only (default: none, the config's thresholds)"
	addDBFlag(cmd.Flags(), false)
	return cmd
}

// replaySide is one config replayed: its file, config and objectives.
type replaySide struct {
	file string
	cfg  *alertconfig.Config
	objs []slo.Objective
	res  *replay.Replay
}

func (a *app) runReplay(cmd *cobra.Command, o *replayOptions) error {
	if err := checkOutput(cmd); err != nil {
		return err
	}
	if cmd.Flags().Changed("fail-if-more-pages") && o.FailIfMorePages < 0 {
		return cli.Usagef("--fail-if-more-pages %d: want 0 or more", o.FailIfMorePages)
	}
	to := a.now().UTC() // read once: every step is relative to it
	if o.To != "" {
		t, err := vtime.ParseInstant(o.To)
		if err != nil {
			return cli.Usagef("--to: %v", err)
		}
		to = t
	}
	from, err := replayFrom(o.From, to)
	if err != nil {
		return err
	}
	var cfg *alertconfig.Config
	if a.file == nil || a.file.Path == "" {
		_, err = a.loadAlertConfig() // no file: the error evaluate gives
	} else {
		cfg, err = a.decodeReplayConfig(a.file)
	}
	if err != nil {
		return err
	}
	sides := []*replaySide{{file: a.file.Path, cfg: cfg}}
	if sides[0].objs, err = a.configObjectives(a.file); err != nil {
		return err
	}
	if o.Against != "" {
		b, err := a.loadSide(o.Against)
		if err != nil {
			return err
		}
		sides = append(sides, b)
	}
	step, err := replayStep(o.Step, cfg)
	if err != nil {
		return err
	}
	if _, err := replaySteps(from, to, step); err != nil {
		return err
	}
	var history func(*alertconfig.Config) func(string, time.Time) (float64, bool)
	if cmd.Flags().Changed("state") {
		if history, err = a.thresholdHistory(cmd); err != nil {
			return err
		}
	}
	a.duckMemory = ReplayDuckDBMemory
	db, err := a.openAnalyze(cmd)
	if err != nil {
		return err
	}
	defer db.Close()
	if os.Getenv("GOMEMLIMIT") == "" {
		// A soft limit: near it the GC works harder instead of letting
		// garbage double a month's heap (docs/replay.md, "Memory").
		defer debug.SetMemoryLimit(debug.SetMemoryLimit(ReplayMemoryLimit))
	}
	for _, s := range sides {
		ro := replay.Options{Config: s.cfg, Objectives: s.objs, From: from, To: to, Step: step, Log: a.log}
		if history != nil {
			ro.Thresholds = history(s.cfg)
		}
		if s.res, err = replay.Run(cmd.Context(), db, ro); err != nil {
			return err
		}
		for _, w := range s.res.Warnings {
			fmt.Fprintf(a.stderr, "vigil: warning: %s%s\n", sideName(sides, s), w)
		}
	}
	if err := a.writeReplay(o, sides); err != nil {
		return err
	}
	return replayGate(cmd, o, sides)
}

// stoppedReplay says err, when the command was stopped (SIGTERM) before
// the replay's first step (opening the stores, syncing their cache,
// reading the config), as a stop: it was a bare "context canceled" there.
func stoppedReplay(ctx context.Context, err error) error {
	var se *replay.StopError
	if err == nil || context.Cause(ctx) == nil || errors.As(err, &se) {
		return err
	}
	return &replay.StopError{First: true, Cause: err}
}

// ReplayMemoryLimit is the Go runtime's soft memory limit for a replay
// unless GOMEMLIMIT is set: near it the GC works harder, so that garbage
// does not double a month's heap (issue 27's 1 GiB in all). A replay
// whose live heap passes it costs more GC time, and still runs.
const ReplayMemoryLimit = 640 << 20

// ReplayDuckDBMemory is DuckDB's memory limit in a replay: it reads each
// chunk of the tables once, in order, so its buffer pool saves no
// re-read, and at analyze's default it kept a fifth of a gigabyte.
const ReplayDuckDBMemory = "128MB"

// sideName prefixes a warning with its config's file when there are two.
func sideName(sides []*replaySide, s *replaySide) string {
	if len(sides) < 2 {
		return ""
	}
	return s.file + ": "
}

// replayGate is --fail-if-more-pages: exit 3 when --config's pages exceed
// --against's by more than N, or without --against exceed N.
func replayGate(cmd *cobra.Command, o *replayOptions, sides []*replaySide) error {
	if !cmd.Flags().Changed("fail-if-more-pages") {
		return nil
	}
	more := pagesOf(sides[0].res)
	if len(sides) > 1 {
		more -= pagesOf(sides[1].res)
	}
	if more > o.FailIfMorePages {
		return &cli.SilentError{Code: cli.ExitGate}
	}
	return nil
}

func pagesOf(r *replay.Replay) int {
	n := 0
	for _, s := range r.Rules {
		n += s.Pages
	}
	return n
}

// replayFrom is --from: a duration back from to, or an instant before it.
func replayFrom(s string, to time.Time) (time.Time, error) {
	// A bare number is an instant (unix seconds), as --to reads it: a
	// duration back from --to carries its unit (30d, 3600s).
	if _, err := strconv.ParseFloat(s, 64); err != nil {
		if d, err := vtime.ParseDuration(s); err == nil {
			if d <= 0 {
				return time.Time{}, cli.Usagef("--from %q: want a positive duration (30d) or an instant before --to", s)
			}
			return to.Add(-d), nil
		}
	}
	t, err := vtime.ParseInstant(s)
	if err != nil {
		return time.Time{}, cli.Usagef("--from %q: want a duration back from --to (30d) or an instant (RFC 3339 or unix seconds)", s)
	}
	if !t.Before(to) {
		return time.Time{}, cli.Usagef("--from %s is not before --to %s", t.Format(time.RFC3339), to.UTC().Format(time.RFC3339))
	}
	return t, nil
}

// replayStep is --step, else the config's evaluation interval, else 1m.
func replayStep(s string, cfg *alertconfig.Config) (time.Duration, error) {
	if s == "" {
		if d := cfg.Settings.EvaluationInterval; d > 0 {
			return d, nil
		}
		return time.Minute, nil
	}
	d, err := vtime.ParseDuration(s)
	if err != nil {
		return 0, cli.Usagef("--step %q: %v", s, err)
	}
	if d <= 0 {
		return 0, cli.Usagef("--step %q: want a positive duration (1m, 30s)", s)
	}
	return d, nil
}

// replaySteps counts the runs in (from, to] on the step grid from from,
// refusing none. More than maxReplaySteps is refused by the replay itself
// (exit 2, with the shortest step that fits), once from is moved to the
// stores' oldest sample: --from 700d over five hours of history replays
// those hours (h31 H10).
func replaySteps(from, to time.Time, step time.Duration) (int64, error) {
	n := int64(to.Sub(from) / step)
	if n < 1 {
		return 0, cli.Usagef("--from %s to --to %s holds no --step %s: replay a longer range or a shorter step",
			from.UTC().Format(time.RFC3339), to.UTC().Format(time.RFC3339), vtime.FormatDuration(step))
	}
	return n, nil
}

// decodeReplayConfig decodes a config's alerting sections as evaluate
// does, except that an environment variable it names and the environment
// lacks (a channel's webhook URL or token, kept out of CI) stands for a
// placeholder, with a warning: replay sends nothing, and a pull request's
// check must not need the production secrets. Its problems are listed on
// stderr, exit 2.
func (a *app) decodeReplayConfig(f *configfile.File) (*alertconfig.Config, error) {
	var unset []string
	lookup := func(name string) (string, bool) {
		// Empty counts as unset: a CI secret a fork's pull request cannot
		// read is an empty string, not an absent variable.
		if v, ok := os.LookupEnv(name); ok && v != "" {
			return v, true
		}
		if !slices.Contains(unset, name) {
			unset = append(unset, name)
		}
		return replayPlaceholder, true
	}
	cfg, err := alertconfig.Decode(f, lookup, channels.Types())
	if ps, invalid := alertconfig.AsProblems(err); invalid {
		for _, p := range ps {
			fmt.Fprintf(a.stderr, "vigil: error: %s\n", p.Error())
		}
		return nil, &cli.SilentError{Code: cli.ExitUsage}
	}
	if err != nil {
		return nil, cli.Usagef("%s: %v", f.Path, err)
	}
	for _, name := range unset {
		fmt.Fprintf(a.stderr, "vigil: warning: %s: environment variable %s is not set or empty: replay stands %s for it (it sends nothing)\n",
			f.Path, name, replayPlaceholder)
	}
	return cfg, nil
}

// replayPlaceholder stands for an unset variable: a URL, as most are (a
// webhook's), under a name that can never resolve (RFC 2606).
const replayPlaceholder = "http://unset.invalid/"

// loadSide reads a second config file (--against) as the first is read:
// its problems listed on stderr, exit 2; its secrets registered.
func (a *app) loadSide(file string) (*replaySide, error) {
	f, err := a.readConfig(file)
	if err != nil {
		return nil, err
	}
	a.registerSecrets(f)
	cfg, err := a.decodeReplayConfig(f)
	if err != nil {
		return nil, err
	}
	objs, err := a.configObjectives(f)
	if err != nil {
		return nil, err
	}
	return &replaySide{file: file, cfg: cfg, objs: objs}, nil
}

// configObjectives are the slos: (and OpenSLO documents) of a config file:
// none when it defines none. Unlike vigil budget, no default objectives:
// a replay sends only the budget alerts the file asks for.
func (a *app) configObjectives(f *configfile.File) ([]slo.Objective, error) {
	if f == nil || f.Path == "" {
		return nil, nil
	}
	objs, found, err := slo.FromConfig(f)
	var ps slo.Problems
	if errors.As(err, &ps) {
		for _, p := range ps {
			fmt.Fprintf(a.stderr, "vigil: error: %s\n", p.Error())
		}
		return nil, &cli.SilentError{Code: cli.ExitUsage}
	}
	if err != nil {
		return nil, cli.Usagef("read objectives %s: %v", f.Path, err)
	}
	if !found {
		return nil, nil
	}
	return objs, nil
}

// thresholdHistory reads the state DB (read-only: never created, exit 1
// when missing) for the tuned thresholds and their history, and returns,
// per config, its dynamic rules' thresholds as tuned at each instant.
func (a *app) thresholdHistory(cmd *cobra.Command) (func(*alertconfig.Config) func(string, time.Time) (float64, bool), error) {
	// Read-only, never migrated: a production state DB that an older
	// vigil's cron runs use must stay theirs.
	sdb, err := state.OpenReadOnly(cmd.Context(), a.statePath(cmd))
	if err != nil {
		return nil, err
	}
	defer sdb.Close() //nolint:errcheck // read only
	run, err := sdb.Snapshot(cmd.Context())
	if err != nil {
		return nil, err
	}
	defer run.Rollback()
	ts, err := run.Thresholds()
	if err != nil {
		return nil, err
	}
	hs, err := run.ThresholdHistory("")
	if err != nil {
		return nil, err
	}
	return func(cfg *alertconfig.Config) func(string, time.Time) (float64, bool) {
		dynamic := map[string]bool{}
		for _, r := range cfg.Rules {
			dynamic[r.Name] = r.Dynamic
		}
		return thresholdsAsOf(ts, hs, dynamic)
	}, nil
}

// thresholdsAsOf gives replay each dynamic rule's threshold as tuned at
// an instant (tune.AsOf over the stored history); false: the config's.
func thresholdsAsOf(ts map[string]state.Threshold, hs []state.ThresholdChange, dynamic map[string]bool) func(string, time.Time) (float64, bool) {
	// AsOf reads the history oldest first, as ThresholdHistory lists it.
	hs = slices.Clone(hs)
	slices.SortStableFunc(hs, func(x, y state.ThresholdChange) int { return x.TunedAt.Compare(y.TunedAt) })
	return func(rule string, at time.Time) (float64, bool) {
		if !dynamic[rule] {
			return 0, false
		}
		// NaN stands for the config's threshold, which replay keeps.
		v := tune.AsOf(rule, hs, ts, math.NaN(), at)
		return v, !math.IsNaN(v)
	}
}

// writeReplay writes the output to stdout or --out (the markdown's chart
// beside it, written first so the file never links one not yet there).
func (a *app) writeReplay(o *replayOptions, sides []*replaySide) error {
	if o.Output == "json" && len(sides) == 1 {
		return a.streamReplayJSON(o.Out, sides[0].res)
	}
	var buf bytes.Buffer
	var err error
	switch o.Output {
	case "json":
		err = writeReplayJSON(&buf, sides)
	case "markdown":
		n := noiseOf(sides)
		var images []report.Image
		if o.Out != "" {
			prefix := strings.TrimSuffix(filepath.Base(o.Out), filepath.Ext(o.Out))
			if images, err = report.NoiseImages(n, prefix); err != nil {
				return err
			}
		}
		if err := report.WriteNoise(&buf, n, images, 1); err != nil {
			return err
		}
		if o.Out != "" {
			return writeWithImages(o.Out, images, buf.Bytes())
		}
	default:
		err = writeReplayTable(&buf, sides)
	}
	if err != nil {
		return err
	}
	if o.Out == "" {
		_, err = a.stdout.Write(buf.Bytes())
		return err
	}
	return atomicfile.WriteFile(o.Out, buf.Bytes())
}

// noiseOf is the replay (or the two) as the report renders it.
func noiseOf(sides []*replaySide) *report.Noise {
	n := &report.Noise{Replay: sides[0].res, Files: [2]string{sides[0].file}}
	if len(sides) > 1 {
		n.Against, n.Files[1] = sides[1].res, sides[1].file
		n.Comparison = replay.Diff(sides[0].res, sides[1].res)
	}
	return n
}

// The JSON of a replay (docs/replay.md): times RFC 3339 in UTC, step as a
// Go duration string ("1m0s") and in seconds.
type replayJSON struct {
	File        string               `json:"file,omitempty"`
	From        string               `json:"from"`
	To          string               `json:"to"`
	Step        string               `json:"step"`
	StepSeconds float64              `json:"step_seconds"`
	Steps       int                  `json:"steps"`
	Rules       []replayRuleJSON     `json:"rules"`
	Channels    []replayChannelJSON  `json:"channels"`
	Incidents   []replayIncidentJSON `json:"incidents"`
	Episodes    []replayEpisodeJSON  `json:"episodes"`
	Notices     []replayNoticeJSON   `json:"notices"`
	Warnings    []string             `json:"warnings"`
}

type replayRuleJSON struct {
	Rule                  string         `json:"rule"`
	Severity              string         `json:"severity"`
	Episodes              int            `json:"episodes"`
	FiringSeconds         float64        `json:"firing_seconds"`
	MedianEpisodeSeconds  float64        `json:"median_episode_seconds"`
	LongestEpisodeSeconds float64        `json:"longest_episode_seconds"`
	Flapping              int            `json:"flapping"`
	Notices               map[string]int `json:"notices"`
	Pages                 int            `json:"pages"`
	PagesPerWeek          float64        `json:"pages_per_week"`
	FirstFiring           *string        `json:"first_firing"`
	LastFiring            *string        `json:"last_firing"`
}

type replayChannelJSON struct {
	Channel      string `json:"channel"`
	Type         string `json:"type"`
	Notices      int    `json:"notices"`
	RateLimited  int    `json:"rate_limited"`
	Deduplicated int    `json:"deduplicated"`
}

type replayIncidentJSON struct {
	ID          string   `json:"id"`
	Correlation string   `json:"correlation"`
	GroupValue  string   `json:"group_value"`
	Opened      string   `json:"opened"`
	Closed      *string  `json:"closed"`
	Members     []string `json:"members"`
}

type replayEpisodeJSON struct {
	Rule        string            `json:"rule"`
	Fingerprint string            `json:"fingerprint"`
	Labels      map[string]string `json:"labels"`
	Severity    string            `json:"severity"`
	Start       string            `json:"start"`
	End         string            `json:"end"`
	Open        bool              `json:"open"`
	Notified    []string          `json:"notified"`
}

type replayNoticeJSON struct {
	At          string `json:"at"`
	Channel     string `json:"channel"`
	Rule        string `json:"rule"`
	Fingerprint string `json:"fingerprint"`
	State       string `json:"state"`
	// Kind tells a notification ("firing", "resolved") from an
	// Alertmanager channel's refresh ("refresh", state firing), which
	// re-asserts an alert the receiver already has and pages nobody.
	Kind     string            `json:"kind"`
	Severity string            `json:"severity"`
	Labels   map[string]string `json:"labels"`
	Step     int               `json:"step"`
	// EscalationPolicy names the policy whose step sent it; absent for a
	// notice its channel's filters sent.
	EscalationPolicy string `json:"escalation_policy,omitempty"`
	// Incident is the correlation incident the alert belonged to (null:
	// none).
	Incident *string `json:"incident"`
}

// replayMissedJSON is one entry of --against's diff: an episode one config
// notifies and the other misses.
type replayMissedJSON struct {
	replayEpisodeJSON
	NotifiedBy string `json:"notified_by"`
	MissedBy   string `json:"missed_by"`
	Why        string `json:"why"`
}

// replayCompareJSON is --against's side by side: each pair is [--config,
// --against].
type replayCompareJSON struct {
	Pages    [2]int                 `json:"pages"`
	Rules    []replayCompareRule    `json:"rules"`
	Channels []replayCompareChannel `json:"channels"`
}

type replayCompareRule struct {
	Rule     string            `json:"rule"`
	In       [2]bool           `json:"in"`
	Episodes [2]int            `json:"episodes"`
	Notices  [2]map[string]int `json:"notices"`
	Pages    [2]int            `json:"pages"`
}

type replayCompareChannel struct {
	Channel string `json:"channel"`
	Notices [2]int `json:"notices"`
	Pages   [2]int `json:"pages"`
}

func rfc(t time.Time) string { return t.UTC().Format(time.RFC3339) }

func rfcOrNull(t time.Time) *string {
	if t.IsZero() {
		return nil
	}
	s := rfc(t)
	return &s
}

func labelsOrEmpty(m map[string]string) map[string]string {
	if m == nil {
		return map[string]string{}
	}
	return m
}

// replayToJSON is r in the stable JSON shape, every list non-nil.
func replayToJSON(r *replay.Replay) replayJSON {
	out := replayJSON{From: rfc(r.From), To: rfc(r.To), Step: r.Step.String(), StepSeconds: r.Step.Seconds(), Steps: r.Steps,
		Rules: []replayRuleJSON{}, Channels: []replayChannelJSON{}, Incidents: []replayIncidentJSON{},
		Episodes: []replayEpisodeJSON{}, Notices: []replayNoticeJSON{}, Warnings: nonNil(r.Warnings)}
	for _, s := range r.Rules {
		n := s.Notices
		if n == nil {
			n = map[string]int{}
		}
		out.Rules = append(out.Rules, replayRuleJSON{Rule: s.Rule, Severity: s.Severity, Episodes: s.Episodes,
			FiringSeconds: s.FiringSeconds, MedianEpisodeSeconds: s.MedianEpisodeSeconds, LongestEpisodeSeconds: s.LongestEpisodeSeconds,
			Flapping: s.Flapping, Notices: n, Pages: s.Pages, PagesPerWeek: s.PagesPerWeek,
			FirstFiring: rfcOrNull(s.FirstFiring), LastFiring: rfcOrNull(s.LastFiring)})
	}
	for _, c := range r.Channels {
		out.Channels = append(out.Channels, replayChannelJSON{Channel: c.Channel, Type: c.Type, Notices: c.Notices,
			RateLimited: c.RateLimited, Deduplicated: c.Deduplicated})
	}
	for _, i := range r.Incidents {
		out.Incidents = append(out.Incidents, replayIncidentJSON{ID: i.ID, Correlation: i.Correlation, GroupValue: i.GroupValue,
			Opened: rfc(i.Opened), Closed: rfcOrNull(i.Closed), Members: nonNil(i.Members)})
	}
	for _, e := range r.Episodes {
		out.Episodes = append(out.Episodes, episodeJSON(e))
	}
	for _, n := range r.Notices {
		out.Notices = append(out.Notices, noticeJSON(n))
	}
	return out
}

func noticeJSON(n replay.Notice) replayNoticeJSON {
	return replayNoticeJSON{At: rfc(n.At), Channel: n.Channel, Rule: n.Rule, Fingerprint: n.Fingerprint,
		State: n.State, Kind: n.Kind, Severity: n.Severity, Labels: labelsOrEmpty(n.Labels), Step: n.Step,
		EscalationPolicy: n.EscalationPolicy, Incident: strOrNull(n.Incident)}
}

func episodeJSON(e replay.Episode) replayEpisodeJSON {
	return replayEpisodeJSON{Rule: e.Rule, Fingerprint: e.Fingerprint, Labels: labelsOrEmpty(e.Labels), Severity: e.Severity,
		Start: rfc(e.Start), End: rfc(e.End), Open: e.Open, Notified: nonNil(e.Notified)}
}

// writeReplayJSON writes one replay's JSON, or with two {"configs": [...],
// "compare": {...}, "diff": [...]}.
func writeReplayJSON(w io.Writer, sides []*replaySide) error {
	enc := json.NewEncoder(w)
	if len(sides) == 1 {
		return enc.Encode(replayToJSON(sides[0].res))
	}
	var configs []replayJSON
	for _, s := range sides {
		j := replayToJSON(s.res)
		j.File = s.file
		configs = append(configs, j)
	}
	c := replay.Diff(sides[0].res, sides[1].res)
	files := [2]string{sides[0].file, sides[1].file}
	diff := []replayMissedJSON{}
	for _, m := range c.Missed {
		diff = append(diff, replayMissedJSON{replayEpisodeJSON: episodeJSON(m.Episode),
			NotifiedBy: files[m.NotifiedBy], MissedBy: files[1-m.NotifiedBy], Why: m.Why})
	}
	return enc.Encode(map[string]any{"configs": configs, "compare": compareJSON(c), "diff": diff})
}

func compareJSON(c *replay.Comparison) replayCompareJSON {
	out := replayCompareJSON{Pages: [2]int{c.PagesA, c.PagesB}, Rules: []replayCompareRule{}, Channels: []replayCompareChannel{}}
	for _, r := range c.Rules {
		out.Rules = append(out.Rules, replayCompareRule{Rule: r.Rule, In: [2]bool{r.InA, r.InB}, Episodes: [2]int{r.EpisodesA, r.EpisodesB},
			Notices: [2]map[string]int{r.NoticesA, r.NoticesB}, Pages: [2]int{r.PagesA, r.PagesB}})
	}
	for _, ch := range c.Channels {
		out.Channels = append(out.Channels, replayCompareChannel{Channel: ch.Channel,
			Notices: [2]int{ch.NoticesA, ch.NoticesB}, Pages: [2]int{ch.PagesA, ch.PagesB}})
	}
	return out
}

// writeReplayTable writes the noisiest rules first, then the channels,
// then the incidents; with --against, both configs side by side and the
// missed episodes. Names from data are quoted (safetext.Terminal).
func writeReplayTable(w io.Writer, sides []*replaySide) error {
	r := sides[0].res
	fmt.Fprintf(w, "replayed %d runs every %s over (%s, %s]\n\n", r.Steps, vtime.FormatDuration(r.Step), rfc(r.From), rfc(r.To))
	if len(sides) > 1 {
		return writeCompareTable(w, sides)
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "RULE\tSEVERITY\tEPISODES\tFIRING\tMEDIAN\tLONGEST\tFLAPPING\tNOTICES\tPAGES\tPAGES/WEEK")
	for _, s := range r.Rules {
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\t%s\t%d\t%s\t%d\t%s\n", safetext.Terminal(s.Rule), safetext.Terminal(s.Severity), s.Episodes,
			seconds(s.FiringSeconds), seconds(s.MedianEpisodeSeconds), seconds(s.LongestEpisodeSeconds), s.Flapping,
			perChannel(s.Notices), s.Pages, strconv.FormatFloat(math.Round(s.PagesPerWeek*100)/100, 'f', -1, 64))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(w)
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "CHANNEL\tTYPE\tNOTICES\tRATE LIMITED\tDEDUPLICATED")
	for _, c := range r.Channels {
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%d\n", safetext.Terminal(c.Channel), c.Type, c.Notices, c.RateLimited, c.Deduplicated)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(w)
	if len(r.Incidents) == 0 {
		_, err := fmt.Fprintln(w, "no incidents")
		return err
	}
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "INCIDENT\tCORRELATION\tGROUP\tOPENED\tCLOSED\tMEMBERS")
	for _, i := range r.Incidents {
		closed := "open"
		if !i.Closed.IsZero() {
			closed = rfc(i.Closed)
		}
		members := make([]string, len(i.Members))
		for k, m := range i.Members {
			members[k] = safetext.Terminal(m)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", safetext.Terminal(i.ID), safetext.Terminal(i.Correlation), safetext.Terminal(i.GroupValue),
			rfc(i.Opened), closed, strings.Join(members, ", "))
	}
	return tw.Flush()
}

// writeCompareTable is --against's table: notices and pages per rule and
// channel in each config, then the missed episodes.
func writeCompareTable(w io.Writer, sides []*replaySide) error {
	c := replay.Diff(sides[0].res, sides[1].res)
	fmt.Fprintf(w, "A = %s, B = %s: pages A %d, B %d\n\n", safetext.Terminal(sides[0].file), safetext.Terminal(sides[1].file), c.PagesA, c.PagesB)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "RULE\tEPISODES A\tEPISODES B\tNOTICES A\tNOTICES B\tPAGES A\tPAGES B")
	for _, r := range c.Rules {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%d\t%d\n", safetext.Terminal(r.Rule), inOr(r.InA, r.EpisodesA), inOr(r.InB, r.EpisodesB),
			perChannel(r.NoticesA), perChannel(r.NoticesB), r.PagesA, r.PagesB)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(w)
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "CHANNEL\tNOTICES A\tNOTICES B\tPAGES A\tPAGES B")
	for _, ch := range c.Channels {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\n", safetext.Terminal(ch.Channel), ch.NoticesA, ch.NoticesB, ch.PagesA, ch.PagesB)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(w)
	if len(c.Missed) == 0 {
		_, err := fmt.Fprintln(w, "no episode notified by one config and missed by the other")
		return err
	}
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "MISSED BY\tRULE\tLABELS\tSTART\tEND\tNOTIFIED\tWHY")
	for _, m := range c.Missed {
		e := m.Episode
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", "AB"[1-m.NotifiedBy:2-m.NotifiedBy], safetext.Terminal(e.Rule), labelText(e.Labels),
			rfc(e.Start), rfc(e.End), safetext.Terminal(strings.Join(e.Notified, ",")), m.Why)
	}
	return tw.Flush()
}

// inOr is a count, or "-" for a rule the config does not have.
func inOr(in bool, n int) string {
	if !in {
		return "-"
	}
	return strconv.Itoa(n)
}

// seconds is a duration in seconds, as vtime writes durations ("-" for none).
func seconds(s float64) string {
	if s <= 0 {
		return "-"
	}
	return vtime.FormatDuration(time.Duration(s * float64(time.Second)).Round(time.Second))
}

// perChannel is "ops=3,chat=1" by channel name ("-" for none).
func perChannel(m map[string]int) string {
	var parts []string
	for _, ch := range slices.Sorted(maps.Keys(m)) {
		if m[ch] > 0 {
			parts = append(parts, safetext.Terminal(ch)+"="+strconv.Itoa(m[ch]))
		}
	}
	if len(parts) == 0 {
		return "-"
	}
	return strings.Join(parts, ",")
}

// labelText is {k="v",...} sorted, quoted for a terminal.
func labelText(m map[string]string) string {
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(m)) {
		parts = append(parts, safetext.Terminal(k)+"="+strconv.Quote(m[k]))
	}
	return "{" + strings.Join(parts, ",") + "}"
}

// strOrNull is s, or JSON null for "".
func strOrNull(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}
