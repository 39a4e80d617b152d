package raftlog

// The key-value tests run servers and clerks on the simulator; the clerks
// record what they asked and heard in a history, and the history must be
// linearizable (labs/internal/linz, with porcupine).

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/distlings/distlings/labs/internal/linz"
	"github.com/distlings/distlings/labs/internal/sim"
)

// kvCluster is servers n1…n<servers> and clerks after them.
type kvCluster struct {
	*sim.Cluster
	t        testing.TB
	servers  int
	history  *linz.History
	rnd      *rand.Rand
	finished map[sim.NodeID]int // operations each clerk has finished
	leaders  map[uint64]sim.NodeID
}

func newKVCluster(t testing.TB, servers, clerks int, seed uint64, network sim.Network, cfg Config) *kvCluster {
	t.Helper()
	c := &kvCluster{t: t, servers: servers, finished: map[sim.NodeID]int{}, leaders: map[uint64]sim.NodeID{}}
	c.Cluster = sim.NewCluster(t, sim.Config{Nodes: servers + clerks, Seed: seed, Network: network}, NewServers(cfg, servers))
	c.TrackState(func(id sim.NodeID) sim.State {
		s := c.server(id)
		if s == nil {
			return sim.State{Role: "clerk"}
		}
		return stateOf(s.Raft())
	})
	c.history = linz.NewHistory(c.Now)
	c.rnd = rand.New(rand.NewPCG(c.Seed(), 5))
	c.Invariant("at most one leader per term", c.oneLeaderPerTerm)
	return c
}

func (c *kvCluster) server(id sim.NodeID) *Server {
	s, _ := c.Node(id).(*Server)
	return s
}

func (c *kvCluster) clerk(id sim.NodeID) *Clerk {
	k, _ := c.Node(id).(*Clerk)
	return k
}

func (c *kvCluster) serverIDs() []sim.NodeID { return c.IDs()[:c.servers] }
func (c *kvCluster) clerkIDs() []sim.NodeID  { return c.IDs()[c.servers:] }

func (c *kvCluster) oneLeaderPerTerm() error {
	for _, id := range c.serverIDs() {
		s := c.server(id)
		if s == nil || s.Raft() == nil || s.Raft().Role() != Leader {
			continue
		}
		term := s.Raft().Term()
		if prev, seen := c.leaders[term]; seen && prev != id {
			return fmt.Errorf("two leaders in term %d: %v and %v", term, prev, id)
		}
		c.leaders[term] = id
	}
	return nil
}

// linzKinds names the store's operations for the checker.
var linzKinds = map[OpKind]linz.Kind{Get: linz.Get, Put: linz.Put, Append: linz.Append}

// do starts op on clerk id now, and records it; then calls next.
func (c *kvCluster) do(id sim.NodeID, op Op, next func(value string)) {
	in := linz.Input{Kind: linzKinds[op.Kind], Key: op.Key, Value: op.Value}
	ok, _ := c.history.Call(int(id), in)
	c.clerk(id).Do(op, func(value string) {
		ok(value)
		c.finished[id]++
		if next != nil {
			next(value)
		}
	})
}

// workload has every clerk do ops operations, one after another, on a
// few keys (one of them hot), with a short pause between them: Appends of
// values no one else appends, Puts, and Gets.
func (c *kvCluster) workload(ops int) {
	keys := []string{"hot", "hot", "hot", "k1", "k2"}
	for _, id := range c.clerkIDs() {
		id := id
		var step func(int)
		step = func(i int) {
			if i == ops {
				return
			}
			key := keys[c.rnd.IntN(len(keys))]
			var op Op
			switch r := c.rnd.IntN(10); {
			case r < 5:
				op = Op{Kind: Append, Key: key, Value: fmt.Sprintf("%v.%d;", id, i)}
			case r < 6:
				op = Op{Kind: Put, Key: key, Value: fmt.Sprintf("%v.%d=;", id, i)}
			default:
				op = Op{Kind: Get, Key: key}
			}
			c.do(id, op, func(string) {
				pause := time.Duration(c.rnd.Int64N(int64(20 * time.Millisecond)))
				c.At(c.Now()+pause, fmt.Sprintf("%v's next operation", id), func() { step(i + 1) })
			})
		}
		c.At(c.Now()+time.Millisecond, fmt.Sprintf("%v starts", id), func() { step(0) })
	}
}

// finish runs until every clerk has done ops operations.
func (c *kvCluster) finish(ops int, deadline time.Duration) {
	c.t.Helper()
	ok, err := c.World.RunUntil(func() bool {
		for _, id := range c.clerkIDs() {
			if c.finished[id] < ops {
				return false
			}
		}
		return true
	}, c.Now()+deadline)
	if err != nil {
		c.Fatal(err)
	}
	if !ok {
		var behind []string
		for _, id := range c.clerkIDs() {
			if c.finished[id] < ops {
				behind = append(behind, fmt.Sprintf("%v finished %d of %d", id, c.finished[id], ops))
			}
		}
		c.Fatal(fmt.Errorf("the clerks had not finished their operations within %v of virtual time: %s\n%s\nrule: while a majority of servers can talk, every operation a clerk starts is done: a clerk tries the servers until the leader answers, and the leader answers once the operation's entry is applied",
			deadline, strings.Join(behind, ", "), c.states()))
	}
}

func (c *kvCluster) states() string {
	var lines []string
	for _, id := range c.serverIDs() {
		s := c.server(id)
		if s == nil || s.Raft() == nil {
			lines = append(lines, fmt.Sprintf("    %v  down", id))
			continue
		}
		n := s.Raft()
		lines = append(lines, fmt.Sprintf("    %v  %-9v term %d, log %s, commit %d, applied %d", id, n.Role(), n.Term(), showLogShort(n.LogEntries()), n.CommitIndex(), n.LastApplied()))
	}
	return strings.Join(lines, "\n")
}

// requireEachAppendOnce checks that no server's copy holds a value
// appended twice: a retried request applied a second time.
func (c *kvCluster) requireEachAppendOnce() {
	c.t.Helper()
	for _, id := range c.serverIDs() {
		s := c.server(id)
		if s == nil || s.Raft() == nil {
			continue
		}
		for _, key := range []string{"hot", "k1", "k2"} {
			parts := strings.Split(s.Value(key), ";")
			for i, p := range parts {
				if p != "" && slices.Contains(parts[i+1:], p) {
					c.Fatal(fmt.Errorf("%v's copy of %q holds %q twice: %q\nrule: an operation takes effect once, however many times its clerk sends it and the log commits it, through leader changes, crashes and snapshots (lab 01's idempotency keys, across a cluster)",
						id, key, p+";", s.Value(key)))
				}
			}
		}
	}
}

// check checks the history.
func (c *kvCluster) check() {
	c.t.Helper()
	c.requireEachAppendOnce()
	if !linz.Check(c.t, c.history, linz.Options{}) {
		c.Fatal(fmt.Errorf("the clerks' history above is not linearizable; the servers at the end:\n%s", c.states()))
	}
}

// serverFaults crashes and restarts servers, and partitions them (each
// clerk on one side), a minority at a time, until until.
func (c *kvCluster) serverFaults(until time.Duration) {
	r := rand.New(rand.NewPCG(c.Seed(), 6))
	var down []sim.NodeID
	for at := 300 * time.Millisecond; at < until; at += 200*time.Millisecond + time.Duration(r.Int64N(int64(400*time.Millisecond))) {
		lasts := 50*time.Millisecond + time.Duration(r.Int64N(int64(time.Second)))
		if r.IntN(2) == 0 {
			id := sim.NodeID(1 + r.IntN(c.servers))
			c.At(at, fmt.Sprintf("crash %v", id), func() {
				if c.Up(id) && len(down) < (c.servers-1)/2 {
					c.Crash(id)
					down = append(down, id)
					c.At(c.Now()+lasts, fmt.Sprintf("restart %v", id), func() {
						c.Restart(id)
						down = slices.DeleteFunc(down, func(d sim.NodeID) bool { return d == id })
					})
				}
			})
			continue
		}
		ids := slices.Clone(c.IDs())
		r.Shuffle(c.servers, func(i, j int) { ids[i], ids[j] = ids[j], ids[i] })
		cut := 1 + r.IntN(c.servers-1)
		a, b := slices.Clone(ids[:cut]), slices.Clone(ids[cut:c.servers])
		for _, k := range c.clerkIDs() {
			if r.IntN(2) == 0 {
				a = append(a, k)
			} else {
				b = append(b, k)
			}
		}
		c.At(at, "partition", func() { c.Partition(a, b) })
		c.At(at+lasts, "heal", c.Heal)
	}
	c.At(until+time.Second, "heal", c.Heal)
	c.At(until+time.Second, "restart everyone", func() {
		for _, id := range down {
			c.Restart(id)
		}
		down = nil
	})
}
