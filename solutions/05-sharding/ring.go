//go:build solution

package sharding

// Consistent hashing with virtual nodes: the points of every node, sorted
// by position, and a binary search for the first point at or after a
// key's position.

import (
	"cmp"
	"slices"
	"sort"
	"strings"
)

// Ring assigns keys to nodes. It is not safe for concurrent use.
type Ring struct {
	vnodes  int
	weights map[string]int
	points  []point // sorted by position, then by node
}

type point struct {
	pos  uint64
	node string
}

// NewRing returns an empty ring whose nodes have vnodes points per unit
// of weight.
func NewRing(vnodes int) *Ring {
	return &Ring{vnodes: vnodes, weights: map[string]int{}}
}

// Add puts node on the ring with weight × vnodes points; adding a node
// that is already there gives it the new weight.
func (r *Ring) Add(node string, weight int) {
	r.weights[node] = weight
	r.rebuild()
}

// Remove takes node and its points off the ring.
func (r *Ring) Remove(node string) {
	if _, ok := r.weights[node]; !ok {
		return
	}
	delete(r.weights, node)
	r.rebuild()
}

// rebuild lays out every node's points again. The order of the nodes in
// the map does not matter: the points are sorted, ties by node name.
func (r *Ring) rebuild() {
	r.points = r.points[:0]
	for node, w := range r.weights {
		for i := range w * r.vnodes {
			r.points = append(r.points, point{Hash(PointName(node, i)), node})
		}
	}
	slices.SortFunc(r.points, func(a, b point) int {
		if c := cmp.Compare(a.pos, b.pos); c != 0 {
			return c
		}
		return strings.Compare(a.node, b.node)
	})
}

// Lookup returns the node of the first point at or after key's position,
// going round.
func (r *Ring) Lookup(key string) string {
	if len(r.points) == 0 {
		return ""
	}
	h := Hash(key)
	i := sort.Search(len(r.points), func(i int) bool { return r.points[i].pos >= h })
	if i == len(r.points) {
		i = 0 // past the last point: round to the first
	}
	return r.points[i].node
}

// Nodes returns the nodes on the ring, sorted.
func (r *Ring) Nodes() []string {
	out := make([]string, 0, len(r.weights))
	for n := range r.weights {
		out = append(out, n)
	}
	slices.Sort(out)
	return out
}
