package sharding

// Consistent hashing with virtual nodes: part 1. You write this file.
//
// The API the tests use (keep these names and signatures):
//
//	NewRing(vnodes int) *Ring
//	(*Ring).Add(node string, weight int)
//	(*Ring).Remove(node string)
//	(*Ring).Lookup(key string) string
//	(*Ring).Nodes() []string
//
// The ring is the 64-bit positions of Hash, going round: after the last
// position comes the first. A node of weight w (at least 1) has
// w × vnodes points on it, point i, for i from 0 to w × vnodes − 1, at
// Hash(PointName(node, i)) (hash.go). A key belongs to the
// node of the first point at or after Hash(key), going round; if two
// nodes' points share a position, the node whose name sorts first has it.
//
// Run `grader test 05` (or `go test ./labs/05-sharding/`) after each part.

// Ring assigns keys to nodes. It is not safe for concurrent use.
type Ring struct {
	vnodes int

	// TODO(part 1): whatever else the ring keeps.
}

// NewRing returns an empty ring whose nodes have vnodes points per unit
// of weight.
func NewRing(vnodes int) *Ring {
	return &Ring{vnodes: vnodes}
}

// Add puts node on the ring with weight × vnodes points; adding a node
// that is already there gives it the new weight.
func (r *Ring) Add(node string, weight int) {
	// TODO(part 1)
}

// Remove takes node and its points off the ring; an unknown node changes
// nothing.
func (r *Ring) Remove(node string) {
	// TODO(part 1)
}

// Lookup returns the node that key belongs to, or "" on an empty ring.
func (r *Ring) Lookup(key string) string {
	// TODO(part 1)
	return ""
}

// Nodes returns the nodes on the ring, sorted.
func (r *Ring) Nodes() []string {
	// TODO(part 1)
	return nil
}
