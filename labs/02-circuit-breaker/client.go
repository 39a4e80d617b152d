package breaker

// The client: part 5.
//
//	c := NewClient(dep, New(Config{ConsecutiveFailures: 5}), DefaultRetryPolicy, fallback, nil)
//	answer, err := c.Call(ctx, "user/42")
//
// Call puts together what a service needs in front of a dependency that
// may fail: a per-attempt timeout, retries with backoff and jitter, a
// circuit breaker that stops the retries (and the calls) when the
// dependency is down, and a fallback answer for when it cannot be reached.

import (
	"context"
	"math/rand/v2"
)

// Client calls a Dependency through a Breaker, with retries and a
// fallback. It is safe for concurrent use.
type Client struct {
	dep      Dependency
	breaker  *Breaker
	policy   RetryPolicy
	fallback Fallback
	rnd      *rand.Rand

	// TODO(part 5): anything else you need.
}

// NewClient returns a client that calls dep through b. fallback may be
// nil: Call then returns the cause as its error. rnd is the source of the
// random part of each wait; nil means a randomly seeded one. Tests pass a
// seeded one so that a run can be replayed.
func NewClient(dep Dependency, b *Breaker, policy RetryPolicy, fallback Fallback, rnd *rand.Rand) *Client {
	if rnd == nil {
		rnd = rand.New(rand.NewPCG(rand.Uint64(), rand.Uint64()))
	}
	return &Client{dep: dep, breaker: b, policy: policy.withDefaults(), fallback: fallback, rnd: rnd}
}

// Call asks the dependency about req, at most policy.MaxAttempts times,
// each attempt through the breaker. It answers with the dependency's
// answer or, when the dependency cannot give one, the fallback's (the
// cause says why). When the caller's ctx ends, Call returns at once with an
// error that wraps ctx.Err().
//
// What must hold, and what the tests measure: callers get an answer at once
// while the breaker is open; a dependency that is down sees only a bounded
// number of calls; traffic resumes once it is back; no attempt runs longer
// than policy.AttemptTimeout; the retries of many clients that failed
// together spread out; Call never outlives the caller's deadline.
func (c *Client) Call(ctx context.Context, req string) (string, error) {
	// TODO(part 5)
	return "", notImplemented("Client.Call in client.go")
}
