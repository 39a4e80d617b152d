package sim

import "time"

type eventKind uint8

const (
	evDeliver eventKind = iota + 1
	evTimer
	evAction
)

// event is one thing scheduled to happen. Events are kept by value in the
// queue: scheduling one allocates nothing.
type event struct {
	at      time.Duration
	seq     uint64 // ties at one instant go in the order they were scheduled
	kind    eventKind
	node    NodeID // receiver of a message, owner of a timer
	from    NodeID // sender of a message
	dup     bool   // a duplicate made by the network
	epoch   uint64 // the incarnation that set a timer
	timer   TimerID
	payload any // the message, or the node's Timer value
	name    string
	action  func()
}

// eventQueue is a binary min-heap ordered by (at, seq): the one order of
// events for a seed, whatever the machine.
type eventQueue []event

func (q eventQueue) less(i, j int) bool {
	if q[i].at != q[j].at {
		return q[i].at < q[j].at
	}
	return q[i].seq < q[j].seq
}

func (q *eventQueue) push(e event) {
	*q = append(*q, e)
	h := *q
	i := len(h) - 1
	for i > 0 {
		parent := (i - 1) / 2
		if !h.less(i, parent) {
			break
		}
		h[i], h[parent] = h[parent], h[i]
		i = parent
	}
}

func (q *eventQueue) pop() event {
	h := *q
	top := h[0]
	last := len(h) - 1
	h[0] = h[last]
	h[last] = event{} // drop references for the collector
	h = h[:last]
	i := 0
	for {
		l, r, small := 2*i+1, 2*i+2, i
		if l < len(h) && h.less(l, small) {
			small = l
		}
		if r < len(h) && h.less(r, small) {
			small = r
		}
		if small == i {
			break
		}
		h[i], h[small] = h[small], h[i]
		i = small
	}
	*q = h
	return top
}

func (q eventQueue) peek() *event { return &q[0] }
