package idempotency

// Part 2: concurrent requests. Every store operation passes a lockstep gate
// that holds it until all goroutines are blocked, then lets everything that
// is waiting go at once. Code that checks and then acts without holding a
// lock across both always loses the race here, on every run.

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/distlings/distlings/labs/internal/lockstep"
)

func TestConcurrentDuplicatesChargeOnce(t *testing.T) {
	const n = 20
	store := fundedStore(t, map[string]int64{alice: 100_00})
	gate := &lockstep.Gate{}
	svc := New(gatedStore{store, gate}, Config{})
	req := ChargeRequest{Key: "k1", Account: alice, Amount: 10_00}

	receipts, errs := make([]Receipt, n), make([]error, n)
	gate.Run(t, n, func(i int) { receipts[i], errs[i] = svc.Charge(context.Background(), req) })

	for i := range n {
		require.NoError(t, errs[i], lesson(fmt.Sprintf("duplicate %d of %d failed", i+1, n),
			"duplicates that arrive while the first is being charged wait for it and get its receipt, as a retry would"))
	}
	got := balanceOf(t, store, alice)
	assert.Equal(t, int64(90_00), got, lesson(
		fmt.Sprintf("%d requests with one key arrived together and alice was charged %d times", n, timesCharged(100_00, got, 10_00)),
		"one key, one charge, even when the duplicates arrive at the same moment. If each request checks the store and then writes, all of them pass the check before any writes; the check and the write must not be separable"))
	for i := range n {
		requireSameReceipt(t, receipts[0], receipts[i], lesson(
			fmt.Sprintf("duplicate %d of %d got a receipt of its own, made at another moment: it was charged again instead of being answered with the first one's receipt", i+1, n),
			"one key, one charge: a duplicate that arrives while the first is in progress waits for it, then returns its receipt"))
	}
}

func TestConcurrentChargesToOneAccountAllApply(t *testing.T) {
	// Ten shoppers at one till: each pays twice, the second payment right
	// after the first, so that payments keep arriving while others wait.
	const shoppers, each, n = 10, 2, 20
	store := fundedStore(t, map[string]int64{alice: 100_00})
	gate := &lockstep.Gate{}
	svc := New(gatedStore{store, gate}, Config{})

	errs := make([]error, n)
	gate.Run(t, shoppers, func(i int) {
		for j := range each {
			p := i*each + j
			_, errs[p] = svc.Charge(context.Background(), ChargeRequest{Key: fmt.Sprintf("k%d", p), Account: alice, Amount: 1_00})
		}
	})

	for i, err := range errs {
		require.NoError(t, err, "charge %d of %d (different keys, one account)", i+1, n)
	}
	got := balanceOf(t, store, alice)
	assert.Equal(t, int64(80_00), got, lesson(
		fmt.Sprintf("%d charges of 1.00 with different keys, from %d goroutines paying %d times each, ran together and left alice with %s: %d of them were lost",
			n, shoppers, each, money(got), n-int(timesCharged(100_00, got, 1_00))),
		"charges of one account take turns from the read of the balance to the write of the new one, whatever their keys: two that both read 100.00 both write 99.00, and one debit is lost (a \"lost update\"). Whatever makes them take turns must stay one and the same for an account as long as any charge of it holds or waits for it"))
}

func TestChargesToDifferentAccountsDoNotWaitForEachOther(t *testing.T) {
	const n = 16
	// One charge alone: how many store round trips does it take?
	solo := &lockstep.Gate{}
	store := fundedStore(t, map[string]int64{"solo": 10_00})
	alone := New(gatedStore{store, solo}, Config{})
	var err error
	one := solo.Run(t, 1, func(int) {
		_, err = alone.Charge(context.Background(), ChargeRequest{Key: "k", Account: "solo", Amount: 1_00})
	})
	require.NoError(t, err, "one charge on its own")

	balances := map[string]int64{}
	for i := range n {
		balances[fmt.Sprintf("acct%d", i)] = 10_00
	}
	store = fundedStore(t, balances)
	gate := &lockstep.Gate{}
	svc := New(gatedStore{store, gate}, Config{})
	errs := make([]error, n)
	all := gate.Run(t, n, func(i int) {
		_, errs[i] = svc.Charge(context.Background(), ChargeRequest{Key: fmt.Sprintf("k%d", i), Account: fmt.Sprintf("acct%d", i), Amount: 1_00})
	})
	for i, err := range errs {
		require.NoError(t, err, "charge %d of %d (each to its own account)", i+1, n)
	}
	assert.LessOrEqual(t, all.Rounds, 2*one.Rounds, lesson(
		fmt.Sprintf("%d charges to %d different accounts took %d store round trips one after another; one charge alone takes %d", n, n, all.Rounds, one.Rounds),
		"charges that share nothing must not wait for each other. One lock for the whole service, held while it talks to the store, makes it as slow as one request at a time; lock per key and per account instead"))
}

// oneKeyForManyAccounts sends 1.00 charges with one key, "shared", at
// once through the gate, one for each of the accounts acct0, acct1, …
// funded with balances[i]. It returns which accounts were charged and each
// request's error.
func oneKeyForManyAccounts(t *testing.T, balances []int64) (charged []bool, errs []error) {
	t.Helper()
	funds := map[string]int64{}
	for i, b := range balances {
		funds[fmt.Sprintf("acct%d", i)] = b
	}
	store := fundedStore(t, funds)
	gate := &lockstep.Gate{}
	svc := New(gatedStore{store, gate}, Config{})
	errs = make([]error, len(balances))
	gate.Run(t, len(balances), func(i int) {
		_, errs[i] = svc.Charge(context.Background(), ChargeRequest{Key: "shared", Account: fmt.Sprintf("acct%d", i), Amount: 1_00})
	})
	charged = make([]bool, len(balances))
	for i, b := range balances {
		charged[i] = balanceOf(t, store, fmt.Sprintf("acct%d", i)) != b
	}
	return charged, errs
}

func TestConcurrentReuseOfOneKeyChargesOnlyOnce(t *testing.T) {
	const n = 10
	balances := make([]int64, n)
	for i := range balances {
		balances[i] = 10_00
	}
	wasCharged, errs := oneKeyForManyAccounts(t, balances)

	charged, reused := 0, 0
	for i := range n {
		if wasCharged[i] {
			charged++
		}
		if errs[i] != nil {
			require.ErrorIs(t, errs[i], ErrKeyReused, "request %d of %d, for acct%d, failed for another reason", i+1, n, i)
			reused++
		}
	}
	assert.Equal(t, 1, charged, lesson(
		fmt.Sprintf("one key sent at once for %d different accounts charged %d accounts", n, charged),
		"a key stands for one charge whatever the account; requests with the same key must take turns even when they are for different accounts, or a buggy client's key charges everyone"))
	assert.Equal(t, n-1, reused, "all but the first must fail with ErrKeyReused")
}

// stall is a point where one store operation waits for as long as the test
// likes: stalled is closed when the operation gets there, and unstick lets
// it go on. Either may happen once; unstick may be called again.
type stall struct {
	stalled, release  chan struct{}
	reached, released sync.Once
}

func newStall() stall { return stall{stalled: make(chan struct{}), release: make(chan struct{})} }

// wait is where the operation stops, the first time only.
func (s *stall) wait() { s.reached.Do(func() { close(s.stalled); <-s.release }) }

// unstick lets the operation go on.
func (s *stall) unstick() { s.released.Do(func() { close(s.release) }) }

// stallingStore holds the first Commit that writes account's balance until
// unstick: a charge stuck at the store (a slow disk, a lock taken by a
// backup).
type stallingStore struct {
	Store
	account string
	stall
}

func newStallingStore(store Store, account string) *stallingStore {
	return &stallingStore{Store: store, account: account, stall: newStall()}
}

func (s *stallingStore) Commit(writes ...Write) error {
	for _, w := range writes {
		if w.Key == BalanceKey(s.account) {
			s.wait()
			break
		}
	}
	return s.Store.Commit(writes...)
}

// charging is a charge running in a goroutine of its own: receipt and err
// are set when done is closed.
type charging struct {
	done    chan struct{}
	receipt Receipt
	err     error
}

// reachedStall waits until c's charge is held at s, and fails the test if
// the charge ended without getting there.
func reachedStall(t *testing.T, s *stall, c *charging, what, never string) {
	t.Helper()
	select {
	case <-s.stalled:
	case <-c.done:
		require.NoError(t, c.err, what)
		require.FailNow(t, never, what)
	}
}

func chargeInBackground(ctx context.Context, svc Charger, req ChargeRequest) *charging {
	c := &charging{done: make(chan struct{})}
	go func() {
		defer close(c.done)
		c.receipt, c.err = svc.Charge(ctx, req)
	}()
	return c
}

func TestDuplicateWaitingForTheFirstStopsWhenItsContextEnds(t *testing.T) {
	store := fundedStore(t, map[string]int64{alice: 100_00})
	stuck := newStallingStore(store, alice)
	svc := New(stuck, Config{})
	req := ChargeRequest{Key: "k1", Account: alice, Amount: 10_00}

	// The first attempt reaches the store, and the store does not answer.
	first := chargeInBackground(context.Background(), svc, req)
	unstick := sync.OnceFunc(func() { stuck.unstick(); <-first.done })
	defer unstick()
	reachedStall(t, &stuck.stall, first, describe(req), "the charge never wrote alice's balance")

	// The client's attempt times out, and its retry arrives, with a context
	// of its own, while the first is still at the store.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	dup := chargeInBackground(ctx, svc, req)
	require.False(t, waitUnlessStuck(dup.done), lesson(
		fmt.Sprintf("a duplicate that arrived while the first call was still at the store returned at once (%v)", dup.err),
		"a duplicate that arrives while the first is in progress waits for it, then returns its receipt"))

	cancel() // that attempt of the client times out too
	returned := waitUnlessStuck(dup.done)
	if !returned { // a wait that polls on a timer looks stuck between polls: give it a moment
		select {
		case <-dup.done:
			returned = true
		case <-time.After(time.Second):
		}
	}
	require.True(t, returned, lesson(
		"a duplicate was waiting for the first call of its key, which was stuck at the store; its context ended (the client's attempt timed out) and Charge kept waiting",
		"a duplicate waiting for the call in flight stops waiting when its own context ends, and returns ctx.Err(). Duplicates come precisely when the first attempt is slow (its client timed out and retried); one that ignores its context outlives its caller, and every retry adds another"))
	require.Error(t, dup.err, "the duplicate returned a receipt while the first call of its key was still at the store")
	assert.False(t, permanentError(dup.err), lesson(
		fmt.Sprintf("a duplicate whose context ended while it waited for the first call failed with %q", dup.err),
		"a wait that ended says nothing about the payment: return ctx.Err(), never an answer the client stops retrying on"))

	unstick()
	require.NoError(t, first.err, "the first call, once the store answered")
	again, err := svc.Charge(context.Background(), req)
	require.NoError(t, err, "the client's next retry")
	requireSameReceipt(t, first.receipt, again, "the next retry must get the receipt of the first call")
	assert.Equal(t, int64(90_00), balanceOf(t, store, alice), "one key, one charge")
}
