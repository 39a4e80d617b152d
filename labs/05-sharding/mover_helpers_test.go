package sharding

// The world of part 6's tests: an etcd with the shard map, groups that
// serve the shards the map gives them, a client that retries until the
// right group answers, and a mover whose every step the test can count,
// watch, and crash after.

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/distlings/distlings/labs/internal/etcdtest"
)

// store is one test's etcd, groups and client.
type store struct {
	t       *testing.T
	etcd    *etcdtest.Cluster
	cli     *clientv3.Client
	servers map[int]*server

	refused atomic.Int64 // requests a group refused, which the client sent again

	mu    sync.Mutex
	acked map[string]string // token → the key it was appended to, for every append that was answered
	keys  map[string]bool   // every key written
}

// newStore publishes configuration 1, the shards dealt round the groups,
// each group holding its shards, empty.
func newStore(t *testing.T, gids ...int) *store {
	t.Helper()
	cluster := etcdtest.Start(t)
	st := &store{t: t, etcd: cluster, cli: cluster.Client(t), servers: map[int]*server{}, acked: map[string]string{}, keys: map[string]bool{}}
	cfg := NewConfig(routingShards)
	cfg.Num = 1
	for _, gid := range gids {
		cfg.Groups[gid] = []string{fmt.Sprintf("g%d-a", gid)}
	}
	for s := range cfg.Shards {
		cfg.Shards[s] = gids[s%len(gids)]
	}
	st.publish(cfg)
	for _, gid := range gids {
		st.servers[gid] = &server{st: st, gid: gid, shards: map[int]*heldShard{}}
	}
	for s, gid := range cfg.Shards {
		st.servers[gid].shards[s] = &heldShard{data: ShardData{Keys: map[string]string{}, Answers: map[string]string{}}}
	}
	return st
}

func (st *store) publish(cfg Config) {
	st.t.Helper()
	mustPublish(st.t, st.cli, cfg)
}

// groupLeaves publishes the map after group gid left, as the controller
// would have it: its shards, and their data, go to group heir.
func (st *store) groupLeaves(gid, heir int) Config {
	st.t.Helper()
	cfg := st.mustMap()
	cfg.Num++
	cfg.Shards = slices.Clone(cfg.Shards)
	for s, holder := range cfg.Shards {
		if holder == gid {
			data, _, _ := st.servers[gid].holds(s)
			require.NoError(st.t, st.servers[heir].Import(context.Background(), s, data))
			require.NoError(st.t, st.servers[gid].Drop(context.Background(), s))
			cfg.Shards[s] = heir
		}
	}
	delete(cfg.Groups, gid)
	st.publish(cfg)
	return cfg
}

// mapNow reads the shard map from etcd.
func (st *store) mapNow(ctx context.Context) (Config, error) {
	resp, err := st.cli.Get(ctx, MapKey)
	if err != nil {
		return Config{}, err
	}
	if len(resp.Kvs) == 0 {
		return Config{}, errors.New("no shard map in etcd")
	}
	return DecodeMap(resp.Kvs[0].Value)
}

func (st *store) mustMap() Config {
	st.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cfg, err := st.mapNow(ctx)
	require.NoError(st.t, err, "the test reads the shard map")
	return cfg
}

// moveRecorded reports whether a move is still recorded at MoveKey.
func (st *store) moveRecorded() bool {
	st.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	resp, err := st.cli.Get(ctx, MoveKey)
	require.NoError(st.t, err, "the test reads MoveKey")
	return len(resp.Kvs) > 0
}

// server is a group: it runs requests for the shards the map gives it,
// if it holds their data and they are not frozen.
type server struct {
	st  *store
	gid int

	mu     sync.Mutex
	shards map[int]*heldShard
}

type heldShard struct {
	data   ShardData
	frozen bool
}

func copyData(d ShardData) ShardData {
	return ShardData{Keys: maps.Clone(d.Keys), Answers: maps.Clone(d.Answers)}
}

func (g *server) Do(ctx context.Context, num int, req Request) (string, error) {
	cfg, err := g.st.mapNow(ctx)
	if err != nil {
		return "", err
	}
	shard := KeyShard(req.Key, len(cfg.Shards))
	g.mu.Lock()
	defer g.mu.Unlock()
	h := g.shards[shard]
	if cfg.Shards[shard] != g.gid || h == nil || h.frozen {
		return "", fmt.Errorf("group %d, shard %d: %w", g.gid, shard, ErrWrongGroup)
	}
	if answer, ran := h.data.Answers[req.ID]; ran {
		return answer, nil // a request it ran already: the same answer, and nothing runs again
	}
	switch req.Op {
	case "append":
		h.data.Keys[req.Key] += req.Value
	case "put":
		h.data.Keys[req.Key] = req.Value
	}
	answer := fmt.Sprintf("%s ran on group %d", req.ID, g.gid)
	h.data.Answers[req.ID] = answer
	return answer, nil
}

func (g *server) Freeze(ctx context.Context, shard int) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	h := g.shards[shard]
	if h == nil {
		return fmt.Errorf("group %d, shard %d: %w", g.gid, shard, ErrNoShard)
	}
	h.frozen = true
	return nil
}

func (g *server) Export(ctx context.Context, shard int) (ShardData, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	h := g.shards[shard]
	if h == nil {
		return ShardData{}, fmt.Errorf("group %d, shard %d: %w", g.gid, shard, ErrNoShard)
	}
	return copyData(h.data), nil
}

func (g *server) Import(ctx context.Context, shard int, data ShardData) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	d := copyData(data)
	if d.Keys == nil {
		d.Keys = map[string]string{}
	}
	if d.Answers == nil {
		d.Answers = map[string]string{}
	}
	g.shards[shard] = &heldShard{data: d}
	return nil
}

func (g *server) Unfreeze(ctx context.Context, shard int) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	h := g.shards[shard]
	if h == nil {
		return fmt.Errorf("group %d, shard %d: %w", g.gid, shard, ErrNoShard)
	}
	h.frozen = false
	return nil
}

func (g *server) Drop(ctx context.Context, shard int) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	delete(g.shards, shard)
	return nil
}

// situation says who the map names for shard, and what each group holds
// of it, for messages.
func (st *store) situation(shard int) string {
	cfg := st.mustMap()
	var parts []string
	for _, gid := range slices.Sorted(maps.Keys(st.servers)) {
		_, holds, frozen := st.servers[gid].holds(shard)
		switch {
		case holds && frozen:
			parts = append(parts, fmt.Sprintf("group %d holds it, frozen", gid))
		case holds:
			parts = append(parts, fmt.Sprintf("group %d holds it", gid))
		}
	}
	if len(parts) == 0 {
		parts = append(parts, "no group holds it")
	}
	return fmt.Sprintf("the map (configuration %d) names group %d for shard %d; %s", cfg.Num, cfg.Shards[shard], shard, strings.Join(parts, ", "))
}

// holds reports whether the group holds data for shard, and its copy.
func (g *server) holds(shard int) (ShardData, bool, bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	h := g.shards[shard]
	if h == nil {
		return ShardData{}, false, false
	}
	return copyData(h.data), true, h.frozen
}

// send runs req through the map: it asks the group the map names, and
// asks again, after reading the map again, for as long as it is refused,
// up to wait.
func (st *store) send(req Request, wait time.Duration) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	for {
		cfg, err := st.mapNow(ctx)
		if err == nil {
			gid := cfg.Shards[KeyShard(req.Key, len(cfg.Shards))]
			var out string
			if g := st.servers[gid]; g != nil {
				if out, err = g.Do(ctx, cfg.Num, req); err == nil {
					return out, nil
				}
				st.refused.Add(1)
			}
		}
		select {
		case <-ctx.Done():
			return "", fmt.Errorf("%s: no group ran it within %v (last: %v)", req.ID, wait, err)
		case <-time.After(2 * time.Millisecond):
		}
	}
}

// appendToken appends a token to key through the map, and remembers it
// if it was answered.
func (st *store) appendToken(key, token string, wait time.Duration) error {
	st.mu.Lock()
	st.keys[key] = true
	st.mu.Unlock()
	_, err := st.send(Request{ID: token, Key: key, Op: "append", Value: token + ";"}, wait)
	if err == nil {
		st.ack(key, token)
	}
	return err
}

func (st *store) ack(key, token string) {
	st.mu.Lock()
	defer st.mu.Unlock()
	st.keys[key] = true
	st.acked[token] = key
}

// keysOf returns n keys of shard.
func keysOf(shard, n int) []string {
	var out []string
	for i := 0; len(out) < n; i++ {
		if k := fmt.Sprintf("user-%d", i); KeyShard(k, routingShards) == shard {
			out = append(out, k)
		}
	}
	return out
}

// checkOnce fails unless every answered append is in its key's value
// exactly once, on the group the map names, and no other group holds a
// copy of the shard.
func (st *store) checkOnce(what string, shard int) {
	t := st.t
	t.Helper()
	cfg := st.mustMap()
	owner := cfg.Shards[shard]
	for gid, g := range st.servers {
		if _, holds, _ := g.holds(shard); holds && gid != owner {
			require.Failf(t, "a copy of the shard left behind", lesson(
				fmt.Sprintf("%s: the map names group %d for shard %d, and group %d still holds a copy of it", what, owner, shard, gid),
				"once the map names the new group, the old one drops its copy: a copy no one serves goes stale, and whoever reads it, or moves the shard back, reads the past"))
		}
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	for token, key := range st.acked {
		s := KeyShard(key, routingShards)
		g := st.servers[cfg.Shards[s]]
		if g == nil {
			require.Failf(t, "a shard on no group", lesson(fmt.Sprintf("%s: the map names group %d for shard %d, and there is no such group", what, cfg.Shards[s], s),
				"the map names only groups that are there"))
		}
		data, holds, _ := g.holds(s)
		require.True(t, holds, lesson(fmt.Sprintf("%s: the map names group %d for shard %d, which holds no data for it", what, cfg.Shards[s], s),
			"the map names a group only once that group holds the shard's data: the cut-over comes after the copy"))
		if n := strings.Count(data.Keys[key], token+";"); n != 1 {
			why := "an answered write must be in the shard exactly once, wherever the shard went"
			if n == 0 {
				why = "an answered write is never lost: a write the old group ran after its data was copied is a write the new group never gets, so the old group stops writing before the copy"
			} else {
				why = "a retried request runs once: the new group answers it from the old group's dedup table, which moves with the data"
			}
			require.Failf(t, "a write lost or doubled by the move", lesson(
				fmt.Sprintf("%s: %s was answered, and %s on group %d holds it %d times: %q", what, token, key, cfg.Shards[s], n, data.Keys[key]), why))
		}
	}
}

// crasher counts the mover's steps (each call that changes a group or
// etcd), and crashes the mover right after step at: that step and
// everything before it happened, and every later call fails.
type crasher struct {
	mu      sync.Mutex
	at      int // 0: never
	steps   []string
	crashed bool
	after   map[string]func() // run after a step whose name starts with the key, before the mover sees it
	before  func(name string) // run before every step
	when    func() bool       // crash after the first step after which it is true
	fail    map[string]error  // a step whose name starts with the key fails, once, without happening
}

var errCrashed = errors.New("the mover crashed (the test stopped it here)")

// crashOnceRecorded runs a move that crashes as soon as it is recorded,
// and fails unless it was.
func (st *store) crashOnceRecorded() *crasher {
	st.t.Helper()
	c := &crasher{when: st.moveRecorded}
	_ = st.move(c, movedShard, movedTo)
	require.True(st.t, st.moveRecorded(), lesson(
		fmt.Sprintf("Move(shard %d, to group %d) took the steps %s, and recorded no move at MoveKey", movedShard, movedTo, strings.Join(c.log(), ", ")),
		"a mover records the move it is about to make, at MoveKey, before it changes any group: Resume has nothing else to go on"))
	return c
}

// afterImport is a crasher that never crashes, and runs f once, just
// before the mover's first write to etcd after its Import: the moment a
// mover cuts over.
func afterImport(f func()) *crasher {
	c := &crasher{}
	imported, done := false, false
	c.before = func(name string) {
		if strings.HasPrefix(name, "Import") {
			imported = true
		}
		if imported && !done && strings.HasSuffix(name, "in etcd") {
			done = true
			f()
		}
	}
	return c
}

func (c *crasher) do(name string, f func() error) error {
	c.mu.Lock()
	if c.crashed {
		c.mu.Unlock()
		return errCrashed
	}
	before := c.before
	for prefix, err := range c.fail {
		if strings.HasPrefix(name, prefix) {
			delete(c.fail, prefix)
			c.mu.Unlock()
			return err
		}
	}
	c.mu.Unlock()
	if before != nil {
		before(name)
	}
	err := f()
	c.mu.Lock()
	c.steps = append(c.steps, name)
	n := len(c.steps)
	var hooks []func()
	for prefix, h := range c.after {
		if strings.HasPrefix(name, prefix) {
			hooks = append(hooks, h)
		}
	}
	if c.at > 0 && n == c.at {
		c.crashed = true
	}
	when := c.when
	c.mu.Unlock()
	if when != nil && when() {
		c.mu.Lock()
		c.crashed = true
		c.mu.Unlock()
	}
	c.mu.Lock()
	crashed := c.crashed
	c.mu.Unlock()
	for _, h := range hooks {
		h()
	}
	if crashed {
		return errCrashed
	}
	return err
}

func (c *crasher) log() []string { c.mu.Lock(); defer c.mu.Unlock(); return slices.Clone(c.steps) }

// holders is the mover's way to the groups, through c.
func (st *store) holders(c *crasher) func(gid int) Holder {
	return func(gid int) Holder {
		g := st.servers[gid]
		if g == nil {
			return noHolder(gid)
		}
		return &crashHolder{g: g, c: c}
	}
}

type crashHolder struct {
	g *server
	c *crasher
}

func (h *crashHolder) name(op string, shard int) string {
	return fmt.Sprintf("%s(shard %d) on group %d", op, shard, h.g.gid)
}

func (h *crashHolder) Freeze(ctx context.Context, shard int) error {
	return h.c.do(h.name("Freeze", shard), func() error { return h.g.Freeze(ctx, shard) })
}

func (h *crashHolder) Export(ctx context.Context, shard int) (ShardData, error) {
	var d ShardData
	err := h.c.do(h.name("Export", shard), func() (err error) { d, err = h.g.Export(ctx, shard); return err })
	return d, err
}

func (h *crashHolder) Import(ctx context.Context, shard int, data ShardData) error {
	return h.c.do(h.name("Import", shard), func() error { return h.g.Import(ctx, shard, data) })
}

func (h *crashHolder) Unfreeze(ctx context.Context, shard int) error {
	return h.c.do(h.name("Unfreeze", shard), func() error { return h.g.Unfreeze(ctx, shard) })
}

func (h *crashHolder) Drop(ctx context.Context, shard int) error {
	return h.c.do(h.name("Drop", shard), func() error { return h.g.Drop(ctx, shard) })
}

// noHolder is a group that is not there.
type noHolder int

func (n noHolder) err() error                        { return fmt.Errorf("there is no group %d", int(n)) }
func (n noHolder) Freeze(context.Context, int) error { return n.err() }
func (n noHolder) Export(context.Context, int) (ShardData, error) {
	return ShardData{}, n.err()
}
func (n noHolder) Import(context.Context, int, ShardData) error { return n.err() }
func (n noHolder) Unfreeze(context.Context, int) error          { return n.err() }
func (n noHolder) Drop(context.Context, int) error              { return n.err() }

// moverClient is an etcd client for a mover, whose writes go through c.
func (st *store) moverClient(c *crasher) *clientv3.Client {
	cli := st.etcd.Client(st.t)
	cli.KV = &crashKV{KV: cli.KV, c: c}
	return cli
}

type crashKV struct {
	clientv3.KV
	c *crasher
}

func (kv *crashKV) Get(ctx context.Context, key string, opts ...clientv3.OpOption) (*clientv3.GetResponse, error) {
	kv.c.mu.Lock()
	crashed := kv.c.crashed
	kv.c.mu.Unlock()
	if crashed {
		return nil, errCrashed
	}
	return kv.KV.Get(ctx, key, opts...)
}

func (kv *crashKV) Put(ctx context.Context, key, val string, opts ...clientv3.OpOption) (*clientv3.PutResponse, error) {
	var resp *clientv3.PutResponse
	err := kv.c.do("Put "+key+" in etcd", func() (err error) { resp, err = kv.KV.Put(ctx, key, val, opts...); return err })
	return resp, err
}

func (kv *crashKV) Delete(ctx context.Context, key string, opts ...clientv3.OpOption) (*clientv3.DeleteResponse, error) {
	var resp *clientv3.DeleteResponse
	err := kv.c.do("Delete "+key+" in etcd", func() (err error) { resp, err = kv.KV.Delete(ctx, key, opts...); return err })
	return resp, err
}

func (kv *crashKV) Txn(ctx context.Context) clientv3.Txn {
	return &crashTxn{Txn: kv.KV.Txn(ctx), c: kv.c}
}

type crashTxn struct {
	clientv3.Txn
	c *crasher
}

func (t *crashTxn) If(cs ...clientv3.Cmp) clientv3.Txn   { t.Txn = t.Txn.If(cs...); return t }
func (t *crashTxn) Then(ops ...clientv3.Op) clientv3.Txn { t.Txn = t.Txn.Then(ops...); return t }
func (t *crashTxn) Else(ops ...clientv3.Op) clientv3.Txn { t.Txn = t.Txn.Else(ops...); return t }
func (t *crashTxn) Commit() (*clientv3.TxnResponse, error) {
	var resp *clientv3.TxnResponse
	err := t.c.do("a transaction in etcd", func() (err error) { resp, err = t.Txn.Commit(); return err })
	return resp, err
}

// move runs Move with c, with a deadline.
func (st *store) move(c *crasher, shard, to int) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return Move(ctx, st.moverClient(c), st.holders(c), shard, to)
}

func (st *store) resume(c *crasher) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return Resume(ctx, st.moverClient(c), st.holders(c))
}
