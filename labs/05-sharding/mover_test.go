package sharding

// Part 6: moving a shard under live traffic.

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// movedShard is the shard the tests move, from group 1 to group 3.
const movedShard, movedFrom, movedTo = 0, 1, 3

// fill appends a few tokens to keys of every shard.
func fill(t *testing.T, st *store, tag string) {
	t.Helper()
	for s := range routingShards {
		for i, k := range keysOf(s, 3) {
			require.NoError(t, st.appendToken(k, fmt.Sprintf("%s-%d-%d", tag, s, i), 3*time.Second), lesson(
				fmt.Sprintf("a client writes to every shard (%s): a write to shard %d got no answer", tag, s),
				"whatever becomes of a move, done or given up, every shard is served when it returns: the group the map names holds the shard, not frozen"))
		}
	}
}

// moveDone checks the map and etcd after a move that returned nil.
func moveDone(t *testing.T, st *store, before Config, what string) {
	t.Helper()
	after := st.mustMap()
	require.Equal(t, movedTo, after.Shards[movedShard], lesson(fmt.Sprintf("%s: Move returned, and the map names group %d for shard %d", what, after.Shards[movedShard], movedShard),
		"when Move returns, the map names the new group"))
	want := slices.Clone(before.Shards)
	want[movedShard] = movedTo
	require.Equal(t, want, after.Shards, lesson(fmt.Sprintf("%s: the map's shards, configuration %d before and %d after", what, before.Num, after.Num),
		"a move changes the one shard it moves"))
	require.Equal(t, before.Num+1, after.Num, lesson(what+": the map's number", "every change to the map is a new configuration, numbered one more"))
	require.False(t, st.moveRecorded(), lesson(what+": Move returned, and a move is still recorded at MoveKey",
		"a finished move leaves no record: the next mover would take it for one to finish, and the next Move would wait for it"))
}

func TestAMoveHandsTheShardOver(t *testing.T) {
	st := newStore(t, 1, 2, 3)
	fill(t, st, "before the move")
	before := st.mustMap()
	require.NoError(t, st.move(&crasher{}, movedShard, movedTo), fmt.Sprintf("Move(shard %d, to group %d)", movedShard, movedTo))
	what := fmt.Sprintf("shard %d moved from group %d to group %d", movedShard, movedFrom, movedTo)
	moveDone(t, st, before, what)
	st.checkOnce(what, movedShard)
	fill(t, st, "after the move")
	st.checkOnce(what+", and every shard was written again", movedShard)
	again := st.mustMap()
	require.NoError(t, st.move(&crasher{}, movedShard, movedTo), "Move of a shard to the group that holds it already: nothing to do")
	require.Equal(t, again, st.mustMap(), lesson("a Move of a shard to the group that holds it already changed the map", "a move to where the shard is already is no move"))
	fill(t, st, "after a move to where the shard was")
	st.checkOnce("shard 0 was moved to group 3, which held it already", movedShard)
}

func TestAnEmptyShardMovesToo(t *testing.T) {
	st := newStore(t, 1, 2, 3)
	require.NoError(t, st.move(&crasher{}, movedShard, movedTo), "Move(shard %d, to group %d) of a shard no one has written to", movedShard, movedTo)
	fill(t, st, "after an empty shard moved")
	st.checkOnce("shard 0 moved while empty, and was written to", movedShard)
}

func TestWritesDuringAMoveLandExactlyOnce(t *testing.T) {
	st := newStore(t, 1, 2, 3)
	fill(t, st, "before the move")
	before := st.mustMap()
	keys := keysOf(movedShard, 4)
	var moving atomic.Bool
	moving.Store(true)
	var wg sync.WaitGroup
	var failed atomic.Value
	for w, key := range keys {
		wg.Go(func() {
			for i := 0; i < 20 || moving.Load(); i++ {
				if err := st.appendToken(key, fmt.Sprintf("w%d-%d", w, i), 5*time.Second); err != nil {
					failed.Store(err)
					return
				}
			}
		})
	}
	err := st.move(&crasher{}, movedShard, movedTo)
	moving.Store(false)
	wg.Wait()
	require.NoError(t, err, "Move(shard %d, to group %d) while 4 clients wrote to it", movedShard, movedTo)
	if e, _ := failed.Load().(error); e != nil {
		require.Failf(t, "a write that got no answer during a move", lesson(e.Error(),
			"a shard is frozen only while it moves: once the map names the new group, that group serves it"))
	}
	what := fmt.Sprintf("4 clients wrote to shard %d while it moved from group %d to group %d", movedShard, movedFrom, movedTo)
	t.Logf("%d writes were refused while the shard moved, and sent again", st.refused.Load())
	moveDone(t, st, before, what)
	st.checkOnce(what, movedShard)
}

func TestAWriteMadeWhileTheCopyIsTakenIsNotLost(t *testing.T) {
	st := newStore(t, 1, 2, 3)
	fill(t, st, "before the move")
	key := keysOf(movedShard, 1)[0]
	c := &crasher{after: map[string]func(){}}
	var late error
	c.after[fmt.Sprintf("Export(shard %d) on group %d", movedShard, movedFrom)] = func() {
		// A client's write reaches the old group just after the copy.
		cfg := st.mustMap()
		if _, err := st.servers[movedFrom].Do(context.Background(), cfg.Num, Request{ID: "late", Key: key, Op: "append", Value: "late;"}); err == nil {
			st.ack(key, "late")
		} else {
			late = err
		}
	}
	require.NoError(t, st.move(c, movedShard, movedTo), "Move(shard %d, to group %d)", movedShard, movedTo)
	if late != nil { // refused: the client sends it again, to the new group
		require.NoError(t, st.appendToken(key, "late", 5*time.Second), "the write the old group refused during the move, sent again after it")
	}
	st.checkOnce(fmt.Sprintf("a client wrote to %s on group %d just after the mover's Export of shard %d (steps: %s)", key, movedFrom, movedShard, strings.Join(c.log(), ", ")), movedShard)
}

func TestARetriedRequestRunsOnceAcrossTheMove(t *testing.T) {
	st := newStore(t, 1, 2, 3)
	fill(t, st, "before the move")
	key := keysOf(movedShard, 1)[0]
	req := Request{ID: "retried", Key: key, Op: "append", Value: "retried;"}
	first, err := st.send(req, 5*time.Second)
	require.NoError(t, err, "the first try of the request")
	st.ack(key, "retried")
	require.NoError(t, st.move(&crasher{}, movedShard, movedTo), "Move(shard %d, to group %d)", movedShard, movedTo)
	// The client never got the first answer, and tries again.
	again, err := st.send(req, 5*time.Second)
	require.NoError(t, err, "the retry of the request, after the move")
	what := fmt.Sprintf("a request group %d ran before the move (its answer lost on the way) was sent again after shard %d moved to group %d", movedFrom, movedShard, movedTo)
	st.checkOnce(what, movedShard)
	require.Equal(t, first, again, lesson(what+": the retry's answer", "a retried request gets the answer the request got the first time, from the dedup table that moved with the shard"))
}

func TestACutOverOnAnOutdatedMapOverwritesNothing(t *testing.T) {
	st := newStore(t, 1, 2, 3)
	fill(t, st, "before the move")
	const other, newGroup = 5, 4
	st.servers[newGroup] = &server{st: st, gid: newGroup, shards: map[int]*heldShard{}}
	var concurrent Config
	c := afterImport(func() {
		// Just before the mover's next write to etcd after its Import,
		// the controller gives another shard to a new group.
		cfg := st.mustMap()
		cfg.Num++
		cfg.Shards = slices.Clone(cfg.Shards)
		cfg.Shards[other] = newGroup
		cfg.Groups[newGroup] = []string{"g4-a"}
		old := st.servers[st.mustMap().Shards[other]]
		data, _, _ := old.holds(other)
		require.NoError(t, st.servers[newGroup].Import(context.Background(), other, data))
		require.NoError(t, old.Drop(context.Background(), other))
		st.publish(cfg)
		concurrent = cfg
	})
	err := st.move(c, movedShard, movedTo)
	after := st.mustMap()
	what := fmt.Sprintf("while shard %d moved, after the mover's Import and before its next write to etcd, the controller published configuration %d, which gives shard %d to group %d", movedShard, concurrent.Num, other, newGroup)
	if after.Shards[other] != newGroup || after.Num <= concurrent.Num && err == nil {
		require.Failf(t, "a cut-over that overwrote a newer map", lesson(
			fmt.Sprintf("%s; Move returned %v, and the map is now configuration %d, which gives shard %d to group %d", what, err, after.Num, other, after.Shards[other]),
			"the cut-over is one transaction that holds only if the map is still the one the mover read (compare its revision or number): a mover that writes the map it computed from an older one undoes every change made since"))
	}
	switch {
	case err == nil:
		require.Equal(t, movedTo, after.Shards[movedShard], lesson(what+": Move returned nil", "when Move returns nil, the map names the new group"))
	case errors.Is(err, ErrStaleMap):
		require.Equal(t, movedFrom, after.Shards[movedShard], "Move gave up, and the map names group %d for shard %d", after.Shards[movedShard], movedShard)
	default:
		require.Failf(t, "a move that failed on a newer map", lesson(fmt.Sprintf("%s; Move returned %v", what, err),
			"when the map changes under a move, the mover cuts over on the newer map if the move still holds there, or gives up with ErrStaleMap, and the shard is served either way"))
	}
	require.False(t, st.moveRecorded(), lesson(what+": Move returned, and a move is still recorded", "a move that returns, done or given up, leaves no record"))
	fill(t, st, "after the move")
	st.checkOnce(what, movedShard)
	st.checkOnce(what, other)
}

// TestAMoverThatCrashesAtAnyStepIsResumed runs a move once to count its
// steps, then once for each step, with the mover crashing right after it,
// and a new mover calling Resume.
func TestAMoverThatCrashesAtAnyStepIsResumed(t *testing.T) {
	var steps []string
	{
		st := newStore(t, 1, 2, 3)
		c := &crasher{}
		require.NoError(t, st.move(c, movedShard, movedTo), "Move(shard %d, to group %d), without a crash", movedShard, movedTo)
		steps = c.log()
		require.NotEmpty(t, steps, "a move takes steps")
		t.Logf("a move takes %d steps: %s", len(steps), strings.Join(steps, ", "))
	}
	for at := 1; at <= len(steps); at++ {
		st := newStore(t, 1, 2, 3)
		fill(t, st, "before the move")
		c := &crasher{at: at}
		_ = st.move(c, movedShard, movedTo)
		log := c.log()
		what := fmt.Sprintf("the mover crashed right after step %d, %s (its steps: %s). Then %s, and a new mover called Resume",
			at, log[len(log)-1], strings.Join(log, ", "), st.situation(movedShard))
		// Clients write on; those for the moving shard may wait for Resume.
		var wg sync.WaitGroup
		var late error
		wg.Go(func() { late = st.appendToken(keysOf(movedShard, 1)[0], "during", 3*time.Second) })
		err := st.resume(&crasher{})
		require.NoError(t, err, lesson(what+": Resume failed", "Resume finishes, or undoes, whatever move a crashed mover left, from any step"))
		wg.Wait()
		if late != nil {
			cfg := st.mustMap()
			_, holds, frozen := st.servers[cfg.Shards[movedShard]].holds(movedShard)
			require.Failf(t, "a shard no group serves", lesson(
				fmt.Sprintf("%s: a write to shard %d got no answer in 3 s. The map names group %d, which holds its data: %v, frozen: %v", what, movedShard, cfg.Shards[movedShard], holds, frozen),
				"a mover records what it is about to do before it touches a group: then whoever resumes knows which shard is frozen where, and finishes the move or undoes it. Nothing else knows"))
		}
		require.False(t, st.moveRecorded(), lesson(what+": a move is still recorded", "Resume finishes the move, and removes its record"))
		st.checkOnce(what, movedShard)
		require.NoError(t, st.resume(&crasher{}), lesson(what+": Resume, called again when there was nothing to resume", "Resume with no move recorded does nothing"))
	}
}

func TestAMoveThatCannotBeMadeChangesNothing(t *testing.T) {
	st := newStore(t, 1, 2, 3)
	fill(t, st, "before the move")
	before := st.mustMap()
	for i, c := range []struct {
		what      string
		shard, to int
	}{
		{"a move to group 9, which is not in the map", movedShard, 9},
		{fmt.Sprintf("a move of shard %d, which the map does not have", routingShards), routingShards, movedTo},
	} {
		err := st.move(&crasher{}, c.shard, c.to)
		require.Error(t, err, lesson(c.what+": Move returned nil", "a move the map cannot take is refused, with an error that says why"))
		after := st.mustMap()
		require.Equal(t, before, after, lesson(c.what+" was refused, and the map changed", "a refused move changes nothing"))
		require.False(t, st.moveRecorded(), lesson(c.what+" was refused, and a move is recorded at MoveKey", "a refused move leaves no record: the next Move would wait for it, and Resume would try to finish it"))
		fill(t, st, fmt.Sprintf("after refused move %d", i+1))
	}
	st.checkOnce("after two moves were refused", movedShard)
	require.NoError(t, st.move(&crasher{}, movedShard, movedTo), "after two moves were refused, Move(shard %d, to group %d), which the map can take", movedShard, movedTo)
	moveDone(t, st, before, "after two moves were refused, shard 0 moved to group 3")
}

func TestAMoveTheMapNoLongerAllowsIsUndone(t *testing.T) {
	st := newStore(t, 1, 2, 3)
	fill(t, st, "before the move")
	var concurrent Config
	c := afterImport(func() {
		concurrent = st.groupLeaves(movedTo, 2) // the move's destination leaves
	})
	err := st.move(c, movedShard, movedTo)
	what := fmt.Sprintf("while shard %d moved to group %d, after the mover's Import, the controller published configuration %d, in which group %d has left", movedShard, movedTo, concurrent.Num, movedTo)
	require.ErrorIs(t, err, ErrStaleMap, lesson(what+": Move's answer",
		"a move the map no longer allows (its destination left, or the shard moved on) is undone, and Move says so with ErrStaleMap"))
	after := st.mustMap()
	require.Equal(t, concurrent.Shards, after.Shards, lesson(what+": the map's shards after Move", "an undone move leaves the map as the controller made it"))
	require.False(t, st.moveRecorded(), lesson(what+": a move is still recorded", "an undone move leaves no record"))
	_, holds, _ := st.servers[movedTo].holds(movedShard)
	require.False(t, holds, lesson(what+": group 3 still holds the copy it was given", "an undone move drops the copy it made"))
	fill(t, st, "after the move was undone")
	st.checkOnce(what, movedShard)
}

func TestOnlyOneMoveAtATime(t *testing.T) {
	st := newStore(t, 1, 2, 3)
	fill(t, st, "before the moves")
	first := &crasher{at: 2} // records its move of shard 0, freezes it, and crashes
	_ = st.move(first, movedShard, movedTo)
	log := first.log()
	err := st.move(&crasher{}, 1, movedTo)
	what := fmt.Sprintf("a mover of shard %d crashed after %s; then Move(shard 1, to group %d) was called", movedShard, strings.Join(log, ", "), movedTo)
	require.ErrorIs(t, err, ErrMoveInProgress, lesson(what+": its answer",
		"one move at a time: while a move is recorded, Move answers ErrMoveInProgress, or the second mover's record takes the place of the first one's, and no one ever finishes the first"))
	require.NoError(t, st.resume(&crasher{}), what+", and refused; then Resume")
	fill(t, st, "after Resume")
	st.checkOnce(what+"; then Resume", movedShard)
	require.NoError(t, st.move(&crasher{}, 1, movedTo), "Move(shard 1, to group %d), once the first move was finished", movedTo)
}

func TestAMoveStopsAtAGroupsError(t *testing.T) {
	st := newStore(t, 1, 2, 3)
	fill(t, st, "before the move")
	errFlaky := errors.New("group 1 did not answer in time")
	c := &crasher{fail: map[string]error{fmt.Sprintf("Export(shard %d)", movedShard): errFlaky}}
	err := st.move(c, movedShard, movedTo)
	what := fmt.Sprintf("group %d failed the mover's Export of shard %d once (%v)", movedFrom, movedShard, errFlaky)
	require.Error(t, err, lesson(what+", and Move returned nil", "a step that fails stops the move, which returns the error: carrying on copies nothing, and cuts over to an empty shard"))
	require.NoError(t, st.resume(&crasher{}), what+"; then Resume")
	fill(t, st, "after Resume")
	st.checkOnce(what+"; then Resume", movedShard)
	require.NoError(t, st.move(&crasher{}, movedShard, movedTo), what+"; then Resume, and Move again")
	require.Equal(t, movedTo, st.mustMap().Shards[movedShard], what+"; then Resume, and Move again: the map names group 3")
	st.checkOnce(what+"; then Resume, and Move again", movedShard)
}

func TestAResumedMoveChecksTheMapAgain(t *testing.T) {
	st := newStore(t, 1, 2, 3)
	fill(t, st, "before the move")
	crashed := st.crashOnceRecorded()
	cfg := st.groupLeaves(movedTo, 2) // before anyone resumes
	err := st.resume(&crasher{})
	what := fmt.Sprintf("a mover recorded a move of shard %d to group %d and crashed (after %s); then group %d left, in configuration %d, and a new mover called Resume",
		movedShard, movedTo, strings.Join(crashed.log(), ", "), movedTo, cfg.Num)
	if err != nil && !errors.Is(err, ErrStaleMap) {
		require.Failf(t, "a resumed move that failed", lesson(fmt.Sprintf("%s: Resume returned %v", what, err), "Resume finishes the move, or undoes it when the map no longer allows it"))
	}
	require.Equal(t, cfg.Shards, st.mustMap().Shards, lesson(what+": the map's shards after Resume",
		"Resume checks the map again before it goes on: a move recorded before a crash may no longer hold, and a cut-over to a group that has left hands the shard to no one"))
	require.False(t, st.moveRecorded(), lesson(what+": a move is still recorded", "Resume leaves no record, whether it finished the move or undid it"))
	fill(t, st, "after Resume")
	st.checkOnce(what, movedShard)
}

func TestAResumedMoveFreezesBeforeItCopies(t *testing.T) {
	st := newStore(t, 1, 2, 3)
	fill(t, st, "before the move")
	st.crashOnceRecorded()
	key := keysOf(movedShard, 1)[0]
	resumer := &crasher{after: map[string]func(){}}
	var refused error
	resumer.after[fmt.Sprintf("Export(shard %d) on group %d", movedShard, movedFrom)] = func() {
		// A client's write reaches the old group just after the copy.
		if _, err := st.servers[movedFrom].Do(context.Background(), st.mustMap().Num, Request{ID: "late", Key: key, Op: "append", Value: "late;"}); err == nil {
			st.ack(key, "late")
		} else {
			refused = err
		}
	}
	require.NoError(t, st.resume(resumer), "Resume of a move recorded before a crash")
	if refused != nil {
		require.NoError(t, st.appendToken(key, "late", 3*time.Second), "the write the old group refused during Resume, sent again after it")
	}
	st.checkOnce(fmt.Sprintf("a mover recorded a move of shard %d and crashed; a new mover called Resume, and a client wrote to %s on group %d just after Resume's Export (steps: %s)",
		movedShard, key, movedFrom, strings.Join(resumer.log(), ", ")), movedShard)
}
