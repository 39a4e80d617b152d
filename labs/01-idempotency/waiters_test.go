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

	"github.com/distlings/distlings/labs/internal/lockstep"
)

// A key reused for many accounts at once, some of which cannot pay: when
// the call that holds the key is refused, the others still take turns.
func TestWaitersOfARefusedChargeStillTakeTurns(t *testing.T) {
	const n, rounds = 10, 20
	for round := range rounds {
		balances := map[string]int64{}
		for i := range n {
			balances[fmt.Sprintf("acct%d", i)] = int64(i%2) * 10_00 // the even ones hold nothing
		}
		store := fundedStore(t, balances)
		gate := &lockstep.Gate{}
		svc := New(gatedStore{store, gate}, Config{})
		errs := make([]error, n)
		gate.Run(t, n, func(i int) {
			_, errs[i] = svc.Charge(context.Background(), ChargeRequest{Key: "shared", Account: fmt.Sprintf("acct%d", i), Amount: 1_00})
		})
		charged := 0
		for i := range n {
			if balanceOf(t, store, fmt.Sprintf("acct%d", i)) != balances[fmt.Sprintf("acct%d", i)] {
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
	stuck := &stallingStore{Store: store, account: alice, stalled: make(chan struct{}), release: make(chan struct{})}
	svc := New(stuck, Config{})
	req := ChargeRequest{Key: "k1", Account: alice, Amount: 10_00}

	firstDone := make(chan struct{})
	var firstErr error
	go func() {
		defer close(firstDone)
		_, firstErr = svc.Charge(context.Background(), req)
	}()
	defer func() {
		select {
		case <-stuck.release:
		default:
			close(stuck.release)
		}
		<-firstDone
	}()
	select { // alice's charge is at the store, holding k1
	case <-stuck.stalled:
	case <-firstDone:
		require.NoError(t, firstErr, describe(req))
		require.FailNow(t, "the charge never wrote alice's balance", describe(req))
	}

	// A buggy client reuses k1 for bob, and gives up waiting.
	ctx, cancel := context.WithCancel(context.Background())
	bobDone := make(chan struct{})
	go func() {
		defer close(bobDone)
		_, _ = svc.Charge(ctx, ChargeRequest{Key: "k1", Account: bob, Amount: 10_00})
	}()
	waitUnlessStuck(bobDone)
	cancel()
	<-bobDone

	// And reuses it once more, for carol: she must wait for alice's call too.
	var carolErr error
	carolDone := make(chan struct{})
	go func() {
		defer close(carolDone)
		_, carolErr = svc.Charge(context.Background(), ChargeRequest{Key: "k1", Account: carol, Amount: 10_00})
	}()
	returned := waitUnlessStuck(carolDone)
	assert.False(t, returned && carolErr == nil, lesson(
		fmt.Sprintf("while alice's charge of k1 was at the store, bob's request with k1 gave up waiting; then carol's request with k1 was charged (carol has %s)", money(balanceOf(t, store, carol))),
		"a waiter that gives up takes only itself out of the line: the key still belongs to the call in flight, and whoever comes next waits for it"))

	close(stuck.release)
	<-firstDone
	require.NoError(t, firstErr, "alice's charge, once the store answered")
	<-carolDone
	require.ErrorIs(t, carolErr, ErrKeyReused, "carol's request reuses k1, which charged alice")
	assert.Equal(t, int64(100_00), balanceOf(t, store, bob), "bob is not charged")
	assert.Equal(t, int64(100_00), balanceOf(t, store, carol), "carol is not charged")
}

// A charge queued behind another of its account holds nothing that a
// stranger needs.
func TestAQueueForOneAccountDoesNotHoldUpOthers(t *testing.T) {
	store := fundedStore(t, map[string]int64{alice: 100_00, bob: 100_00})
	stuck := &stallingStore{Store: store, account: alice, stalled: make(chan struct{}), release: make(chan struct{})}
	svc := New(stuck, Config{})

	var done [2]chan struct{}
	for i := range done {
		done[i] = make(chan struct{})
	}
	var coffeeErr error
	cake := false // whether alice's second charge was sent
	go func() {
		defer close(done[0])
		_, coffeeErr = svc.Charge(context.Background(), ChargeRequest{Key: "coffee", Account: alice, Amount: 5_00})
	}()
	defer func() {
		select {
		case <-stuck.release:
		default:
			close(stuck.release)
		}
		<-done[0]
		if cake {
			<-done[1]
		}
	}()
	select { // alice's coffee is at the store
	case <-stuck.stalled:
	case <-done[0]:
		require.NoError(t, coffeeErr, "alice's coffee")
		require.FailNow(t, "alice's coffee never wrote her balance")
	}
	cake = true
	go func() {
		defer close(done[1])
		_, _ = svc.Charge(context.Background(), ChargeRequest{Key: "cake", Account: alice, Amount: 3_00})
	}()
	waitUnlessStuck(done[1]) // alice's cake waits for her coffee

	var bobErr error
	bobDone := make(chan struct{})
	go func() {
		defer close(bobDone)
		_, bobErr = svc.Charge(context.Background(), ChargeRequest{Key: "tea", Account: bob, Amount: 2_00})
	}()
	require.True(t, waitUnlessStuck(bobDone), lesson(
		"alice's coffee was stuck at the store and her cake waited for it; bob's tea, which shares nothing with either, waited too",
		"a charge waiting for its account's turn holds nothing anyone else needs: whatever guards the table of accounts is let go before the wait"))
	require.NoError(t, bobErr, "bob's tea")
}

// stallingGetStore holds the first Get after armed until release is
// closed: a look-up stuck at the store.
type stallingGetStore struct {
	Store
	armed   atomic.Bool
	stalled chan struct{}
	release chan struct{}
}

func (s *stallingGetStore) Get(key string) ([]byte, bool, error) {
	if s.armed.CompareAndSwap(true, false) {
		close(s.stalled)
		<-s.release
	}
	return s.Store.Get(key)
}

// A duplicate that waits behind another request of its key gets its own
// answer, not the other's: the real retry behind a reuse of its key still
// gets its receipt.
func TestARetryQueuedBehindAReuseOfItsKeyGetsItsReceipt(t *testing.T) {
	store := fundedStore(t, map[string]int64{alice: 100_00, bob: 100_00})
	slow := &stallingGetStore{Store: store, stalled: make(chan struct{}), release: make(chan struct{})}
	svc := New(slow, Config{})
	coffee := ChargeRequest{Key: "k1", Account: alice, Amount: 5_00}
	first, err := svc.Charge(context.Background(), coffee)
	require.NoError(t, err, describe(coffee))

	// A buggy client reuses k1 for bob; its look-up is slow at the store.
	slow.armed.Store(true)
	reuse := ChargeRequest{Key: "k1", Account: bob, Amount: 5_00}
	var reuseErr error
	reuseDone := make(chan struct{})
	go func() {
		defer close(reuseDone)
		_, reuseErr = svc.Charge(context.Background(), reuse)
	}()
	released := false
	defer func() {
		if !released {
			close(slow.release)
		}
		<-reuseDone
	}()
	select {
	case <-slow.stalled:
	case <-reuseDone:
		require.FailNow(t, "the reuse of k1 for bob returned without looking anything up", "it returned %v", reuseErr)
	}

	// Meanwhile alice's phone retries the coffee, and waits its turn.
	var again Receipt
	var againErr error
	againDone := make(chan struct{})
	go func() {
		defer close(againDone)
		again, againErr = svc.Charge(context.Background(), coffee)
	}()
	waitUnlessStuck(againDone)
	close(slow.release)
	released = true
	<-reuseDone
	<-againDone
	require.ErrorIs(t, reuseErr, ErrKeyReused, describe(reuse)+" reuses alice's key")
	require.NoError(t, againErr, lesson(
		fmt.Sprintf("alice's retry of %s, which waited behind %s, failed with %q", describe(coffee), describe(reuse), againErr),
		"a duplicate that waited for another request of its key gets its own answer: the other request's error was about the other request. Handing it on tells alice a payment that went through was refused"))
	requireSameReceipt(t, first, again, "alice's retry gets the receipt of her coffee")
}
