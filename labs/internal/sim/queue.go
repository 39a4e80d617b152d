package sim

import "time"

type eventKind uint8

const (
	evDeliver eventKind = iota + 1
	evTimer
	evAction
)

// event is one thing scheduled to happen.
type event struct {
	at      time.Duration
	seq     uint64 // ties at one instant go in the order they were scheduled
	kind    eventKind
	dup     bool   // a duplicate made by the network
	n       uint32 // a message's number on its link
	node    NodeID // receiver of a message, owner of a timer
	from    NodeID // sender of a message
	epoch   uint64 // the incarnation that set a timer
	timer   TimerID
	payload any // the message, or the node's Timer value
	act     *action
}

// action is a step of the test, scheduled with World.At.
type action struct {
	name  string
	f     func()
	quiet bool // not recorded in the trace
}

// eventQueue orders events by (at, seq): the one order of events for a
// seed, whatever the machine. The heap holds only the keys and a slot
// number, so sifting moves 24 bytes, not the whole event; the events stay
// put in a slab whose free slots are reused. Scheduling allocates nothing
// once the slab has grown to the run's largest backlog.
type eventQueue struct {
	heap []queued
	slab []event
	free []int32
}

type queued struct {
	at   time.Duration
	seq  uint64
	slot int32
}

func (a queued) before(b queued) bool {
	if a.at != b.at {
		return a.at < b.at
	}
	return a.seq < b.seq
}

func (q *eventQueue) len() int { return len(q.heap) }

func (q *eventQueue) push(e *event) {
	var slot int32
	if n := len(q.free); n > 0 {
		slot = q.free[n-1]
		q.free = q.free[:n-1]
		q.slab[slot] = *e
	} else {
		slot = int32(len(q.slab))
		q.slab = append(q.slab, *e)
	}
	h := append(q.heap, queued{at: e.at, seq: e.seq, slot: slot})
	i := len(h) - 1
	item := h[i]
	for i > 0 {
		parent := (i - 1) / 2
		if !item.before(h[parent]) {
			break
		}
		h[i] = h[parent]
		i = parent
	}
	h[i] = item
	q.heap = h
}

// popInto moves the next event into e.
func (q *eventQueue) popInto(e *event) {
	h := q.heap
	top := h[0]
	last := len(h) - 1
	item := h[last]
	h = h[:last]
	if last > 0 {
		i := 0
		for {
			small := 2*i + 1
			if small >= last {
				break
			}
			if r := small + 1; r < last && h[r].before(h[small]) {
				small = r
			}
			if !h[small].before(item) {
				break
			}
			h[i] = h[small]
			i = small
		}
		h[i] = item
	}
	q.heap = h
	*e = q.slab[top.slot]
	q.slab[top.slot] = event{} // drop references for the collector
	q.free = append(q.free, top.slot)
}

// peekAt is the time of the next event; the queue must not be empty.
func (q *eventQueue) peekAt() time.Duration { return q.heap[0].at }
