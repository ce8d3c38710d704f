package dashboards

// The dashboard JSON model: the fields vigil writes, named and typed as
// @grafana/schema's Dashboard (packages/grafana-schema, the schema of
// Grafana 12 and 13), which the test under .ci/grafana-schema checks
// every generated file against.

// SchemaVersion is the dashboard schema version of the current Grafana
// release (@grafana/schema 13.2.3's defaultDashboard.schemaVersion):
// Grafana migrates older files on load, but a file at the current version
// is used as written.
const SchemaVersion = 42

// GeneratedTag marks the dashboards vigil writes: --out refuses to
// replace a dashboard without it (cmd/vigil/dashboards.go).
const GeneratedTag = "vigil-generated"

// Dashboard is one dashboard file.
type Dashboard struct {
	UID           string      `json:"uid"`
	Title         string      `json:"title"`
	Description   string      `json:"description,omitempty"`
	Tags          []string    `json:"tags"`
	Timezone      string      `json:"timezone"`
	Editable      bool        `json:"editable"`
	GraphTooltip  int         `json:"graphTooltip"`
	SchemaVersion int         `json:"schemaVersion"`
	Version       int         `json:"version"`
	Refresh       string      `json:"refresh"`
	Time          TimeRange   `json:"time"`
	Templating    Templating  `json:"templating"`
	Annotations   Annotations `json:"annotations"`
	Links         []Link      `json:"links"`
	Panels        []*Panel    `json:"panels"`
}

// TimeRange is the dashboard's default range, Grafana's relative syntax.
type TimeRange struct {
	From string `json:"from"`
	To   string `json:"to"`
}

// Templating holds the dashboard's variables.
type Templating struct {
	List []Variable `json:"list"`
}

// Variable is a query variable over the data source: label_values(NAME).
type Variable struct {
	Name       string         `json:"name"`
	Label      string         `json:"label,omitempty"`
	Type       string         `json:"type"`
	Datasource *DatasourceRef `json:"datasource,omitempty"`
	Query      string         `json:"query"`
	Refresh    int            `json:"refresh"`
	Multi      bool           `json:"multi"`
	IncludeAll bool           `json:"includeAll"`
	Sort       int            `json:"sort"`
	Hide       int            `json:"hide"`
}

// Annotations is left empty: Grafana adds its built-in one on load.
type Annotations struct {
	List []any `json:"list"`
}

// Link is a dashboards link by tag (each dashboard links to the others).
type Link struct {
	Title       string   `json:"title"`
	Type        string   `json:"type"`
	Tags        []string `json:"tags"`
	AsDropdown  bool     `json:"asDropdown"`
	Icon        string   `json:"icon"`
	IncludeVars bool     `json:"includeVars"`
	KeepTime    bool     `json:"keepTime"`
	TargetBlank bool     `json:"targetBlank"`
	Tooltip     string   `json:"tooltip"`
}

// DatasourceRef names the data source by uid.
type DatasourceRef struct {
	Type string `json:"type"`
	UID  string `json:"uid"`
}

// GridPos places a panel on the 24-column grid.
type GridPos struct {
	H int `json:"h"`
	W int `json:"w"`
	X int `json:"x"`
	Y int `json:"y"`
}

// Panel is a panel or (Type "row") a row.
type Panel struct {
	ID            int            `json:"id"`
	Type          string         `json:"type"`
	Title         string         `json:"title"`
	Description   string         `json:"description,omitempty"`
	GridPos       GridPos        `json:"gridPos"`
	Datasource    *DatasourceRef `json:"datasource,omitempty"`
	Targets       []Target       `json:"targets,omitempty"`
	MaxDataPoints int            `json:"maxDataPoints,omitempty"`
	FieldConfig   *FieldConfig   `json:"fieldConfig,omitempty"`
	Options       map[string]any `json:"options,omitempty"`
	// Rows only.
	Collapsed *bool    `json:"collapsed,omitempty"`
	Panels    []*Panel `json:"panels,omitempty"`
}

// Target is a Prometheus query of a panel. Range and Instant say which
// endpoint Grafana asks: query_range or query.
type Target struct {
	RefID        string         `json:"refId"`
	Datasource   *DatasourceRef `json:"datasource,omitempty"`
	Expr         string         `json:"expr"`
	LegendFormat string         `json:"legendFormat,omitempty"`
	Range        bool           `json:"range"`
	Instant      bool           `json:"instant"`
	EditorMode   string         `json:"editorMode"`
}

// FieldConfig is the panel's field defaults (no overrides).
type FieldConfig struct {
	Defaults  FieldDefaults `json:"defaults"`
	Overrides []any         `json:"overrides"`
}

// FieldDefaults are unit, bounds, thresholds and the panel type's custom
// options.
type FieldDefaults struct {
	Unit       string         `json:"unit,omitempty"`
	Min        *float64       `json:"min,omitempty"`
	Max        *float64       `json:"max,omitempty"`
	Decimals   *int           `json:"decimals,omitempty"`
	Color      *FieldColor    `json:"color,omitempty"`
	Thresholds *Thresholds    `json:"thresholds,omitempty"`
	Custom     map[string]any `json:"custom,omitempty"`
}

// FieldColor is how values get their colour.
type FieldColor struct {
	Mode string `json:"mode"`
}

// Thresholds colour values at and above each step's value; the first
// step's value is null (from minus infinity).
type Thresholds struct {
	Mode  string `json:"mode"`
	Steps []Step `json:"steps"`
}

// Step is one threshold: Value nil is the base.
type Step struct {
	Color string   `json:"color"`
	Value *float64 `json:"value"`
}

func ptr[T any](v T) *T { return &v }
