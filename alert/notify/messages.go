package notify

import "github.com/vigil-metrics/vigil/alert/state"

// Messages groups notices (oldest first) into the messages Deliver would
// send: the latest notice per alert and channel (the others are
// superseded), those of one incident decided in one run for one channel
// together, every other notice alone, in the order of their first notice.
func Messages(ns []state.Notice) [][]state.Notice {
	live, _, _ := current(ns)
	ms := group(live)
	out := make([][]state.Notice, len(ms))
	for i, m := range ms {
		out[i] = m.notices
	}
	return out
}
