package idempotency

// Part 4: keys are remembered for a retention window, then forgotten.
// These tests run in testing/synctest bubbles: time.Now and time.Sleep use
// a fake clock that jumps ahead whenever every goroutine is waiting, so
// hours of traffic take milliseconds and always happen the same way.

import (
	"context"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestRetryWithinRetentionChargesOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		store := fundedStore(t, map[string]int64{alice: 1_000_00})
		svc := New(store, Config{Retention: time.Hour})
		req := ChargeRequest{Key: "k1", Account: alice, Amount: 1_00}
		first, err := svc.Charge(context.Background(), req)
		require.NoError(t, err, describe(req))

		// An hour of other payments, one a minute, so that any sweeping of
		// old keys has every chance to run.
		for i := 1; i < 60; i++ {
			time.Sleep(time.Minute)
			_, err := svc.Charge(context.Background(), ChargeRequest{Key: fmt.Sprintf("other-%d", i), Account: alice, Amount: 1_00})
			require.NoError(t, err)
		}
		time.Sleep(time.Minute - time.Second) // 59m59s after the first charge

		again, err := svc.Charge(context.Background(), req)
		require.NoError(t, err, "the retry 59m59s later")
		requireSameReceipt(t, first, again, lesson(
			"a retry 59m59s after the charge, within the one-hour retention, was charged as a new payment",
			"a key is remembered for the whole retention window, measured from its charge; forgetting early breaks the promise to every client still retrying"))
		assert.Equal(t, int64(1_000_00-60*1_00), balanceOf(t, store, alice), "60 payments, 60 charges")
	})
}

func TestKeyIsForgottenWhenRetentionEnds(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		store := fundedStore(t, map[string]int64{alice: 100_00})
		svc := New(store, Config{Retention: time.Hour})
		req := ChargeRequest{Key: "k1", Account: alice, Amount: 10_00}
		first, err := svc.Charge(context.Background(), req)
		require.NoError(t, err, describe(req))

		time.Sleep(time.Hour)
		second, err := svc.Charge(context.Background(), req)
		require.NoError(t, err, "the same request one hour later")
		assert.False(t, second.Equal(first), lesson(
			"exactly one hour after the charge (ChargedAt + Retention, to the nanosecond), with a one-hour retention, the same key still got the old receipt",
			"a key is forgotten when its retention ends, so that the service remembers a bounded number of keys; a request after that is a new payment. That is why a client must give up long before the retention ends (part 5)"))
		assert.Equal(t, int64(80_00), balanceOf(t, store, alice), "the request after the retention is charged as a new payment")
	})
}

// A charge that does not fall on a whole second: a key kept to the
// second, or the nanosecond rounded away, expires early.
func TestKeyIsKeptToTheNanosecond(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		time.Sleep(300 * time.Millisecond)
		store := fundedStore(t, map[string]int64{alice: 100_00})
		svc := New(store, Config{Retention: time.Hour})
		req := ChargeRequest{Key: "k1", Account: alice, Amount: 10_00}
		first, err := svc.Charge(context.Background(), req)
		require.NoError(t, err, describe(req))

		time.Sleep(time.Hour - time.Nanosecond)
		again, err := svc.Charge(context.Background(), req)
		require.NoError(t, err, "the retry one nanosecond before the retention ends")
		requireSameReceipt(t, first, again, lesson(
			fmt.Sprintf("a charge at %v past a whole second, retried 1ns before its one-hour retention ended, was charged again", 300*time.Millisecond),
			"a key is remembered until ChargedAt + Retention, to the nanosecond: a window kept in whole seconds ends up to a second early"))
	})
}

// Config{} is the default retention, 24 hours: remembered for a day, then
// forgotten, like any other retention.
func TestZeroRetentionMeansTheDefault(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		store := fundedStore(t, map[string]int64{alice: 100_00})
		svc := New(store, Config{})
		req := ChargeRequest{Key: "k1", Account: alice, Amount: 10_00}
		first, err := svc.Charge(context.Background(), req)
		require.NoError(t, err, describe(req))

		time.Sleep(DefaultRetention - time.Second)
		again, err := svc.Charge(context.Background(), req)
		require.NoError(t, err, "the retry a second before a day has passed")
		requireSameReceipt(t, first, again, "with Config{}, a key is remembered for DefaultRetention")
		time.Sleep(time.Second)
		_, err = svc.Charge(context.Background(), req)
		require.NoError(t, err, "the same request a day after the charge")
		assert.Equal(t, int64(80_00), balanceOf(t, store, alice), lesson(
			"with Config{}, the same request a day after its charge got the old receipt",
			"a zero Retention means DefaultRetention, 24 hours, not for ever: a service that never forgets grows without end"))
	})
}

func TestRetentionIsMeasuredFromTheChargeNotTheLastRetry(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const retention, every = time.Hour, 10 * time.Minute
		store := fundedStore(t, map[string]int64{alice: 100_00})
		svc := New(store, Config{Retention: retention})
		req := ChargeRequest{Key: "k1", Account: alice, Amount: 10_00}
		first, err := svc.Charge(context.Background(), req)
		require.NoError(t, err, describe(req))

		// A client that keeps retrying the key, every ten minutes.
		for waited := every; waited < retention; waited += every {
			time.Sleep(every)
			again, err := svc.Charge(context.Background(), req)
			require.NoError(t, err, "the retry %v after the charge", waited)
			requireSameReceipt(t, first, again, fmt.Sprintf("the retry %v after the charge, within the retention, must get the receipt of the charge", waited))
		}
		// A minute past the retention, so that only a window that moved
		// with the retries still holds the key.
		const after = retention + time.Minute
		time.Sleep(after - (retention - every)) // the last retry was at retention - every

		later, err := svc.Charge(context.Background(), req)
		require.NoError(t, err, "the same request %v after the charge", after)
		assert.False(t, later.Equal(first), lesson(
			fmt.Sprintf("the key was retried every %v; %v after its charge, with a %v retention, it still got the receipt of that charge",
				every, after, retention),
			"the retention window is measured from the charge (Receipt.ChargedAt), not from the latest request. A window that starts again at every retry never ends for a client that retries forever, and the service keeps that key forever"))
		assert.Equal(t, int64(80_00), balanceOf(t, store, alice), "the request after the retention is charged as a new payment")
	})
}

func TestStoreStaysBoundedUnderSteadyTraffic(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const (
			retention = time.Hour
			every     = 10 * time.Second
			runFor    = 6 * time.Hour
			window    = int(retention / every) // keys charged within one retention
		)
		store := fundedStore(t, map[string]int64{alice: 1 << 50})
		svc := New(&scanFailsOnce{Store: store}, Config{Retention: retention})
		peak := 0
		for i := 0; i < int(runFor/every); i++ {
			_, err := svc.Charge(context.Background(), ChargeRequest{Key: fmt.Sprintf("k%d", i), Account: alice, Amount: 1})
			require.NoError(t, err)
			peak = max(peak, store.Len()-1) // everything but alice's balance
			time.Sleep(every)
		}
		assert.LessOrEqual(t, peak, 2*window, lesson(
			fmt.Sprintf("after %v of one charge every %v, the store held %d records at its peak; a %v retention needs about %d. (The store failed the first Scan it was asked for.)", runFor, every, peak, retention, window),
			"expired keys must be deleted from the store, not only ignored. A service that keeps every key runs out of space sooner or later; sweep them at least once per retention window, and a sweep that fails is tried again"))
	})
}

// scanFailsOnce is a store whose first Scan fails, as a store under load
// does now and then.
type scanFailsOnce struct {
	Store
	failed atomic.Bool
}

func (s *scanFailsOnce) Scan(prefix string) ([]Entry, error) {
	if s.failed.CompareAndSwap(false, true) {
		return nil, errStoreTimeout
	}
	return s.Store.Scan(prefix)
}

func TestStoreStaysBoundedAcrossRestarts(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const (
			retention    = time.Hour
			every        = 10 * time.Second
			restartEvery = 10 * time.Minute // deploys, a crash loop, autoscaling
			runFor       = 6 * time.Hour
			window       = int(retention / every)
		)
		store := fundedStore(t, map[string]int64{alice: 1 << 50})
		var svc *Service
		peak := 0
		for i := 0; i < int(runFor/every); i++ {
			if time.Duration(i)*every%restartEvery == 0 {
				svc = New(store, Config{Retention: retention}) // the process restarts
			}
			_, err := svc.Charge(context.Background(), ChargeRequest{Key: fmt.Sprintf("k%d", i), Account: alice, Amount: 1})
			require.NoError(t, err)
			peak = max(peak, store.Len()-1) // everything but alice's balance
			time.Sleep(every)
		}
		assert.LessOrEqual(t, peak, 2*window, lesson(
			fmt.Sprintf("over %v of one charge every %v, with the service restarted every %v, the store held %d records at its peak; a %v retention needs about %d", runFor, every, restartEvery, peak, retention, window),
			"a restarted service must sweep too. When the last sweep ran is memory, and a restart wipes it: a schedule that starts again at New and waits a good part of the window before its first sweep never sweeps a service that restarts more often than that. Sweep soon after a start (the first charge may), or keep the time of the last sweep in the store"))
	})
}

func TestMemoryStaysBoundedUnderSteadyTraffic(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const (
			retention = 10 * time.Minute
			every     = time.Second
			warmUp    = 1500 // longer than the retention: memory has reached its steady size
			measure   = 20000
		)
		store := &scanCountingStore{Store: fundedStore(t, map[string]int64{alice: 1 << 50})}
		svc := New(store, Config{Retention: retention})
		charge := func(i int) {
			_, err := svc.Charge(context.Background(), ChargeRequest{Key: fmt.Sprintf("key-%08d", i), Account: alice, Amount: 1})
			require.NoError(t, err)
			// And a customer never seen before, whose account holds
			// nothing: refused, and nothing to remember.
			_, err = svc.Charge(context.Background(), ChargeRequest{Key: fmt.Sprintf("try-%08d", i), Account: fmt.Sprintf("new-%08d", i), Amount: 1})
			require.ErrorIs(t, err, ErrInsufficientFunds, "a charge to an account that holds nothing")
			if read := store.scanned.Load(); read > scanBudget*int64(i+1) {
				require.FailNow(t, lesson(
					fmt.Sprintf("after %d charges, one a second, the service had read %d records with Scan: %d per charge, against about %d live keys", i+1, read, read/int64(i+1), min(i+1, int(retention/every))),
					"a sweep reads every record it might delete: run one on every charge, and each charge costs the whole store. Sweep now and then: a record may outlive its window for a while, as long as the store stays bounded"))
			}
			time.Sleep(every)
		}
		for i := range warmUp {
			charge(i)
		}
		before := heapInUse()
		for i := range measure {
			charge(warmUp + i)
		}
		grown := heapInUse() - before
		// Without this the collector may free the service before the
		// second measure, and a leak would go unseen.
		runtime.KeepAlive(svc)
		perCharge := grown / measure
		assert.Less(t, perCharge, int64(50), lesson(
			fmt.Sprintf("over %d more charges with a %v retention (about %d live keys), each followed by a refused charge to an account never seen before, the heap grew by %.1f MB, %d bytes per charge", measure, retention, int(retention/every), float64(grown)/(1<<20), perCharge),
			"once a key has expired, nothing about it may stay in memory, and nothing about an account outlives its charges: a map of keys in flight, or of locks, needs its entries deleted when they are done, or the service runs out of memory however large its machine"))
	})
}

// scanCountingStore counts the records its Scans return: the work sweeping
// costs. A sweep may run on a goroutine of its own, so the count is atomic.
type scanCountingStore struct {
	Store
	scanned atomic.Int64
}

func (s *scanCountingStore) Scan(prefix string) ([]Entry, error) {
	entries, err := s.Store.Scan(prefix)
	s.scanned.Add(int64(len(entries)))
	return entries, err
}

// scanBudget is how many records a charge may read with Scan on average:
// sweeping a few hundred live keys every few charges fits, every charge
// does not.
const scanBudget = 100

// A sweep that meets a key whose charge is in flight, stuck at the store,
// leaves it for the next sweep: the charge that swept returns.
func TestSweepDoesNotWaitForAChargeInFlight(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		store := fundedStore(t, map[string]int64{alice: 100_00, bob: 100_00})
		old := ChargeRequest{Key: "k-old", Account: alice, Amount: 10_00}
		_, err := New(store, Config{Retention: time.Hour}).Charge(context.Background(), old)
		require.NoError(t, err, describe(old))
		time.Sleep(2 * time.Hour) // k-old has expired, and nothing has swept it

		stuck := newStallingStore(store, alice)
		svc := New(stuck, Config{Retention: time.Hour})
		again := chargeInBackground(context.Background(), svc, old) // k-old again: a new payment, stuck at the store
		defer func() { stuck.unstick(); <-again.done }()
		synctest.Wait()
		select {
		case <-stuck.stalled:
		default:
			require.FailNow(t, "the new payment of k-old never wrote alice's balance")
		}

		tea := ChargeRequest{Key: "k-tea", Account: bob, Amount: 2_00}
		teaCharge := chargeInBackground(context.Background(), svc, tea)
		synctest.Wait()
		select {
		case <-teaCharge.done:
			require.NoError(t, teaCharge.err, describe(tea))
		default:
			require.FailNow(t, lesson(
				fmt.Sprintf("%s, which shares nothing with k-old, had not returned while a new payment of k-old was stuck at the store (its old record had expired, so a sweep was due)", describe(tea)),
				"a sweep skips a key whose charge is in flight, and leaves it for the next sweep: waiting for it makes whoever sweeps as slow as the slowest charge, and can wait for ever on a charge that waits for it"))
		}
	})
}

func TestSweepDoesNotDeleteARecordWrittenAfterItsScan(t *testing.T) {
	raceASweep(t, inTheScan, false)
}

func TestSweepDoesNotDeleteARecordWrittenBeforeItsDeletesCommit(t *testing.T) {
	raceASweep(t, inTheDeletes, false)
}

func TestSweepDoesNotDeleteARecordItFailedToRead(t *testing.T) {
	raceASweep(t, inTheScan, true)
}

// raceASweep charges k1, lets it expire, and charges it again as a new
// payment at one moment of the sweep that follows: inside its Scan, or
// inside its Commit of deletes, before that Commit applies. With readFails,
// the next read of k1's record after that new payment fails once: the
// sweep's second look at it, if it takes one.
func raceASweep(t *testing.T, at sweepMoment, readFails bool) {
	synctest.Test(t, func(t *testing.T) {
		const retention = time.Hour
		ctx := context.Background()
		durable := fundedStore(t, map[string]int64{alice: 100_00, bob: 100_00})
		store := &sweepRaceStore{Store: durable}
		svc := New(store, Config{Retention: retention})
		req := ChargeRequest{Key: "k1", Account: alice, Amount: 10_00}
		_, err := svc.Charge(ctx, req)
		require.NoError(t, err, describe(req))
		time.Sleep(retention) // k1 has expired: the same request is now a new payment

		// At that moment of the sweep, the new payment of k1 runs to the
		// end, and only then does the sweep go on. If the service holds the
		// charge back while it sweeps, that is safe too: the wait gives up
		// once nothing but the sweep can move.
		var fresh Receipt
		var freshErr error
		charged := make(chan struct{})
		forced := make(chan bool, 1) // whether the charge finished inside the sweep
		store.arm(at, func() {
			go func() {
				defer close(charged)
				fresh, freshErr = svc.Charge(ctx, req)
			}()
			inside := waitUnlessStuck(charged)
			if inside && readFails {
				store.failReadOf(req.Key)
			}
			forced <- inside
		})
		// Payments of bob, a quarter of the retention apart, so that the
		// service has every chance to sweep.
		for i := 0; store.armed() && i < 8; i++ {
			other := ChargeRequest{Key: fmt.Sprintf("bob-%d", i), Account: bob, Amount: 1_00}
			_, err := svc.Charge(ctx, other)
			require.NoError(t, err, describe(other))
			if store.armed() {
				time.Sleep(retention / 4)
			}
		}
		if store.armed() {
			t.Logf("the service never %s, so this test has no sweep to race with", at.never())
			return
		}
		inside := <-forced
		<-charged
		require.NoError(t, freshErr, "the new payment of k1, an hour after the first")
		synctest.Wait() // a sweep of its own goroutine finishes
		readFailed := store.failReadOf("")

		retry, err := svc.Charge(ctx, req)
		require.NoError(t, err, "the retry of the new payment of k1, at once")
		times := timesCharged(100_00, balanceOf(t, durable, alice), req.Amount)
		if !retry.Equal(fresh) || times != 2 {
			when, rule := at.when(inside)
			if readFailed {
				when += ", and the sweep's next read of k1's record failed"
				rule = "a read that failed says nothing about the record: delete only a record you read and found expired, and leave the others for the next sweep"
			}
			require.Failf(t, "a live record was deleted", lesson(
				fmt.Sprintf("k1 was charged, expired an hour later, and was charged again as a new payment %s; the retry of that new payment, at once, got %s instead of %s, and alice was charged %d times for two payments",
					when, showReceipt(retry), showReceipt(fresh), times),
				"nothing live is deleted: "+rule))
		}
	})
}

// sweepMoment is where in a sweep raceASweep charges the expired key again.
type sweepMoment int

const (
	inTheScan    sweepMoment = iota // after Scan has read the store, before it returns
	inTheDeletes                    // in the first Commit with a Delete, before it applies
)

func (at sweepMoment) never() string {
	if at == inTheScan {
		return "scanned the store"
	}
	return "deleted anything from the store"
}

func (at sweepMoment) when(inside bool) (when, rule string) {
	if at == inTheScan {
		when = "while the sweep was between its Scan (which still showed k1's expired record) and its deletes"
		if !inside {
			when = "after the sweep's Scan (which still showed k1's expired record)"
		}
		return when, "a sweep's Scan may be stale by the time it deletes, since a charge can write a fresh record under an expired key in between. Claim each key the way a charge does, read its record again, and delete it only if it is still the expired one"
	}
	when = "while the sweep was committing its deletes (it had found k1's record expired)"
	if !inside {
		when = "after the sweep had found k1's record expired, as it committed its deletes"
	}
	return when, "hold the claim on each key you delete until its Delete is committed. A claim released after the second read and before the Commit lets a charge write a fresh record under the key in between, and the Delete removes that"
}

// sweepRaceStore runs a function, once, at one moment of the next sweep:
// inside the next Scan, after it has read the store and before it returns
// what it read (whatever the function writes, the caller of Scan does not
// see), or inside the next Commit that deletes something, before it applies.
type sweepRaceStore struct {
	Store

	mu       sync.Mutex
	at       sweepMoment
	during   func()
	failRead string // a record's key: the next Get that names it fails
	failed   bool
}

// failReadOf makes the next Get of a store key that contains key fail;
// "" takes that back. It reports whether a Get has failed so far.
func (s *sweepRaceStore) failReadOf(key string) (failed bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failRead = key
	return s.failed
}

func (s *sweepRaceStore) Get(key string) ([]byte, bool, error) {
	s.mu.Lock()
	fail := s.failRead != "" && strings.Contains(key, s.failRead)
	if fail {
		s.failRead, s.failed = "", true
	}
	s.mu.Unlock()
	if fail {
		return nil, false, errStoreTimeout
	}
	return s.Store.Get(key)
}

func (s *sweepRaceStore) arm(at sweepMoment, f func()) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.at, s.during = at, f
}

// armed reports whether the function is still waiting for its moment.
func (s *sweepRaceStore) armed() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.during != nil
}

// run runs the function if at is its moment.
func (s *sweepRaceStore) run(at sweepMoment) {
	s.mu.Lock()
	f := s.during
	if s.at != at {
		f = nil
	}
	if f != nil {
		s.during = nil
	}
	s.mu.Unlock()
	if f != nil {
		f()
	}
}

func (s *sweepRaceStore) Scan(prefix string) ([]Entry, error) {
	entries, err := s.Store.Scan(prefix)
	s.run(inTheScan)
	return entries, err
}

func (s *sweepRaceStore) Commit(writes ...Write) error {
	for _, w := range writes {
		if w.Delete {
			s.run(inTheDeletes)
			break
		}
	}
	return s.Store.Commit(writes...)
}

// waitUnlessStuck waits until done is closed and reports true, or reports
// false as soon as every other goroutine is blocked with done still open:
// the goroutine that would close it waits for something only the caller
// can give (a lock it holds, say). It never waits on time, and it counts a
// goroutine waiting for a sync.Mutex as blocked, which synctest.Wait does
// not.
func waitUnlessStuck(done <-chan struct{}) bool {
	for {
		select {
		case <-done:
			return true
		default:
		}
		if othersBlocked() {
			select {
			case <-done:
				return true
			default:
				return false
			}
		}
		runtime.Gosched()
	}
}

// othersBlocked reports whether every goroutine but the caller is blocked:
// none is running or ready to run.
func othersBlocked() bool {
	buf := make([]byte, 1<<16)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			buf = buf[:n]
			break
		}
		buf = make([]byte, 2*len(buf))
	}
	first := true
	for _, line := range strings.Split(string(buf), "\n") {
		header, ok := strings.CutPrefix(line, "goroutine ")
		if !ok {
			continue
		}
		if first { // the caller itself
			first = false
			continue
		}
		_, state, _ := strings.Cut(header, "[")
		state, _, _ = strings.Cut(state, "]")
		state, _, _ = strings.Cut(state, ",")
		switch strings.TrimSuffix(state, " (scan)") {
		case "running", "runnable", "preempted", "copystack":
			return false
		}
	}
	return true
}

// heapInUse is the live heap after a full collection.
func heapInUse() int64 {
	var m runtime.MemStats
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&m)
	return int64(m.HeapAlloc)
}
