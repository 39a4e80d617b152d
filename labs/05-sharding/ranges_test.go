package sharding

// Part 2: range sharding by user id.

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/distlings/distlings/labs/internal/seeds"
)

const maxID = math.MaxUint64

// showRanges draws ranges one to a line, for messages.
func showRanges(rs []Range) string {
	var b strings.Builder
	for _, rg := range rs {
		fmt.Fprintf(&b, "\n    %s  %s", idSpan(rg.Lo, rg.Hi), rg.Shard)
	}
	if len(rs) == 0 {
		b.WriteString("\n    (none)")
	}
	return b.String()
}

func idSpan(lo, hi uint64) string {
	name := func(id uint64) string {
		if id == maxID {
			return "max"
		}
		return fmt.Sprint(id)
	}
	return fmt.Sprintf("[%s, %s]", name(lo), name(hi))
}

// checkCover fails unless ranges cover every id once, in order: the first
// starts at 0, each starts right after the one before ends, the last ends
// at the largest id.
func checkCover(t *testing.T, after string, rs []Range) {
	t.Helper()
	broken := func(what string) {
		t.Helper()
		require.Fail(t, "ranges that do not cover every id once", lesson(
			fmt.Sprintf("after %s, List() gives%s\n%s", after, showRanges(rs), what),
			"the ranges, in order, start at 0, each starts right after the one before it ends, and the last ends at the largest id: every id is in exactly one range, or a request finds no shard, or two"))
	}
	if len(rs) == 0 {
		broken("no ranges at all")
	}
	if rs[0].Lo != 0 {
		broken(fmt.Sprintf("ids 0 to %d are in no range", rs[0].Lo-1))
	}
	for i := 1; i < len(rs); i++ {
		prev, rg := rs[i-1], rs[i]
		switch {
		case prev.Hi == maxID || rg.Lo <= prev.Hi:
			broken(fmt.Sprintf("%s and %s overlap", idSpan(prev.Lo, prev.Hi), idSpan(rg.Lo, rg.Hi)))
		case rg.Lo == prev.Hi+2:
			broken(fmt.Sprintf("id %d, between %s and %s, is in no range", prev.Hi+1, idSpan(prev.Lo, prev.Hi), idSpan(rg.Lo, rg.Hi)))
		case rg.Lo > prev.Hi+1:
			broken(fmt.Sprintf("ids %d to %d, between %s and %s, are in no range", prev.Hi+1, rg.Lo-1, idSpan(prev.Lo, prev.Hi), idSpan(rg.Lo, rg.Hi)))
		}
		if rg.Hi < rg.Lo {
			broken(fmt.Sprintf("%s ends before it starts", idSpan(rg.Lo, rg.Hi)))
		}
	}
	if last := rs[len(rs)-1]; last.Hi != maxID {
		broken(fmt.Sprintf("ids from %d to the largest are in no range", last.Hi+1))
	}
}

// checkLookups fails unless Lookup agrees with the ranges at both ends of
// each range, and at ids picked from the seed's generator.
func checkLookups(t *testing.T, r *Ranges, rs []Range, rng *rand.Rand) {
	t.Helper()
	check := func(id uint64, want string) {
		t.Helper()
		if got := r.Lookup(id); got != want {
			require.Failf(t, "a lookup that disagrees with the ranges", lesson(
				fmt.Sprintf("Lookup(%d) = %q, but the ranges are%s\nand %d is in the range of %q", id, got, showRanges(rs), id, want),
				"an id belongs to the shard of the range it falls in, both ends of the range included"))
		}
	}
	for _, rg := range rs {
		check(rg.Lo, rg.Shard)
		check(rg.Hi, rg.Shard)
		if rg.Hi-rg.Lo > 1 {
			check(rg.Lo+1+rng.Uint64N(rg.Hi-rg.Lo-1), rg.Shard)
		}
	}
}

// bestCut finds, the slow way, how evenly a cut of rg can divide the
// requests of load that fall in it: every id of the load in the range is
// tried in turn. It returns the lowest of the best cuts, what it leaves on
// each side, and how far apart those are.
func bestCut(rg Range, load []uint64) (cut uint64, below, above, diff int, ok bool) {
	var in []uint64
	for _, id := range load {
		if id >= rg.Lo && id <= rg.Hi {
			in = append(in, id)
		}
	}
	diff = math.MaxInt
	for _, c := range in {
		b, a := 0, 0
		for _, id := range in {
			if id < c {
				b++
			} else {
				a++
			}
		}
		if b == 0 || a == 0 {
			continue
		}
		if d := max(a-b, b-a); d < diff || d == diff && c < cut {
			cut, below, above, diff, ok = c, b, a, d, true
		}
	}
	return cut, below, above, diff, ok
}

// counts is how many requests of load fall in rg below cut, and at or
// above it.
func counts(rg Range, load []uint64, cut uint64) (below, above int) {
	for _, id := range load {
		switch {
		case id < rg.Lo || id > rg.Hi:
		case id < cut:
			below++
		default:
			above++
		}
	}
	return below, above
}

// hottest is the id of load that appears most, and how often.
func hottest(load []uint64) (id uint64, n int) {
	seen := map[uint64]int{}
	for _, x := range load {
		if seen[x]++; seen[x] > n || seen[x] == n && x < id {
			id, n = x, seen[x]
		}
	}
	return id, n
}

// splitAsItMust splits the range at lo and checks the cut against bestCut
// and the ranges that result.
func splitAsItMust(t *testing.T, r *Ranges, lo uint64, load []uint64, to string) uint64 {
	t.Helper()
	before := slices.Clone(r.List())
	i := slices.IndexFunc(before, func(rg Range) bool { return rg.Lo == lo })
	require.GreaterOrEqual(t, i, 0, "the test splits a range that exists")
	rg := before[i]
	want, wb, wa, diff, _ := bestCut(rg, load)
	given := slices.Clone(load)
	cut, err := r.Split(lo, load, to)
	require.NoError(t, err, lesson(fmt.Sprintf("Split of %s, with %d requests in it, failed", idSpan(rg.Lo, rg.Hi), wb+wa),
		fmt.Sprintf("a cut at %d leaves %d requests below it and %d at or above it: ErrCannotSplit is for a range where no cut leaves requests on both sides", want, wb, wa)))
	require.Equal(t, given, load, lesson("Split changed the order or the contents of the load it was given",
		"the caller's slice is the caller's: to sort the requests, sort a copy"))
	gb, ga := counts(rg, load, cut)
	if cut <= rg.Lo || cut > rg.Hi || max(gb-ga, ga-gb) != diff {
		hot, n := hottest(load)
		why := "no cut divides them more evenly"
		switch {
		case cut <= rg.Lo || cut > rg.Hi:
			why = fmt.Sprintf("a cut at %d is not inside the range: one of the halves would hold no ids", cut)
		case n > 1 && (cut == hot || cut == hot+1 || want == hot || want == hot+1):
			why = fmt.Sprintf("id %d alone takes %d requests: no cut can divide one id, so the best cut puts it on the side that balances best, and the median is not always that cut", hot, n)
		case len(load) > wb+wa:
			why = fmt.Sprintf("only the %d requests inside the range count: the %d others go to other shards whatever the cut", wb+wa, len(load)-wb-wa)
		}
		require.Failf(t, "a split at the wrong id", lesson(
			fmt.Sprintf("Split of %s cut at %d: %d requests below it, %d at or above; a cut at %d leaves %d and %d, and %s", idSpan(rg.Lo, rg.Hi), cut, gb, ga, want, wb, wa, why),
			"a hot range is split where its load divides most evenly, so that each half takes as close to half the requests as one cut can: the new shard should relieve the old one, not take a sliver"))
	}
	wantRanges := slices.Insert(slices.Clone(before), i+1, Range{Lo: cut, Hi: rg.Hi, Shard: to})
	wantRanges[i].Hi = cut - 1
	after := r.List()
	checkCover(t, fmt.Sprintf("splitting %s at %d", idSpan(rg.Lo, rg.Hi), cut), after)
	require.Equal(t, wantRanges, after, lesson(
		fmt.Sprintf("Split of %s at %d, for shard %q, turned%s\ninto%s", idSpan(rg.Lo, rg.Hi), cut, to, showRanges(before), showRanges(after)),
		"a split leaves every other range alone: the ids below the cut stay with the range's shard, the cut and those above it go to the new one"))
	return cut
}

func TestRangesStartAsOneRangeOfEveryID(t *testing.T) {
	r := NewRanges("db1")
	rs := r.List()
	require.Equal(t, []Range{{Lo: 0, Hi: maxID, Shard: "db1"}}, rs, lesson(
		"NewRanges(\"db1\").List() gave"+showRanges(rs),
		"a new map is one range, from id 0 to the largest uint64, held by the shard it was made with"))
	for _, id := range []uint64{0, 1, 1 << 32, 1 << 63, maxID} {
		require.Equal(t, "db1", r.Lookup(id), lesson(fmt.Sprintf("NewRanges(\"db1\").Lookup(%d)", id), "every id is in the one range"))
	}
}

func TestSplitCutsWhereTheLoadDividesEvenly(t *testing.T) {
	rng := seeds.Rand(t)
	// User ids from a service whose users are mostly recent (small ids are
	// old, quiet users): the middle of the id space is no guide.
	load := make([]uint64, 999)
	for i := range load {
		x := rng.Float64()
		load[i] = uint64(1e9 * x * x * x)
	}
	r := NewRanges("db1")
	cut := splitAsItMust(t, r, 0, load, "db2")
	checkLookups(t, r, r.List(), rng)
	// An even number of requests, and a cut that two medians disagree on.
	r = NewRanges("db1")
	splitAsItMust(t, r, 0, []uint64{40, 10, 30, 20}, "db2")
	// Requests at the very ends of the ranges: 0, the largest id, and the
	// last id of a range.
	r = NewRanges("db1")
	top := splitAsItMust(t, r, 0, []uint64{maxID, 1}, "db2")
	splitAsItMust(t, r, 0, []uint64{top - 1, 5, top - 1, 7}, "db3")
	// Each half again.
	r = NewRanges("db1")
	splitAsItMust(t, r, 0, load, "db2")
	splitAsItMust(t, r, 0, load, "db3")
	splitAsItMust(t, r, cut, load, "db4")
	checkLookups(t, r, r.List(), rng)
}

func TestSplitDividesTheLoadAroundAHotID(t *testing.T) {
	// Ids 1 to 100 once each, and a celebrity, 50, who takes as many
	// requests again.
	var load []uint64
	for id := uint64(1); id <= 100; id++ {
		load = append(load, id)
	}
	for range 100 {
		load = append(load, 50)
	}
	rand.New(rand.NewPCG(1, 2)).Shuffle(len(load), func(i, j int) { load[i], load[j] = load[j], load[i] })
	splitAsItMust(t, NewRanges("db1"), 0, load, "db2")
	// The hot id at the bottom of the range, and at its top.
	r := NewRanges("db1")
	splitAsItMust(t, r, 0, []uint64{0, 0, 0, 0, 0, 7, 8, 9}, "db2")
	splitAsItMust(t, r, 7, []uint64{7, 8, 9, 1 << 40, 1 << 40, 1 << 40, 1 << 40}, "db3")
}

func TestSplitCountsOnlyTheLoadInTheRange(t *testing.T) {
	r := NewRanges("db1")
	splitAsItMust(t, r, 0, []uint64{100, 1000}, "db2") // [0, 999] db1, [1000, max] db2
	// Most requests are for db1's ids; the split is of db2's range.
	load := []uint64{5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 2000, 3000, 4000, 5000}
	splitAsItMust(t, r, 1000, load, "db3")
	splitAsItMust(t, r, 0, load, "db4")
}

func TestSplitRefusesACutThatLeavesAHalfWithoutRequests(t *testing.T) {
	r := NewRanges("db1")
	splitAsItMust(t, r, 0, []uint64{10, 1 << 20}, "db2") // [0, 2^20-1] db1, [2^20, max] db2
	cases := []struct {
		what string
		lo   uint64
		load []uint64
	}{
		{"no requests at all", 0, nil},
		{"requests only for other ranges' ids", 0, []uint64{1 << 21, 1 << 22, 1 << 30}},
		{"every request for the range's first id", 0, []uint64{0, 0, 0, 0}},
		{"every request for one id inside the range", 1 << 20, []uint64{1 << 30, 1 << 30, 1 << 30}},
		{"one request", 1 << 20, []uint64{1 << 40}},
	}
	for _, c := range cases {
		before := r.List()
		cut, err := r.Split(c.lo, c.load, "db9")
		after := r.List()
		if !errors.Is(err, ErrCannotSplit) {
			require.Failf(t, "a split that leaves a half without requests", lesson(
				fmt.Sprintf("Split of the range at %d with %s returned cut %d, error %v, and the ranges became%s", c.lo, c.what, cut, err, showRanges(after)),
				"a cut must leave requests on both sides, or one half relieves nothing: when no cut does, Split returns ErrCannotSplit (and a range cannot be cut at its first id, which would leave an empty range below)"))
		}
		require.Equal(t, before, after, lesson("Split returned ErrCannotSplit and changed the ranges", "a call that returns an error changes nothing"))
	}
}

func TestSplitAndMergeFindRangesByTheirFirstID(t *testing.T) {
	r := NewRanges("db1")
	splitAsItMust(t, r, 0, []uint64{1, 100}, "db2") // [0, 99] db1, [100, max] db2
	before := r.List()
	for _, call := range []struct {
		what string
		do   func() error
	}{
		{"Split(50, ...), 50 being inside [0, 99]", func() error { _, err := r.Split(50, []uint64{60, 70, 80}, "db3"); return err }},
		{"Split(7, ...), 7 being inside [0, 99]", func() error { _, err := r.Split(7, []uint64{1, 200}, "db3"); return err }},
		{"Merge(50, 100)", func() error { return r.Merge(50, 100) }},
		{"Merge(0, 101)", func() error { return r.Merge(0, 101) }},
	} {
		require.ErrorIs(t, call.do(), ErrNoSuchRange, lesson(call.what+" on the ranges"+showRanges(before),
			"Split and Merge name a range by the id it starts at; an id where no range starts is ErrNoSuchRange"))
		require.Equal(t, before, r.List(), lesson(call.what+" failed and changed the ranges", "a call that returns an error changes nothing"))
	}
}

func TestMergeJoinsOnlyNeighbours(t *testing.T) {
	r := NewRanges("db1")
	splitAsItMust(t, r, 0, []uint64{1, 100, 200, 300}, "db2")     // [0, 199] db1, [200, max] db2
	splitAsItMust(t, r, 0, []uint64{1, 100}, "db3")               // [0, 99] db1, [100, 199] db3
	splitAsItMust(t, r, 200, []uint64{200, 300, 400, 500}, "db4") // [200, 399] db2, [400, max] db4
	before := r.List()
	for _, c := range []struct {
		lo, next uint64
		why      string
	}{
		{0, 200, "[100, 199] lies between them"},
		{100, 0, "[0, 99] comes before [100, 199], not after it"},
		{100, 100, "a range is not its own neighbour"},
		{400, 0, "the last range ends at the largest id, and no id comes after it: counting on past it wraps round to 0, in uint64 arithmetic"},
	} {
		err := r.Merge(c.lo, c.next)
		if !errors.Is(err, ErrNotNeighbours) {
			require.Failf(t, "a merge of ranges that are not neighbours", lesson(
				fmt.Sprintf("Merge(%d, %d) returned %v on the ranges%s\nand they became%s\nbut %s", c.lo, c.next, err, showRanges(before), showRanges(r.List()), c.why),
				"only a range and the one that starts right after it can be merged: anything else leaves a gap or an overlap, and returns ErrNotNeighbours"))
		}
		require.Equal(t, before, r.List(), lesson(fmt.Sprintf("Merge(%d, %d) failed and changed the ranges", c.lo, c.next), "a call that returns an error changes nothing"))
	}
	require.NoError(t, r.Merge(100, 200), "Merge(100, 200) of neighbours [100, 199] and [200, 399]")
	want := []Range{{0, 99, "db1"}, {100, 399, "db3"}, {400, maxID, "db4"}}
	require.Equal(t, want, r.List(), lesson("Merge(100, 200) turned"+showRanges(before)+"\ninto"+showRanges(r.List()),
		"a merge joins the two ranges into one, from the first one's Lo to the second one's Hi, held by the first one's shard"))
	require.Equal(t, "db3", r.Lookup(250), "after the merge, Lookup(250)")
	require.NoError(t, r.Merge(100, 400), "Merge(100, 400): the last range can be merged into the one before it")
	require.NoError(t, r.Merge(0, 100), "Merge(0, 100)")
	require.Equal(t, []Range{{0, maxID, "db1"}}, r.List(), "merging every range gives one range of every id")
}

func TestChangingAListDoesNotChangeTheRanges(t *testing.T) {
	r := NewRanges("db1")
	splitAsItMust(t, r, 0, []uint64{1, 100}, "db2")
	before := r.List()
	l := r.List()
	l[0].Shard, l[0].Hi, l[1].Lo = "db9", 5, 6
	require.Equal(t, before, r.List(), lesson("a caller changed the slice List() returned, and the ranges changed with it",
		"List returns a copy: the ranges are the map's, and a caller who edits, sorts or appends to what it got must not reroute requests"))
	require.Equal(t, "db1", r.Lookup(50), "Lookup(50) after a caller changed its copy of the list")
}

// TestRangesStayOrderedContiguousAndDisjoint splits and merges at random,
// with loads of every kind, and compares the ranges with the test's own
// after every step.
func TestRangesStayOrderedContiguousAndDisjoint(t *testing.T) {
	rng := seeds.Rand(t)
	r := NewRanges("s0")
	model := []Range{{0, maxID, "s0"}}
	var splits, merges, refused int
	for step := range 400 {
		i := rng.IntN(len(model))
		rg := model[i]
		span := rg.Hi - rg.Lo // ids in the range, less one
		var op string
		var err error
		if rng.IntN(2) == 0 || len(model) == 1 { // split, one time in two
			var load []uint64
			for range rng.IntN(20) {
				switch rng.IntN(4) {
				case 0: // the range's first id
					load = append(load, rg.Lo)
				case 1: // outside the range
					load = append(load, rng.Uint64())
				default:
					id := rng.Uint64()
					if span < maxID {
						id = rg.Lo + rng.Uint64N(span+1)
					}
					load = append(load, id, id) // a user makes two requests
				}
			}
			to := fmt.Sprintf("s%d", step+1)
			if rng.IntN(2) == 0 { // a shard can hold many ranges
				to = model[rng.IntN(len(model))].Shard
			}
			op = fmt.Sprintf("step %d: Split(%d, %v, %q) of %s", step, rg.Lo, load, to, idSpan(rg.Lo, rg.Hi))
			if _, _, _, _, ok := bestCut(rg, load); ok {
				splitAsItMust(t, r, rg.Lo, load, to)
				model = r.List()
				splits++
			} else {
				_, err = r.Split(rg.Lo, load, to)
				require.ErrorIs(t, err, ErrCannotSplit, lesson(op, "no cut leaves requests on both sides, so Split returns ErrCannotSplit"))
				refused++
			}
		} else {
			j := rng.IntN(len(model))
			if i+1 < len(model) && rng.IntN(3) > 0 {
				j = i + 1 // neighbours, two times in three
			}
			next := model[j].Lo
			op = fmt.Sprintf("step %d: Merge(%d, %d)", step, rg.Lo, next)
			err = r.Merge(rg.Lo, next)
			if j == i+1 {
				require.NoError(t, err, lesson(op+" of neighbours "+idSpan(rg.Lo, rg.Hi)+" and "+idSpan(model[j].Lo, model[j].Hi), "a range and the one right after it can be merged"))
				model[i].Hi = model[j].Hi
				model = slices.Delete(model, j, j+1)
				merges++
			} else {
				require.ErrorIs(t, err, ErrNotNeighbours, lesson(op+" of ranges that are not neighbours, on"+showRanges(model), "only a range and the one that starts right after it can be merged"))
				refused++
			}
		}
		got := r.List()
		checkCover(t, op, got)
		require.Equal(t, model, got, lesson(op+": the ranges should be"+showRanges(model)+"\nbut they are"+showRanges(got), "Split and Merge change only the ranges they name"))
		checkLookups(t, r, got, rng)
	}
	t.Logf("400 steps: %d splits, %d merges, %d refused; %d ranges at the end", splits, merges, refused, len(model))
}

// BenchmarkRangeLookup looks ids up among more and more ranges. A search
// that halves its interval does four more steps each time the ranges grow
// sixteen times (and meets slower memory once they outgrow the cache); a
// scan takes sixteen times as long.
func BenchmarkRangeLookup(b *testing.B) {
	for _, n := range []int{16, 256, 4096} {
		b.Run(fmt.Sprintf("ranges=%d", n), func(b *testing.B) {
			r := NewRanges("s0")
			step := maxID / uint64(n)
			for i := 1; i < n; i++ {
				lo, cut := uint64(i-1)*step, uint64(i)*step
				if _, err := r.Split(lo, []uint64{lo, cut}, fmt.Sprint("s", i)); err != nil {
					b.Fatalf("building %d ranges: Split(%d, [%d %d]): %v", n, lo, lo, cut, err)
				}
			}
			ids := make([]uint64, 1024)
			rng := rand.New(rand.NewPCG(1, 2))
			for i := range ids {
				ids[i] = rng.Uint64()
			}
			for i := 0; b.Loop(); i++ {
				r.Lookup(ids[i%len(ids)])
			}
		})
	}
}
