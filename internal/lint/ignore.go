package lint

import (
	"fmt"
	"path"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/vigil-metrics/vigil/internal/configfile"
	"github.com/vigil-metrics/vigil/internal/yamlconf"
)

// Ignore is an accepted finding: a check, and optionally a glob
// (path.Match syntax: *, ?, [a-z]) on the finding's metric or family.
// Ignored findings are counted in the summary, never dropped silently.
type Ignore struct {
	Check  string
	Metric string // "" matches every metric
}

// CheckNames are the names a finding's check may take (the Check
// constants), for --ignore and lint: ignore: to validate against.
var CheckNames = []string{CheckTypeMismatch, CheckCounterSuffix, CheckUnitSuffix, CheckSnakeCase, CheckHighCardLabel,
	CheckLabelValues, CheckInconsistentName, CheckUnknownMetric, CheckUnknownLabel}

// ParseIgnore reads CHECK[:METRIC_GLOB] (the --ignore flag).
func ParseIgnore(s string) (Ignore, error) {
	check, glob, _ := strings.Cut(s, ":")
	i := Ignore{Check: check, Metric: glob}
	return i, i.valid()
}

func (i Ignore) valid() error {
	if !slices.Contains(CheckNames, i.Check) {
		return fmt.Errorf("unknown check %q (want %s)", i.Check, strings.Join(CheckNames, ", "))
	}
	if _, err := path.Match(i.Metric, ""); err != nil {
		return fmt.Errorf("metric glob %q: %v", i.Metric, err)
	}
	return nil
}

func (i Ignore) matches(f Finding) bool {
	if f.Check != i.Check {
		return false
	}
	if i.Metric == "" {
		return true
	}
	m1, _ := path.Match(i.Metric, f.Metric)
	m2, _ := path.Match(i.Metric, f.Family)
	return m1 || m2
}

// Apply splits findings into those kept and those an Ignore matches, each
// in the order given.
func Apply(fs []Finding, ignores []Ignore) (kept, ignored []Finding) {
	kept = []Finding{}
	for _, f := range fs {
		if slices.ContainsFunc(ignores, func(i Ignore) bool { return i.matches(f) }) {
			ignored = append(ignored, f)
		} else {
			kept = append(kept, f)
		}
	}
	return kept, ignored
}

// Summary is one check's line of the summary: its findings by severity,
// the families they are about, and how many were ignored.
type Summary struct {
	Check    string         `json:"check"`
	Findings int            `json:"findings"`
	Severity map[string]int `json:"by_severity"`
	Families int            `json:"families"`
	Ignored  int            `json:"ignored"`
}

// String is the summary line: "unit_suffix: 3 warnings in 2 families (1
// ignored)".
func (s Summary) String() string {
	var parts []string
	for _, sev := range []string{Error, Warning, Info} {
		if n := s.Severity[sev]; n > 0 {
			parts = append(parts, plural(n, sev))
		}
	}
	line := s.Check + ": "
	if len(parts) == 0 {
		line += "0 findings"
	} else {
		line += strings.Join(parts, ", ") + " in " + plural(s.Families, "family")
	}
	if s.Ignored > 0 {
		line += fmt.Sprintf(" (%d ignored)", s.Ignored)
	}
	return line
}

func plural(n int, noun string) string {
	switch {
	case n == 1:
		return "1 " + noun
	case strings.HasSuffix(noun, "y"):
		return fmt.Sprintf("%d %sies", n, noun[:len(noun)-1])
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

// Summarize gives a Summary per check that kept or ignored a finding, in
// the order of CheckNames.
func Summarize(kept, ignored []Finding) []Summary {
	by := map[string]*Summary{}
	fams := map[string]map[string]bool{}
	get := func(check string) *Summary {
		if by[check] == nil {
			by[check] = &Summary{Check: check, Severity: map[string]int{}}
			fams[check] = map[string]bool{}
		}
		return by[check]
	}
	for _, f := range kept {
		s := get(f.Check)
		s.Findings++
		s.Severity[f.Severity]++
		fams[f.Check][f.Family] = true
	}
	for _, f := range ignored {
		get(f.Check).Ignored++
	}
	out := []Summary{}
	for _, c := range CheckNames {
		if s := by[c]; s != nil {
			s.Families = len(fams[c])
			out = append(out, *s)
		}
	}
	return out
}

// FromConfig reads the lint: section of vigil.yaml:
//
//	lint:
//	  ignore:
//	    - {check: unit_suffix, metric: "myapp_*"}
//	    - {check: counter_suffix}
//
// Each entry is an accepted finding, as --ignore CHECK[:METRIC_GLOB].
// Problems are FILE:LINE:COL errors (vigil check lists them).
func FromConfig(f *configfile.File) ([]Ignore, error) {
	n := f.Section("lint")
	if n == nil || yamlconf.IsNull(n) {
		return nil, nil
	}
	var out []Ignore
	d := &yamlconf.Decoder{File: f.Path}
	d.Fields(n, "lint", map[string]func(*yaml.Node){"ignore": func(l *yaml.Node) {
		d.List(l, "lint: ignore", func(e *yaml.Node) {
			var i Ignore
			seen := d.Fields(e, "lint: ignore entry", map[string]func(*yaml.Node){
				"check": func(v *yaml.Node) {
					if s, ok := d.Str(v, "lint: ignore: check"); ok {
						i.Check = s
						if !slices.Contains(CheckNames, s) {
							d.Errf(v, "lint: ignore: unknown check %q (want %s)", s, strings.Join(CheckNames, ", "))
						}
					}
				},
				"metric": func(v *yaml.Node) {
					if s, ok := d.Str(v, "lint: ignore: metric"); ok {
						i.Metric = s
						if _, err := path.Match(s, ""); err != nil {
							d.Errf(v, "lint: ignore: metric glob %q: %v", s, err)
						}
					}
				},
			})
			if d.Required(e, seen, "lint: ignore entry", "check") {
				out = append(out, i)
			}
		})
	}})
	return out, d.Err()
}

// Group is the findings of one check about one label of one family, as
// the table shows them: one row with a count.
type Group struct {
	Severity, Check, Family, Label string
	Findings                       []Finding
}

// Groups gathers findings by severity, check, family and label, in the
// order of each group's first finding (so the most severe lead, as in
// Run's order).
func Groups(fs []Finding) []Group {
	var out []Group
	at := map[[4]string]int{}
	for _, f := range fs {
		k := [4]string{f.Severity, f.Check, f.Family, f.Label}
		i, ok := at[k]
		if !ok {
			i = len(out)
			at[k] = i
			out = append(out, Group{Severity: f.Severity, Check: f.Check, Family: f.Family, Label: f.Label})
		}
		out[i].Findings = append(out[i].Findings, f)
	}
	return out
}
