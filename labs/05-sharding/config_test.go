package sharding

// Part 3: rebalancing shards over replica groups.

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/distlings/distlings/labs/internal/seeds"
)

// groups returns groups of three servers each, by id.
func groups(gids ...int) map[int][]string {
	out := map[int][]string{}
	for _, gid := range gids {
		out[gid] = []string{fmt.Sprintf("g%d-a", gid), fmt.Sprintf("g%d-b", gid), fmt.Sprintf("g%d-c", gid)}
	}
	return out
}

// held maps each group of c, and 0 for no one, to its shards.
func held(c Config) map[int][]int {
	out := map[int][]int{}
	for gid := range c.Groups {
		out[gid] = nil
	}
	for s, gid := range c.Shards {
		out[gid] = append(out[gid], s)
	}
	return out
}

// table draws who held which shards before and after a change, for
// messages.
func table(before, after Config) string {
	b, a := held(before), held(after)
	gids := slices.Sorted(maps.Keys(b))
	for gid := range a {
		if _, there := b[gid]; !there {
			gids = append(gids, gid)
		}
	}
	slices.Sort(gids)
	show := func(shards []int, there bool) string {
		if !there {
			return "-"
		}
		if len(shards) == 0 {
			return "none"
		}
		return fmt.Sprint(len(shards), " ", strings.ReplaceAll(fmt.Sprint(shards), " ", ","))
	}
	var out strings.Builder
	fmt.Fprintf(&out, "\n    %-9s %-32s %s", "group", fmt.Sprintf("config %d", before.Num), fmt.Sprintf("config %d", after.Num))
	for _, gid := range gids {
		name := fmt.Sprint(gid)
		if gid == 0 {
			name = "no one"
		}
		sb, inB := b[gid]
		sa, inA := a[gid]
		_, joinedB := before.Groups[gid]
		_, joinedA := after.Groups[gid]
		fmt.Fprintf(&out, "\n    %-9s %-32s %s", name, show(sb, inB || joinedB), show(sa, inA || joinedA))
	}
	return out.String()
}

// fewestMoves is how few shards any even spread over after's groups must
// move from before: the shards of no current group, and those a group
// holds beyond its share, when the larger shares go to the groups that
// hold most.
func fewestMoves(before Config, after map[int][]string) int {
	if len(after) == 0 {
		return 0
	}
	var loads []int
	free := 0
	b := held(before)
	for gid, shards := range b {
		if _, there := after[gid]; there {
			loads = append(loads, len(shards))
		} else {
			free += len(shards)
		}
	}
	for gid := range after {
		if _, there := b[gid]; !there {
			loads = append(loads, 0)
		}
	}
	slices.Sort(loads)
	slices.Reverse(loads)
	n, g := len(before.Shards), len(after)
	for i, load := range loads {
		share := n / g
		if i < n%g {
			share++
		}
		free += max(0, load-share)
	}
	return free
}

// moves counts the shards whose group changed.
func moves(before, after Config) int {
	n := 0
	for s := range before.Shards {
		if before.Shards[s] != after.Shards[s] {
			n++
		}
	}
	return n
}

// checkSpread fails unless after, which change made from before, holds
// every shard on one of its groups, spreads them evenly and moved as few
// as it could.
func checkSpread(t *testing.T, change string, before, after Config) {
	t.Helper()
	at := change + table(before, after)
	require.Equal(t, before.Num+1, after.Num, lesson(at, "each change makes the next configuration, numbered one more than the last"))
	require.Len(t, after.Shards, len(before.Shards), lesson(at, "a change moves shards; it never adds or drops one"))
	for s, gid := range after.Shards {
		if _, there := after.Groups[gid]; !there && (len(after.Groups) > 0 || gid != 0) {
			require.Failf(t, "a shard held by no group of the configuration", lesson(
				fmt.Sprintf("%s\nshard %d is held by %d, which is not one of the configuration's groups", at, s, gid),
				"every shard is held by a group of the configuration, as long as it has any (0 means no one, and only when there are no groups): a shard on a group that left, or on no one, has its requests refused"))
		}
	}
	if len(after.Groups) == 0 {
		return
	}
	fewest, most := len(after.Shards), 0
	for gid := range after.Groups {
		n := len(held(after)[gid])
		fewest, most = min(fewest, n), max(most, n)
	}
	if most-fewest > 1 {
		require.Failf(t, "shards spread unevenly", lesson(
			fmt.Sprintf("%s\none group holds %d shards, another %d", at, most, fewest),
			"after every change the groups hold as even a number of shards as can be: no two differ by more than one, or the busiest group is the bottleneck of the whole store"))
	}
	if got, want := moves(before, after), fewestMoves(before, after.Groups); got != want {
		require.Failf(t, "more shards moved than had to", lesson(
			fmt.Sprintf("%s\n%d shards changed hands; an even spread is reached by moving %d", at, got, want),
			"a change moves as few shards as it can: only those of groups that left, and those a group holds beyond its share, move. Moving a shard copies all its data while its requests wait, so a change that reshuffles everything takes the store down"))
	}
}

// join and leave make a change and check it.
func join(t *testing.T, c Config, gids ...int) Config {
	t.Helper()
	next, err := c.Join(groups(gids...))
	require.NoError(t, err, fmt.Sprintf("Join of groups %v to configuration %d", gids, c.Num))
	checkSpread(t, fmt.Sprintf("groups %v joined configuration %d:", gids, c.Num), c, next)
	return next
}

func leave(t *testing.T, c Config, gids ...int) Config {
	t.Helper()
	next, err := c.Leave(gids...)
	require.NoError(t, err, fmt.Sprintf("Leave of groups %v from configuration %d", gids, c.Num))
	checkSpread(t, fmt.Sprintf("groups %v left configuration %d:", gids, c.Num), c, next)
	for _, gid := range gids {
		_, there := next.Groups[gid]
		require.False(t, there, fmt.Sprintf("group %d left, and is still among configuration %d's groups", gid, next.Num))
	}
	return next
}

func TestTheFirstGroupTakesEveryShard(t *testing.T) {
	c := NewConfig(10)
	require.Equal(t, 0, c.Num, "NewConfig's configuration is number 0")
	c = join(t, c, 1)
	require.Equal(t, slices.Repeat([]int{1}, 10), c.Shards, "the one group holds every shard")
	require.Equal(t, groups(1), c.Groups, "the configuration's groups, with their servers")
}

func TestJoinsSpreadTheShardsEvenly(t *testing.T) {
	c := join(t, NewConfig(10), 1)
	c = join(t, c, 2)
	c = join(t, c, 3)
	c = join(t, c, 4, 5)
	c = join(t, c, 6)
	join(t, c, 7, 8, 9, 10)
}

func TestLeavesSpreadTheShardsOfTheGroupsThatLeft(t *testing.T) {
	c := join(t, NewConfig(10), 1, 2, 3, 4, 5)
	c = leave(t, c, 2)
	c = leave(t, c, 1, 4)
	c = join(t, c, 6)
	c = leave(t, c, 3)
	leave(t, c, 5)
}

func TestChangesMoveTheFewestShards(t *testing.T) {
	c := join(t, NewConfig(12), 10)
	c = join(t, c, 20) // 6 move
	c = join(t, c, 30) // 4 move
	c = join(t, c, 40) // 3 move
	c = leave(t, c, 10)
	c = join(t, c, 50, 60)
	c = leave(t, c, 30, 60)
	join(t, c, 10)
}

func TestMoreGroupsThanShardsLeaveSomeGroupsWithout(t *testing.T) {
	c := join(t, NewConfig(3), 1, 2, 3, 4, 5)
	c = join(t, c, 6)
	for _, gid := range slices.Sorted(maps.Keys(c.Groups)) {
		if slices.Contains(c.Shards, gid) {
			c = leave(t, c, gid) // its shard goes to a group that has none
			break
		}
	}
	var holding []int // every group that holds a shard leaves at once
	for _, gid := range c.Shards {
		if !slices.Contains(holding, gid) {
			holding = append(holding, gid)
		}
	}
	leave(t, c, holding...)
}

func TestWhenEveryGroupLeavesNoOneHoldsAShard(t *testing.T) {
	c := join(t, NewConfig(10), 1, 2, 3)
	c = leave(t, c, 1, 2, 3)
	require.Equal(t, make([]int, 10), c.Shards, lesson("every group left, and the shards are held by"+table(c, c), "with no groups, every shard is held by no one (0)"))
	c = join(t, c, 4, 5)
	leave(t, c, 5)
}

// TestChangesDoNotDependOnMapOrder makes the same changes to the same
// configurations many times. Go visits a map in a new order each time, so
// a choice made in a map's order comes out different.
func TestChangesDoNotDependOnMapOrder(t *testing.T) {
	type change struct {
		what string
		do   func(Config) (Config, error)
	}
	start := join(t, join(t, NewConfig(10), 1, 2, 3), 4)
	for _, ch := range []change{
		{"groups 5, 6 and 7 join", func(c Config) (Config, error) { return c.Join(groups(5, 6, 7)) }},
		{"group 5 joins", func(c Config) (Config, error) { return c.Join(groups(5)) }},
		{"groups 1 and 3 leave", func(c Config) (Config, error) { return c.Leave(1, 3) }},
		{"group 2 leaves", func(c Config) (Config, error) { return c.Leave(2) }},
	} {
		first, err := ch.do(start)
		require.NoError(t, err, ch.what)
		for range 40 {
			again, err := ch.do(start)
			require.NoError(t, err, ch.what)
			if !slices.Equal(first.Shards, again.Shards) {
				require.Failf(t, "the same change gave two configurations", lesson(
					fmt.Sprintf("%s, in configuration %d, twice: once it gave%s\nand once%s", ch.what, start.Num, table(start, first), table(start, again)),
					"the next configuration is a function of the last one and the change: every router and group that computes it must get the same answer. Go visits a map in a different order each time, so every choice (which group gets a shard, which gives one up) is made in an order of ids"))
			}
		}
	}
}

func TestANewConfigurationSharesNothingWithTheOldOne(t *testing.T) {
	c1 := join(t, NewConfig(10), 1, 2)
	shards, grps := slices.Clone(c1.Shards), groups(1, 2)
	joining := groups(3)
	c2 := join(t, c1, 3)
	c2b, err := c1.Join(joining)
	require.NoError(t, err)
	c3 := leave(t, c2, 1)
	unchanged := func(what string) {
		t.Helper()
		require.Equal(t, shards, c1.Shards, lesson(what+", and configuration 1's shards changed", "a configuration, once made, never changes: routers and groups still read old ones, and a change returns a new one that shares nothing with it"))
		require.Equal(t, grps, c1.Groups, lesson(what+", and configuration 1's groups changed", "a configuration, once made, never changes: routers and groups still read old ones, and a change returns a new one that shares nothing with it (a map or a slice copied by assignment is shared)"))
	}
	unchanged("group 3 joined configuration 1, and group 1 left the result")
	c2.Shards[0], c2.Groups[2][0] = 99, "moved"
	c3.Shards[1] = 98
	c3.Groups[2] = append(c3.Groups[2][:1], "extra")
	unchanged("a caller changed configurations 2 and 3")
	first := groups(1, 2)
	c0, err := NewConfig(4).Join(first)
	require.NoError(t, err)
	first[1][0], first[7] = "changed by the caller", []string{"g7-a"}
	require.Equal(t, groups(1, 2), c0.Groups, lesson("the caller of the first Join changed the map and the servers it had passed in, and the configuration's groups changed with them",
		"a configuration keeps its own copy of the groups and their servers: the caller's map and slices are the caller's"))
	joining[3][0] = "changed by the caller"
	require.Equal(t, groups(3)[3], c2b.Groups[3], lesson("the caller of Join changed the servers it had passed in, and the configuration's servers changed with them",
		"a configuration keeps its own copy of the servers: the caller's map and slices are the caller's"))
}

func TestJoinAndLeaveRefuseBadGroups(t *testing.T) {
	c := join(t, NewConfig(10), 1, 2)
	shards, grps := slices.Clone(c.Shards), groups(1, 2)
	for _, call := range []struct {
		what string
		do   func() (Config, error)
	}{
		{"group 0 joins", func() (Config, error) { return c.Join(groups(0)) }},
		{"group -4 joins", func() (Config, error) { return c.Join(groups(-4)) }},
		{"group 2, already there, joins again", func() (Config, error) { return c.Join(groups(2, 3)) }},
		{"group 3, never joined, leaves", func() (Config, error) { return c.Leave(3) }},
		{"group 0 leaves", func() (Config, error) { return c.Leave(0) }},
		{"group 1 and group 3, never joined, leave", func() (Config, error) { return c.Leave(1, 3) }},
	} {
		_, err := call.do()
		if !errors.Is(err, ErrBadGroup) {
			require.Failf(t, "a bad group accepted", lesson(fmt.Sprintf("%s: the answer was error %v", call.what, err),
				"group ids are positive (0 is no one), a group joins once and only a group that joined can leave: anything else is ErrBadGroup, and changes nothing"))
		}
		require.Equal(t, shards, c.Shards, lesson(call.what+" was refused, and the configuration's shards changed", "a refused change changes nothing"))
		require.Equal(t, grps, c.Groups, lesson(call.what+" was refused, and the configuration's groups changed", "a refused change changes nothing"))
	}
}

// TestRandomChangesStayEvenAndMoveTheFewest joins and leaves groups at
// random, and checks each configuration, and that making the same change
// again gives the same one.
func TestRandomChangesStayEvenAndMoveTheFewest(t *testing.T) {
	rng := seeds.Rand(t)
	for _, shards := range []int{10, 16, 7} {
		c := NewConfig(shards)
		for range 150 {
			present := slices.Sorted(maps.Keys(c.Groups))
			var next Config
			if len(present) == 0 || len(present) < 20 && rng.IntN(2) == 0 {
				var gids []int
				for range 1 + rng.IntN(3) {
					if gid := 1 + rng.IntN(40); !slices.Contains(present, gid) && !slices.Contains(gids, gid) {
						gids = append(gids, gid)
					}
				}
				if len(gids) == 0 {
					continue
				}
				next = join(t, c, gids...)
				again, _ := c.Join(groups(gids...))
				require.Equal(t, next.Shards, again.Shards, lesson(fmt.Sprintf("groups %v joined configuration %d twice, and the results differ:%s%s", gids, c.Num, table(c, next), table(c, again)),
					"the next configuration is a function of the last one and the change"))
			} else {
				rng.Shuffle(len(present), func(i, j int) { present[i], present[j] = present[j], present[i] })
				gids := present[:1+rng.IntN(min(3, len(present)))]
				next = leave(t, c, gids...)
				again, _ := c.Leave(gids...)
				require.Equal(t, next.Shards, again.Shards, lesson(fmt.Sprintf("groups %v left configuration %d twice, and the results differ:%s%s", gids, c.Num, table(c, next), table(c, again)),
					"the next configuration is a function of the last one and the change"))
			}
			c = next
		}
	}
}
