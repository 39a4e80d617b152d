package idempotency

// Part 2: concurrent requests. Every store operation passes a lockstep gate
// that holds it until all goroutines are blocked, then lets everything that
// is waiting go at once. Code that checks and then acts without holding a
// lock across both always loses the race here, on every run.

import (
	"context"
	"fmt"
	"testing"

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
	const n = 20
	store := fundedStore(t, map[string]int64{alice: 100_00})
	gate := &lockstep.Gate{}
	svc := New(gatedStore{store, gate}, Config{})

	errs := make([]error, n)
	gate.Run(t, n, func(i int) {
		_, errs[i] = svc.Charge(context.Background(), ChargeRequest{Key: fmt.Sprintf("k%d", i), Account: alice, Amount: 1_00})
	})

	for i, err := range errs {
		require.NoError(t, err, "charge %d of %d (different keys, one account)", i+1, n)
	}
	got := balanceOf(t, store, alice)
	assert.Equal(t, int64(80_00), got, lesson(
		fmt.Sprintf("%d charges of 1.00 with different keys ran together and left alice with %s: %d of them were lost", n, money(got), n-int(timesCharged(100_00, got, 1_00))),
		"reading the balance and writing the new one must not interleave with another charge of the same account (a \"lost update\"): a lock per key is not enough, charges of one account need one lock"))
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

func TestConcurrentReuseOfOneKeyChargesOnlyOnce(t *testing.T) {
	const n = 10
	balances := map[string]int64{}
	for i := range n {
		balances[fmt.Sprintf("acct%d", i)] = 10_00
	}
	store := fundedStore(t, balances)
	gate := &lockstep.Gate{}
	svc := New(gatedStore{store, gate}, Config{})

	errs := make([]error, n)
	gate.Run(t, n, func(i int) {
		_, errs[i] = svc.Charge(context.Background(), ChargeRequest{Key: "shared", Account: fmt.Sprintf("acct%d", i), Amount: 1_00})
	})

	charged, reused := 0, 0
	for i := range n {
		if balanceOf(t, store, fmt.Sprintf("acct%d", i)) != 10_00 {
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
