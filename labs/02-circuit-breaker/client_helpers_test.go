package breaker

// Helpers of the part 5 tests: a scripted dependency, a fallback that keeps
// its causes, and the runs that many tests share. Everything here runs in
// testing/synctest bubbles, on a fake clock.

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/distlings/distlings/labs/internal/seeds"
)

// clientLesson is a failure message: what happened, then the rule it breaks
// and why the rule matters.
func clientLesson(what, rule string) string { return what + "\nrule: " + rule }

// errDown is what a dependency that is down answers.
var errDown = errors.New("dependency unavailable")

// depScript is how a fakeDep answers: n counts the calls with req from 1.
type depScript func(ctx context.Context, n int, req string) (string, error)

// fakeDep is a Dependency that answers as its script says and records when
// each call arrived. Use its call method as the Dependency.
type fakeDep struct {
	mu     sync.Mutex
	script depScript
	calls  []depCall
	count  map[string]int
}

type depCall struct {
	req string
	n   int
	at  time.Time
}

func newFakeDep(script depScript) *fakeDep { return &fakeDep{script: script, count: map[string]int{}} }

func (d *fakeDep) call(ctx context.Context, req string) (string, error) {
	d.mu.Lock()
	d.count[req]++
	n, script := d.count[req], d.script
	d.calls = append(d.calls, depCall{req: req, n: n, at: time.Now()})
	d.mu.Unlock()
	return script(ctx, n, req)
}

// setScript changes how the dependency answers from now on.
func (d *fakeDep) setScript(script depScript) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.script = script
}

// arrivals returns a copy of the calls made so far.
func (d *fakeDep) arrivals() []depCall {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]depCall(nil), d.calls...)
}

func (d *fakeDep) len() int { return len(d.arrivals()) }

// Scripts.

func okAnswer(req string) string { return "answer to " + req }

func depWorks(_ context.Context, _ int, req string) (string, error) { return okAnswer(req), nil }

func depFails(context.Context, int, string) (string, error) { return "", errDown }

// depHangs never answers: the call ends when its ctx does.
func depHangs(ctx context.Context, _ int, _ string) (string, error) {
	<-ctx.Done()
	return "", ctx.Err()
}

// depFailsFirst fails the first k calls of each req, then depWorks.
func depFailsFirst(k int) depScript {
	return func(ctx context.Context, n int, req string) (string, error) {
		if n <= k {
			return "", errDown
		}
		return depWorks(ctx, n, req)
	}
}

// depSlow takes d, then answers as then does; it gives up when ctx ends.
func depSlow(d time.Duration, then depScript) depScript {
	return func(ctx context.Context, n int, req string) (string, error) {
		if !waitOrDone(ctx, d) {
			return "", ctx.Err()
		}
		return then(ctx, n, req)
	}
}

func waitOrDone(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// fallbacks is a Fallback that keeps the causes it was given.
type fallbacks struct {
	mu     sync.Mutex
	causes []error
}

func fallbackAnswer(req string) string { return "fallback for " + req }

func (f *fallbacks) fallback(req string, cause error) (string, error) {
	if errors.Is(cause, ErrNotImplemented) {
		return "", cause // the breaker is a stub: say so
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.causes = append(f.causes, cause)
	return fallbackAnswer(req), nil
}

func (f *fallbacks) all() []error {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]error(nil), f.causes...)
}

// callResult is one Call, timed on the bubble's clock.
type callResult struct {
	req    string
	answer string
	err    error
	start  time.Time
	took   time.Duration
}

func (r callResult) String() string {
	if r.err != nil {
		return fmt.Sprintf("%s: error %q after %v", r.req, r.err, r.took.Round(time.Millisecond))
	}
	return fmt.Sprintf("%s: %q after %v", r.req, r.answer, r.took.Round(time.Millisecond))
}

// timedCall makes one Call with a deadline and times it.
func timedCall(c *Client, req string, deadline time.Duration) callResult {
	ctx, cancel := context.WithTimeout(context.Background(), deadline)
	defer cancel()
	r := callResult{req: req, start: time.Now()}
	r.answer, r.err = c.Call(ctx, req)
	r.took = time.Since(r.start)
	return r
}

// requireWritten stops the test at once if a call reached a stub.
func requireWritten(t *testing.T, rs ...callResult) {
	t.Helper()
	for _, r := range rs {
		if errors.Is(r.err, ErrNotImplemented) {
			t.Fatalf("Call returned: %v\n(part 5 needs Client.Call in client.go, and the breaker of parts 1 to 4)", r.err)
		}
	}
}

// manyClients makes n clients call dep at once, client i with request
// "client-i", and returns their results. Each client has its own breaker,
// as each process of a real service would, with a threshold too high to
// trip here: these runs watch the retries. Each has its own random source,
// derived from the test's seed.
func manyClients(t *testing.T, dep *fakeDep, policy RetryPolicy, n int, deadline time.Duration) []callResult {
	t.Helper()
	seed := seeds.For(t)
	results := make([]callResult, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			c := NewClient(dep.call, New(Config{ConsecutiveFailures: 1000}), policy, nil, rand.New(rand.NewPCG(seed, uint64(i))))
			results[i] = timedCall(c, fmt.Sprintf("client-%d", i), deadline)
		})
	}
	wg.Wait()
	requireWritten(t, results...)
	return results
}

// The outage: callers share one client and call every outagePace through a
// breaker; the dependency is down for the first outageDown, then depWorks.
const (
	outageCallers = 10
	outageDown    = time.Minute
	outageLength  = 90 * time.Second
	outagePace    = 200 * time.Millisecond
	outageLatency = 20 * time.Millisecond
)

var (
	outageConfig = Config{ConsecutiveFailures: 5, Timeout: 5 * time.Second, MaxProbes: 2}
	outagePolicy = RetryPolicy{MaxAttempts: 3, BaseDelay: 50 * time.Millisecond, MaxDelay: time.Second, AttemptTimeout: 500 * time.Millisecond}
)

type outageRun struct {
	start   time.Time
	breaker *Breaker
	dep     *fakeDep
	results []callResult
}

func (o *outageRun) recovery() time.Time { return o.start.Add(outageDown) }

func outage(t *testing.T) *outageRun {
	t.Helper()
	o := &outageRun{start: time.Now(), breaker: New(outageConfig)}
	o.dep = newFakeDep(depSlow(outageLatency, func(ctx context.Context, n int, req string) (string, error) {
		if time.Now().Before(o.recovery()) {
			return "", errDown
		}
		return depWorks(ctx, n, req)
	}))
	c := NewClient(o.dep.call, o.breaker, outagePolicy, (&fallbacks{}).fallback, seeds.Rand(t))
	var mu sync.Mutex
	var wg sync.WaitGroup
	for i := range outageCallers {
		wg.Go(func() {
			for k := 0; time.Since(o.start) < outageLength; k++ {
				r := timedCall(c, fmt.Sprintf("caller-%d/%d", i, k), 2*time.Second)
				mu.Lock()
				o.results = append(o.results, r)
				mu.Unlock()
				if errors.Is(r.err, ErrNotImplemented) {
					return
				}
				time.Sleep(outagePace)
			}
		})
	}
	wg.Wait()
	requireWritten(t, o.results...)
	return o
}

// cancelOnDraw is a random source that cancels a caller's ctx when the
// client draws a wait from it. Its draws are all 1, the smallest that
// rand.Rand's Int64N does not reject (0 it draws again, forever), which
// makes Int64N(n) 0 for the bounds of these tests: the wait before the retry
// ends at the very instant the caller gives up, so both the wait's timer and
// ctx.Done() are ready when the client looks.
type cancelOnDraw struct {
	mu     sync.Mutex
	cancel context.CancelFunc
}

func (s *cancelOnDraw) Uint64() uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cancel != nil {
		s.cancel()
	}
	return 1
}
