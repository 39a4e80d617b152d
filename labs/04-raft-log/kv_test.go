package raftlog

// Part 5: a linearizable key-value store on top of the log.

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/distlings/distlings/labs/internal/nodetest"
	"github.com/distlings/distlings/labs/internal/sim"
)

// aServer is server n1 of 3, started on a fake Env, for the tests of its
// service side alone.
func aServer(t *testing.T) *Server {
	t.Helper()
	s := NewServers(testCfg, 3)(1).(*Server)
	s.Start(nodetest.NewEnv(1, 4, 7))
	return s
}

func command(client sim.NodeID, seq int, op Op) []byte {
	return EncodeCommand(Command{Client: client, Seq: seq, Op: op})
}

// Reference: §8, "clients of Raft"; the store's own operations.
func TestTheStoreAppliesPutsAppendsAndGets(t *testing.T) {
	s := aServer(t)
	steps := []struct {
		op   Op
		want string
	}{
		{Op{Kind: Put, Key: "a", Value: "1"}, "1"},
		{Op{Kind: Append, Key: "a", Value: "2"}, "12"},
		{Op{Kind: Get, Key: "a"}, "12"},
		{Op{Kind: Append, Key: "b", Value: "x"}, "x"},
	}
	for i, st := range steps {
		s.Apply(ApplyMsg{Index: uint64(i + 1), Term: 1, Command: command(9, i+1, st.op)})
		require.Equal(t, st.want, s.Value(st.op.Key), lesson(fmt.Sprintf("after applying %v, the server's copy of %q", st.op, st.op.Key),
			"a put sets the value, an append adds to its end, a get changes nothing; a key never set holds \"\""))
	}
}

// Reference: lab 01; 6.5840's lab 4, "duplicate detection".
func TestARetriedRequestIsAppliedOnce(t *testing.T) {
	s := aServer(t)
	x := command(9, 1, Op{Kind: Append, Key: "k", Value: "x;"})
	s.Apply(ApplyMsg{Index: 1, Term: 1, Command: x})
	s.Apply(ApplyMsg{Index: 2, Term: 2, Command: x}) // the retry, proposed again by a new leader
	require.Equal(t, "x;", s.Value("k"), lesson(
		"clerk n9's append(k, x;) #1 was committed twice, at index 1 and, retried through a new leader, at index 2; the server's copy of k",
		"a request is applied once, however many times it is committed: a retry of a request already applied changes nothing (lab 01's rule, with the log as the servers' only shared memory)"))
	s.Apply(ApplyMsg{Index: 3, Term: 2, Command: command(9, 2, Op{Kind: Append, Key: "k", Value: "y;"})})
	s.Apply(ApplyMsg{Index: 4, Term: 2, Command: x}) // a late copy of #1
	require.Equal(t, "x;y;", s.Value("k"), lesson(
		"after n9's #1 (x;) and #2 (y;), a late copy of #1 was committed; the server's copy of k",
		"a request older than one the clerk has since made is old news: applying it now would apply it twice, and out of order"))
}

// Reference: §7 and §8: a snapshot holds the whole state, the record of
// applied requests included.
func TestTheTableOfLastRequestsIsPartOfTheSnapshot(t *testing.T) {
	s := aServer(t)
	x := command(9, 1, Op{Kind: Append, Key: "k", Value: "x;"})
	s.Apply(ApplyMsg{Index: 1, Term: 1, Command: x})
	snap := s.Snapshot()
	restored := aServer(t)
	restored.Restore(snap)
	require.Equal(t, "x;", restored.Value("k"), "a server restored from another's snapshot holds the same data")
	restored.Apply(ApplyMsg{Index: 2, Term: 2, Command: x})
	require.Equal(t, "x;", restored.Value("k"), lesson(
		"a server restored from a snapshot taken after n9's append(k, x;) #1 then applied a retry of #1; its copy of k",
		"a snapshot stands for every entry up to its index, in all that they did: a server restored from it must treat a retry the way the server that took the snapshot would have"))
}

// leadingServer is server n1 of 3 on a fake Env, elected leader of term 1.
func leadingServer(t *testing.T) (*Server, *nodetest.Env) {
	t.Helper()
	s := aServer(t)
	env := s.env.(*nodetest.Env)
	p, _ := env.TimerLike(electionTimeout{})
	env.Fire(p)
	s.HandleTimer(p.Value)
	s.HandleMessage(2, RequestVoteReply{Term: 1, VoteGranted: true})
	require.Equal(t, Leader, s.Raft().Role(), "setting up: server n1 leads term 1")
	env.Take()
	return s, env
}

// answers returns the ClientReplies a server sent clerk n9.
func answers(env *nodetest.Env) []ClientReply {
	var out []ClientReply
	for _, m := range nodetest.Sent(env.Take())[9] {
		if r, ok := m.(ClientReply); ok {
			out = append(out, r)
		}
	}
	return out
}

// Reference: 6.5840's lab 4, "a leader that loses leadership".
func TestAnAnswerIsForTheRequestThatWasCommitted(t *testing.T) {
	req := ClientRequest{Client: 9, Seq: 5, Op: Op{Kind: Put, Key: "k", Value: "five"}}

	s, env := leadingServer(t)
	s.HandleMessage(9, req)
	env.Take()
	s.Apply(ApplyMsg{Index: 1, Term: 1, Command: command(9, 5, req.Op)})
	got := answers(env)
	require.True(t, len(got) == 1 && got[0].Seq == 5 && !got[0].WrongLeader, lesson(
		fmt.Sprintf("server n1, the leader, took %v, and the entry at the index it was proposed at was committed and applied; n1 answered clerk n9 %v", req, got),
		"once a request's entry is applied, the server that took it tells the clerk it is done"))

	s, env = leadingServer(t)
	s.HandleMessage(9, req)
	env.Take()
	// n1 is deposed; the new leader commits, at the index n1 gave #5, a
	// late copy of the clerk's #4.
	s.Apply(ApplyMsg{Index: 1, Term: 2, Command: command(9, 4, Op{Kind: Put, Key: "k", Value: "four"})})
	for _, r := range answers(env) {
		if r.Seq == 5 && !r.WrongLeader {
			require.Fail(t, lesson(
				fmt.Sprintf("server n1 took %v, and the index it gave it was then committed with the same clerk's request #4; n1 answered %v", req, r),
				"an answer is for the request that was committed: the entry at the index must be this very request, the same clerk and the same Seq. Otherwise the request was lost, and the clerk must try again"))
		}
	}
}

// Clerks on a network that loses, duplicates and reorders see one store.
func TestClerksSeeOneStore(t *testing.T) {
	sweep(t, func(t testing.TB, seed uint64) {
		c := newKVCluster(t, 5, 3, seed, faulty, testCfg)
		c.workload(12)
		c.finish(12, 30*time.Second)
		c.check()
	})
}

// Many retries: requests and answers are lost one time in five.
func TestRetriesOnALossyNetworkAreAppliedOnce(t *testing.T) {
	lossy := sim.Network{MinLatency: time.Millisecond, MaxLatency: 10 * time.Millisecond, Loss: 0.2, Duplicate: 0.05, Reorder: 0.05}
	sweep(t, func(t testing.TB, seed uint64) {
		c := newKVCluster(t, 3, 3, seed, lossy, testCfg)
		c.workload(12)
		c.finish(12, 60*time.Second)
		c.check()
	})
}

// Servers crash, restart and are cut off while clerks keep going; 6.5840's
// TestPersistPartitionUnreliable.
func TestTheStoreStaysLinearizableThroughCrashesAndPartitions(t *testing.T) {
	sweep(t, func(t testing.TB, seed uint64) {
		c := newKVCluster(t, 5, 4, seed, faulty, testCfg)
		c.serverFaults(4 * time.Second)
		c.workload(15)
		c.finish(15, 60*time.Second)
		c.check()
	})
}

// The same with snapshots every few entries; 6.5840's
// TestSnapshotUnreliableRecover.
func TestSnapshotsKeepTheStoreLinearizable(t *testing.T) {
	cfg := testCfg
	cfg.SnapshotEvery = 8
	sweep(t, func(t testing.TB, seed uint64) {
		c := newKVCluster(t, 5, 4, seed, faulty, cfg)
		c.serverFaults(4 * time.Second)
		c.workload(15)
		c.finish(15, 60*time.Second)
		c.check()
	})
}

// A leader cut off with a clerk must not answer its reads from its own
// copy: the others may have elected a new leader and taken writes.
func TestADeposedLeaderDoesNotServeStaleReads(t *testing.T) {
	sweep(t, func(t testing.TB, seed uint64) {
		c := newKVCluster(t, 5, 2, seed, sim.Network{}, testCfg)
		a, b := sim.NodeID(6), sim.NodeID(7)
		c.do(a, Op{Kind: Put, Key: "k", Value: "old"}, nil)
		c.RunUntil("clerk n6's put of old", 10*time.Second, func() bool { return c.finished[a] == 1 })
		var leader sim.NodeID
		for _, id := range c.serverIDs() {
			if s := c.server(id); s.Raft().Role() == Leader {
				leader = id
			}
		}
		require.NotZero(t, leader, "setting up: a leader after a clerk's put")
		var others []sim.NodeID
		for _, id := range c.serverIDs() {
			if id != leader {
				others = append(others, id)
			}
		}
		c.Partition([]sim.NodeID{leader, a}, append(others, b))
		done := map[sim.NodeID]bool{}
		c.do(b, Op{Kind: Put, Key: "k", Value: "new"}, func(string) { done[b] = true })
		c.RunUntil("the majority's put of new", 10*time.Second, func() bool { return done[b] })
		got := ""
		c.do(a, Op{Kind: Get, Key: "k"}, func(v string) { got, done[a] = v, true })
		c.Run(500 * time.Millisecond)
		c.Heal()
		c.RunUntil("clerk n6's get, once the network healed", 20*time.Second, func() bool { return done[a] })
		if got != "new" {
			c.Fatal(fmt.Errorf("clerk n6 was cut off with %v, the leader, while the other four servers elected a new leader and took put(k, new) from clerk n7; n6's get(k), sent after that put was done, returned %q\nrule: a clerk is told only what the store held at some instant between its call and its answer. A leader cut off may have been deposed without knowing it, so its own copy may be stale; and an answer must be for this very request, not for whatever took its place in the log (§8)",
				leader, got))
		}
		c.check()
	})
}

// Every server crashes at once while clerks wait, and all restart;
// 6.5840's TestPersistConcurrent and TestSnapshotRecover.
func TestTheStoreSurvivesEveryServerRestarting(t *testing.T) {
	for _, every := range []int{0, 8} {
		cfg := testCfg
		cfg.SnapshotEvery = every
		t.Run(fmt.Sprintf("SnapshotEvery %d", every), func(t *testing.T) {
			sweep(t, func(t testing.TB, seed uint64) {
				c := newKVCluster(t, 3, 3, seed, faulty, cfg)
				c.workload(20)
				for at := 300 * time.Millisecond; at < 2*time.Second; at += 500 * time.Millisecond {
					c.At(at, "every server crashes", func() {
						for _, id := range c.serverIDs() {
							c.Crash(id)
						}
					})
					c.At(at+50*time.Millisecond, "every server restarts", func() {
						for _, id := range c.serverIDs() {
							c.Restart(id)
						}
					})
				}
				c.finish(20, 60*time.Second)
				c.check()
			})
		})
	}
}
