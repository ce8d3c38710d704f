package notify

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"

	"github.com/vigil-metrics/vigil/alert/state"
)

// Key is the idempotency key of the message made of ns: 32 hex digits,
// the same for every try of it, in this run or a later one, and different
// for every other message. Delivery is at least once (a request that
// timed out may have arrived and is retried), so a receiver that sees the
// key twice can drop the copy. It hashes what the outbox keeps of each
// notice (its row, alert, channel, kind, step and the instant it was
// decided), never the send time or the try.
func Key(ns []state.Notice) string {
	h := sha256.New()
	for _, n := range ns {
		fmt.Fprintf(h, "%d\x00%016x\x00%s\x00%s\x00%d\x00%d\x00", n.ID, n.Fingerprint, n.Channel, n.Kind, n.Step, n.Created.UnixNano())
	}
	return hex.EncodeToString(h.Sum(nil)[:16])
}
