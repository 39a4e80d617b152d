// Package sharding splits data over machines when one machine is not
// enough: which machine holds a key, and how to change that without
// losing or doubling a write.
//
// You write a file a part: ring.go, ranges.go, ids.go, config.go,
// router.go and mover.go. This file holds what they share: the hash that
// places keys and points, and how the points of a node are named.
package sharding

import (
	"hash/fnv"
	"strconv"
)

// Hash places a key, or a point of a node, on the ring of 64-bit
// positions: FNV-1a, then a finalizer that spreads similar strings
// ("user-1", "user-2") far apart.
func Hash(s string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(s))
	x := h.Sum64()
	// splitmix64's finalizer
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}

// PointName names the i-th point (virtual node) of node on the ring: the
// point sits at Hash(PointName(node, i)).
func PointName(node string, i int) string { return node + "#" + strconv.Itoa(i) }
