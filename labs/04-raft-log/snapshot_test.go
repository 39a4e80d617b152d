package raftlog

// Part 4: snapshots. The service's state stands in for the log up to a
// point; the log before it is dropped, and a node that needs what was
// dropped gets the snapshot instead.

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/distlings/distlings/labs/internal/nodetest"
	"github.com/distlings/distlings/labs/internal/sim"
)

// notes is the service of the snapshot rule tests: its state is every
// command it has applied, in order, and a snapshot is that list.
type notes struct {
	cmds      []string
	snapshots int      // how many times Snapshot was called
	restored  []string // the states it was told to restore, in order
}

func (s *notes) Apply(m ApplyMsg) { s.cmds = append(s.cmds, string(m.Command)) }
func (s *notes) Snapshot() []byte {
	s.snapshots++
	data, _ := json.Marshal(s.cmds)
	return data
}
func (s *notes) Restore(data []byte) {
	s.cmds = nil
	if err := json.Unmarshal(data, &s.cmds); err != nil {
		s.cmds = []string{"<not a snapshot: " + err.Error() + ">"}
	}
	s.restored = append(s.restored, strings.Join(s.cmds, " "))
}

func (s *notes) String() string {
	if len(s.cmds) == 0 {
		return "nothing"
	}
	return strings.Join(s.cmds, " ")
}

// snapCfg takes a snapshot every 5 applied entries.
var snapCfg = func() Config { c := testCfg; c.SnapshotEvery = 5; return c }()

// snapOne is a node under test whose service is a notes.
type snapOne struct {
	*one
	svc *notes
}

func newSnapOne(t *testing.T, id sim.NodeID, size int) *snapOne {
	t.Helper()
	o := &snapOne{one: &one{t: t, env: nodetest.NewEnv(id, size, 7)}}
	o.boot()
	return o
}

// boot starts a fresh node with a fresh service on the same storage.
func (o *snapOne) boot() {
	o.t.Helper()
	o.env.Reboot()
	o.svc = &notes{}
	o.node = NewNode(snapCfg, o.svc)
	o.guard("in Start", func() { o.node.Start(o.env) })
	o.env.Take()
}

// cmds names the commands of entries first to last made by ents.
func cmds(first, last uint64, term uint64) string {
	var out []string
	for i := first; i <= last; i++ {
		out = append(out, fmt.Sprintf("cmd%d.t%d", i, term))
	}
	return strings.Join(out, " ")
}

// storedLog is what the node has in storage: snapshot index and log.
func storedLog(o *one) (Snapshot, []Entry) {
	return LoadSnapshot(o.env.Storage()), LoadLog(o.env.Storage())
}

// Reference: §7, "each server takes snapshots independently, covering
// just the committed entries in its log".
func TestNodeSnapshotsAndDropsTheLogBeforeIt(t *testing.T) {
	n1 := newSnapOne(t, 1, 3)
	n1.deliver(2, AppendEntries{Term: 1, Leader: 2, Entries: termsRun(1, 1, 12), LeaderCommit: 12})
	require.Equal(t, cmds(1, 12, 1), n1.svc.String(), "setting up: the follower applied the 12 committed entries")
	snap, stored := storedLog(n1.one)
	var appliedInLog []uint64
	for _, e := range n1.node.LogEntries() {
		if e.Index <= n1.node.LastApplied() {
			appliedInLog = append(appliedInLog, e.Index)
		}
	}
	require.True(t, n1.svc.snapshots > 0 && snap.Index >= 8 && len(appliedInLog) < 5, lesson(
		fmt.Sprintf("with SnapshotEvery 5, a follower applied 12 entries; it asked its service for %d snapshots, has a snapshot up to index %d in storage, and still holds applied entries %v in its log", n1.svc.snapshots, snap.Index, appliedInLog),
		"once SnapshotEvery entries have been applied since the last snapshot, the node takes one from its service (Snapshot()) as of the last applied entry, saves it (SaveSnapshot), and drops the entries it covers: the log then holds fewer than SnapshotEvery applied entries (§7)"))
	var kept []uint64
	for _, e := range stored {
		if e.Index <= snap.Index {
			kept = append(kept, e.Index)
		}
	}
	require.Empty(t, kept, lesson(
		fmt.Sprintf("the follower's snapshot covers up to index %d, and the log it saved still holds entries %v", snap.Index, kept),
		"storage stays bounded only if the saved log drops what the snapshot covers, too"))
	var state []string
	require.NoError(t, json.Unmarshal(snap.Data, &state), "the snapshot's Data is what the service's Snapshot returned")
	require.Equal(t, cmds(1, snap.Index, 1), strings.Join(state, " "), lesson(
		fmt.Sprintf("the snapshot up to index %d holds the service's state of another moment", snap.Index),
		"a snapshot is the service's state right after applying its last entry: take it when lastApplied is its Index"))
}

// Reference: §7, InstallSnapshot: "the leader must occasionally send
// snapshots to followers that lag behind".
func TestLeaderSendsItsSnapshotToAFollowerThatNeedsWhatItDropped(t *testing.T) {
	n1 := newSnapOne(t, 1, 3)
	n1.makeLeader()
	for i := range 12 {
		n1.propose(fmt.Sprintf("c%d", i+1))
	}
	n1.deliver(2, AppendEntriesReply{Term: 1, Success: true, Index: 12})
	snap, _ := storedLog(n1.one)
	require.True(t, snap.Index > 0, "setting up: the leader of 3 nodes committed 12 entries with SnapshotEvery 5, and has no snapshot in storage (LoadSnapshot says index %d)", snap.Index)
	var sent []nodetest.Did
	got := InstallSnapshot{}
	for range 3 {
		log := n1.fire(heartbeatTick{})
		sent = append(sent, log...)
		for _, m := range nodetest.Sent(log)[3] {
			switch m := m.(type) {
			case InstallSnapshot:
				got = m
			case AppendEntries:
				sent = append(sent, n1.deliver(3, AppendEntriesReply{Term: 1, Index: m.PrevLogIndex, ConflictIndex: 1})...)
			}
		}
		if got.LastIncludedIndex != 0 {
			break
		}
	}
	require.True(t, got.LastIncludedIndex == snap.Index && got.LastIncludedTerm == snap.Term && string(got.Data) == string(snap.Data), lesson(
		fmt.Sprintf("the leader has dropped entries up to %d into its snapshot; n3, with an empty log, refused its AppendEntries (ConflictIndex 1), and over three heartbeats the leader sent it: %s", snap.Index, nodetest.List(nodetest.Sent(sent)[3])),
		"a follower that needs entries the leader has dropped gets the leader's snapshot instead: InstallSnapshot with the snapshot's last index, its term and its data (§7)"))
}

// Reference: §7, InstallSnapshot receiver rules 6–8.
func TestFollowerInstallsASnapshotAndKeepsTheEntriesAfterIt(t *testing.T) {
	for _, tc := range []struct {
		name     string
		snapTerm uint64
		want     []Entry
		why      string
	}{
		{"the snapshot's last entry is in the log", 1, termsRun(11, 1, 5), "entries after the snapshot's last one stay: it matches, so they still follow it"},
		{"the snapshot's last entry conflicts", 2, nil, "the log's entry at the snapshot's last index is of another term, so nothing after it can be trusted: the log goes"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n1 := newSnapOne(t, 1, 3)
			n1.follow(2, 1, termsRun(1, 1, 15)...)
			data, _ := json.Marshal(strings.Fields(cmds(1, 10, tc.snapTerm)))
			msg := InstallSnapshot{Term: 2, Leader: 3, LastIncludedIndex: 10, LastIncludedTerm: tc.snapTerm, Data: data}
			log := n1.deliver(3, msg)
			require.Equal(t, cmds(1, 10, tc.snapTerm), n1.svc.String(), lesson(
				fmt.Sprintf("a follower with 15 entries, none committed, was sent %v; its service's state is then", msg),
				"a follower installs a snapshot newer than what it has committed: its service restores from the snapshot's data (Restore), and the node's commit and applied index become the snapshot's last index (§7)"))
			require.True(t, n1.node.LastApplied() == 10 && n1.node.CommitIndex() == 10, "after installing a snapshot up to 10, LastApplied is %d and CommitIndex %d, want 10 and 10", n1.node.LastApplied(), n1.node.CommitIndex())
			got := n1.node.LogEntries()
			require.True(t, sameLog(got, tc.want), lesson(
				fmt.Sprintf("a follower with log [1..15 of term 1] installed a snapshot up to 10:t%d; its log after the snapshot is %s, want %s", tc.snapTerm, showLogShort(got), showLogShort(tc.want)),
				tc.why+" (§7, InstallSnapshot receiver rules 6–7)"))
			r := nodetest.Sent(log)[3]
			require.True(t, len(r) == 1 && r[0] == sim.Message(InstallSnapshotReply{Term: 2, Index: 10}), "the follower answered %s, want InstallSnapshotReply{term 2, up to 10}", nodetest.List(r))
		})
	}
}

// Reference: §7; a late or duplicated InstallSnapshot.
func TestFollowerIgnoresASnapshotOlderThanWhatItCommitted(t *testing.T) {
	n1 := newSnapOne(t, 1, 3)
	n1.deliver(2, AppendEntries{Term: 1, Leader: 2, Entries: termsRun(1, 1, 17), LeaderCommit: 12})
	n1.deliver(2, AppendEntries{Term: 1, Leader: 2, PrevLogIndex: 17, PrevLogTerm: 1, LeaderCommit: 16})
	// With SnapshotEvery 5, a snapshot covers 12 or 15 here, whenever after
	// each apply the node checks: never 16.
	snap, _ := storedLog(n1.one)
	require.True(t, n1.node.LastApplied() == 16 && snap.Index > 0 && snap.Index < 16, "setting up: with SnapshotEvery 5, a follower that has applied 16 entries has a snapshot covering fewer (here: snapshot up to %d, applied %d)", snap.Index, n1.node.LastApplied())
	before := n1.svc.String()
	data, _ := json.Marshal(strings.Fields(cmds(1, 16, 1)))
	msg := InstallSnapshot{Term: 1, Leader: 2, LastIncludedIndex: 16, LastIncludedTerm: 1, Data: data}
	log := n1.deliver(2, msg)
	require.True(t, n1.svc.String() == before && n1.node.LastApplied() == 16 && n1.svc.snapshots >= 1 && len(n1.svc.restored) == 0, lesson(
		fmt.Sprintf("a follower with a snapshot up to %d, that had applied up to 16, was sent a late %v; its service was restored %d times, and LastApplied is %d", snap.Index, msg, len(n1.svc.restored), n1.node.LastApplied()),
		"a snapshot that covers no more than what the follower has committed is old news, even if it is newer than the follower's own snapshot: installing it would undo or redo entries already applied"))
	r := nodetest.Sent(log)[2]
	require.True(t, len(r) == 1 && r[0] == sim.Message(InstallSnapshotReply{Term: 1, Index: 16}), lesson(
		fmt.Sprintf("the follower answered the old snapshot with %s", nodetest.List(r)),
		"old news still gets an answer, InstallSnapshotReply with its index: the leader may have missed the first answer, and without one it sends the snapshot again at every heartbeat"))

	// And a late snapshot of fewer entries than the follower's own.
	older, _ := json.Marshal(strings.Fields(cmds(1, 8, 1)))
	n1.deliver(2, InstallSnapshot{Term: 1, Leader: 2, LastIncludedIndex: 8, LastIncludedTerm: 1, Data: older})
	require.True(t, n1.svc.String() == before && n1.node.LastApplied() == 16, lesson(
		fmt.Sprintf("the follower, at 16, was then sent a snapshot up to 8; its service holds %q and LastApplied is %d", n1.svc.String(), n1.node.LastApplied()),
		"a snapshot older than what the follower has applied never rolls its service back"))
}

// Reference: §7; a follower whose snapshot covers the start of a request.
func TestFollowerTakesAnAppendEntriesThatStartsInsideItsSnapshot(t *testing.T) {
	n1 := newSnapOne(t, 1, 3)
	n1.deliver(2, AppendEntries{Term: 1, Leader: 2, Entries: termsRun(1, 1, 12), LeaderCommit: 12})
	snap, _ := storedLog(n1.one)
	require.True(t, snap.Index > 5, "setting up: the follower snapshots after applying 12 entries (snapshot up to %d)", snap.Index)
	msg := AppendEntries{Term: 1, Leader: 2, PrevLogIndex: 5, PrevLogTerm: 1, Entries: termsRun(6, 1, 10), LeaderCommit: 12}
	log := n1.deliver(2, msg)
	r := replies(log, 2)
	require.True(t, len(r) == 1 && r[0].Success && r[0].Index == 15, lesson(
		fmt.Sprintf("a follower with a snapshot up to %d was sent %v, a late copy, and answered %s", snap.Index, msg, nodetest.List(nodetest.Sent(log)[2])),
		"entries a snapshot covers are committed, so they match the leader's: a follower checks the request from the end of its snapshot on, takes what follows, and answers Index 15"))
	last, _ := n1.node.lastLog()
	require.Equal(t, 15, int(last), "the follower's last index after taking entries up to 15")
}

// Reference: §7; a restart begins from the snapshot.
func TestARestartBeginsFromTheSnapshot(t *testing.T) {
	n1 := newSnapOne(t, 1, 3)
	n1.deliver(2, AppendEntries{Term: 1, Leader: 2, Entries: termsRun(1, 1, 14), LeaderCommit: 12})
	snap, _ := storedLog(n1.one)
	require.True(t, snap.Index > 0, "setting up: a snapshot in storage after applying 12 entries with SnapshotEvery 5")
	n1.boot()
	require.Equal(t, cmds(1, snap.Index, 1), n1.svc.String(), lesson(
		fmt.Sprintf("a follower with a snapshot up to %d crashed; after the restart its fresh service holds", snap.Index),
		"a node starting again hands its snapshot to its service (Restore): what the snapshot covers is applied, and is not applied again"))
	require.True(t, n1.node.CommitIndex() == snap.Index && n1.node.LastApplied() == snap.Index, lesson(
		fmt.Sprintf("after a restart from a snapshot up to %d, CommitIndex is %d and LastApplied %d", snap.Index, n1.node.CommitIndex(), n1.node.LastApplied()),
		"what a snapshot covers is committed: a node that starts from one knows it has committed and applied up to its index"))
	old, _ := json.Marshal(strings.Fields(cmds(1, 8, 1)))
	n1.deliver(2, InstallSnapshot{Term: 1, Leader: 2, LastIncludedIndex: 8, LastIncludedTerm: 1, Data: old})
	last, _ := n1.node.lastLog()
	require.Equal(t, 14, int(last), lesson(
		fmt.Sprintf("after its restart from a snapshot up to %d, with entries up to 14 that it had told the leader it held, the follower was sent a late snapshot up to 8; its log now ends at", snap.Index),
		"an old snapshot changes nothing: the follower keeps every entry it holds"))
	n1.deliver(2, AppendEntries{Term: 1, Leader: 2, PrevLogIndex: 14, PrevLogTerm: 1, LeaderCommit: 14})
	require.Equal(t, cmds(1, 14, 1), n1.svc.String(), lesson(
		"after its restart and an AppendEntries with LeaderCommit 14, the service holds",
		"after the snapshot, the node applies the entries that follow it, once each, in order"))
}

// Reference: §7, "a crash between the two can never lose or duplicate".
func TestACrashWhileTakingASnapshotLosesNothing(t *testing.T) {
	for _, committed := range []uint64{7, 5} {
		for k := 1; k <= 6; k++ {
			n1 := newSnapOne(t, 1, 3)
			n1.follow(2, 1, termsRun(1, 1, 7)...) // answered: the leader counts them
			commit := AppendEntries{Term: 1, Leader: 2, PrevLogIndex: 7, PrevLogTerm: 1, LeaderCommit: committed}
			n1.env.CrashAfterWrites(k)
			n1.deliver(2, commit)
			if !n1.env.Down() {
				break // fewer than k writes: every crash point was tried
			}
			n1.boot()
			snap, log := storedLog(n1.one)
			held := fmt.Sprintf("a snapshot up to %d and a saved log of %s", snap.Index, showLogShort(log))
			all := AppendEntries{Term: 1, Leader: 2, PrevLogIndex: 7, PrevLogTerm: 1, LeaderCommit: 7}
			r := replies(n1.deliver(2, all), 2)
			require.True(t, len(r) == 1 && r[0].Success, lesson(
				fmt.Sprintf("a follower holding 7 entries, which it had told the leader it held, was told %d of them were committed, and crashed after write number %d of its snapshot; it restarted with %s, and refused %v", committed, k, held, all),
				"save a snapshot so that a crash between any two writes leaves everything the node had: the snapshot first, then the log without what it covers. The other way round, a crash leaves the old snapshot and a log that no longer holds the entries between them, entries the leader has counted"))
			require.Equal(t, cmds(1, 7, 1), n1.svc.String(), lesson(
				fmt.Sprintf("after a crash at write number %d of its snapshot (%d of 7 entries committed) and a restart with %s, the follower was told that all 7 are committed; its service holds", k, committed, held),
				"each committed entry is in the service's state exactly once, in order: restored from the snapshot, or applied after it. Saved entries that the snapshot already covers are not the log after it"))
		}
	}
}

// Reference: §7; a follower that loses power right after it answered an
// InstallSnapshot.
func TestAFollowerThatCrashesRightAfterInstallingASnapshotStillHasIt(t *testing.T) {
	n1 := newSnapOne(t, 1, 3)
	n1.follow(2, 1, termsRun(1, 1, 3)...)
	data, _ := json.Marshal(strings.Fields(cmds(1, 10, 1)))
	msg := InstallSnapshot{Term: 1, Leader: 2, LastIncludedIndex: 10, LastIncludedTerm: 1, Data: data}
	n1.env.CrashOnSend()
	log := n1.deliver(2, msg)
	require.NotEmpty(t, nodetest.Sent(log)[2], "setting up: the follower answered %v", msg)
	n1.boot()
	require.Equal(t, cmds(1, 10, 1), n1.svc.String(), lesson(
		fmt.Sprintf("a follower installed %v, answered, and lost power the moment the answer left; after the restart its service holds", msg),
		"a follower saves a snapshot it installs before it answers: the leader takes the answer to mean the follower holds everything up to the snapshot's index, and never sends it those entries again"))
}

// Reference: §5.3 and §7: a refusal counts the entries a snapshot holds.
func TestARefusalCountsTheEntriesInTheSnapshot(t *testing.T) {
	n1 := newSnapOne(t, 1, 3)
	n1.deliver(2, AppendEntries{Term: 1, Leader: 2, Entries: termsRun(1, 1, 14), LeaderCommit: 12})
	snap, _ := storedLog(n1.one)
	require.True(t, snap.Index > 0, "setting up: a snapshot after applying 12 entries")
	msg := AppendEntries{Term: 1, Leader: 2, PrevLogIndex: 20, PrevLogTerm: 1}
	log := n1.deliver(2, msg)
	r := replies(log, 2)
	require.True(t, len(r) == 1 && !r[0].Success && r[0].ConflictTerm == 0 && r[0].ConflictIndex == 15, lesson(
		fmt.Sprintf("a follower with a snapshot up to %d and entries up to 14 was sent %v and answered %s, want ConflictTerm 0, ConflictIndex 15", snap.Index, msg, nodetest.List(nodetest.Sent(log)[2])),
		"the hint of a refusal counts from the start of the log, snapshot included: one past the last entry the follower holds, wherever its snapshot ends"))
}

// Storage stays bounded however long the cluster runs; 6.5840's
// TestSnapshotSize.
func TestStorageStaysBoundedWithSnapshots(t *testing.T) {
	cfg := testCfg
	cfg.SnapshotEvery = 20
	c := newClusterWith(t, 3, 0, sim.Network{}, cfg)
	payload := strings.Repeat("x", 100)
	for i := range 300 {
		c.one(fmt.Sprintf("%03d%s", i, payload), 3, 10*time.Second)
	}
	const limit = 20_000 // bytes: about 3 snapshot windows of entries; the whole log is 50 000
	for _, id := range c.IDs() {
		st := c.Storage(id)
		size := 0
		for _, key := range []string{hardStateKey, logKey, snapshotKey} {
			v, _ := st.Get(key)
			size += len(v)
		}
		if size > limit {
			c.Fatal(fmt.Errorf("after 300 commands of 100 bytes with SnapshotEvery 20, %v's storage holds %d bytes, over %d; its log holds %d entries after its snapshot\nrule: the snapshot stands for the log up to it: the node drops those entries from memory and from the log it saves (§7)",
				id, size, limit, len(c.node(id).LogEntries())))
		}
	}
}

// A follower cut off while the others commit and snapshot gets the
// leader's snapshot when it is back; 6.5840's TestSnapshotInstall.
func TestAFollowerFarBehindCatchesUpFromTheSnapshot(t *testing.T) {
	cfg := testCfg
	cfg.SnapshotEvery = 10
	sweep(t, func(t testing.TB, seed uint64) {
		c := newClusterWith(t, 5, seed, faulty, cfg)
		c.one("before", 5, 10*time.Second)
		leader, _ := c.leader()
		away := leader%5 + 1
		c.Partition([]sim.NodeID{away})
		for i := range 40 {
			c.one(fmt.Sprintf("while-%v-was-away-%d", away, i), 4, 10*time.Second)
		}
		c.Heal()
		c.one("after", 5, 10*time.Second)
		c.requireSameApplied()
	})
}

// Snapshots through crashes, restarts and partitions; 6.5840's
// TestSnapshotInstallCrash and TestSnapshotInstallUnreliable.
func TestSnapshotsThroughCrashesAndPartitions(t *testing.T) {
	cfg := testCfg
	cfg.SnapshotEvery = 7
	sweep(t, func(t testing.TB, seed uint64) {
		c := newClusterWith(t, 5, seed, faulty, cfg)
		const faultsUntil = 6 * time.Second
		c.ScheduleFaults(churn(faultsUntil))
		for i := range 30 {
			c.one(fmt.Sprintf("cmd-%d", i), 3, 20*time.Second)
		}
		c.settle(faultsUntil)
		c.one("final", 5, 20*time.Second)
		c.requireSameApplied()
	})
}

// Every node crashes at once, and every one restarts from its snapshot
// and log; 6.5840's TestSnapshotAllCrash and TestSnapshotInit.
func TestEveryNodeCrashesAndRestartsFromItsSnapshot(t *testing.T) {
	cfg := testCfg
	cfg.SnapshotEvery = 6
	sweep(t, func(t testing.TB, seed uint64) {
		c := newClusterWith(t, 3, seed, faulty, cfg)
		for round := range 4 {
			for i := range 8 {
				c.one(fmt.Sprintf("round-%d-%d", round, i), 3, 10*time.Second)
			}
			for _, id := range c.IDs() {
				c.Crash(id)
			}
			c.Run(100 * time.Millisecond)
			for _, id := range c.IDs() {
				c.Restart(id)
			}
		}
		c.one("final", 3, 10*time.Second)
		c.requireSameApplied()
	})
}
