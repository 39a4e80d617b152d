package idempotency

// How a Client retries. The client itself is yours to write, in
// client.go.

import (
	"time"
)

// RetryPolicy says how a Client retries.
type RetryPolicy struct {
	// BaseDelay is the scale of the wait before the first retry; each
	// retry after that doubles it ("exponential backoff").
	BaseDelay time.Duration
	// MaxDelay caps it: no wait is longer.
	MaxDelay time.Duration
	// AttemptTimeout is how long one attempt may take before the client
	// gives up on it and retries.
	AttemptTimeout time.Duration
}

// DefaultRetryPolicy suits a payment API a few milliseconds away.
var DefaultRetryPolicy = RetryPolicy{BaseDelay: 50 * time.Millisecond, MaxDelay: 5 * time.Second, AttemptTimeout: 2 * time.Second}
