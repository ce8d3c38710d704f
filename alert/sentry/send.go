package sentry

import "github.com/vigil-metrics/vigil/alert/httpsend"

// The in-run HTTP retries are httpsend's, shared with the other HTTP
// channels; these names keep the package's API.
const (
	DefaultTimeout       = httpsend.DefaultTimeout
	DefaultRetryAttempts = httpsend.DefaultRetryAttempts
	DefaultRetryDelay    = httpsend.DefaultRetryDelay
	MaxRetryAfter        = httpsend.MaxRetryAfter
)

// StatusError is a non-2xx answer.
type StatusError = httpsend.StatusError
