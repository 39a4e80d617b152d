// Package idempotency is lab 01 of distlings: a payment service that charges
// each payment exactly once, however many times an unreliable network makes
// a client send it.
//
// A client that gets no answer cannot tell whether its request was lost on
// the way or its reply was lost on the way back. So it must retry, and a
// retry is only safe if doing the operation twice has the same effect as
// doing it once: the operation must be idempotent. The client sends an
// idempotency key, the same on every attempt, and the service remembers
// what it did for each key.
//
// You will build, in order:
//
//	Part 1  Service.Charge remembers each key and answers a retry with the
//	        receipt of the first attempt                      (service.go)
//	Part 2  ... also when the duplicates arrive at the same time
//	Part 3  ... also when the service crashes halfway and restarts
//	Part 4  ... for a bounded time, so memory stays bounded
//	Part 5  Client retries with backoff and jitter, one key for all
//	        attempts, until a deadline                          (client.go)
//	Part 6  Replica: several copies of the service share their keys in
//	        etcd and still charge once                         (replica.go)
//
// This file and store.go are the lab's fixed ground: read them, do not edit
// them. Run `grader test 01` (or `go test .` in this folder) after each part.
// The guide is README.md.
package idempotency

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"time"
)

// ChargeRequest asks to debit an account once.
type ChargeRequest struct {
	// Key is the idempotency key. The client picks a new one for each
	// payment and sends the same one on every retry of that payment.
	Key     string
	Account string
	Amount  int64 // in cents; positive
}

// Validate reports whether the request is well formed. It returns an error
// wrapping ErrInvalidRequest if not.
func (r ChargeRequest) Validate() error {
	switch {
	case r.Key == "":
		return fmt.Errorf("%w: no idempotency key", ErrInvalidRequest)
	case r.Account == "":
		return fmt.Errorf("%w: no account", ErrInvalidRequest)
	case r.Amount <= 0:
		return fmt.Errorf("%w: amount must be positive, got %d", ErrInvalidRequest, r.Amount)
	}
	return nil
}

// Receipt is the service's answer to a successful charge. Every retry of the
// charge gets this same receipt back, field for field.
type Receipt struct {
	Key     string
	Account string
	Amount  int64
	// Balance is the account's balance right after this charge, not the
	// balance at the time a retry asks.
	Balance int64
	// ChargedAt is when the charge was applied.
	ChargedAt time.Time
}

// Equal reports whether two receipts are the same receipt. Compare receipts
// with it rather than ==: a time.Time read back from storage differs from the
// original in ways that do not matter (monotonic clock, location).
func (r Receipt) Equal(o Receipt) bool {
	return r.Key == o.Key && r.Account == o.Account && r.Amount == o.Amount &&
		r.Balance == o.Balance && r.ChargedAt.Equal(o.ChargedAt)
}

// The errors a charge can end with.
var (
	ErrInvalidRequest    = errors.New("invalid charge request")
	ErrInsufficientFunds = errors.New("insufficient funds")
	// ErrKeyReused means a key came back with a different account or
	// amount. That is not a retry: it is a bug in the client, and the
	// service must not guess which of the two requests was meant.
	ErrKeyReused = errors.New("idempotency key reused for a different request")

	// ErrUnavailable is what a network transport returns when it could
	// not reach the service.
	ErrUnavailable = errors.New("payment service unavailable")

	// ErrNotImplemented is what the stubs return until you write them.
	ErrNotImplemented = errors.New("not implemented yet")
)

// notImplemented says which stub a test reached.
func notImplemented(what string) error {
	return fmt.Errorf("%w: write %s", ErrNotImplemented, what)
}

// Charger is anything that takes charges: a Service, a Replica, or a client's
// connection to one over a network.
type Charger interface {
	Charge(ctx context.Context, req ChargeRequest) (Receipt, error)
}

// NewKey returns a fresh random idempotency key.
func NewKey() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // never fails (crypto/rand)
	return hex.EncodeToString(b[:])
}
