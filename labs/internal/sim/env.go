package sim

import (
	"fmt"
	"math/rand/v2"
	"time"
)

// env is one incarnation's view of the world. Once that incarnation has
// crashed, every use of it is a mistake and says so.
type env struct {
	w     *World
	s     *slot
	epoch uint64
	dead  bool
	rand  *rand.Rand
	peers []NodeID
}

func (e *env) live(op string) {
	if e.dead || e.s.epoch != e.epoch {
		panic(misuse(fmt.Sprintf("%v called %s after it crashed: a crashed node's code must not run (is the test calling into an old incarnation?)", e.s.id, op)))
	}
}

func (e *env) ID() NodeID { return e.s.id }

func (e *env) Peers() []NodeID {
	if e.peers == nil {
		for _, s := range e.w.nodes {
			if s.id != e.s.id {
				e.peers = append(e.peers, s.id)
			}
		}
	}
	return append([]NodeID(nil), e.peers...)
}

func (e *env) Now() time.Duration { return e.w.now }

func (e *env) Send(to NodeID, msg Message) {
	e.live("Send")
	if to < 1 || int(to) > len(e.w.nodes) {
		panic(misuse(fmt.Sprintf("%v sent %s to %v, which is not in the cluster (its nodes are n1 to n%d)", e.s.id, Describe(msg), to, len(e.w.nodes))))
	}
	copied, err := e.w.types.copy(msg)
	if err != nil {
		panic(misuse(fmt.Sprintf("%v sent a message that cannot cross a network: %v", e.s.id, err)))
	}
	e.w.send(e.s.id, to, copied)
}

func (e *env) SetTimer(after time.Duration, t Timer) TimerID {
	e.live("SetTimer")
	if after < 0 {
		panic(misuse(fmt.Sprintf("%v set timer %s to fire %v from now, in the past", e.s.id, Describe(t), after)))
	}
	e.w.nextTID++
	id := e.w.nextTID
	e.s.timers[id] = struct{}{}
	e.w.schedule(&event{at: e.w.now + after, kind: evTimer, node: e.s.id, epoch: e.epoch, timer: id, payload: t})
	return id
}

func (e *env) CancelTimer(id TimerID) {
	e.live("CancelTimer")
	delete(e.s.timers, id)
}

func (e *env) Rand() *rand.Rand { return e.rand }

func (e *env) Storage() Storage { return e.s.storage }

func (e *env) Logf(format string, args ...any) {
	e.live("Logf")
	e.w.record(Record{Kind: KindLog, Node: e.s.id, Text: fmt.Sprintf(format, args...)})
}

// memStorage is durable storage in memory: it belongs to the slot, not to
// an incarnation, so it survives crashes.
type memStorage struct{ m map[string][]byte }

func newMemStorage() *memStorage { return &memStorage{m: map[string][]byte{}} }

func (s *memStorage) Get(key string) ([]byte, bool) {
	v, ok := s.m[key]
	if !ok {
		return nil, false
	}
	return append([]byte(nil), v...), true
}

func (s *memStorage) Put(key string, value []byte) { s.m[key] = append([]byte{}, value...) }

func (s *memStorage) Delete(key string) { delete(s.m, key) }
