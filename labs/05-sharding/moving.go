package sharding

// What part 6's mover and the replica groups share: where a move in
// progress is recorded, a shard's data, and what a group lets a mover do
// with a shard. This file is given.

import (
	"context"
	"errors"
)

// MoveKey is the etcd key where a move in progress is recorded, for
// whoever must finish it.
const MoveKey = "/distlings/move"

// ShardData is what a group holds for one shard: its keys, and the answer
// it gave to each request it ran, by request id (the dedup table).
type ShardData struct {
	Keys    map[string]string
	Answers map[string]string
}

// Holder is a replica group as a mover reaches it. A group runs requests
// for a shard when the shard map names it, it holds the shard's data, and
// the shard is not frozen. Every method can be called again after a crash
// and does the same.
type Holder interface {
	// Freeze stops the group running requests for shard, once those it
	// is running have finished; it answers ErrWrongGroup from then on.
	Freeze(ctx context.Context, shard int) error
	// Export returns a copy of the group's data for shard.
	Export(ctx context.Context, shard int) (ShardData, error)
	// Import replaces the group's data for shard with data; the group
	// runs requests for it (unfrozen) once the map names the group.
	Import(ctx context.Context, shard int, data ShardData) error
	// Unfreeze lets the group run requests for shard again.
	Unfreeze(ctx context.Context, shard int) error
	// Drop forgets the group's data for shard, if it holds any.
	Drop(ctx context.Context, shard int) error
}

// ErrNoShard is a Holder's answer about a shard it holds no data for.
var ErrNoShard = errors.New("the group holds no data for that shard")

// ErrMoveInProgress is Move's answer while another move is recorded at
// MoveKey.
var ErrMoveInProgress = errors.New("a move is in progress")
