package sharding

// Part 1: consistent hashing with virtual nodes.

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// lesson joins what happened and the rule it breaks into one message.
func lesson(what, rule string) string { return what + "\nrule: " + rule }

const vnodes = 160

// keys are n keys as an application would name them.
func keys(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("user-%d", i)
	}
	return out
}

func nodeNames(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("db%d", i+1)
	}
	return out
}

// ring builds a ring of the nodes, each of weight 1, and checks that it
// holds them and gives keys to them.
func ring(t *testing.T, nodes []string) *Ring {
	t.Helper()
	r := NewRing(vnodes)
	for _, n := range nodes {
		r.Add(n, 1)
	}
	want := slices.Sorted(slices.Values(nodes))
	require.Equal(t, want, r.Nodes(), lesson(fmt.Sprintf("a ring to which %d nodes were added lists", len(nodes)), "Nodes() returns the nodes on the ring, sorted"))
	for _, k := range keys(100) {
		if got := r.Lookup(k); !slices.Contains(nodes, got) {
			require.Failf(t, "a key on no node", lesson(fmt.Sprintf("a ring of %d nodes gave %q to %q", len(nodes), k, got),
				"every key belongs to one of the ring's nodes"))
		}
	}
	return r
}

// owners maps each key to its node.
func owners(r *Ring, ks []string) map[string]string {
	out := make(map[string]string, len(ks))
	for _, k := range ks {
		out[k] = r.Lookup(k)
	}
	return out
}

// model is the ring as ring.go's comment defines it, computed the slow way.
type model struct{ points []modelPoint }

// modelPoint is a point of the model.
type modelPoint struct {
	pos  uint64
	node string
}

func newModel(weights map[string]int) *model {
	m := &model{}
	for node, w := range weights {
		for i := range w * vnodes {
			m.points = append(m.points, modelPoint{Hash(PointName(node, i)), node})
		}
	}
	return m
}

func (m *model) owner(key string) string { return m.ownerPoint(key).node }

// ownerPoint is the point a key walks to.
func (m *model) ownerPoint(key string) modelPoint {
	h := Hash(key)
	var best, first *modelPoint
	for i := range m.points {
		p := &m.points[i]
		if p.pos >= h && (best == nil || p.pos < best.pos || p.pos == best.pos && p.node < best.node) {
			best = p
		}
		if first == nil || p.pos < first.pos || p.pos == first.pos && p.node < first.node {
			first = p
		}
	}
	if best == nil {
		best = first // past the last point: round to the first
	}
	return *best
}

// name finds a point's name, for messages.
func (m *model) name(p modelPoint) string {
	for i := 0; ; i++ {
		if Hash(PointName(p.node, i)) == p.pos {
			return PointName(p.node, i)
		}
	}
}

func TestLookupFollowsTheRing(t *testing.T) {
	nodes := nodeNames(5)
	weights := map[string]int{}
	r := NewRing(vnodes)
	for i, n := range nodes {
		weights[n] = 1 + i%2
		r.Add(n, weights[n])
	}
	m := newModel(weights)
	// Keys of every kind, and keys that hash exactly onto a point, and the
	// key whose position is past every point.
	ks := append(keys(3000), PointName("db2", 7), PointName("db4", 0), PointName("db5", 200))
	last := slices.MaxFunc(m.points, func(a, b modelPoint) int { return cmp.Compare(a.pos, b.pos) })
	for _, k := range ks {
		if got, want := r.Lookup(k), m.owner(k); got != want {
			h := Hash(k)
			where := "between two points"
			switch {
			case h > last.pos:
				where = "past the last point, so it goes round to the first"
			case slices.ContainsFunc(m.points, func(p modelPoint) bool { return p.pos == h }):
				where = "exactly on a point of " + want
			}
			p := m.ownerPoint(k)
			require.Failf(t, "a key on the wrong node", lesson(
				fmt.Sprintf("Lookup(%q) = %q, want %q: the key's position, %d, is %s; the first point at or after it is %s, at %d", k, got, want, h, where, m.name(p), p.pos),
				"a key belongs to the node of the first point at or after Hash(key), going round the ring: after the last point comes the first; a node of weight w has w × vnodes points, point i at Hash(PointName(node, i))"))
		}
	}
}

func TestLookupsDoNotDependOnTheOrderNodesWereAdded(t *testing.T) {
	nodes := nodeNames(8)
	a := ring(t, nodes)
	reversed := slices.Clone(nodes)
	slices.Reverse(reversed)
	b := ring(t, reversed)
	for _, k := range keys(5000) {
		if a.Lookup(k) != b.Lookup(k) {
			require.Failf(t, "two rings disagree", lesson(
				fmt.Sprintf("two rings of the same 8 nodes, added in opposite orders, put %q on %s and on %s", k, a.Lookup(k), b.Lookup(k)),
				"where a key lives depends only on which nodes there are: two routers that learned of the nodes in different orders must send a key to the same machine"))
		}
	}
	require.Equal(t, nodeNames(8), b.Nodes(), "Nodes() lists the nodes, sorted")
}

// spread returns the smallest, mean and largest number of keys per node.
func spread(r *Ring, ks []string) (lo int, mean float64, hi int, per map[string]int) {
	per = map[string]int{}
	for _, k := range ks {
		per[r.Lookup(k)]++
	}
	lo = math.MaxInt
	for _, n := range r.Nodes() {
		lo, hi = min(lo, per[n]), max(hi, per[n])
	}
	return lo, float64(len(ks)) / float64(len(r.Nodes())), hi, per
}

func TestVirtualNodesKeepTheLoadEven(t *testing.T) {
	r := ring(t, nodeNames(10))
	ks := keys(100_000)
	lo, mean, hi, _ := spread(r, ks)
	t.Logf("100 000 keys on 10 nodes of %d points each: %d to %d keys per node, mean %.0f", vnodes, lo, hi, mean)
	const factor = 1.25
	require.LessOrEqual(t, float64(hi), factor*mean, lesson(
		fmt.Sprintf("100 000 keys on 10 nodes: the busiest node holds %d keys, %.2f× the mean of %.0f (the quietest %d)", hi, float64(hi)/mean, mean, lo),
		fmt.Sprintf("each node has many points on the ring (vnodes of them per unit of weight), so that the arcs it owns add up to about its share: with one point per node, one node can own half the ring. The busiest may hold at most %.2f× the mean", factor)))
}

func TestWeightsScaleANodesShare(t *testing.T) {
	r := ring(t, nodeNames(4))
	r.Add("big", 3)
	ks := keys(60_000)
	_, _, _, per := spread(r, ks)
	unit := float64(len(ks)) / 7 // 4 nodes of weight 1 and one of weight 3
	got := float64(per["big"]) / unit
	require.InDelta(t, 3, got, 0.45, lesson(
		fmt.Sprintf("on a ring of 4 nodes of weight 1 and \"big\" of weight 3, big holds %d of %d keys, %.2f shares, want about 3", per["big"], len(ks), got),
		"a node of weight w has w × vnodes points, so it owns about w shares of the keys: a machine twice as large takes twice the data"))
	r.Add("big", 1)
	_, _, _, per = spread(r, ks)
	require.InDelta(t, float64(len(ks))/5, float64(per["big"]), float64(len(ks))/5*0.25, lesson(
		fmt.Sprintf("\"big\" was added again with weight 1, and holds %d of %d keys, want about a fifth", per["big"], len(ks)),
		"adding a node that is already there gives it the new weight: its old points go"))
}

// moved counts the keys whose node changed, and those that moved to a node
// other than want.
func moved(before, after map[string]string, want func(from, to string) bool) (n int, wrong []string) {
	for k, from := range before {
		if to := after[k]; to != from {
			n++
			if !want(from, to) && len(wrong) < 3 {
				wrong = append(wrong, fmt.Sprintf("%s from %s to %s", k, from, to))
			}
		}
	}
	return n, wrong
}

func TestAddingANodeMovesAboutOneNthOfTheKeys(t *testing.T) {
	r := ring(t, nodeNames(10))
	ks := keys(50_000)
	before := owners(r, ks)
	r.Add("db11", 1)
	after := owners(r, ks)
	n, wrong := moved(before, after, func(_, to string) bool { return to == "db11" })
	share := float64(n) / float64(len(ks))
	t.Logf("adding an 11th node moved %d of %d keys (%.1f%%; 1/11 is %.1f%%)", n, len(ks), 100*share, 100.0/11)
	require.Empty(t, wrong, lesson(
		fmt.Sprintf("adding db11 to 10 nodes moved keys between old nodes: %s", strings.Join(wrong, "; ")),
		"a new node takes over arcs of the ring; every key that moves, moves to it, and no other key moves: the old nodes keep what they had"))
	require.LessOrEqual(t, share, 1.4/11, lesson(
		fmt.Sprintf("adding an 11th node to 10 moved %d of %d keys, %.0f%% of them; about 1/11, %.0f%%, is all that must move", n, len(ks), 100*share, 100.0/11),
		"consistent hashing moves only the keys the new node takes: hash mod N, or any scheme that reshuffles on a change of N, moves nearly everything, and every moved key is data to copy while the cluster serves"))
}

func TestRemovingANodeMovesOnlyItsKeys(t *testing.T) {
	r := ring(t, nodeNames(10))
	ks := keys(50_000)
	before := owners(r, ks)
	r.Remove("db4")
	after := owners(r, ks)
	n, wrong := moved(before, after, func(from, _ string) bool { return from == "db4" })
	require.Empty(t, wrong, lesson(
		fmt.Sprintf("removing db4 moved keys that were not on it: %s", strings.Join(wrong, "; ")),
		"only the removed node's keys move, each to the next point going round; the others stay where they are"))
	for k, to := range after {
		if to == "db4" {
			require.Failf(t, "a removed node still holds keys", lesson(fmt.Sprintf("after Remove(\"db4\"), Lookup(%q) is still db4", k),
				"Remove takes the node's points off the ring"))
		}
	}
	require.Equal(t, n, countOn(before, "db4"), "every key of db4 moved")
	require.NotContains(t, r.Nodes(), "db4")
	r.Remove("nobody") // an unknown node changes nothing
	require.Equal(t, after, owners(r, ks), "removing a node that is not on the ring changes nothing")
}

func countOn(m map[string]string, node string) int {
	n := 0
	for _, v := range m {
		if v == node {
			n++
		}
	}
	return n
}

func TestAnEmptyRingHoldsNothing(t *testing.T) {
	r := NewRing(vnodes)
	require.Equal(t, "", r.Lookup("user-1"), "an empty ring has no node for any key")
	r.Add("db1", 1)
	require.Equal(t, "db1", r.Lookup("user-1"), lesson("a ring of one node gave user-1 to another", "with one node, every key is on it"))
	r.Remove("db1")
	require.Equal(t, "", r.Lookup("user-1"), "a ring whose only node was removed has no node for any key")
	require.Empty(t, r.Nodes())
}

func BenchmarkLookup(b *testing.B) {
	r := NewRing(vnodes)
	for _, n := range nodeNames(100) {
		r.Add(n, 1)
	}
	ks := keys(1024)
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		r.Lookup(ks[i%len(ks)])
	}
}
