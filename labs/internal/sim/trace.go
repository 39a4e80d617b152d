package sim

import (
	"encoding/json"
	"fmt"
	"hash/fnv"
	"io"
	"reflect"
	"strings"
	"time"
)

// Kind is what a trace record is about.
type Kind uint8

// What the trace records.
const (
	KindStart     Kind = iota + 1 // a node started (or restarted)
	KindSend                      // a node sent a message
	KindDeliver                   // a message reached a node
	KindDrop                      // the network or a crash lost a message
	KindDuplicate                 // the network will deliver a message twice
	KindTimer                     // a node's timer fired
	KindCrash                     // a node crashed
	KindRestart                   // a crashed node came back
	KindNetwork                   // a partition, a cut or a heal
	KindLog                       // a node's Logf line
	KindAction                    // a step of the test (a scheduled action)
	KindFailure                   // what stopped the run
	KindState                     // a node's State changed (see TrackState)
)

var kindNames = [...]string{
	KindStart: "start", KindSend: "send", KindDeliver: "deliver", KindDrop: "drop",
	KindDuplicate: "duplicate", KindTimer: "timer", KindCrash: "crash", KindRestart: "restart",
	KindNetwork: "network", KindLog: "log", KindAction: "action", KindFailure: "failure", KindState: "state",
}

func (k Kind) String() string {
	if int(k) < len(kindNames) && kindNames[k] != "" {
		return kindNames[k]
	}
	return fmt.Sprintf("kind(%d)", int(k))
}

// Record is one line of a run's trace.
type Record struct {
	Seq  uint64        // position in the trace, from 1
	At   time.Duration // virtual time
	Kind Kind
	// N numbers a message on its link (from 1), the same in its send,
	// delivery and drop records; 0 for other records.
	N    uint32
	Node NodeID  // the node it happened at; 0 for the network or the test
	Peer NodeID  // the other end of a message
	Msg  Message // the message or timer value, if any
	Text string  // a log line, or why a message was dropped
}

// Trace keeps the records of a run, the latest limit of them, in a ring:
// once full, each new record takes the place of the oldest, and recording
// allocates nothing more.
type Trace struct {
	ring     []Record
	nextSlot int // where the next record goes once the ring is full
	limit    int
	count    uint64 // records ever added
	dropped  uint64 // records let go to stay within limit
}

// FullTrace is the TraceLimit of a World that keeps its whole run (up to
// about a million records).
const FullTrace = 1 << 20

func newTrace(limit int, ring []Record) *Trace {
	if limit <= 0 {
		limit = FullTrace
	}
	return &Trace{limit: limit, ring: ring[:0]}
}

// next numbers a new record and returns where to write it.
func (tr *Trace) next() *Record {
	tr.count++
	if len(tr.ring) < tr.limit {
		tr.ring = append(tr.ring, Record{})
		return &tr.ring[len(tr.ring)-1]
	}
	kept := &tr.ring[tr.nextSlot]
	if tr.nextSlot++; tr.nextSlot == tr.limit {
		tr.nextSlot = 0
	}
	tr.dropped++
	return kept
}

// release empties the trace and hands back its ring, emptied too, for
// another trace to reuse.
func (tr *Trace) release() []Record {
	ring := tr.ring
	tr.ring, tr.nextSlot = nil, 0
	clear(ring) // let go of the run's messages
	return ring[:0]
}

// Count is the number of records the run produced.
func (tr *Trace) Count() uint64 { return tr.count }

// Dropped is how many of the earliest records were let go to save memory.
func (tr *Trace) Dropped() uint64 { return tr.dropped }

// Records returns the records kept, oldest first.
func (tr *Trace) Records() []Record {
	out := make([]Record, 0, len(tr.ring))
	out = append(out, tr.ring[tr.nextSlot:]...)
	return append(out, tr.ring[:tr.nextSlot]...)
}

// Last returns the latest n records, oldest first.
func (tr *Trace) Last(n int) []Record {
	all := tr.Records()
	return all[max(0, len(all)-n):]
}

// Hash is a digest of the whole trace as text: equal for equal runs.
func (tr *Trace) Hash() uint64 {
	h := fnv.New64a()
	for _, r := range tr.Records() {
		io.WriteString(h, r.String())
		h.Write([]byte{'\n'})
	}
	return h.Sum64()
}

// Timeline renders records one per line: virtual time, node, what happened.
func Timeline(records []Record) string {
	var b strings.Builder
	for _, r := range records {
		b.WriteString("  ")
		b.WriteString(r.String())
		b.WriteByte('\n')
	}
	return b.String()
}

// String renders a record as a timeline line.
func (r Record) String() string {
	node := "--"
	if r.Node != 0 {
		node = r.Node.String()
	}
	var what string
	switch r.Kind {
	case KindSend:
		what = fmt.Sprintf("→ %-4s %s", r.Peer, Describe(r.Msg))
	case KindDeliver:
		what = fmt.Sprintf("← %-4s %s", r.Peer, Describe(r.Msg))
	case KindDrop:
		what = fmt.Sprintf("✗ %-4s %s (lost: %s)", r.Peer, Describe(r.Msg), r.Text)
	case KindDuplicate:
		what = fmt.Sprintf("→ %-4s %s (the network will deliver it twice)", r.Peer, Describe(r.Msg))
	case KindTimer:
		what = "⏰ timer " + Describe(r.Msg)
	case KindLog:
		what = "• " + r.Text
	case KindState:
		what = "◆ " + Describe(r.Msg)
	default:
		what = r.Kind.String()
		if r.Text != "" {
			what += ": " + r.Text
		}
	}
	return fmt.Sprintf("%s  %-4s %s", FormatTime(r.At), node, what)
}

// FormatTime renders a virtual time the way timelines show it.
func FormatTime(d time.Duration) string {
	return fmt.Sprintf("%9.3fs", d.Seconds())
}

// Describe renders a message or timer value for a person: its String method
// if it has one, otherwise its type name and fields.
func Describe(v any) string {
	if v == nil {
		return ""
	}
	if s, ok := v.(fmt.Stringer); ok {
		return s.String()
	}
	t := reflect.TypeOf(v)
	prefix := ""
	for t.Kind() == reflect.Pointer {
		prefix += "&"
		t = t.Elem()
	}
	name := t.Name()
	if name == "" {
		name = t.String()
	}
	s := fmt.Sprintf("%+v", v)
	s = strings.TrimPrefix(s, "&")
	if t.Kind() == reflect.Struct {
		return prefix + name + s
	}
	return prefix + name + "(" + s + ")"
}

// jsonRecord is a record as a line of a trace file.
type jsonRecord struct {
	Seq  uint64 `json:"seq"`
	AtNs int64  `json:"at_ns"`
	At   string `json:"at"`
	Kind string `json:"kind"`
	Node string `json:"node,omitempty"`
	Peer string `json:"peer,omitempty"`
	Type string `json:"type,omitempty"`
	Msg  string `json:"msg,omitempty"`
	Text string `json:"text,omitempty"`
	// State is a node's state, on a state record.
	State *stateJSON `json:"state,omitempty"`
	// N is a message's number on its link.
	N uint32 `json:"n,omitempty"`
}

type stateJSON struct {
	Role string `json:"role,omitempty"`
	Term uint64 `json:"term,omitempty"`
	Vote string `json:"vote,omitempty"`
	Log  int    `json:"log,omitempty"`
}

// WriteJSON writes the records as JSON lines, one object per record.
func WriteJSON(w io.Writer, records []Record) error {
	enc := json.NewEncoder(w)
	for _, r := range records {
		j := jsonRecord{Seq: r.Seq, AtNs: int64(r.At), At: strings.TrimSpace(FormatTime(r.At)), Kind: r.Kind.String(), Text: r.Text, N: r.N}
		if st, ok := r.Msg.(State); ok && r.Kind == KindState {
			j.State = &stateJSON{Role: st.Role, Term: st.Term, Log: st.Log}
			if st.Vote != 0 {
				j.State.Vote = st.Vote.String()
			}
		}
		if r.Node != 0 {
			j.Node = r.Node.String()
		}
		if r.Peer != 0 {
			j.Peer = r.Peer.String()
		}
		if r.Msg != nil {
			j.Type = typeName(r.Msg)
			j.Msg = Describe(r.Msg)
		}
		if err := enc.Encode(j); err != nil {
			return err
		}
	}
	return nil
}
