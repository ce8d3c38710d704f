package state

import (
	"context"
	"strings"
	"testing"
)

// The per-run outbox queries read through the index that bounds them
// (issue 27: replay makes a month of runs back to back, and through the
// status or fingerprint index each run's cost grew with every row sent
// before it, 1.5 ms a step at 500 steps, 4 ms at 4,000).
func TestOutboxQueryPlans(t *testing.T) {
	d, err := OpenMemory(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	for _, c := range []struct {
		name, query, index string
		args               []any
	}{
		{"SentBetween", sentBetweenQuery, "outbox_done", []any{1, 2}},
		{"Pending", pendingQuery, "outbox_status", []any{"x", "y"}},
		{"PruneHistory", pruneOutboxQuery, "outbox_done", []any{1}},
		{"LastWord", lastWordQuery, "outbox_word", []any{"x", "y"}},
		{"EpisodeChannels", episodeChannelsQuery, "outbox_episode", []any{"x", 1}},
		{"Incidents", openIncidentsQuery, "incidents_closed", nil},
		{"IncidentChannels", incidentChannelsQuery, "outbox_incident", []any{"x"}},
	} {
		rows, err := d.db.Query("EXPLAIN QUERY PLAN "+c.query, c.args...)
		if err != nil {
			t.Fatal(err)
		}
		var plan []string
		for rows.Next() {
			var id, parent, unused int
			var detail string
			if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
				t.Fatal(err)
			}
			plan = append(plan, detail)
		}
		rows.Close()
		got := strings.Join(plan, "; ")
		if !strings.Contains(got, "INDEX "+c.index+" ") {
			t.Errorf("%s: plan %q, want a search through %s", c.name, got, c.index)
		}
	}
}
