package sharding

// The world of part 5's tests: an etcd, a controller that publishes maps,
// groups that know the newest map the moment it is published, and an etcd
// client whose reads and watches the tests can hold back.

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/distlings/distlings/labs/internal/etcdtest"
)

const routingShards = 10

// world is one test's etcd, controller and groups.
type world struct {
	t    *testing.T
	etcd *etcdtest.Cluster
	cli  *clientv3.Client // the controller's client

	mu      sync.Mutex
	cfg     Config                  // the newest map published
	applied map[string][]appliedReq // request id → where it ran
	asked   map[askedKey]int        // how often a group was asked a request, per map number
	wrong   chan wrongAnswer        // the first ErrWrongGroup answers the groups gave
	wrongs  int                     // how many they gave

	onAsk func(gid int, req Request)       // called as a group is asked, before it answers
	onRun func(gid int, req Request) error // called once a request ran; an error it returns is the group's answer
}

type appliedReq struct{ gid, num int }

type askedKey struct {
	gid, num int
	id       string
}

type wrongAnswer struct {
	gid, num int
	req      Request
}

func newWorld(t *testing.T, gids ...int) *world {
	t.Helper()
	cluster := etcdtest.Start(t)
	w := &world{t: t, etcd: cluster, cli: cluster.Client(t), applied: map[string][]appliedReq{}, asked: map[askedKey]int{}, wrong: make(chan wrongAnswer, 1000)}
	w.cfg = NewConfig(routingShards)
	w.join(gids...)
	return w
}

// publish makes cfg the map in etcd, and then, at once, the map every
// group follows.
func (w *world) publish(cfg Config) {
	w.t.Helper()
	mustPublish(w.t, w.cli, cfg)
	w.mu.Lock()
	w.cfg = cfg
	w.mu.Unlock()
}

// join and leave publish the map after groups join or leave, made the
// test's own way (round and round, in order of id), so that part 5 does
// not depend on part 4.
func (w *world) join(gids ...int) Config {
	w.t.Helper()
	next := w.next()
	for _, gid := range gids {
		next.Groups[gid] = []string{fmt.Sprintf("g%d-a", gid), fmt.Sprintf("g%d-b", gid)}
	}
	return w.deal(next)
}

// moveServers publishes the map after group gid's servers were
// replaced by new ones.
func (w *world) moveServers(gid int) Config {
	w.t.Helper()
	next := w.next()
	next.Groups[gid] = []string{fmt.Sprintf("g%d-c", gid), fmt.Sprintf("g%d-d", gid)}
	return w.deal(next)
}

func (w *world) leave(gids ...int) Config {
	w.t.Helper()
	next := w.next()
	for _, gid := range gids {
		delete(next.Groups, gid)
	}
	return w.deal(next)
}

func (w *world) next() Config {
	w.mu.Lock()
	defer w.mu.Unlock()
	next := Config{Num: w.cfg.Num + 1, Shards: slices.Clone(w.cfg.Shards), Groups: map[int][]string{}}
	for gid, servers := range w.cfg.Groups {
		next.Groups[gid] = servers
	}
	return next
}

func (w *world) deal(next Config) Config {
	w.t.Helper()
	next = dealt(next)
	w.publish(next)
	return next
}

// peekJoin is the map join(gids...) would publish.
func (w *world) peekJoin(gids ...int) Config {
	next := w.next()
	for _, gid := range gids {
		next.Groups[gid] = []string{fmt.Sprintf("g%d-a", gid), fmt.Sprintf("g%d-b", gid)}
	}
	return dealt(next)
}

// dealt deals next's shards round its groups, in order of id, starting
// from a place that moves with each configuration.
func dealt(next Config) Config {
	var gids []int
	for gid := range next.Groups {
		gids = append(gids, gid)
	}
	slices.Sort(gids)
	for s := range next.Shards {
		next.Shards[s] = 0
		if len(gids) > 0 {
			next.Shards[s] = gids[(s+next.Num)%len(gids)] // every change moves shards
		}
	}
	return next
}

// mustPublish publishes cfg as the test's controller, and fails the test
// if it cannot.
func mustPublish(t *testing.T, cli *clientv3.Client, cfg Config) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	require.NoError(t, Publish(ctx, cli, cfg), "the test publishes configuration %d", cfg.Num)
}

// latest is the newest map published.
func (w *world) latest() Config {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.cfg
}

// keyOn returns a key whose shard group gid holds in cfg, and not in
// other.
func keyOn(t *testing.T, cfg Config, gid int, other Config) string {
	t.Helper()
	for i := range 10000 {
		k := fmt.Sprintf("user-%d", i)
		s := KeyShard(k, len(cfg.Shards))
		if cfg.Shards[s] == gid && other.Shards[s] != gid {
			return k
		}
	}
	t.Fatalf("the test found no key on group %d in configuration %d that moves in configuration %d", gid, cfg.Num, other.Num)
	return ""
}

// dial is the routers' way to the groups.
func (w *world) dial(gid int, servers []string) Group {
	return &fakeGroup{w: w, gid: gid, servers: servers}
}

// fakeGroup is a group that holds a shard when the newest map says so.
type fakeGroup struct {
	w       *world
	gid     int
	servers []string
}

func (g *fakeGroup) Do(ctx context.Context, num int, req Request) (string, error) {
	w := g.w
	w.mu.Lock()
	onAsk, onRun := w.onAsk, w.onRun
	w.mu.Unlock()
	if onAsk != nil {
		onAsk(g.gid, req)
	}
	w.mu.Lock()
	w.asked[askedKey{g.gid, num, req.ID}]++
	for w.cfg.Num < num { // the router is ahead of this group: catch up first
		w.mu.Unlock()
		select {
		case <-ctx.Done():
			return "", ctx.Err()
		case <-time.After(time.Millisecond):
		}
		w.mu.Lock()
	}
	cfg := w.cfg
	holds := g.gid != 0 && len(cfg.Shards) > 0 && cfg.Shards[KeyShard(req.Key, len(cfg.Shards))] == g.gid
	if !holds {
		w.wrongs++
		select {
		case w.wrong <- wrongAnswer{g.gid, num, req}:
		default:
		}
		w.mu.Unlock()
		return "", fmt.Errorf("group %d: %w: shard %d is group %d's in configuration %d", g.gid, ErrWrongGroup, KeyShard(req.Key, len(cfg.Shards)), cfg.Shards[KeyShard(req.Key, len(cfg.Shards))], cfg.Num)
	}
	if want := cfg.Groups[g.gid]; !slices.Equal(g.servers, want) {
		w.mu.Unlock()
		return "", fmt.Errorf("group %d was dialled at servers %v, and configuration %d has it at %v: no one answers at the old address", g.gid, g.servers, cfg.Num, want)
	}
	w.applied[req.ID] = append(w.applied[req.ID], appliedReq{g.gid, num})
	w.mu.Unlock()
	if onRun != nil {
		if err := onRun(g.gid, req); err != nil {
			return "", err
		}
	}
	return fmt.Sprintf("%s done by group %d", req.ID, g.gid), nil
}

// askedTwice returns a request a group was asked twice for the same map
// number, if any.
func (w *world) askedTwice() (askedKey, int, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for k, n := range w.asked {
		if n > 1 {
			return k, n, true
		}
	}
	return askedKey{}, 0, false
}

// heldClient is an etcd client for a router, whose reads of the map and
// watch events the test can hold back, or act on.
type heldClient struct {
	*clientv3.Client
	kv *heldKV
	w  *heldWatcher
}

func (w *world) routerClient() *heldClient {
	cli := w.etcd.Client(w.t)
	kv := &heldKV{KV: cli.KV}
	wt := &heldWatcher{Watcher: cli.Watcher, passing: true, wake: make(chan struct{}), steps: make(chan step)}
	cli.KV, cli.Watcher = kv, wt
	return &heldClient{Client: cli, kv: kv, w: wt}
}

// heldKV passes every call to etcd, and lets a test act after a read of
// the map, or make reads wait for their context to end.
type heldKV struct {
	clientv3.KV
	mu        sync.Mutex
	reads     int
	afterRead func(n int) // called after the n-th read of the map, before the router gets it
	block     bool        // reads of the map wait for their context to end
}

func (kv *heldKV) Get(ctx context.Context, key string, opts ...clientv3.OpOption) (*clientv3.GetResponse, error) {
	kv.mu.Lock()
	block := kv.block && key == MapKey
	kv.mu.Unlock()
	if block {
		<-ctx.Done()
		return nil, ctx.Err()
	}
	resp, err := kv.KV.Get(ctx, key, opts...)
	if key == MapKey && err == nil {
		kv.mu.Lock()
		kv.reads++
		n, after := kv.reads, kv.afterRead
		kv.mu.Unlock()
		if after != nil {
			after(n)
		}
	}
	return resp, err
}

func (kv *heldKV) setAfterRead(f func(n int)) { kv.mu.Lock(); kv.afterRead = f; kv.mu.Unlock() }

func (kv *heldKV) blockReads(b bool) { kv.mu.Lock(); kv.block = b; kv.mu.Unlock() }

// heldWatcher passes watches to etcd, one event to a response, and holds
// them back while the test says so. A held watch passes events one at a
// time at the test's step, or passes the last one again: once that second
// copy is taken, the router has done all it does with the first.
type heldWatcher struct {
	clientv3.Watcher
	mu      sync.Mutex
	passing bool
	wake    chan struct{} // closed, and replaced, when passing changes
	steps   chan step
	ctxs    []context.Context // of every watch opened
}

// step is a test's request to a held watch.
type step struct {
	again bool          // pass the last event again, rather than the next
	done  chan struct{} // closed once the router has taken it
}

func (hw *heldWatcher) Watch(ctx context.Context, key string, opts ...clientv3.OpOption) clientv3.WatchChan {
	hw.mu.Lock()
	hw.ctxs = append(hw.ctxs, ctx)
	hw.mu.Unlock()
	in := hw.Watcher.Watch(ctx, key, opts...)
	out := make(chan clientv3.WatchResponse)
	go hw.forward(ctx, in, out)
	return out
}

func (hw *heldWatcher) state() (passing bool, wake chan struct{}) {
	hw.mu.Lock()
	defer hw.mu.Unlock()
	return hw.passing, hw.wake
}

func (hw *heldWatcher) set(passing bool) {
	hw.mu.Lock()
	defer hw.mu.Unlock()
	hw.passing = passing
	close(hw.wake)
	hw.wake = make(chan struct{})
}

// hold holds events back; release lets them, and all after them, pass.
func (hw *heldWatcher) hold()    { hw.set(false) }
func (hw *heldWatcher) release() { hw.set(true) }

// stepOne passes one held event, or the last one again, and returns once
// the router has taken it.
func (hw *heldWatcher) stepOne(t *testing.T, again bool) {
	t.Helper()
	st := step{again: again, done: make(chan struct{})}
	select {
	case hw.steps <- st:
	case <-time.After(5 * time.Second):
		require.FailNow(t, "the router is not watching the map", "5 seconds after the test published a map, the router had no watch open on it")
	}
	select {
	case <-st.done:
	case <-time.After(5 * time.Second):
		require.FailNow(t, "no watch event reached the router", "5 seconds after the test let the next event of the router's watch through, it had not been taken: either no event came for the watch the router opened (did it start from the revision after its read?), or the router stopped reading it")
	}
}

func (hw *heldWatcher) forward(ctx context.Context, in clientv3.WatchChan, out chan<- clientv3.WatchResponse) {
	defer close(out)
	var queue []clientv3.WatchResponse
	var last *clientv3.WatchResponse
	give := func(resp clientv3.WatchResponse) bool {
		select {
		case out <- resp:
			last = &resp
			return true
		case <-ctx.Done():
			return false
		}
	}
	for in != nil || len(queue) > 0 {
		passing, wake := hw.state()
		var send chan<- clientv3.WatchResponse
		var next clientv3.WatchResponse
		if passing && len(queue) > 0 {
			send, next = out, queue[0]
		}
		select {
		case resp, ok := <-in:
			if !ok {
				in = nil
				continue
			}
			queue = append(queue, oneEventEach(resp)...)
		case send <- next:
			last, queue = &next, queue[1:]
		case st := <-hw.steps:
			if !st.again {
				for len(queue) == 0 && in != nil { // wait for etcd to send it
					resp, ok := <-in
					if !ok {
						in = nil
						break
					}
					queue = append(queue, oneEventEach(resp)...)
				}
				if len(queue) == 0 {
					return
				}
				next, queue = queue[0], queue[1:]
			} else if last != nil {
				next = *last
			}
			if !give(next) {
				return
			}
			close(st.done)
		case <-wake:
		case <-ctx.Done():
			return
		}
	}
}

// oneEventEach splits a watch response into one response per event, so
// that a test can pass them one at a time.
func oneEventEach(resp clientv3.WatchResponse) []clientv3.WatchResponse {
	if len(resp.Events) <= 1 {
		return []clientv3.WatchResponse{resp}
	}
	out := make([]clientv3.WatchResponse, len(resp.Events))
	for i, ev := range resp.Events {
		out[i] = resp
		out[i].Events = []*clientv3.Event{ev}
	}
	return out
}

// newRouter starts a router on cli, closed when the test ends.
func (w *world) newRouter(cli *heldClient) *Router {
	w.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	r, err := NewRouter(ctx, cli.Client, w.dial)
	require.NoError(w.t, err, "NewRouter, with configuration %d in etcd", w.latest().Num)
	require.NotNil(w.t, r, "NewRouter")
	w.t.Cleanup(r.Close)
	return r
}

// startMap is the map of a router that has just started, which the test
// goes on from: it fails unless the router read the map in etcd.
func (w *world) startMap(r *Router) Config {
	w.t.Helper()
	got, want := r.Map(), w.latest()
	if got.Num != want.Num || len(got.Shards) != len(want.Shards) {
		require.FailNow(w.t, "a new router without the map", lesson(
			fmt.Sprintf("NewRouter returned with configuration %d in etcd, and its map is configuration %d, of %d shards", want.Num, got.Num, len(got.Shards)),
			"a new router reads the map from etcd before it returns: a request right after NewRouter is routed by the current map"))
	}
	return got
}

// within polls cond until it holds, for up to d, and reports whether it
// came to hold: the way to wait on code that has no way to say it is done.
func within(d time.Duration, cond func() bool) bool {
	deadline := time.NewTimer(d)
	defer deadline.Stop()
	poll := time.NewTicker(time.Millisecond)
	defer poll.Stop()
	for !cond() {
		select {
		case <-poll.C:
		case <-deadline.C:
			return cond()
		}
	}
	return true
}

// reaches waits until the router's map is configuration num, and fails,
// naming what happened, if it is not within a few seconds.
func reaches(t *testing.T, r *Router, num int, what, rule string) {
	t.Helper()
	var got Config
	if within(3*time.Second, func() bool { got = r.Map(); return got.Num >= num }) && got.Num == num {
		return
	}
	require.Failf(t, "a router that does not follow the map", lesson(
		fmt.Sprintf("%s; 3 seconds later the router's map is configuration %d, want %d", what, got.Num, num), rule))
}

// do sends a request through the router, with a deadline.
func do(t *testing.T, r *Router, req Request) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	return r.Do(ctx, req)
}
