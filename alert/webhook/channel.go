package webhook

import (
	"context"

	"github.com/vigil-metrics/vigil/alert/notify"
)

// Channel is a Sender seen as the delivery pipeline's notify.Notifier.
// It is not safe for concurrent use (it sets the Sender's OnAttempt per
// notification); the pipeline sends one message at a time per channel.
type Channel struct{ S *Sender }

// Notify sends n's alerts in the sender's format.
func (c Channel) Notify(ctx context.Context, n notify.Notification) (retry bool, err error) {
	alerts := make([]Alert, len(n.Alerts))
	for i, a := range n.Alerts {
		alerts[i] = Alert{Rule: a.Rule, Severity: a.Severity, Description: a.Description, Labels: a.Labels,
			State: a.State, Status: n.Kind, Value: a.ValueOrNaN(), Threshold: a.Threshold, StartsAt: a.StartsAt, EndsAt: a.EndsAt,
			Fingerprint: a.Fingerprint, EscalationStep: max(a.EscalationStep, 0), EscalationPolicy: a.EscalationPolicy, Incident: a.Incident, Readable: ReadableOf(a)}
	}
	c.S.OnAttempt = n.Attempt
	defer func() { c.S.OnAttempt = nil }()
	return c.S.SendKeyed(ctx, n.At, alerts, n.Key)
}
