package sim_test

import (
	"encoding/json"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/distlings/distlings/labs/internal/sim"
)

// churn is a schedule with every kind of timed fault.
var churn = sim.Faults{Every: 300 * time.Millisecond, MinDown: 50 * time.Millisecond, MaxDown: 600 * time.Millisecond,
	Crashes: true, Partitions: true, Cuts: true}

var faulty = sim.Network{MinLatency: time.Millisecond, MaxLatency: 20 * time.Millisecond,
	Loss: 0.05, Duplicate: 0.03, Reorder: 0.03}

// faultyRun runs pingers with random faults, or, if planned is not nil,
// with those faults only.
func faultyRun(seed uint64, planned []sim.Fault, d time.Duration) *sim.World {
	w := sim.NewWorld(sim.Config{Nodes: 5, Seed: seed, Network: faulty}, newPinger(50*time.Millisecond))
	if planned != nil {
		w.ReplayFaults(planned)
	}
	w.ScheduleFaults(churn)
	if err := w.RunFor(d); err != nil {
		panic(err)
	}
	return w
}

func kinds(faults []sim.Fault) map[sim.FaultKind]int {
	m := map[sim.FaultKind]int{}
	for _, f := range faults {
		m[f.Kind]++
	}
	return m
}

func TestARunsOwnFaultsReplayedGiveTheSameRunEventForEvent(t *testing.T) {
	random := faultyRun(7, nil, 10*time.Second)
	faults := random.Faults()
	for _, k := range []sim.FaultKind{sim.FaultCrash, sim.FaultPartition, sim.FaultCut, sim.FaultLoss, sim.FaultDuplicate, sim.FaultDelay} {
		require.Positive(t, kinds(faults)[k], "a run long enough to have every kind of fault, %v among them", k)
	}
	again := faultyRun(7, nil, 10*time.Second)
	assert.Equal(t, random.Trace().Hash(), again.Trace().Hash(), "one seed, one run, faults and all")

	replayed := faultyRun(7, faults, 10*time.Second)
	assert.Equal(t, random.Trace().Count(), replayed.Trace().Count())
	assert.Equal(t, random.Trace().Hash(), replayed.Trace().Hash(),
		"a run replayed with exactly the faults it had is the same run, event for event")
	assert.Equal(t, len(faults), len(replayed.Faults()))
}

func TestNoFaultsPlannedMeansNone(t *testing.T) {
	w := faultyRun(7, []sim.Fault{}, 5*time.Second)
	assert.Empty(t, w.Faults(), "a run replayed with no faults has none: no crash, partition, cut, loss, duplicate or delay")
	for _, r := range w.Trace().Records() {
		require.NotContains(t, []sim.Kind{sim.KindCrash, sim.KindDrop, sim.KindDuplicate}, r.Kind, "%v", r)
	}
}

// TestTakingOutAFaultLeavesTheOthersAsTheyWere is what shrinking rests on:
// a fault is decided by the seed and its own place (its link and number,
// or its ScheduleFaults call and turn), never by the faults before it.
func TestTakingOutAFaultLeavesTheOthersAsTheyWere(t *testing.T) {
	all := faultyRun(11, nil, 6*time.Second).Faults()
	var timed []sim.Fault
	for _, f := range all {
		if f.Kind == sim.FaultCrash || f.Kind == sim.FaultPartition || f.Kind == sim.FaultCut {
			timed = append(timed, f)
		}
	}
	require.GreaterOrEqual(t, len(timed), 6)
	// Only the timed faults, less the first crash: the run differs from
	// there on, and every other timed fault still starts as drawn.
	first := slices.IndexFunc(timed, func(f sim.Fault) bool { return f.Kind == sim.FaultCrash })
	require.GreaterOrEqual(t, first, 0)
	rest := slices.Delete(slices.Clone(timed), first, first+1)
	got := faultyRun(11, rest, 6*time.Second).Faults()
	strip := func(fs []sim.Fault) []sim.Fault {
		out := make([]sim.Fault, len(fs))
		for i, f := range fs {
			f.Message = nil
			out[i] = f
		}
		return out
	}
	assert.Equal(t, strip(rest), strip(got), "with one fault taken out, the others start at the same times, on the same nodes, for as long")

	// And a message's fate does not hang on other messages: with no timed
	// faults at all, each message fault of the first run that strikes the
	// same message (same link and number, same send time) is still there.
	var messages []sim.Fault
	for _, f := range all {
		if f.Kind == sim.FaultLoss || f.Kind == sim.FaultDuplicate || f.Kind == sim.FaultDelay {
			messages = append(messages, f)
		}
	}
	fewer := faultyRun(11, messages[:len(messages)/2], 6*time.Second).Faults()
	for _, f := range fewer {
		require.True(t, f.Kind == sim.FaultLoss || f.Kind == sim.FaultDuplicate || f.Kind == sim.FaultDelay)
	}
	require.NotEmpty(t, fewer)
	assert.LessOrEqual(t, len(fewer), len(messages)/2, "only planned faults happen")
}

func TestMessageFatesDoNotDependOnOtherTraffic(t *testing.T) {
	// The same seed, with one more node sending on other links: the
	// messages between n1 and n2 meet the same fates.
	fates := func(nodes int) map[[3]int]sim.Kind {
		w := sim.NewWorld(sim.Config{Nodes: nodes, Seed: 3, Network: faulty}, newPinger(20*time.Millisecond))
		require.NoError(t, w.RunFor(3*time.Second))
		m := map[[3]int]sim.Kind{}
		for _, r := range w.Trace().Records() {
			if (r.Kind == sim.KindDrop || r.Kind == sim.KindDuplicate) && r.Node <= 2 && r.Peer <= 2 {
				m[[3]int{int(r.Node), int(r.Peer), int(r.N)}] = r.Kind
			}
		}
		return m
	}
	three, five := fates(3), fates(5)
	require.NotEmpty(t, three)
	assert.Equal(t, three, five)
}

func TestAFaultsFileRoundTripsAndRejectsNonsense(t *testing.T) {
	w := faultyRun(5, nil, 4*time.Second)
	ff := sim.FaultsFile{Test: "TestX/seed_5", Seed: 5, Faults: map[int][]sim.Fault{0: w.Faults()}}
	data, err := json.Marshal(ff)
	require.NoError(t, err)
	assert.Contains(t, string(data), `"what":`, "each fault says what it is, in words")
	var back sim.FaultsFile
	require.NoError(t, json.Unmarshal(data, &back))
	replayed := faultyRun(5, back.Faults[0], 4*time.Second)
	assert.Equal(t, w.Trace().Hash(), replayed.Trace().Hash(), "a run replayed from its faults file is the same run")

	for _, bad := range []string{
		`{"test":"TestX","seed":5,"faults":[{"kind":"meteor","at":"1s"}]}`,
		`{"test":"TestX","seed":5,"faults":[{"kind":"loss","at":"1s","node":1}]}`,
		`{"test":"TestX","seed":5,"faults":[{"kind":"crash","at":"soon","node":1}]}`,
		`{"seed":5,"faults":[]}`,
	} {
		assert.Error(t, json.Unmarshal([]byte(bad), &back), bad)
	}
}

func TestStateChangesAreInTheTrace(t *testing.T) {
	w := sim.NewWorld(sim.Config{Nodes: 3, Seed: 1}, newPinger(100*time.Millisecond))
	w.TrackState(func(id sim.NodeID) sim.State {
		return sim.State{Role: "pinger", Term: uint64(pingerOf(w, id).round / 5)}
	})
	require.NoError(t, w.RunFor(time.Second))
	var states []string
	for _, r := range w.Trace().Records() {
		if r.Kind == sim.KindState && r.Node == 1 {
			states = append(states, r.Msg.(sim.State).String())
		}
	}
	assert.Equal(t, []string{"pinger", "pinger, term 1", "pinger, term 2"}, states, "a state is recorded when it changes, not after every event")
}

// drawsOnPing runs two pingers, n2 drawing a random number (an election
// timeout, say) on every ping it gets, with only the planned faults, and
// returns n2's draws by the time it made them.
func drawsOnPing(planned []sim.Fault) map[time.Duration]int64 {
	draws := map[time.Duration]int64{}
	w := sim.NewWorld(sim.Config{Nodes: 2, Seed: 5, Network: sim.Network{MinLatency: time.Millisecond, MaxLatency: 5 * time.Millisecond}},
		func(id sim.NodeID) sim.Node {
			p := &pinger{period: 50 * time.Millisecond}
			if id == 2 {
				p.onPing = func(p *pinger, _ sim.NodeID, _ Ping) { draws[p.env.Now()] = p.env.Rand().Int64N(1000) }
			}
			return p
		})
	w.ReplayFaults(planned)
	if err := w.RunFor(time.Second); err != nil {
		panic(err)
	}
	return draws
}

func TestAMessageLostToNoEffectChangesNoLaterDraw(t *testing.T) {
	all := drawsOnPing([]sim.Fault{})
	lost := drawsOnPing([]sim.Fault{{Kind: sim.FaultLoss, Node: 1, Peer: 2, N: 5}})
	require.Len(t, lost, len(all)-1, "one ping fewer reached n2")
	for at, d := range lost {
		assert.Equal(t, all[at], d, "n2's draw at %v: a node's draws hang on when it draws, not on how often it drew before, so a fault it shrugs off can be shrunk away", at)
	}
}
