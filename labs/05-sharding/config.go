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

import "errors"

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
	// TODO(part 4)
	return c, nil
}

// Leave returns the next configuration, in which the groups gids have
// left and the shards are spread evenly again.
func (c Config) Leave(gids ...int) (Config, error) {
	// TODO(part 4)
	return c, nil
}
