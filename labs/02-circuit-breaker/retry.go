package breaker

// What a Client is configured with: the dependency it protects, the
// fallback it answers with, and how it retries. The client itself is
// yours to write, in client.go.

import (
	"context"
	"time"
)

// Dependency is the call a Client protects: a remote service, a database.
// It must return soon after ctx is done.
type Dependency func(ctx context.Context, req string) (string, error)

// Fallback is what a Client answers when the dependency cannot: the
// breaker said no, or every attempt failed. cause says why. A fallback may
// return a cached or default answer, or an error of its own.
type Fallback func(req string, cause error) (string, error)

// RetryPolicy says how a Client retries. A zero field takes its value from
// DefaultRetryPolicy.
type RetryPolicy struct {
	// MaxAttempts is how many times one Call may try the dependency, the
	// first attempt included.
	MaxAttempts int
	// BaseDelay bounds the wait before the first retry; each retry after
	// that doubles the bound ("exponential backoff"), up to MaxDelay.
	BaseDelay time.Duration
	MaxDelay  time.Duration
	// AttemptTimeout is how long one attempt may take. An attempt that
	// takes longer has failed: a dependency too slow to answer is failing.
	AttemptTimeout time.Duration
}

// DefaultRetryPolicy suits a dependency a few milliseconds away.
var DefaultRetryPolicy = RetryPolicy{MaxAttempts: 3, BaseDelay: 50 * time.Millisecond, MaxDelay: time.Second, AttemptTimeout: time.Second}

// withDefaults fills the zero fields of p from DefaultRetryPolicy.
func (p RetryPolicy) withDefaults() RetryPolicy {
	d := DefaultRetryPolicy
	if p.MaxAttempts <= 0 {
		p.MaxAttempts = d.MaxAttempts
	}
	if p.BaseDelay <= 0 {
		p.BaseDelay = d.BaseDelay
	}
	if p.MaxDelay <= 0 {
		p.MaxDelay = d.MaxDelay
	}
	if p.AttemptTimeout <= 0 {
		p.AttemptTimeout = d.AttemptTimeout
	}
	return p
}
