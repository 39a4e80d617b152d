package sharding

// Part 5: routing with a live shard map in etcd.

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// routesRight sends requests for keys through r and checks that each ran
// once, on the group that holds its shard in cfg.
func routesRight(t *testing.T, w *world, r *Router, cfg Config, tag string) {
	t.Helper()
	for i := range 30 {
		key := fmt.Sprintf("user-%d", i)
		req := Request{ID: fmt.Sprintf("%s-%d", tag, i), Key: key, Op: "put", Value: "v"}
		out, err := do(t, r, req)
		require.NoError(t, err, lesson(fmt.Sprintf("Do(%s) through a router, with configuration %d in etcd", key, cfg.Num), "a router sends a request to the group that holds its shard, and returns that group's answer"))
		gid := cfg.Shards[KeyShard(key, routingShards)]
		require.Equal(t, fmt.Sprintf("%s done by group %d", req.ID, gid), out, lesson(
			fmt.Sprintf("Do(%s): its shard, %d, is group %d's in configuration %d", key, KeyShard(key, routingShards), gid, cfg.Num),
			"Do returns the answer of the group that ran the request"))
		w.mu.Lock()
		ran := w.applied[req.ID]
		w.mu.Unlock()
		require.Equal(t, []appliedReq{{gid, cfg.Num}}, ran, lesson(fmt.Sprintf("Do(%s), request %s, ran on (group, map number)", key, req.ID),
			"each request runs once, on the group that holds its shard, sent with the router's map number"))
	}
}

func TestRouterStartsFromTheMapInEtcd(t *testing.T) {
	w := newWorld(t, 1, 2, 3)
	cfg := w.join(4)
	r := w.newRouter(w.routerClient())
	require.Equal(t, cfg.Shards, w.startMap(r).Shards, "the router's map: the shards of the map in etcd")
	// A caller that changes the map it was given changes nothing else.
	m := r.Map()
	for s := range m.Shards {
		m.Shards[s] = 42
	}
	clear(m.Groups)
	require.Equal(t, cfg.Shards, r.Map().Shards, lesson("a caller changed the Shards of the map Map() gave it, and the router's map changed with them",
		"Map returns a copy: the router's map is the router's, and a caller who edits what it got must not reroute every request"))
	routesRight(t, w, r, cfg, "first")
}

func TestRouterFollowsTheMapAsItChanges(t *testing.T) {
	w := newWorld(t, 1, 2, 3)
	r := w.newRouter(w.routerClient())
	w.startMap(r)
	follow := "a router watches the map in etcd and takes each new configuration as it is published: a router that stops at the map it started with sends every request of a moved shard to a group that refuses it"
	cfg := w.join(4)
	reaches(t, r, cfg.Num, "group 4 joined, and configuration 2 was published", follow)
	routesRight(t, w, r, cfg, "after-join")
	cfg = w.leave(1, 2)
	reaches(t, r, cfg.Num, "groups 1 and 2 left, and configuration 3 was published", follow)
	routesRight(t, w, r, cfg, "after-leave")
	cfg = w.moveServers(3)
	reaches(t, r, cfg.Num, "group 3's servers were replaced, and configuration 4 was published", follow)
	routesRight(t, w, r, cfg, "after-new-servers")
	select {
	case wa := <-w.wrong:
		require.Failf(t, "a request sent to the wrong group", lesson(
			fmt.Sprintf("once the router's map was the newest, it sent request %s to group %d, which does not hold its shard", wa.req.ID, wa.gid),
			"a router with the newest map sends each request to the group that holds its shard"))
	default:
	}
}

func TestRouterMissesNoChangeBetweenReadingAndWatching(t *testing.T) {
	w := newWorld(t, 1, 2, 3)
	rc := w.routerClient()
	var published Config
	rc.kv.setAfterRead(func(n int) {
		if n == 1 { // after etcd answered the router's first read, before the router has the answer
			published = w.join(9)
		}
	})
	r := w.newRouter(rc)
	rc.kv.setAfterRead(nil)
	reaches(t, r, published.Num, fmt.Sprintf(
		"configuration %d was published just after etcd answered the router's first read of the map, before the router had the answer (and so before it could start its watch)", published.Num),
		"a router watches from the revision after the one its read saw (clientv3.WithRev): a watch that starts from \"now\" misses every change made between the read and the watch, and the router stays on an old map until the next change, which may never come")
	routesRight(t, w, r, published, "after-gap")
}

func TestRouterWatchesAgainWhenEtcdHasCompactedWhereItWouldStart(t *testing.T) {
	w := newWorld(t, 1, 2, 3)
	rc := w.routerClient()
	var published Config
	rc.kv.setAfterRead(func(n int) {
		if n == 1 {
			w.join(8)
			published = w.join(9)
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			resp, err := w.cli.Get(ctx, MapKey)
			require.NoError(t, err)
			_, err = w.cli.Compact(ctx, resp.Header.Revision)
			require.NoError(t, err, "the test compacts etcd's history")
		}
	})
	r := w.newRouter(rc)
	rc.kv.setAfterRead(nil)
	rule := "a watch from a revision etcd has compacted away ends at once, with ErrCompacted: the router reads the map again and watches from the revision after that read, and so on whenever its watch ends"
	reaches(t, r, published.Num, fmt.Sprintf(
		"after etcd answered the router's first read, configurations %d and %d were published, and etcd compacted its history up to them, so the revisions the router's watch would start from are gone", published.Num-1, published.Num), rule)
	cfg := w.leave(8)
	reaches(t, r, cfg.Num, "after that, configuration "+fmt.Sprint(cfg.Num)+" was published", rule)
	routesRight(t, w, r, cfg, "after-compaction")
}

// sendAsync runs Do in a goroutine, and returns where its result will be.
func sendAsync(r *Router, ctx context.Context, req Request) <-chan doResult {
	ch := make(chan doResult, 1)
	go func() {
		out, err := r.Do(ctx, req)
		ch <- doResult{out, err}
	}()
	return ch
}

type doResult struct {
	out string
	err error
}

// waitDo waits for a Do, and fails as soon as a group has been asked the
// same request twice on the same map.
func waitDo(t *testing.T, w *world, ch <-chan doResult, what string) doResult {
	t.Helper()
	deadline := time.After(5 * time.Second)
	for {
		if k, n, twice := w.askedTwice(); twice {
			require.Failf(t, "a request sent again on the same map", lesson(
				fmt.Sprintf("%s: group %d was asked request %s %d times, each time by a router whose map was configuration %d", what, k.gid, k.id, n, k.num),
				"a wrong-group answer means the router's map is stale: sending the request again on the same map only gets the same answer, as fast as the network allows. The router catches up first, then sends the request on the newer map"))
		}
		select {
		case res := <-ch:
			return res
		case <-deadline:
			require.FailNow(t, "a request that never returns", lesson(what+": Do had not returned after 5 seconds",
				"a router that is told ErrWrongGroup reads the map from etcd, and sends the request on by the newer map: its watch may be late, or stalled (a stream to a partitioned member can stay open and silent), and a router that waits for the watch waits with it"))
		case <-time.After(time.Millisecond):
		}
	}
}

func TestAWrongGroupAnswerSendsTheRouterToTheNewerMap(t *testing.T) {
	w := newWorld(t, 1, 2, 3)
	rc := w.routerClient()
	r := w.newRouter(rc)
	old := w.startMap(r)
	rc.w.hold() // the watch stalls, as a stream to a partitioned member can
	cfg := w.join(4)
	gid := old.Shards[0]
	key := keyOn(t, old, gid, cfg)
	req := Request{ID: "moved-1", Key: key, Op: "put", Value: "v"}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	what := fmt.Sprintf("the router's watch stalled on configuration %d; configuration %d moved %s's shard from group %d to group %d, and the router was asked to put %s",
		old.Num, cfg.Num, key, gid, cfg.Shards[KeyShard(key, routingShards)], key)
	res := waitDo(t, w, sendAsync(r, ctx, req), what)
	if res.err != nil {
		rule := "ErrWrongGroup is for the router, not its caller: it is the proof that the router's map is stale, and the router catches up (it reads the map from etcd: its watch may be late, or stalled) and sends the request again"
		if !errors.Is(res.err, ErrWrongGroup) {
			rule = "a router that is told ErrWrongGroup catches up with the map (its watch may be late, or stalled: it reads the map from etcd) and sends the request to the group the newer map names"
		}
		require.Failf(t, "a request the router gave up on", lesson(fmt.Sprintf("%s: Do returned error %v", what, res.err), rule))
	}
	owner := cfg.Shards[KeyShard(key, routingShards)]
	require.Equal(t, fmt.Sprintf("moved-1 done by group %d", owner), res.out, lesson(what+": Do's answer", "Do returns the answer of the group that holds the shard"))
	w.mu.Lock()
	ran := w.applied["moved-1"]
	w.mu.Unlock()
	require.Equal(t, []appliedReq{{owner, cfg.Num}}, ran, lesson(what+": where the request ran (group, map number)", "the request runs once, on the group that holds its shard in the newer map"))
	rc.w.release()
}

func TestARoutersMapOnlyMovesForward(t *testing.T) {
	w := newWorld(t, 1, 2, 3)
	rc := w.routerClient()
	r := w.newRouter(rc)
	old := w.startMap(r)
	rc.w.hold()
	mid := w.join(4)
	cfg := w.join(5)
	key := keyOn(t, old, old.Shards[0], cfg) // a key whose shard moved
	res := waitDo(t, w, sendAsync(r, context.Background(), Request{ID: "moved-2", Key: key, Op: "put", Value: "v"}),
		fmt.Sprintf("the router's watch stalled on configuration %d, configurations %d and %d were published, and a request for %s was sent", old.Num, mid.Num, cfg.Num, key))
	require.NoError(t, res.err, "Do, after a wrong-group answer and a read of the map")
	require.Equal(t, cfg.Num, r.Map().Num, lesson("after a wrong-group answer on a stalled watch, the router's map", "a router that is told ErrWrongGroup reads the map from etcd"))
	// Now the stalled watch brings the older configuration.
	rc.w.stepOne(t, false)
	rc.w.stepOne(t, true) // once this copy is taken, the router is done with the first
	if got := r.Map().Num; got != cfg.Num {
		require.Failf(t, "a router's map that went back", lesson(
			fmt.Sprintf("the router read configuration %d from etcd; then its late watch brought configuration %d, and the router's map is now configuration %d", cfg.Num, mid.Num, got),
			"a router's map only moves forward: the watch and the reads each bring maps the other has brought already, late ones included, and a router keeps whichever is newer (the higher Num)"))
	}
	rc.w.release()
}

func TestRouterGivesUpWhenItsContextEnds(t *testing.T) {
	w := newWorld(t, 1, 2, 3)
	rc := w.routerClient()
	r := w.newRouter(rc)
	old := w.startMap(r)
	rc.w.hold()
	rc.kv.blockReads(true) // etcd is out of reach: reads wait until they time out
	cfg := w.join(4)
	key := keyOn(t, old, old.Shards[0], cfg)
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	ch := sendAsync(r, ctx, Request{ID: "stuck", Key: key, Op: "put", Value: "v"})
	select {
	case res := <-ch:
		require.Error(t, res.err, "Do on a stale map, with etcd out of reach, returned an answer: %q", res.out)
		require.ErrorIs(t, res.err, context.DeadlineExceeded, lesson(
			fmt.Sprintf("Do, given 300 ms, was told ErrWrongGroup, could not reach etcd to catch up, and returned error %v", res.err),
			"when the caller's context ends, Do returns its error (wrapped, if you like): the caller asked for an answer within a deadline, and the context says why there is none"))
	case <-time.After(5 * time.Second):
		require.FailNow(t, "a request that outlives its context", lesson(
			"Do, given 300 ms, was told ErrWrongGroup and could not reach etcd to catch up: 5 seconds later it had not returned",
			"Do returns when the caller's context ends: every wait in it (for the map, for etcd, for a group) gives up with the context"))
	}
	rc.kv.blockReads(false)
	rc.w.release()
}

// TestConcurrentRequestsThroughChangingMapsRunOnceEach sends requests from
// many goroutines through two routers while groups join and leave.
func TestConcurrentRequestsThroughChangingMapsRunOnceEach(t *testing.T) {
	w := newWorld(t, 1, 2, 3)
	routers := []*Router{w.newRouter(w.routerClient()), w.newRouter(w.routerClient())}
	const senders, each = 8, 40 // each sends at least each requests, and on until the map stops changing
	var wg sync.WaitGroup
	var changing atomic.Bool
	changing.Store(true)
	sent := make([]int, senders)
	errs := make(chan error, 100)
	for s := range senders {
		wg.Go(func() {
			for i := 0; i < each || changing.Load(); i++ {
				req := Request{ID: fmt.Sprintf("s%d-%d", s, i), Key: fmt.Sprintf("user-%d", (s*each+i)%97), Op: "append", Value: "x"}
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				_, err := routers[(s+i)%2].Do(ctx, req)
				cancel()
				sent[s] = i + 1
				if err != nil {
					errs <- fmt.Errorf("request %s: %w", req.ID, err)
					return
				}
			}
		})
	}
	for _, change := range []func() Config{
		func() Config { return w.join(4) }, func() Config { return w.leave(1) }, func() Config { return w.join(5, 6) },
		func() Config { return w.leave(2, 4) }, func() Config { return w.join(1) },
	} {
		change()
	}
	changing.Store(false)
	wg.Wait()
	close(errs)
	for err := range errs {
		require.Failf(t, "a request that failed while the map changed", lesson(err.Error(),
			"while groups join and leave, every request gets through: a router that is told ErrWrongGroup catches up and sends it on"))
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	total := 0
	for s := range senders {
		total += sent[s]
		for i := range sent[s] {
			id := fmt.Sprintf("s%d-%d", s, i)
			require.Len(t, w.applied[id], 1, lesson(fmt.Sprintf("request %s ran %d times: %v (group, map number)", id, len(w.applied[id]), w.applied[id]),
				"each request runs once: a router sends it again only after a group refused it, and a refused request did not run"))
		}
	}
	t.Logf("%d requests, %d wrong-group answers, through %d configurations", total, w.wrongs, w.cfg.Num)
}

// signalCtx tells the test when the code under test first asks for its
// Done channel: a Do that is about to wait on its context.
type signalCtx struct {
	context.Context
	once    sync.Once
	waiting chan struct{}
}

func (c *signalCtx) Done() <-chan struct{} {
	c.once.Do(func() { close(c.waiting) })
	return c.Context.Done()
}

func TestARequestForAShardNoOneHoldsWaitsForTheMap(t *testing.T) {
	w := newWorld(t)
	r := w.newRouter(w.routerClient())
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	sctx := &signalCtx{Context: ctx, waiting: make(chan struct{})}
	ch := sendAsync(r, sctx, Request{ID: "early", Key: "user-1", Op: "put", Value: "v"})
	select {
	case res := <-ch:
		require.Failf(t, "a request for a shard no one holds", lesson(
			fmt.Sprintf("the map has no groups yet, and Do returned at once: %q, error %v", res.out, res.err),
			"a request whose shard no group holds waits for a map that gives it one (or for its context to end): groups are joining, and the caller asked for an answer, not for the map"))
	case <-sctx.waiting:
	}
	cfg := w.join(1, 2)
	res := waitDo(t, w, ch, fmt.Sprintf("a request was sent while the map had no groups; then groups 1 and 2 joined, in configuration %d", cfg.Num))
	require.NoError(t, res.err, lesson("the request sent before any group joined", "a request waiting for the map is woken when the map changes, and sent on"))
	require.Equal(t, fmt.Sprintf("early done by group %d", cfg.Shards[KeyShard("user-1", routingShards)]), res.out, "the answer of the request sent before any group joined")
}

func TestAGroupsOtherErrorsReachTheCaller(t *testing.T) {
	w := newWorld(t, 1, 2, 3)
	r := w.newRouter(w.routerClient())
	old := w.startMap(r)
	errLost := errors.New("the connection broke after the request was sent")
	var next Config
	w.mu.Lock()
	w.onRun = func(gid int, req Request) error {
		if req.ID != "lost" {
			return nil
		}
		next = w.join(4) // the map moves on, too
		return errLost
	}
	w.mu.Unlock()
	key := keyOn(t, old, old.Shards[0], w.peekJoin(4))
	_, err := do(t, r, Request{ID: "lost", Key: key, Op: "append", Value: "x"})
	w.mu.Lock()
	ran := w.applied["lost"]
	w.mu.Unlock()
	what := fmt.Sprintf("group %d ran the request and then its answer was lost (%v), while configuration %d moved %s's shard", old.Shards[0], errLost, next.Num, key)
	require.Len(t, ran, 1, lesson(fmt.Sprintf("%s: the request ran %d times: %v (group, map number)", what, len(ran), ran),
		"only ErrWrongGroup means a request did not run: any other error may come after it ran, and a router that sends it again can run it twice. Such errors go back to the caller, who can retry with the same request id"))
	require.ErrorIs(t, err, errLost, lesson(what+": Do's error", "a group's error other than ErrWrongGroup is the caller's to see"))
}

func TestASlowGroupHoldsUpNoOtherRequest(t *testing.T) {
	w := newWorld(t, 1, 2, 3)
	r := w.newRouter(w.routerClient())
	cfg := w.startMap(r)
	slowKey := keyOn(t, cfg, 1, Config{Shards: make([]int, routingShards)})
	fastKey := keyOn(t, cfg, 2, Config{Shards: make([]int, routingShards)})
	asked, release := make(chan struct{}), make(chan struct{})
	w.mu.Lock()
	w.onAsk = func(gid int, req Request) {
		if req.ID == "slow" {
			close(asked)
			<-release
		}
	}
	w.mu.Unlock()
	defer close(release)
	slow := sendAsync(r, context.Background(), Request{ID: "slow", Key: slowKey, Op: "put", Value: "v"})
	<-asked
	fast := sendAsync(r, context.Background(), Request{ID: "fast", Key: fastKey, Op: "put", Value: "v"})
	select {
	case res := <-fast:
		require.NoError(t, res.err, "the request to group 2")
	case <-time.After(3 * time.Second):
		require.FailNow(t, "one slow group holds up every request", lesson(
			"group 1 was slow to answer a request; meanwhile a request to group 2 had no answer after 3 seconds",
			"the router holds its lock only to read or change its map, never while it waits for a group: a group that is slow, or down, must not hold up requests to the others"))
	}
	_ = slow
}

func TestCloseStopsTheWatch(t *testing.T) {
	w := newWorld(t, 1, 2, 3)
	rc := w.routerClient()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	r, err := NewRouter(ctx, rc.Client, w.dial)
	require.NoError(t, err, "NewRouter")
	w.startMap(r)
	var ctxs []context.Context
	if !within(3*time.Second, func() bool {
		rc.w.mu.Lock()
		defer rc.w.mu.Unlock()
		ctxs = slices.Clone(rc.w.ctxs)
		return len(ctxs) > 0
	}) {
		require.FailNow(t, "a router that does not watch the map", "3 seconds after NewRouter returned, the router had opened no watch on the map")
	}
	r.Close()
	for i, ctx := range ctxs {
		require.Error(t, ctx.Err(), lesson(fmt.Sprintf("Close returned, and the context of the router's watch number %d is still live", i+1),
			"Close stops the router's watch (cancel its context) and the goroutine that reads it: a router that is closed and still watching holds a stream to etcd, and a goroutine, for as long as the process lives"))
	}
}
