package sim

import (
	"math/bits"
	"time"
)

// A message's fate (its latency, and whether it is lost, duplicated or held
// back) is drawn from a hash of the seed, its link and its number on that
// link, never from a stream shared with other messages. So taking one fault
// out of a run leaves every other fault as it was: the tenth message from
// n1 to n3 meets the same fate whatever happened to the ninth, or to any
// message between other nodes. That is what lets a failing run be shrunk
// to the few faults that matter (see Sweep).

// fate is what the network does with one message.
type fate struct {
	n                  uint32 // the message's number on its link, from 1
	key                uint64 // what its draws are made from
	latency            time.Duration
	lose, dup, delayed bool
}

// The draws of one message are counter-based: draw k is the k-th output
// of a splitmix64 stream seeded by the message's key, computed directly,
// so that a draw the network's settings do not need is not made and moves
// no other.
const (
	drawLatency = iota + 1
	drawTwin
	drawLoss
	drawDuplicate
	drawReorder
	drawDelay
)

func draw(key uint64, k uint64) uint64 {
	z := key + k*0x9e3779b97f4a7c15
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

// unit is a draw in [0, 1).
func unit(key, k uint64) float64 { return float64(draw(key, k)>>11) / (1 << 53) }

// upTo is a draw in [0, d], by multiplying rather than dividing.
func upTo(key, k uint64, d time.Duration) time.Duration {
	if d <= 0 {
		return 0
	}
	hi, _ := bits.Mul64(draw(key, k), uint64(d)+1)
	return time.Duration(hi)
}

// nextOnLink numbers a message sent from one node to another.
func (w *World) nextOnLink(from, to NodeID) uint32 {
	i := int(from)*(len(w.nodes)+1) + int(to)
	w.sent[i]++
	return w.sent[i]
}

// fateOf draws the fate of the n-th message from one node to another under
// the current network. Each draw depends on the seed, the link, the number
// and the draw's own place only, so a message's fate does not depend on
// which of the others were faults, nor on which draws were made.
func (w *World) fateOf(from, to NodeID, n uint32) fate {
	net := &w.cfg.Network
	key := draw(w.cfg.Seed^uint64(from)<<48^uint64(to)<<32^uint64(n), 0)
	spread := net.MaxLatency - net.MinLatency
	f := fate{n: n, key: key, latency: net.MinLatency + upTo(key, drawLatency, spread)}
	f.lose = net.Loss > 0 && unit(key, drawLoss) < net.Loss
	f.dup = net.Duplicate > 0 && unit(key, drawDuplicate) < net.Duplicate
	f.delayed = net.Reorder > 0 && unit(key, drawReorder) < net.Reorder
	return f
}

// twinLatency is the latency of a duplicate's second copy.
func (w *World) twinLatency(f fate) time.Duration {
	net := &w.cfg.Network
	return net.MinLatency + upTo(f.key, drawTwin, net.MaxLatency-net.MinLatency)
}

// delay is how long a delayed message is held back.
func (w *World) delay(f fate) time.Duration {
	return upTo(f.key, drawDelay, w.cfg.Network.ReorderDelay)
}

// A node's random draws are counter-based too: each comes from a hash of
// the seed, the node, its incarnation, the virtual time of the draw and
// how many draws the node made before at that instant, never from how many
// it made in all. So a fault the node shrugs off (a lost heartbeat that
// only skipped one timer reset) changes none of its later draws, and the
// run goes on as it would have: the fault can be shrunk away.
type nodeSource struct {
	w       *World
	key     uint64        // the seed, the node and its incarnation
	at      time.Duration // the instant of the last draw
	instant uint64        // the key of that instant's draws
	k       uint64        // draws made at that instant
}

func (w *World) nodeSource(id NodeID, epoch uint64) *nodeSource {
	return &nodeSource{w: w, key: draw(draw(w.cfg.Seed, 0x6e0de_0000+uint64(id)), epoch), at: -1}
}

func (s *nodeSource) Uint64() uint64 {
	if s.w.now != s.at {
		s.at, s.instant, s.k = s.w.now, draw(s.key, uint64(s.w.now)), 0
	}
	s.k++
	return draw(s.instant, s.k)
}
