package sharding

// Range sharding by user id: part 2. You write this file.
//
// The API the tests use (keep these names and signatures):
//
//	NewRanges(shard string) *Ranges
//	(*Ranges).Lookup(id uint64) string
//	(*Ranges).List() []Range
//	(*Ranges).Split(lo uint64, load []uint64, to string) (uint64, error)
//	(*Ranges).Merge(lo, next uint64) error
//
// The ids, from 0 to the largest uint64, are cut into ranges; each range
// belongs to one shard, and every id is in exactly one range.

import "errors"

// Errors of Split and Merge. A call that returns one changes nothing.
var (
	ErrNoSuchRange   = errors.New("no range starts there")
	ErrCannotSplit   = errors.New("no cut leaves load on both sides")
	ErrNotNeighbours = errors.New("the ranges are not neighbours")
)

// Range is the ids from Lo to Hi, both included, and the shard that holds
// them.
type Range struct {
	Lo, Hi uint64
	Shard  string
}

// Ranges maps ids to shards. It is not safe for concurrent use.
type Ranges struct {
	// TODO(part 2): what the ranges keep.
}

// NewRanges returns one range, of every id, held by shard.
func NewRanges(shard string) *Ranges {
	// TODO(part 2)
	return &Ranges{}
}

// Lookup returns the shard that holds id.
func (r *Ranges) Lookup(id uint64) string {
	// TODO(part 2)
	return ""
}

// List returns the ranges in order.
func (r *Ranges) List() []Range {
	// TODO(part 2)
	return nil
}

// Split cuts the range that starts at lo in two, to share out a load that
// is too much for one shard: load lists the ids of recent requests, one
// entry per request, so a busy user appears many times. The ids below the
// cut stay with the range's shard; the cut and those above it go to shard
// to. Split returns the cut, or ErrCannotSplit if no cut can share the
// load.
func (r *Ranges) Split(lo uint64, load []uint64, to string) (uint64, error) {
	// TODO(part 2)
	return 0, ErrCannotSplit
}

// Merge joins the range that starts at lo and the one that starts at next,
// which must come right after it; the joined range belongs to the first
// one's shard.
func (r *Ranges) Merge(lo, next uint64) error {
	// TODO(part 2)
	return ErrNotNeighbours
}
