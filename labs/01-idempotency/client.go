package idempotency

// The client: part 5.
//
//	c := NewClient(server, DefaultRetryPolicy, nil)
//	receipt, err := c.Charge(ctx, "alice", 500)
//
// Charge makes one payment over a network that loses requests and replies.
// It picks one idempotency key and sends it on every attempt, so however
// many attempts reach the server, the account is charged once. Between
// attempts it waits, so that a struggling server gets room and many clients
// that failed together do not retry together.

import (
	"context"
	"math/rand/v2"
)

// Client makes payments through a Charger that may fail. It is safe for
// concurrent use.
type Client struct {
	server Charger
	policy RetryPolicy
	rnd    *rand.Rand

	// TODO(part 5): anything else you need.
}

// NewClient returns a client that charges through server. rnd is the source
// of the random part of each wait; nil means a randomly seeded one. Tests
// pass a seeded one so that a run can be replayed.
func NewClient(server Charger, policy RetryPolicy, rnd *rand.Rand) *Client {
	if rnd == nil {
		rnd = rand.New(rand.NewPCG(rand.Uint64(), rand.Uint64()))
	}
	return &Client{server: server, policy: policy, rnd: rnd}
}

// Charge debits amount from account, once, retrying as needed.
//
//   - Every attempt of one Charge carries the same key, made with NewKey.
//   - An attempt with no answer after policy.AttemptTimeout is given up.
//   - Waits between attempts grow on the scale of c.policy, and are
//     random, drawn from c.rnd.
//   - When Charge ends with an error from the server, it returns that
//     error, wrapped or as is, so that the caller can use errors.Is.
//   - When ctx ends, during a wait or during an attempt, Charge returns at
//     once with an error that wraps ctx.Err() and names the key, and starts
//     no further attempt.
func (c *Client) Charge(ctx context.Context, account string, amount int64) (Receipt, error) {
	// TODO(part 5): the retry loop: attempt, decide, wait, attempt again,
	// until a receipt, an error to return, or the end of ctx.
	return Receipt{}, notImplemented("Client.Charge in client.go")
}
