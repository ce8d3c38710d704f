package dashboards

// board lays panels out on Grafana's 24-column grid, left to right and
// row by row, and numbers them (ids are unique within a dashboard).
type board struct {
	d       *Dashboard
	ds      *DatasourceRef
	x, y, h int
	id      int
}

func newBoard(uid, title, description string, ds *DatasourceRef, tags ...string) *board {
	d := &Dashboard{
		UID: uid, Title: title, Description: description,
		Tags:     append([]string{"vigil", GeneratedTag}, tags...),
		Timezone: "utc", Editable: true, GraphTooltip: 1, SchemaVersion: SchemaVersion, Version: 1,
		Refresh: "1m", Time: TimeRange{From: "now-6h", To: "now"},
		Templating: Templating{List: []Variable{}}, Annotations: Annotations{List: []any{}},
		// Every vigil dashboard links to the others through the tag.
		Links:  []Link{{Title: "vigil", Type: "dashboards", Tags: []string{GeneratedTag}, AsDropdown: true, Icon: "external link", KeepTime: true}},
		Panels: []*Panel{},
	}
	return &board{d: d, ds: ds}
}

// row starts a row (a full-width title bar) on a new line.
func (b *board) row(title string) {
	b.newline()
	b.id++
	b.d.Panels = append(b.d.Panels, &Panel{ID: b.id, Type: "row", Title: title, GridPos: GridPos{H: 1, W: 24, X: 0, Y: b.y},
		Collapsed: ptr(false), Panels: []*Panel{}})
	b.y++
}

func (b *board) newline() {
	if b.x > 0 {
		b.y += b.h
		b.x, b.h = 0, 0
	}
}

// add places p w columns wide and h high.
func (b *board) add(p *Panel, w, h int) {
	if b.x+w > 24 {
		b.newline()
	}
	b.id++
	p.ID = b.id
	p.GridPos = GridPos{H: h, W: w, X: b.x, Y: b.y}
	p.Datasource = b.ds
	for i := range p.Targets {
		p.Targets[i].Datasource = b.ds
		p.Targets[i].RefID = string(rune('A' + i))
	}
	b.x += w
	b.h = max(b.h, h)
	b.d.Panels = append(b.d.Panels, p)
}

// MaxDataPoints is every time series panel's: Grafana would otherwise
// take the panel's width in pixels, which only a browser knows, and the
// step (replay.go) would depend on the screen.
const MaxDataPoints = 500

// timeseries is a graph of range queries; th, when set, is drawn as
// lines at its steps.
func timeseries(title, desc, unit string, th *Thresholds, targets ...Target) *Panel {
	for i := range targets {
		targets[i].Range, targets[i].EditorMode = true, "code"
	}
	thStyle := "off"
	if th == nil {
		th = &Thresholds{Mode: "absolute", Steps: []Step{{Color: "green"}}}
	} else {
		thStyle = "line"
	}
	return &Panel{
		Type: "timeseries", Title: title, Description: desc, Targets: targets, MaxDataPoints: MaxDataPoints,
		FieldConfig: &FieldConfig{Defaults: FieldDefaults{
			Unit: unit, Color: &FieldColor{Mode: "palette-classic"}, Thresholds: th,
			Custom: map[string]any{
				"drawStyle": "line", "lineWidth": 1, "fillOpacity": 10, "showPoints": "never", "spanNulls": false,
				"thresholdsStyle": map[string]any{"mode": thStyle},
			},
		}, Overrides: []any{}},
		Options: map[string]any{
			"legend":  map[string]any{"calcs": []string{}, "displayMode": "list", "placement": "bottom", "showLegend": true},
			"tooltip": map[string]any{"mode": "multi", "sort": "none"},
		},
	}
}

// StatPoints is every stat panel's maxDataPoints: their queries have
// fixed windows, so it only keeps the step (replay.go) off the screen
// width.
const StatPoints = 100

// stat is one number from an instant query, coloured by th.
func stat(title, desc, unit string, th *Thresholds, targets ...Target) *Panel {
	for i := range targets {
		targets[i].Instant, targets[i].EditorMode = true, "code"
	}
	return &Panel{
		Type: "stat", Title: title, Description: desc, Targets: targets, MaxDataPoints: StatPoints,
		FieldConfig: &FieldConfig{Defaults: FieldDefaults{Unit: unit, Decimals: ptr(3), Color: &FieldColor{Mode: "thresholds"}, Thresholds: th}, Overrides: []any{}},
		Options: map[string]any{
			"reduceOptions": map[string]any{"calcs": []string{"lastNotNull"}, "fields": "", "values": false},
			"orientation":   "auto", "textMode": "value", "colorMode": "value", "graphMode": "none", "justifyMode": "auto",
			"wideLayout": true, "showPercentChange": false, "percentChangeColorMode": "standard",
		},
	}
}

// above colours values at or above v red (a greater-than condition);
// below colours values under v red.
func above(v float64) *Thresholds {
	return &Thresholds{Mode: "absolute", Steps: []Step{{Color: "green"}, {Color: "red", Value: ptr(v)}}}
}

func below(v float64) *Thresholds {
	return &Thresholds{Mode: "absolute", Steps: []Step{{Color: "red"}, {Color: "green", Value: ptr(v)}}}
}

// ruleRow adds a row of rule panels (rulePanel for each, service "": not
// scoped), warning of the rules that have no panel.
func (b *board) ruleRow(rules []Rule, types map[string]string, buckets map[string][]float64, warn func(string, ...any)) {
	if len(rules) == 0 {
		return
	}
	b.row("Alert rules")
	for _, r := range rules {
		p, err := rulePanel(r, types, "", buckets)
		if err != nil {
			warn("%v", err)
			continue
		}
		b.add(p, 12, 8)
	}
}
