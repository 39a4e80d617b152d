package idempotency

// Part 5: the client side. All of these run in testing/synctest bubbles:
// waits, timeouts and deadlines use a fake clock, so minutes of retries take
// milliseconds and arrival times are exact.

import (
	"context"
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/distlings/distlings/labs/internal/jitter"
	"github.com/distlings/distlings/labs/internal/seeds"
)

// scriptedServer answers each attempt with answer(n, req), where n counts
// the attempts of one account from 1, and records when each arrived.
type scriptedServer struct {
	answer func(ctx context.Context, n int, req ChargeRequest) (Receipt, error)

	mu       sync.Mutex
	arrivals []arrival
	count    map[string]int
}

type arrival struct {
	req ChargeRequest
	n   int
	at  time.Time
}

func newScriptedServer(answer func(ctx context.Context, n int, req ChargeRequest) (Receipt, error)) *scriptedServer {
	return &scriptedServer{answer: answer, count: map[string]int{}}
}

func (s *scriptedServer) Charge(ctx context.Context, req ChargeRequest) (Receipt, error) {
	s.mu.Lock()
	s.count[req.Account]++
	n := s.count[req.Account]
	s.arrivals = append(s.arrivals, arrival{req: req, n: n, at: time.Now()})
	s.mu.Unlock()
	return s.answer(ctx, n, req)
}

// byAccount returns the arrival times of each account's attempts, in order.
func (s *scriptedServer) byAccount() map[string][]time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string][]time.Time{}
	for _, a := range s.arrivals {
		out[a.req.Account] = append(out[a.req.Account], a.at)
	}
	return out
}

func okReceipt(req ChargeRequest) Receipt {
	return Receipt{Key: req.Key, Account: req.Account, Amount: req.Amount, ChargedAt: time.Now()}
}

// failUntil is a server that is unavailable for the first `failures`
// attempts of each account.
func failUntil(failures int) func(context.Context, int, ChargeRequest) (Receipt, error) {
	return func(_ context.Context, n int, req ChargeRequest) (Receipt, error) {
		if n <= failures {
			return Receipt{}, ErrUnavailable
		}
		return okReceipt(req), nil
	}
}

// chargeFromManyClients makes n clients charge 1 cent at once, client i
// from account "acct-i" with a deadline, and returns their errors. Each
// client has its own random source, derived from the test's seed.
func chargeFromManyClients(t *testing.T, server Charger, policy RetryPolicy, n int, deadline time.Duration) []error {
	seed := seeds.For(t)
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := NewClient(server, policy, rand.New(rand.NewPCG(seed, uint64(i))))
			ctx, cancel := context.WithTimeout(context.Background(), deadline)
			defer cancel()
			_, errs[i] = c.Charge(ctx, fmt.Sprintf("acct-%d", i), 1)
		}()
	}
	wg.Wait()
	return errs
}

func TestClientUsesOneKeyForAllAttempts(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		server := newScriptedServer(failUntil(3))
		c := NewClient(server, RetryPolicy{BaseDelay: 10 * time.Millisecond, MaxDelay: time.Second, AttemptTimeout: time.Second}, seeds.Rand(t))
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()

		r, err := c.Charge(ctx, alice, 10_00)
		require.NoError(t, err, lesson("the server was unavailable 3 times, then fine; the payment failed",
			"ErrUnavailable is worth retrying: the next attempt may well get through"))
		keys := map[string]bool{}
		for _, a := range server.arrivals {
			keys[a.req.Key] = true
			assert.Equal(t, alice, a.req.Account)
			assert.Equal(t, int64(10_00), a.req.Amount)
		}
		require.Len(t, server.arrivals, 4, "three failures and a success are four attempts")
		assert.Len(t, keys, 1, lesson(fmt.Sprintf("one payment was sent with %d different keys", len(keys)),
			"every attempt of one payment carries the same idempotency key, made once before the first attempt; a new key per attempt makes every retry a new payment"))
		assert.NotEmpty(t, server.arrivals[0].req.Key, "the key must not be empty")
		assert.Equal(t, server.arrivals[0].req.Key, r.Key)
	})
}

func TestClientDoesNotRetryPermanentErrors(t *testing.T) {
	for _, permanent := range []error{ErrInsufficientFunds, ErrKeyReused, ErrInvalidRequest} {
		t.Run(strings.ReplaceAll(permanent.Error(), " ", "_"), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				server := newScriptedServer(func(context.Context, int, ChargeRequest) (Receipt, error) {
					return Receipt{}, fmt.Errorf("charge refused: %w", permanent)
				})
				c := NewClient(server, DefaultRetryPolicy, seeds.Rand(t))
				ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
				defer cancel()
				_, err := c.Charge(ctx, alice, 10_00)
				assert.ErrorIs(t, err, permanent, "the server's error must reach the caller (wrapped is fine)")
				assert.Len(t, server.arrivals, 1, lesson(fmt.Sprintf("the server said %q and the client tried %d times", permanent, len(server.arrivals)),
					"some errors are answers, not failures: the same request will get the same one every time. Retrying them only adds load"))
			})
		})
	}
}

// fakeService is a payment service as parts 1 to 3 describe it, in a few
// lines and behind one mutex, so that part 5's tests judge the client alone,
// whatever state service.go is in. Its first lostReplies charges are made,
// and then answered with errStoreTimeout, as a service whose store's reply
// was lost.
type fakeService struct {
	mu          sync.Mutex
	balance     int64
	receipts    map[string]Receipt
	lostReplies int
}

func newFakeService(balance int64, lostReplies int) *fakeService {
	return &fakeService{balance: balance, receipts: map[string]Receipt{}, lostReplies: lostReplies}
}

func (s *fakeService) Charge(ctx context.Context, req ChargeRequest) (Receipt, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := req.Validate(); err != nil {
		return Receipt{}, err
	}
	if r, ok := s.receipts[req.Key]; ok {
		if r.Account != req.Account || r.Amount != req.Amount {
			return Receipt{}, fmt.Errorf("%w: %s", ErrKeyReused, req.Key)
		}
		return r, nil
	}
	if s.balance < req.Amount {
		return Receipt{}, ErrInsufficientFunds
	}
	s.balance -= req.Amount
	r := Receipt{Key: req.Key, Account: req.Account, Amount: req.Amount, Balance: s.balance, ChargedAt: time.Now()}
	s.receipts[req.Key] = r
	if s.lostReplies > 0 {
		s.lostReplies--
		return Receipt{}, fmt.Errorf("charge %s: %w", req.Key, errStoreTimeout)
	}
	return r, nil
}

func (s *fakeService) Balance() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.balance
}

func TestClientRetriesFailuresThatAreNotAnswers(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		svc := newFakeService(100_00, 1)
		server := newScriptedServer(func(ctx context.Context, _ int, req ChargeRequest) (Receipt, error) {
			return svc.Charge(ctx, req)
		})
		c := NewClient(server, RetryPolicy{BaseDelay: 10 * time.Millisecond, MaxDelay: time.Second, AttemptTimeout: time.Second}, seeds.Rand(t))
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()

		r, err := c.Charge(ctx, alice, 10_00)
		got := svc.Balance()
		require.NoError(t, err, lesson(
			fmt.Sprintf("the service charged alice (she has %s now), but the reply of its store was lost (%q), so it answered with an error; after %d attempt(s) the client gave up with %q, and its caller believes a payment failed that went through",
				money(got), errStoreTimeout, len(server.arrivals), err),
			"only ErrInvalidRequest, ErrInsufficientFunds and ErrKeyReused are answers. Any other error says the attempt failed, not the payment (here it had even gone through): retry it with the same key, as you retry ErrUnavailable. A list of the errors worth retrying turns every failure you did not think of into a payment given up"))
		assert.Equal(t, int64(90_00), got, "one payment, one charge")
		assert.Equal(t, got, r.Balance, "the retry must return the receipt of the charge")
	})
}

func TestClientBackoffIsExponentialWithFullJitter(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const clients, retries = 400, 6
		policy := RetryPolicy{BaseDelay: 100 * time.Millisecond, MaxDelay: 2 * time.Second, AttemptTimeout: time.Second}
		server := newScriptedServer(failUntil(retries))
		errs := chargeFromManyClients(t, server, policy, clients, time.Hour)
		for i, err := range errs {
			require.NoError(t, err, lesson(fmt.Sprintf("client %d: the server failed %d times, then answered; the payment failed", i, retries),
				"ErrUnavailable is worth retrying, and an hour is long enough for many retries"))
		}

		waits := make([][]time.Duration, retries) // waits[n]: before retry n+1
		attempts := server.byAccount()
		require.Len(t, attempts, clients, "every client must reach the server")
		for account, times := range attempts {
			require.Len(t, times, retries+1, "%s: %d failures then success is %d attempts", account, retries, retries+1)
			for n := range retries {
				waits[n] = append(waits[n], times[n+1].Sub(times[n]))
			}
		}
		ok, table := jitter.Judge(waits, policy.BaseDelay, policy.MaxDelay)
		assert.True(t, ok, lesson(
			fmt.Sprintf("the waits of %d clients before each retry do not look like full jitter:\n%s", clients, table),
			"wait a random time drawn uniformly from [0, min(MaxDelay, BaseDelay*2^n)): the bound doubles so a struggling server gets room, and the whole range is random so that clients that failed together spread out"))
	})
}

func TestClientRetriesOfManyClientsSpreadOut(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const clients = 200
		start := time.Now()
		recovery := start.Add(3 * time.Second)
		server := newScriptedServer(func(_ context.Context, _ int, req ChargeRequest) (Receipt, error) {
			if time.Now().Before(recovery) {
				return Receipt{}, ErrUnavailable
			}
			return okReceipt(req), nil
		})
		policy := RetryPolicy{BaseDelay: 200 * time.Millisecond, MaxDelay: 5 * time.Second, AttemptTimeout: time.Second}
		errs := chargeFromManyClients(t, server, policy, clients, time.Minute)

		var retries []time.Duration
		for _, a := range server.arrivals {
			if a.n > 1 { // retries only: the first attempts all start at once by design
				retries = append(retries, a.at.Sub(start))
			}
		}
		peakAt, peak := jitter.Busiest(retries, 10*time.Millisecond)
		assert.LessOrEqual(t, peak, clients/5, lesson(
			fmt.Sprintf("%d clients failed together at the start, and %d of their retries hit the server within the same 10ms, at %v", clients, peak, peakAt),
			"without jitter, clients that failed together retry together, in waves that can keep a recovering server down (a retry storm); a random wait spreads them out"))
		for i, err := range errs {
			require.NoError(t, err, "client %d: the server came back after 3s, so every payment must go through within its minute", i)
		}
	})
}

// TestOneClientServesManyGoroutines shares one client among the handlers
// of a service, as a service does. Its random source notices two draws at
// once: a *rand.Rand is not safe for concurrent use, and this shows it
// with or without the race detector.
func TestOneClientServesManyGoroutines(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const payments, failures = 200, 2
		server := newScriptedServer(failUntil(failures))
		rnd, overlaps := seeds.Shared(t)
		c := NewClient(server, RetryPolicy{BaseDelay: 100 * time.Millisecond, MaxDelay: time.Second, AttemptTimeout: time.Second}, rnd)
		errs := make([]error, payments)
		var wg sync.WaitGroup
		for i := range payments {
			wg.Go(func() {
				ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
				defer cancel()
				_, errs[i] = c.Charge(ctx, fmt.Sprintf("acct-%d", i), 1)
			})
		}
		wg.Wait()
		for i, err := range errs {
			require.NoError(t, err, "payment %d: the server failed %d times, then answered", i, failures)
		}
		assert.Zero(t, overlaps.Count(), lesson(
			fmt.Sprintf("%d goroutines made payments through one client, and %d times one drew from its *rand.Rand while another was drawing", payments, overlaps.Count()),
			"a Client is safe for concurrent use, and a *rand.Rand is not: draws from one shared generator need a lock (two at once can return the same wait, and retries meant to spread out collide)"))
	})
}

func TestClientStopsAtTheDeadline(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		server := newScriptedServer(failUntil(1 << 30)) // never recovers
		c := NewClient(server, RetryPolicy{BaseDelay: time.Second, MaxDelay: 10 * time.Second, AttemptTimeout: time.Second}, seeds.Rand(t))
		const deadline = 5 * time.Second
		ctx, cancel := context.WithTimeout(context.Background(), deadline)
		defer cancel()
		start := time.Now()

		_, err := c.Charge(ctx, alice, 10_00)
		took := time.Since(start)

		require.Error(t, err, "the server never answered; the payment cannot have succeeded")
		assert.ErrorIs(t, err, context.DeadlineExceeded, "when the caller's deadline ends the payment, the error must wrap ctx.Err()")
		assert.LessOrEqual(t, took, deadline, lesson(
			fmt.Sprintf("Charge returned %v after it started, past its %v deadline", took, deadline),
			"a deadline is a promise to the caller: a wait must end when the deadline comes. Wait with a timer and select on ctx.Done(); time.Sleep cannot be interrupted"))
		for _, a := range server.arrivals {
			assert.Less(t, a.at.Sub(start), deadline, "attempt %d started at %v, not before the %v deadline", a.n, a.at.Sub(start), deadline)
		}
		if len(server.arrivals) > 0 {
			key := server.arrivals[0].req.Key
			assert.Contains(t, err.Error(), key, lesson(
				fmt.Sprintf("the payment ended at its deadline with %q, which does not name its key %q", err, key),
				"after a deadline the caller does not know whether it was charged; the key is how to find out (ask the server again with it, before its retention ends), so the error must carry it"))
		}
	})
}

func TestClientAttemptsEndAtTheCallersDeadline(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var attemptDeadline time.Duration // how long after the start the attempt's context ends
		start := time.Now()
		server := newScriptedServer(func(ctx context.Context, _ int, _ ChargeRequest) (Receipt, error) {
			if d, ok := ctx.Deadline(); ok {
				attemptDeadline = d.Sub(start)
			}
			<-ctx.Done() // the request is lost: no answer ever comes
			return Receipt{}, ctx.Err()
		})
		policy := RetryPolicy{BaseDelay: 100 * time.Millisecond, MaxDelay: time.Second, AttemptTimeout: 10 * time.Second}
		c := NewClient(server, policy, seeds.Rand(t))
		const deadline = time.Second
		ctx, cancel := context.WithTimeout(context.Background(), deadline)
		defer cancel()

		_, err := c.Charge(ctx, alice, 10_00)
		took := time.Since(start)

		assert.ErrorIs(t, err, context.DeadlineExceeded, "when the caller's deadline ends the payment, the error must wrap ctx.Err()")
		assert.LessOrEqual(t, took, deadline, lesson(
			fmt.Sprintf("the caller gave Charge %v; its one attempt was never answered, and Charge returned after %v (the attempt's context ended %v after the start)", deadline, took, attemptDeadline),
			"make each attempt's context from the caller's, context.WithTimeout(ctx, AttemptTimeout), not from context.Background(): an attempt then ends at its own timeout or at the caller's deadline, whichever comes first. The caller's deadline covers everything done on its behalf"))
		assert.Len(t, server.arrivals, 1, "no attempt may start after the caller's deadline")
		if len(server.arrivals) > 0 && err != nil {
			key := server.arrivals[0].req.Key
			assert.Contains(t, err.Error(), key, lesson(
				fmt.Sprintf("the caller's deadline ended the payment during its attempt, with %q, which does not name its key %q", err, key),
				"however the deadline comes, during a wait or during an attempt, the caller does not know whether it was charged; the key is how to find out, so the error must carry it"))
		}
	})
}

func TestClientTimesOutEachAttempt(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		server := newScriptedServer(func(ctx context.Context, n int, req ChargeRequest) (Receipt, error) {
			if n == 1 { // the first attempt is lost: no answer ever comes
				<-ctx.Done()
				return Receipt{}, ctx.Err()
			}
			return okReceipt(req), nil
		})
		policy := RetryPolicy{BaseDelay: 100 * time.Millisecond, MaxDelay: time.Second, AttemptTimeout: 700 * time.Millisecond}
		c := NewClient(server, policy, seeds.Rand(t))
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		start := time.Now()

		_, err := c.Charge(ctx, alice, 10_00)

		require.NoError(t, err, lesson("the first attempt got no answer, and the payment failed",
			"give each attempt its own timeout (context.WithTimeout(ctx, AttemptTimeout)); without one, a single lost request uses up the whole payment's deadline"))
		require.Len(t, server.arrivals, 2)
		second := server.arrivals[1].at.Sub(start)
		assert.GreaterOrEqual(t, second, policy.AttemptTimeout, "the retry came before the attempt timed out")
		assert.Less(t, second, policy.AttemptTimeout+policy.BaseDelay+time.Millisecond, lesson(
			fmt.Sprintf("the first attempt got no answer; the retry came %v after it started, with an AttemptTimeout of %v and a first backoff below %v", second, policy.AttemptTimeout, policy.BaseDelay),
			"an attempt is given up after policy.AttemptTimeout, the caller's choice, not a timeout of your own; then the retry follows after one backoff wait"))
	})
}

func TestClientKeepsBackingOffAfterManyFailures(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const failures, late = 100, 70 // the server is down for 100 attempts; look at the waits after the 70th
		server := newScriptedServer(failUntil(failures))
		policy := RetryPolicy{BaseDelay: time.Millisecond, MaxDelay: 10 * time.Millisecond, AttemptTimeout: time.Second}
		c := NewClient(server, policy, seeds.Rand(t))
		ctx, cancel := context.WithTimeout(context.Background(), time.Hour)
		defer cancel()

		var err error
		func() {
			defer func() {
				if p := recover(); p != nil {
					require.Fail(t, "Charge panicked", lesson(
						fmt.Sprintf("the server failed %d times in a row, and after %d attempts Charge panicked: %v", failures, len(server.arrivals), p),
						"BaseDelay << n overflows once n is large (a Duration has 63 bits): the bound turns negative or zero, and rand panics on it. Stop doubling once the bound has reached MaxDelay, or cap n"))
				}
			}()
			_, err = c.Charge(ctx, alice, 10_00)
		}()
		require.NoError(t, err, "the server failed %d times, then answered, well within the hour", failures)

		times := server.byAccount()[alice]
		require.Len(t, times, failures+1, "%d failures then success is %d attempts", failures, failures+1)
		var waited time.Duration
		for n := late; n < failures; n++ {
			wait := times[n+1].Sub(times[n])
			assert.LessOrEqual(t, wait, policy.MaxDelay, "the wait before retry %d is above MaxDelay", n+1)
			waited += wait
		}
		// Full jitter under a bound of MaxDelay waits MaxDelay/2 on average.
		least := time.Duration(failures-late) * policy.MaxDelay / 4
		assert.GreaterOrEqual(t, waited, least, lesson(
			fmt.Sprintf("the server failed %d times in a row; the client's last %d waits, each drawn under a bound of MaxDelay (%v), added up to %v, where full jitter waits about %v",
				failures, failures-late, policy.MaxDelay, waited, time.Duration(failures-late)*policy.MaxDelay/2),
			"the bound stays at MaxDelay however many attempts have failed. BaseDelay << n overflows once n is large (a Duration has 63 bits) and a bound that wraps to zero or below retries without waiting, hammering a server that is already down. Stop doubling once the bound has reached MaxDelay, or cap n"))
	})
}

// lossyNetwork carries charges to a server and loses some requests and
// some replies. Whether an attempt is lost depends only on the seed, the
// payment and the attempt's number, so a run replays exactly from its seed
// however the goroutines are scheduled.
type lossyNetwork struct {
	server       Charger
	seed         uint64
	lossPercent  uint64 // of requests, and of replies
	latency      time.Duration
	mu           sync.Mutex
	attempts     map[ChargeRequest]int
	lostRequests int
	lostReplies  int
	delivered    int
}

func (n *lossyNetwork) lost(req ChargeRequest, attempt int, what string) bool {
	h := fnv.New64a()
	fmt.Fprintf(h, "%d/%s/%d/%d/%s", n.seed, req.Account, req.Amount, attempt, what)
	return h.Sum64()%100 < n.lossPercent
}

func (n *lossyNetwork) Charge(ctx context.Context, req ChargeRequest) (Receipt, error) {
	payment := ChargeRequest{Account: req.Account, Amount: req.Amount} // what stays the same across attempts
	n.mu.Lock()
	n.attempts[payment]++
	attempt := n.attempts[payment]
	n.mu.Unlock()
	if !sleepCtx(ctx, n.latency) {
		return Receipt{}, ctx.Err()
	}
	if n.lost(payment, attempt, "request") {
		n.mu.Lock()
		n.lostRequests++
		n.mu.Unlock()
		<-ctx.Done()
		return Receipt{}, ctx.Err()
	}
	r, err := n.server.Charge(ctx, req)
	n.mu.Lock()
	n.delivered++
	n.mu.Unlock()
	if !sleepCtx(ctx, n.latency) {
		return Receipt{}, ctx.Err()
	}
	if n.lost(payment, attempt, "reply") {
		n.mu.Lock()
		n.lostReplies++
		n.mu.Unlock()
		<-ctx.Done()
		return Receipt{}, ctx.Err()
	}
	return r, err
}

func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

func TestClientChargesOnceOverALossyNetwork(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const payments, workers = 100, 10
		svc := newFakeService(1_000_00, 0)
		network := &lossyNetwork{server: svc, seed: seeds.For(t), lossPercent: 30, latency: 5 * time.Millisecond,
			attempts: map[ChargeRequest]int{}}
		c := NewClient(network, RetryPolicy{BaseDelay: 20 * time.Millisecond, MaxDelay: time.Second, AttemptTimeout: 200 * time.Millisecond}, seeds.Rand(t))

		var wg sync.WaitGroup
		errs := make([]error, payments)
		var want int64
		for p := range payments {
			want += int64(p + 1)
		}
		for w := range workers { // one client shared by all workers
			wg.Add(1)
			go func() {
				defer wg.Done()
				for p := w; p < payments; p += workers {
					ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
					_, errs[p] = c.Charge(ctx, alice, int64(p+1)) // payment p charges p+1 cents
					cancel()
				}
			}()
		}
		wg.Wait()

		for p, err := range errs {
			require.NoError(t, err, lesson(fmt.Sprintf("payment %d failed: %v", p, err),
				"with a minute to retry, every payment gets through a network that loses 30% of requests and 30% of replies: a lost message is a failure to retry, not an answer"))
		}
		got := 1_000_00 - svc.Balance()
		assert.Equal(t, want, got, lesson(
			fmt.Sprintf("%d payments totalling %s went through a network that lost %d requests and %d replies; alice was charged %s, %s too much.\n(%d attempts reached the server)",
				payments, money(want), network.lostRequests, network.lostReplies, money(got), money(got-want), network.delivered),
			"when a reply is lost, the client cannot know whether the charge happened; only the same key on the retry lets the server answer \"already done\""))
		assert.Greater(t, network.lostReplies, 0, "the test must lose some replies")
	})
}
