//go:build solution

package idempotency

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"
)

// Client makes payments through a Charger that may fail. It is safe for
// concurrent use.
type Client struct {
	server Charger
	policy RetryPolicy

	mu  sync.Mutex // guards rnd, which is not safe for concurrent use
	rnd *rand.Rand
}

// NewClient returns a client that charges through server. rnd is the source
// of the random part of each wait; nil means a randomly seeded one.
func NewClient(server Charger, policy RetryPolicy, rnd *rand.Rand) *Client {
	if rnd == nil {
		rnd = rand.New(rand.NewPCG(rand.Uint64(), rand.Uint64()))
	}
	return &Client{server: server, policy: policy, rnd: rnd}
}

// Charge debits amount from account, once, retrying as needed.
func (c *Client) Charge(ctx context.Context, account string, amount int64) (Receipt, error) {
	// One key for the payment, not one per attempt: that is what lets the
	// server recognise a retry of something it already did.
	req := ChargeRequest{Key: NewKey(), Account: account, Amount: amount}
	for attempt := 0; ; attempt++ {
		receipt, err := c.attempt(ctx, req)
		if err == nil {
			return receipt, nil
		}
		if permanent(err) {
			return Receipt{}, err
		}
		if ctx.Err() != nil {
			return Receipt{}, gaveUp(req, ctx.Err(), err)
		}
		wait := time.NewTimer(c.backoff(attempt))
		select {
		case <-wait.C:
		case <-ctx.Done():
			wait.Stop()
			return Receipt{}, gaveUp(req, ctx.Err(), err)
		}
	}
}

func (c *Client) attempt(ctx context.Context, req ChargeRequest) (Receipt, error) {
	ctx, cancel := context.WithTimeout(ctx, c.policy.AttemptTimeout)
	defer cancel()
	return c.server.Charge(ctx, req)
}

// backoff is the wait before retry n+1: uniform in [0, bound), where bound
// doubles from BaseDelay up to MaxDelay. The randomness is what keeps
// clients that failed together from retrying together.
func (c *Client) backoff(n int) time.Duration {
	bound := c.policy.MaxDelay
	if n < 32 && c.policy.BaseDelay<<n < bound && c.policy.BaseDelay<<n > 0 {
		bound = c.policy.BaseDelay << n
	}
	if bound <= 0 {
		return 0
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Duration(c.rnd.Int64N(int64(bound)))
}

// permanent reports whether retrying err is pointless.
func permanent(err error) bool {
	return errors.Is(err, ErrInvalidRequest) || errors.Is(err, ErrInsufficientFunds) || errors.Is(err, ErrKeyReused)
}

// gaveUp reports a payment whose outcome is unknown: it may have been
// charged. The key in the message is what to ask the server about later.
func gaveUp(req ChargeRequest, why, last error) error {
	return fmt.Errorf("payment with key %s not confirmed: %w (last attempt: %v)", req.Key, why, last)
}
