package report

import (
	"fmt"
	"io"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/vigil-metrics/vigil/alert/replay"
	"github.com/vigil-metrics/vigil/internal/safetext"
	"github.com/vigil-metrics/vigil/internal/vtime"
)

// Noise is a replay (vigil replay, or the report's alert noise section)
// as the report shows it: what a config would have sent over the history,
// and with Against a second config side by side.
type Noise struct {
	Replay *replay.Replay
	// Against and Comparison are the second config's replay and the two
	// compared (nil: one config).
	Against    *replay.Replay
	Comparison *replay.Comparison
	// Files name the configs (--config, --against) in the headings.
	Files [2]string
	// Loc is the zone of the times shown and of the chart's days (nil: UTC).
	Loc *time.Location
}

func (n *Noise) loc() *time.Location {
	if n.Loc == nil {
		return time.UTC
	}
	return n.Loc
}

// noisePerDay counts r's notices per day (midnight to midnight in loc,
// a day being (start, end] as the replayed runs are) per channel, over
// every day that (From, To] touches: one series per channel of the replay
// (then those only in its notices, by name), each point at its day's
// end, zero for a day without any.
func noisePerDay(r *replay.Replay, loc *time.Location) []series {
	// day is the start of the day that holds t as a day's (start, end].
	day := func(t time.Time) time.Time {
		t = t.Add(-time.Nanosecond).In(loc)
		return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, loc)
	}
	var days []time.Time
	if r.From.Before(r.To) {
		for d := day(r.From.Add(time.Nanosecond)); !d.After(day(r.To)); d = d.AddDate(0, 0, 1) {
			days = append(days, d)
		}
	}
	index := map[time.Time]int{}
	for i, d := range days {
		index[d] = i
	}
	var names []string
	for _, c := range r.Channels {
		names = append(names, c.Channel)
	}
	counts := map[string][]float64{}
	for _, c := range names {
		counts[c] = make([]float64, len(days))
	}
	var extra []string
	for _, x := range r.Notices {
		i, ok := index[day(x.At)]
		if !ok {
			continue
		}
		if counts[x.Channel] == nil {
			counts[x.Channel] = make([]float64, len(days))
			extra = append(extra, x.Channel)
		}
		counts[x.Channel][i]++
	}
	slices.Sort(extra)
	out := make([]series, 0, len(names)+len(extra))
	for _, c := range append(names, extra...) {
		ps := make([]Point, len(days))
		for i, d := range days {
			ps[i] = Point{T: d.AddDate(0, 0, 1), V: counts[c][i]}
		}
		out = append(out, series{Label: c, Points: ps})
	}
	return out
}

// NoiseImages draws the notices per day per channel of each replay of n
// as SVG, in the report's chart style: prefix-noise.svg, and with Against
// prefix-noise-against.svg. A replay without notices has no chart.
func NoiseImages(n *Noise, prefix string) ([]Image, error) {
	var out []Image
	for i, r := range []*replay.Replay{n.Replay, n.Against} {
		if r == nil || len(r.Notices) == 0 {
			continue
		}
		ss := noisePerDay(r, n.loc())
		for k := range ss {
			// Names from data are quoted: a control character makes the
			// SVG ill-formed XML.
			ss[k].Label = safetext.Terminal(ss[k].Label)
		}
		title, file, alt := "Notices per day per channel", prefix+"-noise.svg", "notices per day per channel"
		if n.Against != nil {
			name := safetext.Terminal(n.Files[i])
			title += ": " + name
			alt += " under " + n.Files[i]
			if i == 1 {
				file = prefix + "-noise-against.svg"
			}
		}
		svg, err := lineChart(chart{title: title, ylabel: "notices", loc: n.loc(), ref: math.NaN()}, ss)
		if err != nil {
			return nil, err
		}
		out = append(out, Image{Section: "noise", SVG: svg, Alt: alt, File: file})
	}
	return out, nil
}

// WriteNoise writes n as markdown under a heading of the given level (1:
// "#"): per rule (the noisiest first), per channel, the incidents, and
// with Against both configs side by side and the episodes one notifies
// and the other misses; images are linked by file. Every name and label
// from data is escaped (Escape).
func WriteNoise(w io.Writer, n *Noise, images []Image, level int) error {
	h := func(l int) string { return strings.Repeat("#", level+l) + " " }
	var b strings.Builder
	r := n.Replay
	b.WriteString(h(0) + "Alert noise\n\n")
	fmt.Fprintf(&b, "Replayed %d runs every %s over (%s, %s]", r.Steps, vtime.FormatDuration(r.Step), n.time(r.From), n.time(r.To))
	if n.Against != nil {
		fmt.Fprintf(&b, " under A = %s and B = %s", Escape(n.Files[0]), Escape(n.Files[1]))
	}
	b.WriteString(": what the config would have sent, with no acks, no receiver failures and the silences it has now (docs/replay.md).\n")
	for _, x := range r.Warnings {
		b.WriteString("\n> " + Escape(x) + "\n")
	}
	if n.Comparison != nil {
		n.writeCompare(&b, h)
	} else {
		n.writeOne(&b, h, r)
	}
	for _, im := range images {
		fmt.Fprintf(&b, "\n![%s](%s)\n", Escape(im.Alt), im.File)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func (n *Noise) time(t time.Time) string { return t.In(n.loc()).Format("2006-01-02 15:04 MST") }

func (n *Noise) timeOr(t time.Time, none string) string {
	if t.IsZero() {
		return none
	}
	return n.time(t)
}

// writeOne writes one replay's rules, channels and incidents.
func (n *Noise) writeOne(b *strings.Builder, h func(int) string, r *replay.Replay) {
	b.WriteString("\n" + h(1) + "Rules\n\n")
	if len(r.Rules) == 0 {
		b.WriteString("No rules.\n")
	} else {
		b.WriteString("| rule | severity | episodes | firing | median | longest | flapping | notices | pages | pages/week | first firing | last firing |\n")
		b.WriteString("|---|---|---:|---:|---:|---:|---:|---|---:|---:|---|---|\n")
		for _, s := range r.Rules {
			fmt.Fprintf(b, "| %s | %s | %d | %s | %s | %s | %d | %s | %d | %s | %s | %s |\n", Escape(s.Rule), Escape(s.Severity), s.Episodes,
				secs(s.FiringSeconds), secs(s.MedianEpisodeSeconds), secs(s.LongestEpisodeSeconds), s.Flapping, channelCounts(s.Notices),
				s.Pages, Num(round(s.PagesPerWeek, 2)), n.timeOr(s.FirstFiring, "-"), n.timeOr(s.LastFiring, "-"))
		}
	}
	b.WriteString("\n" + h(1) + "Channels\n\n")
	if len(r.Channels) == 0 {
		b.WriteString("No channels.\n")
	} else {
		b.WriteString("| channel | type | notices | rate limited | deduplicated |\n|---|---|---:|---:|---:|\n")
		for _, c := range r.Channels {
			fmt.Fprintf(b, "| %s | %s | %d | %d | %d |\n", Escape(c.Channel), Escape(c.Type), c.Notices, c.RateLimited, c.Deduplicated)
		}
	}
	b.WriteString("\n" + h(1) + "Incidents\n\n")
	if len(r.Incidents) == 0 {
		b.WriteString("No incidents.\n")
		return
	}
	b.WriteString("| incident | correlation | group | opened | closed | members |\n|---|---|---|---|---|---|\n")
	for _, i := range r.Incidents {
		fmt.Fprintf(b, "| %s | %s | %s | %s | %s | %s |\n", Escape(i.ID), Escape(i.Correlation), Escape(i.GroupValue),
			n.time(i.Opened), n.timeOr(i.Closed, "open"), escList(i.Members))
	}
}

// writeCompare writes the two configs side by side and the missed
// episodes.
func (n *Noise) writeCompare(b *strings.Builder, h func(int) string) {
	c := n.Comparison
	fmt.Fprintf(b, "\nPages: A %d, B %d.\n", c.PagesA, c.PagesB)
	b.WriteString("\n" + h(1) + "Missed episodes\n\n")
	if len(c.Missed) == 0 {
		b.WriteString("No episode is notified by one config and missed by the other.\n")
	} else {
		b.WriteString("| notified by | missed by | rule | labels | start | end | channels | why |\n|---|---|---|---|---|---|---|---|\n")
		for _, m := range c.Missed {
			e := m.Episode
			by, missed := "A", "B"
			if m.NotifiedBy == 1 {
				by, missed = "B", "A"
			}
			fmt.Fprintf(b, "| %s | %s | %s | %s | %s | %s | %s | %s |\n", by, missed, Escape(e.Rule), labels(e.Labels),
				n.time(e.Start), n.time(e.End), escList(e.Notified), m.Why)
		}
	}
	b.WriteString("\n" + h(1) + "Rules\n\n")
	b.WriteString("| rule | episodes A | episodes B | notices A | notices B | pages A | pages B |\n|---|---:|---:|---|---|---:|---:|\n")
	for _, r := range c.Rules {
		fmt.Fprintf(b, "| %s | %s | %s | %s | %s | %d | %d |\n", Escape(r.Rule), countIn(r.InA, r.EpisodesA), countIn(r.InB, r.EpisodesB),
			channelCounts(r.NoticesA), channelCounts(r.NoticesB), r.PagesA, r.PagesB)
	}
	b.WriteString("\n" + h(1) + "Channels\n\n")
	b.WriteString("| channel | notices A | notices B | pages A | pages B |\n|---|---:|---:|---:|---:|\n")
	for _, ch := range c.Channels {
		fmt.Fprintf(b, "| %s | %d | %d | %d | %d |\n", Escape(ch.Channel), ch.NoticesA, ch.NoticesB, ch.PagesA, ch.PagesB)
	}
}

// countIn is n, or "-" for a rule the config does not have.
func countIn(in bool, n int) string {
	if !in {
		return "-"
	}
	return strconv.Itoa(n)
}

// secs is seconds as a duration ("-" for none).
func secs(s float64) string {
	if s <= 0 {
		return "-"
	}
	return vtime.FormatDuration(time.Duration(s * float64(time.Second)).Round(time.Second))
}

// channelCounts is "ops: 3, chat: 1" by channel name, escaped ("-": none).
func channelCounts(m map[string]int) string {
	var parts []string
	for _, ch := range slices.Sorted(maps.Keys(m)) {
		if m[ch] > 0 {
			parts = append(parts, Escape(ch)+": "+strconv.Itoa(m[ch]))
		}
	}
	if len(parts) == 0 {
		return "-"
	}
	return strings.Join(parts, ", ")
}

// labels is k="v", ... sorted, escaped as one cell ("-": none).
func labels(m map[string]string) string {
	if len(m) == 0 {
		return "-"
	}
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(m)) {
		parts = append(parts, k+"="+strconv.Quote(m[k]))
	}
	return Escape(strings.Join(parts, ", "))
}
