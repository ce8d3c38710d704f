package promstore

import (
	"context"
	"strings"

	"github.com/vigil-metrics/vigil/internal/store"
)

// help is the help text and unit the stores keep per metric name (store
// format 2's metric_metadata, written by the collect library), for
// /api/v1/metadata: the first non-empty one of the stores in order, any
// service. A store of format 1, or one that cannot be read now, has none
// (metadata is an aid, never a reason to fail the answer).
func (s *Source) help(ctx context.Context) map[string]store.Metadata {
	out := map[string]store.Metadata{}
	if s.cfg.Paths == nil {
		return out
	}
	paths, err := s.cfg.Paths()
	if err != nil {
		return out
	}
	for _, p := range paths {
		if strings.Contains(p, "://") {
			continue // a Prometheus-compatible source keeps its own
		}
		st, err := store.Open(ctx, p, store.Options{ReadOnly: true})
		if err != nil {
			continue
		}
		ms, _ := st.Metadata(ctx)
		st.Close()
		for _, m := range ms {
			have := out[m.Name]
			if have.Help == "" {
				have.Help = m.Help
			}
			if have.Unit == "" {
				have.Unit = m.Unit
			}
			have.Name = m.Name
			out[m.Name] = have
		}
	}
	return out
}
