package idempotency

// Part 2: what waiting for a call in flight must keep true when that call
// fails, when a waiter gives up, and for everyone else meanwhile.

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A key reused for many accounts at once, some of which cannot pay: when
// the call that holds the key is refused, the others still take turns.
func TestWaitersOfARefusedChargeStillTakeTurns(t *testing.T) {
	const n, rounds = 10, 20
	for round := range rounds {
		balances := make([]int64, n)
		for i := range balances {
			balances[i] = int64(i%2) * 10_00 // the even ones hold nothing
		}
		wasCharged, errs := oneKeyForManyAccounts(t, balances)
		charged := 0
		for i := range n {
			if wasCharged[i] {
				charged++
			}
			if errs[i] != nil && !errors.Is(errs[i], ErrKeyReused) && !errors.Is(errs[i], ErrInsufficientFunds) {
				require.NoError(t, errs[i], "round %d: the request for acct%d failed for another reason", round+1, i)
			}
		}
		if !assert.Equal(t, 1, charged, lesson(
			fmt.Sprintf("round %d: one key sent at once for %d accounts, half of which hold nothing, charged %d accounts", round+1, n, charged),
			"requests with one key take turns whatever happens to the one whose turn it is: when it is refused (or fails), the next in line takes the key for itself and looks again, and the others go on waiting. Waiters that all go ahead when the first one fails charge everyone")) {
			return
		}
	}
}

// A duplicate whose caller gives up stops waiting, and takes nothing with
// it: the call in flight still holds its key.
func TestAWaiterThatGivesUpLeavesTheKeyHeld(t *testing.T) {
	store := fundedStore(t, map[string]int64{alice: 100_00, bob: 100_00, carol: 100_00})
	stuck := newStallingStore(store, alice)
	svc := New(stuck, Config{})
	req := ChargeRequest{Key: "k1", Account: alice, Amount: 10_00}

	first := chargeInBackground(context.Background(), svc, req)
	defer func() { stuck.unstick(); <-first.done }()
	reachedStall(t, &stuck.stall, first, describe(req), "the charge never wrote alice's balance") // alice's charge is at the store, holding k1

	// A buggy client reuses k1 for bob, and gives up waiting.
	ctx, cancel := context.WithCancel(context.Background())
	bobs := chargeInBackground(ctx, svc, ChargeRequest{Key: "k1", Account: bob, Amount: 10_00})
	waitUnlessStuck(bobs.done)
	cancel()
	<-bobs.done

	// And reuses it once more, for carol: she must wait for alice's call too.
	carols := chargeInBackground(context.Background(), svc, ChargeRequest{Key: "k1", Account: carol, Amount: 10_00})
	returned := waitUnlessStuck(carols.done)
	assert.False(t, returned && carols.err == nil, lesson(
		fmt.Sprintf("while alice's charge of k1 was at the store, bob's request with k1 gave up waiting; then carol's request with k1 was charged (carol has %s)", money(balanceOf(t, store, carol))),
		"a waiter that gives up takes only itself out of the line: the key still belongs to the call in flight, and whoever comes next waits for it"))

	stuck.unstick()
	<-first.done
	require.NoError(t, first.err, "alice's charge, once the store answered")
	<-carols.done
	require.ErrorIs(t, carols.err, ErrKeyReused, "carol's request reuses k1, which charged alice")
	assert.Equal(t, int64(100_00), balanceOf(t, store, bob), "bob is not charged")
	assert.Equal(t, int64(100_00), balanceOf(t, store, carol), "carol is not charged")
}

// A charge queued behind another of its account holds nothing that a
// stranger needs.
func TestAQueueForOneAccountDoesNotHoldUpOthers(t *testing.T) {
	store := fundedStore(t, map[string]int64{alice: 100_00, bob: 100_00})
	stuck := newStallingStore(store, alice)
	svc := New(stuck, Config{})

	coffee := chargeInBackground(context.Background(), svc, ChargeRequest{Key: "coffee", Account: alice, Amount: 5_00})
	var cake *charging // alice's second charge, once sent
	defer func() {
		stuck.unstick()
		<-coffee.done
		if cake != nil {
			<-cake.done
		}
	}()
	reachedStall(t, &stuck.stall, coffee, "alice's coffee", "alice's coffee never wrote her balance") // alice's coffee is at the store
	cake = chargeInBackground(context.Background(), svc, ChargeRequest{Key: "cake", Account: alice, Amount: 3_00})
	waitUnlessStuck(cake.done) // alice's cake waits for her coffee

	tea := chargeInBackground(context.Background(), svc, ChargeRequest{Key: "tea", Account: bob, Amount: 2_00})
	require.True(t, waitUnlessStuck(tea.done), lesson(
		"alice's coffee was stuck at the store and her cake waited for it; bob's tea, which shares nothing with either, waited too",
		"a charge waiting for its account's turn holds nothing anyone else needs: whatever guards the table of accounts is let go before the wait"))
	require.NoError(t, tea.err, "bob's tea")
}

// stallingGetStore holds the first Get after armed until unstick: a
// look-up stuck at the store.
type stallingGetStore struct {
	Store
	armed atomic.Bool
	stall
}

func (s *stallingGetStore) Get(key string) ([]byte, bool, error) {
	if s.armed.CompareAndSwap(true, false) {
		s.wait()
	}
	return s.Store.Get(key)
}

// A duplicate that waits behind another request of its key gets its own
// answer, not the other's: the real retry behind a reuse of its key still
// gets its receipt.
func TestARetryQueuedBehindAReuseOfItsKeyGetsItsReceipt(t *testing.T) {
	store := fundedStore(t, map[string]int64{alice: 100_00, bob: 100_00})
	slow := &stallingGetStore{Store: store, stall: newStall()}
	svc := New(slow, Config{})
	coffee := ChargeRequest{Key: "k1", Account: alice, Amount: 5_00}
	first, err := svc.Charge(context.Background(), coffee)
	require.NoError(t, err, describe(coffee))

	// A buggy client reuses k1 for bob; its look-up is slow at the store.
	slow.armed.Store(true)
	reuse := ChargeRequest{Key: "k1", Account: bob, Amount: 5_00}
	reused := chargeInBackground(context.Background(), svc, reuse)
	defer func() { slow.unstick(); <-reused.done }()
	select {
	case <-slow.stalled:
	case <-reused.done:
		require.FailNow(t, "the reuse of k1 for bob returned without looking anything up", "it returned %v", reused.err)
	}

	// Meanwhile alice's phone retries the coffee, and waits its turn.
	again := chargeInBackground(context.Background(), svc, coffee)
	waitUnlessStuck(again.done)
	slow.unstick()
	<-reused.done
	<-again.done
	require.ErrorIs(t, reused.err, ErrKeyReused, describe(reuse)+" reuses alice's key")
	require.NoError(t, again.err, lesson(
		fmt.Sprintf("alice's retry of %s, which waited behind %s, failed with %q", describe(coffee), describe(reuse), again.err),
		"a duplicate that waited for another request of its key gets its own answer: the other request's error was about the other request. Handing it on tells alice a payment that went through was refused"))
	requireSameReceipt(t, first, again.receipt, "alice's retry gets the receipt of her coffee")
}
