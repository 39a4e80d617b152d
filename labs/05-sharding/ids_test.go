package sharding

// Part 2: ids that carry their shard.

import (
	"errors"
	"fmt"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/distlings/distlings/labs/internal/lockstep"
)

// The layout, written out here so that the tests do not trust the
// constants of ids.go.
const (
	msShift    = 23 // 13 shard bits and 10 sequence bits below the time
	shardShift = 10
	seqMask    = 1<<10 - 1
	shardMask  = 1<<13 - 1
)

// epoch is Instagram's, 2011-08-24 21:07:01.721 UTC.
var epoch = time.UnixMilli(1314220021721)

// makeID builds an id from its three fields.
func makeID(ms uint64, shard, seq int) uint64 {
	return ms<<msShift | uint64(shard)<<shardShift | uint64(seq)
}

// fields reads an id, for messages.
func fields(id uint64) string {
	return fmt.Sprintf("%d (ms %d, shard %d, seq %d)", id, id>>msShift, id>>shardShift&shardMask, id&seqMask)
}

// clock is a test's clock: it reads what the test set.
type clock struct {
	mu      sync.Mutex
	now     time.Time
	stopped bool // the test gave up on a Next that waits for it
}

func newClock(ms int64) *clock { return &clock{now: epoch.Add(time.Duration(ms) * time.Millisecond)} }

func (c *clock) read() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.stopped {
		runtime.Goexit() // end the Next that kept reading, rather than let it spin on
	}
	return c.now
}

func (c *clock) set(ms int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = epoch.Add(time.Duration(ms) * time.Millisecond)
}

// ms is the clock's millisecond since the epoch.
func (c *clock) ms() uint64 { return uint64(c.read().Sub(epoch).Milliseconds()) }

func newIDs(t *testing.T, shard int, c func() time.Time) *IDs {
	t.Helper()
	g, err := NewIDs(shard, c)
	require.NoError(t, err, fmt.Sprintf("NewIDs(%d, clock)", shard))
	require.NotNil(t, g, fmt.Sprintf("NewIDs(%d, clock)", shard))
	return g
}

// nextWithin calls Next n times, and fails if they do not all return
// within a few seconds: a Next that waits for a clock that does not move
// would wait for ever.
func nextWithin(t *testing.T, g *IDs, c *clock, n int, clockNote string) []uint64 {
	t.Helper()
	ids := make([]uint64, 0, n)
	done := make(chan struct{})
	var made atomic.Int64
	go func() {
		defer close(done)
		for range n {
			ids = append(ids, g.Next())
			made.Add(1)
		}
	}()
	select {
	case <-done:
		return ids
	case <-time.After(2 * time.Second):
		c.mu.Lock()
		c.stopped = true
		c.mu.Unlock()
		require.Failf(t, "Next waits for the clock", lesson(
			fmt.Sprintf("after 2 seconds, %d of %d calls of Next had returned, %s", made.Load(), n, clockNote),
			"Next never waits for the clock to move on: a clock can stand still, or step back by an hour, and the service that wanted an id must not stand still with it"))
		return nil
	}
}

func TestIDsFollowInstagramsLayout(t *testing.T) {
	c := newClock(1000)
	c.now = c.now.Add(400 * time.Microsecond) // ids count whole milliseconds
	g := newIDs(t, 5, c.read)
	want := []uint64{makeID(1000, 5, 0), makeID(1000, 5, 1), makeID(1000, 5, 2)}
	var got []uint64
	for range want {
		got = append(got, g.Next())
	}
	c.set(1001)
	c.now = c.now.Add(900 * time.Microsecond) // still millisecond 1001
	got, want = append(got, g.Next()), append(want, makeID(1001, 5, 0))
	c.set(86_400_000 * 365 * 15) // fifteen years on
	got, want = append(got, g.Next()), append(want, makeID(86_400_000*365*15, 5, 0))
	for i := range want {
		if got[i] != want[i] {
			require.Failf(t, "an id not in Instagram's layout", lesson(
				fmt.Sprintf("id %d made by shard 5 is %s, want %s", i+1, fields(got[i]), fields(want[i])),
				"an id is 41 bits of milliseconds since Epoch, then 13 bits of the shard, then 10 bits that count the ids of that millisecond from 0: id = ms<<23 | shard<<10 | seq"))
		}
	}
	// A clock at the epoch itself, and one before it.
	for _, ms := range []int64{0, -20} {
		c := newClock(ms)
		g := newIDs(t, 9, c.read)
		first := g.Next()
		if ms == 0 {
			require.Equal(t, makeID(0, 9, 0), first, lesson(fmt.Sprintf("the first id made at Epoch itself is %s", fields(first)), "the sequence counts the ids of a millisecond from 0"))
		}
		c.set(10)
		second := g.Next()
		require.Greater(t, second, first, lesson(fmt.Sprintf("with the clock %d ms from Epoch, the first id was %s; 10 ms after Epoch, the next was %s", ms, fields(first), fields(second)), "each id is larger than the one before, whatever the clock says"))
	}
	for _, id := range []uint64{makeID(1000, 5, 3), makeID(1<<41-1, 8191, 1023), makeID(0, 0, 0), makeID(123456789, 4242, 512)} {
		ms, shard := id>>msShift, int(id>>shardShift&shardMask)
		require.Equal(t, shard, ShardOf(id), lesson(fmt.Sprintf("ShardOf(%s)", fields(id)), "the shard is the 13 bits above the sequence number: an id routes to its shard without a lookup"))
		require.Equal(t, epoch.Add(time.Duration(ms)*time.Millisecond).UnixMilli(), TimeOf(id).UnixMilli(), lesson(
			fmt.Sprintf("TimeOf(%s)", fields(id)), "the time is the top 41 bits, in milliseconds since Epoch"))
	}
}

func TestNewIDsRefusesShardsTheLayoutCannotHold(t *testing.T) {
	c := newClock(1000)
	for _, shard := range []int{-1, 8192, 1 << 20} {
		_, err := NewIDs(shard, c.read)
		if !errors.Is(err, ErrBadShard) {
			require.Failf(t, "a shard number the layout cannot hold", lesson(
				fmt.Sprintf("NewIDs(%d, clock) returned error %v", shard, err),
				"13 bits hold shards 0 to 8191; a larger or negative number would spill into the time bits and the ids would name another shard, or none: NewIDs returns ErrBadShard"))
		}
	}
	for _, shard := range []int{0, 8191} {
		g := newIDs(t, shard, c.read)
		id := g.Next()
		require.Equal(t, shard, ShardOf(id), lesson(fmt.Sprintf("the id %s made by shard %d", fields(id), shard), "shards 0 to 8191 fit the layout"))
	}
}

// increasing fails unless each id is larger than the one before it, and
// came from shard.
func increasing(t *testing.T, ids []uint64, shard int, what string) {
	t.Helper()
	for i, id := range ids {
		if id>>shardShift&shardMask != uint64(shard) {
			require.Failf(t, "an id that names another shard", lesson(
				fmt.Sprintf("%s, id %d of shard %d is %s", what, i+1, shard, fields(id)),
				"the sequence number is 10 bits, counting 0 to 1023: the 1025th id of a millisecond cannot count on into the shard's bits"))
		}
		if i > 0 && id <= ids[i-1] {
			require.Failf(t, "an id not larger than the one before", lesson(
				fmt.Sprintf("%s, id %d is %s, and the id before it was %s", what, i+1, fields(id), fields(ids[i-1])),
				"each id of a shard is larger than every id the shard made before it: ids are primary keys, and they sort by when they were made"))
		}
	}
}

func TestIDsGoOnIncreasingPastAFullMillisecond(t *testing.T) {
	c := newClock(5000) // and it does not move
	g := newIDs(t, 7, c.read)
	const n = 3000
	ids := nextWithin(t, g, c, n, "all in the same millisecond of a clock that does not move")
	increasing(t, ids, 7, fmt.Sprintf("%d ids made in one millisecond", n))
	for i, id := range ids {
		if want := makeID(c.ms()+uint64(i/1024), 7, i%1024); id != want {
			require.Failf(t, "a millisecond's ids not all used", lesson(
				fmt.Sprintf("%d ids made in the millisecond %d, on a clock that does not move: id %d is %s, want %s", n, c.ms(), i+1, fields(id), fields(want)),
				"10 bits of sequence give each millisecond 1024 ids, 0 to 1023, and only then do ids move on to the next millisecond"))
		}
	}
	last := ids[len(ids)-1] >> msShift
	require.LessOrEqual(t, last, c.ms()+2, lesson(
		fmt.Sprintf("%d ids made in the millisecond %d: the last is %s, %d ms ahead of the clock", n, c.ms(), fields(ids[len(ids)-1]), last-c.ms()),
		"an id's time runs ahead of the clock only as far as it must: 1024 ids fit in a millisecond, so 3000 need three, 5000 to 5002"))
	for i, id := range ids {
		require.GreaterOrEqual(t, id>>msShift, c.ms(), lesson(fmt.Sprintf("id %d, %s, made at ms %d", i+1, fields(id), c.ms()), "an id is never older than the clock that made it"))
	}
}

func TestIDsStayIncreasingWhenTheClockStepsBack(t *testing.T) {
	const hour = 3_600_000
	c := newClock(10 * hour)
	g := newIDs(t, 3, c.read)
	ids := nextWithin(t, g, c, 5, "at 10:00:00")
	for _, step := range []struct {
		ms   int64
		what string
	}{
		{10*hour - 1, "the clock stepped back 1 ms"},
		{9 * hour, "the clock stepped back an hour, as when a server's clock is corrected"},
		{9*hour + 7, "the clock, an hour behind, moved on by 7 ms"},
	} {
		c.set(step.ms)
		from := max(ids[len(ids)-1]>>msShift, c.ms())
		ids = append(ids, nextWithin(t, g, c, 1500, "after "+step.what)...)
		increasing(t, ids, 3, "after "+step.what)
		if last := ids[len(ids)-1] >> msShift; last > from+2 {
			require.Failf(t, "ids that run ahead of the clock", lesson(
				fmt.Sprintf("after %s, 1500 ids were made with the clock at ms %d and the last id before at ms %d; the last of them is %s, %d ms on", step.what, c.ms(), ids[len(ids)-1501]>>msShift, fields(ids[len(ids)-1]), last-from),
				"while the clock is behind, ids go on counting in the last id's millisecond, and move to the next only when its 1024 are used: ids that jump a millisecond each run ahead of the clock by as many milliseconds as ids were made"))
		}
	}
}

func TestIDsFollowTheClockAgainOnceItCatchesUp(t *testing.T) {
	const hour = 3_600_000
	c := newClock(10 * hour)
	g := newIDs(t, 3, c.read)
	ids := nextWithin(t, g, c, 2500, "at 10:00:00") // runs 2 ms ahead
	c.set(9 * hour)
	ids = append(ids, nextWithin(t, g, c, 10, "an hour back")...)
	c.set(10*hour + 50)
	id := g.Next()
	ids = append(ids, id)
	increasing(t, ids, 3, "after the clock stepped back an hour, and then was 50 ms past where it had been")
	require.Equal(t, makeID(10*hour+50, 3, 0), id, lesson(
		fmt.Sprintf("the clock stepped back an hour, then went past the last id's time; the next id is %s", fields(id)),
		"once the clock is past the last id's time, ids follow the clock again, counting from 0: an id maker that stays ahead of the clock, or drifts, makes ids whose time means nothing"))
}

// TestIDsAreUniqueAndIncreasingUnderConcurrency has a few callers ask one
// id maker for ids at the same instant, tens of thousands of times, on a
// clock that moves on a millisecond every 300 reads, and on one that moves
// on every 3000, so that milliseconds fill up. A missing lock shows as two
// callers given the same id, with or without the race detector.
func TestIDsAreUniqueAndIncreasingUnderConcurrency(t *testing.T) {
	callers := min(max(runtime.GOMAXPROCS(0), 2), 4)
	batch := 0
	lockstep.InBatches(t, func() (parallel int, ok bool) {
		batch++
		var reads atomic.Int64
		every := int64(300)
		if batch%2 == 0 {
			every = 3000
		}
		tick := func() time.Time {
			return epoch.Add(time.Hour + time.Duration(reads.Add(1)/every)*time.Millisecond)
		}
		g := newIDs(t, 9, tick)
		const rounds = lockstep.ParallelRounds
		got := make([][]uint64, callers)
		for c := range got {
			got[c] = make([]uint64, 0, rounds)
		}
		parallel = lockstep.Together(callers, rounds, func(c, _ int) { got[c] = append(got[c], g.Next()) })
		clockNote := fmt.Sprintf("on a clock that moves on a millisecond every %d reads", every)
		for c := range got {
			increasing(t, got[c], 9, fmt.Sprintf("among the ids caller %d got while %d callers called Next at once, %s", c, callers, clockNote))
		}
		all := slices.Concat(got...)
		slices.Sort(all)
		for i := 1; i < len(all); i++ {
			if all[i] == all[i-1] {
				return parallel, assert.Failf(t, "two callers given the same id", lesson(
					fmt.Sprintf("%d callers called Next at the same instant, %d times each, %s: the id %s was given twice", callers, rounds, clockNote, fields(all[i])),
					"one id maker serves every request of its shard at once; reading its last time and sequence number and storing the next ones is one step, under a lock (or one atomic swap), or two callers read the same and make the same id"))
			}
		}
		return parallel, true
	})
}
