package replay

import (
	"context"
	"errors"

	"github.com/vigil-metrics/vigil/analyze"
)

// Run replays o over the stores of db. PLACEHOLDER until the stepping
// loop lands on this branch: it must never reach main as is.
func Run(ctx context.Context, db *analyze.DB, o Options) (*Replay, error) {
	return nil, errors.New("replay: not built yet")
}
