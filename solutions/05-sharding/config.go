//go:build solution

package sharding

// Rebalancing shards over replica groups: part 4. You write this file.
//
// The API the tests use (keep these names and signatures):
//
//	NewConfig(shards int) Config
//	(Config).Join(groups map[int][]string) (Config, error)
//	(Config).Leave(gids ...int) (Config, error)
//
// A shard controller keeps a numbered list of configurations. Each says
// which replica group holds each logical shard; every router and every
// group that reads configuration n must arrive at the same assignment, so
// the next configuration is a function of the last one and the change
// alone.

import (
	"errors"
	"maps"
	"slices"
)

// ErrBadGroup is the answer of Join and Leave for a group id that is not
// positive, a group that joins twice or a group that leaves without having
// joined.
var ErrBadGroup = errors.New("bad group")

// Config is one configuration.
type Config struct {
	Num    int              // its number: 0, then one more with each change
	Shards []int            // Shards[s] is the group that holds shard s; 0 means none
	Groups map[int][]string // the groups, by id, and their servers
}

// NewConfig returns configuration 0: shards shards, held by no one.
func NewConfig(shards int) Config {
	return Config{Shards: make([]int, shards), Groups: map[int][]string{}}
}

// Join returns the next configuration, in which groups have joined and
// the shards are spread evenly again.
func (c Config) Join(groups map[int][]string) (Config, error) {
	next := c.copy()
	for gid, servers := range groups {
		if _, there := c.Groups[gid]; gid <= 0 || there {
			return c, ErrBadGroup
		}
		next.Groups[gid] = slices.Clone(servers)
	}
	next.rebalance()
	return next, nil
}

// Leave returns the next configuration, in which the groups gids have
// left and the shards are spread evenly again.
func (c Config) Leave(gids ...int) (Config, error) {
	next := c.copy()
	for _, gid := range gids {
		if _, there := next.Groups[gid]; !there {
			return c, ErrBadGroup
		}
		delete(next.Groups, gid)
	}
	next.rebalance()
	return next, nil
}

// copy is c with the next number, sharing nothing with c: an old
// configuration is a record that other servers still read.
func (c Config) copy() Config {
	next := Config{Num: c.Num + 1, Shards: slices.Clone(c.Shards), Groups: make(map[int][]string, len(c.Groups))}
	for gid, servers := range c.Groups {
		next.Groups[gid] = slices.Clone(servers)
	}
	return next
}

// rebalance spreads the shards so that groups differ by at most one,
// moving as few as it can: only the shards of groups that left, those no
// one holds, and those a group holds beyond its share. Every choice is
// made in an order of group ids and shard numbers, never of a map.
func (c *Config) rebalance() {
	gids := slices.Sorted(maps.Keys(c.Groups))
	if len(gids) == 0 {
		clear(c.Shards)
		return
	}
	held := map[int][]int{} // gid → its shards, in order
	var free []int
	for s, gid := range c.Shards {
		if _, there := c.Groups[gid]; there {
			held[gid] = append(held[gid], s)
		} else {
			free = append(free, s)
		}
	}
	// The groups that hold most get the larger shares, so fewest move.
	byLoad := slices.Clone(gids)
	slices.SortStableFunc(byLoad, func(a, b int) int { return len(held[b]) - len(held[a]) })
	share := map[int]int{}
	for i, gid := range byLoad {
		share[gid] = len(c.Shards) / len(gids)
		if i < len(c.Shards)%len(gids) {
			share[gid]++
		}
	}
	for _, gid := range gids {
		if extra := len(held[gid]) - share[gid]; extra > 0 {
			free = append(free, held[gid][share[gid]:]...)
			held[gid] = held[gid][:share[gid]]
		}
	}
	slices.Sort(free)
	for _, gid := range gids {
		for len(held[gid]) < share[gid] {
			c.Shards[free[0]] = gid
			held[gid], free = append(held[gid], free[0]), free[1:]
		}
	}
}
