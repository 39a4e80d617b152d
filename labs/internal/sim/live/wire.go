package live

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/gob"
	"errors"
	"fmt"
	"io"
	"net"
	"reflect"
	"sync"
	"syscall"
	"time"

	"github.com/distlings/distlings/labs/internal/sim"
)

const (
	// outboxSize bounds the messages queued for one peer. Beyond it, a
	// Send is lost rather than block the sender's loop.
	outboxSize = 1024
	// maxFrame bounds one encoded message; a longer frame means a broken
	// stream, not a message.
	maxFrame = 64 << 20
	// dialTimeout bounds connecting to a peer. On loopback a refused
	// connection fails at once; this only guards against the unexpected.
	dialTimeout = time.Second
)

// envelope is what goes on the wire: a message and its addresses.
type envelope struct {
	From, To sim.NodeID
	Payload  sim.Message
	// Pointer says the sender sent a pointer to Payload. Gob flattens
	// pointers, so it is sent as a value and the pointer is made again on
	// arrival: the receiver sees the type that was sent.
	Pointer bool
}

// registered holds the message types already registered with gob.
var registered sync.Map // reflect.Type → struct{}

// register lets gob carry values of v's type inside an envelope's Payload,
// whose static type is an interface. Registration is process-wide, which is
// why it is enough for the sender to do it: the receivers are here too.
func register(v any) {
	t := reflect.TypeOf(v)
	if _, ok := registered.Load(t); ok {
		return
	}
	gob.Register(v)
	registered.Store(t, struct{}{})
}

// encode returns the frame carrying msg, which is not nil, in env: a 4-byte length, then the
// envelope in gob. Each frame has its own gob stream, type descriptions
// included; that costs bytes but lets any frame be decoded alone, and
// lets encoding happen in Send rather than on the connection.
func encode(env envelope, msg sim.Message) ([]byte, error) {
	if v := reflect.ValueOf(msg); v.Kind() == reflect.Pointer && !v.IsNil() {
		msg, env.Pointer = v.Elem().Interface(), true
	}
	register(msg)
	env.Payload = msg
	var buf bytes.Buffer
	buf.Write(make([]byte, 4)) // the length, filled in below
	if err := gob.NewEncoder(&buf).Encode(env); err != nil {
		return nil, err
	}
	frame := buf.Bytes()
	binary.BigEndian.PutUint32(frame, uint32(len(frame)-4))
	return frame, nil
}

// readEnvelope reads the next frame from br and decodes it.
func readEnvelope(br *bufio.Reader) (envelope, error) {
	var env envelope
	var size [4]byte
	if _, err := io.ReadFull(br, size[:]); err != nil {
		return env, err
	}
	n := binary.BigEndian.Uint32(size[:])
	if n > maxFrame {
		return env, fmt.Errorf("frame of %d bytes", n)
	}
	frame := make([]byte, n)
	if _, err := io.ReadFull(br, frame); err != nil {
		return env, err
	}
	if err := gob.NewDecoder(bytes.NewReader(frame)).Decode(&env); err != nil {
		return env, err
	}
	if env.Pointer && env.Payload != nil {
		p := reflect.New(reflect.TypeOf(env.Payload))
		p.Elem().Set(reflect.ValueOf(env.Payload))
		env.Payload = p.Interface()
	}
	return env, nil
}

// accept takes the connections of peers that send to this node.
func (r *runner) accept() {
	defer r.wg.Done()
	for {
		conn, err := r.ln.Accept()
		if err != nil {
			return // the listener is closed: the node stopped
		}
		if !r.track(conn) {
			return
		}
		r.wg.Add(1) // this goroutine's own count keeps the group above zero
		go r.read(conn)
	}
}

// read delivers the messages arriving on conn to the node's loop, in the
// order they arrive.
func (r *runner) read(conn net.Conn) {
	defer r.wg.Done()
	defer r.untrack(conn)
	br := bufio.NewReader(conn)
	for {
		env, err := readEnvelope(br)
		if err != nil {
			if r.ctx.Err() == nil && err != io.EOF && !isClosed(err) {
				r.c.logf(r.id, "live: dropping a connection: %v", err)
			}
			return
		}
		if env.To != r.id {
			continue // meant for whoever had this address before
		}
		ev := func() { r.node.HandleMessage(env.From, env.Payload) }
		select {
		case r.inbox <- ev:
		case <-r.ctx.Done():
			return
		}
	}
}

// outbox returns the queue of messages to peer to, starting the goroutine
// that writes it on first use. Called only from the loop.
func (r *runner) outbox(to sim.NodeID) chan<- []byte {
	q, ok := r.outboxes[to]
	if !ok {
		q = make(chan []byte, outboxSize)
		r.outboxes[to] = q
		r.wg.Add(1) // the loop's own count keeps the group above zero
		go r.write(to, q)
	}
	return q
}

// write sends the frames queued for peer to over one connection, dialing
// again after any failure. A frame that cannot be written is lost.
func (r *runner) write(to sim.NodeID, q <-chan []byte) {
	defer r.wg.Done()
	var conn net.Conn
	defer func() {
		if conn != nil {
			r.untrack(conn)
		}
	}()
	for {
		var frame []byte
		select {
		case frame = <-q:
		case <-r.ctx.Done():
			return
		}
		if conn == nil {
			conn = r.dial(to) // the peer may be down: then this frame is lost
			if conn == nil {
				continue
			}
		}
		if _, err := conn.Write(frame); err != nil {
			r.untrack(conn)
			conn = nil
		}
	}
}

// dial connects to peer to at its current address, or returns nil.
func (r *runner) dial(to sim.NodeID) net.Conn {
	d := net.Dialer{Timeout: dialTimeout}
	conn, err := d.DialContext(r.ctx, "tcp", r.c.addr(to))
	if err != nil || !r.track(conn) {
		return nil
	}
	return conn
}

// isClosed reports whether err comes from a connection that was closed or
// reset, which is how crashes look from the other end.
func isClosed(err error) bool {
	return errors.Is(err, net.ErrClosed) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, io.ErrUnexpectedEOF)
}
