//go:build solution

package breaker

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"
)

// Client calls a Dependency through a Breaker, with retries and a
// fallback. It is safe for concurrent use.
type Client struct {
	dep      Dependency
	breaker  *Breaker
	policy   RetryPolicy
	fallback Fallback

	mu  sync.Mutex // guards rnd, which is not safe for concurrent use
	rnd *rand.Rand
}

// NewClient returns a client that calls dep through b. fallback may be
// nil: Call then returns the cause as its error. rnd is the source of the
// random part of each wait; nil means a randomly seeded one.
func NewClient(dep Dependency, b *Breaker, policy RetryPolicy, fallback Fallback, rnd *rand.Rand) *Client {
	if rnd == nil {
		rnd = rand.New(rand.NewPCG(rand.Uint64(), rand.Uint64()))
	}
	return &Client{dep: dep, breaker: b, policy: policy.withDefaults(), fallback: fallback, rnd: rnd}
}

// Call asks the dependency about req, at most policy.MaxAttempts times.
// It answers with the dependency's answer, or the fallback's when the
// breaker rejects an attempt or every attempt fails. When ctx ends first
// it returns an error that wraps ctx.Err(): the fallback is for a
// dependency that cannot answer, not for a caller who has stopped
// listening.
func (c *Client) Call(ctx context.Context, req string) (string, error) {
	var last error // the last attempt's error
	for n := 0; ; n++ {
		if ctx.Err() != nil {
			return "", gaveUp(ctx.Err(), last)
		}
		g, err := c.breaker.Allow()
		if err != nil {
			// The breaker has judged the dependency already. Asking
			// again after a wait would only be told no again, later:
			// answer now, and leave the dependency alone.
			return c.fallBack(req, err)
		}
		answer, err := c.attempt(ctx, req)
		c.report(ctx, g, err)
		if err == nil {
			return answer, nil
		}
		last = err
		if ctx.Err() != nil {
			return "", gaveUp(ctx.Err(), last)
		}
		if n+1 >= c.policy.MaxAttempts {
			return c.fallBack(req, fmt.Errorf("%d attempts failed, the last with: %w", n+1, err))
		}
		wait := time.NewTimer(c.backoff(n))
		select {
		case <-wait.C:
		case <-ctx.Done():
			wait.Stop()
			return "", gaveUp(ctx.Err(), last)
		}
	}
}

// attempt makes one call to the dependency, with its own timeout.
func (c *Client) attempt(ctx context.Context, req string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, c.policy.AttemptTimeout)
	defer cancel()
	return c.dep(ctx, req)
}

// report gives the breaker the result of an attempt it allowed. An error
// that came because the caller's ctx ended (a deadline, a cancellation)
// says nothing about the dependency, so the closed state does not count
// it: impatient callers must not trip the breaker on a healthy dependency.
// But a half-open breaker lets no other call through until it hears about
// each of its probes, so a probe must always be reported: as a failure,
// the cautious verdict, since the dependency has not shown it is back.
//
// Checking State here is not racy: if the breaker changed state since
// Allow, the attempt belongs to an older cycle, and Record ignores
// it whatever it says.
func (c *Client) report(ctx context.Context, g Ticket, err error) {
	if err != nil && ctx.Err() != nil && c.breaker.State() != HalfOpen {
		return
	}
	c.breaker.Record(g, err)
}

// backoff is the wait before retry n+1: uniform in [0, bound), where bound
// doubles from BaseDelay up to MaxDelay. The randomness is what keeps
// clients that failed together from retrying together.
func (c *Client) backoff(n int) time.Duration {
	bound := c.policy.BaseDelay
	for i := 0; i < n && bound < c.policy.MaxDelay; i++ {
		bound *= 2 // stops before it could overflow
	}
	bound = min(bound, c.policy.MaxDelay)
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Duration(c.rnd.Int64N(int64(bound)))
}

// fallBack answers for a dependency that cannot.
func (c *Client) fallBack(req string, cause error) (string, error) {
	if c.fallback == nil {
		return "", cause
	}
	return c.fallback(req, cause)
}

// gaveUp is the error of a call whose caller stopped waiting.
func gaveUp(why, last error) error {
	if last == nil {
		return fmt.Errorf("call abandoned: %w", why)
	}
	return fmt.Errorf("call abandoned: %w (last attempt: %v)", why, last)
}
