package watch

import (
	"context"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/distlings/distlings/labs/internal/sim"
)

// output is a mutex-guarded buffer that tells waiters when it grows, so
// that tests wait for a line to appear rather than for a guessed time.
type output struct {
	mu      sync.Mutex
	b       strings.Builder
	changed chan struct{} // closed and replaced at each write
}

func newOutput() *output { return &output{changed: make(chan struct{})} }

func (o *output) Write(p []byte) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.b.Write(p)
	close(o.changed)
	o.changed = make(chan struct{})
	return len(p), nil
}

func (o *output) String() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.b.String()
}

// session is one Run of the test's, fed through a pipe.
type session struct {
	t      *testing.T
	in     *io.PipeWriter
	out    *output
	cancel context.CancelFunc
	done   chan error
	pos    int // how far wait has read the output
}

func start(t *testing.T, s Session, target Target) *session {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	r, w := io.Pipe()
	ss := &session{t: t, in: w, out: newOutput(), cancel: cancel, done: make(chan error, 1)}
	go func() { ss.done <- Run(ctx, s, target, r, ss.out) }()
	t.Cleanup(func() {
		cancel()
		w.Close()
		select {
		case <-ss.done:
		case <-time.After(10 * time.Second):
			t.Error("Run did not return after the test")
		}
		if t.Failed() {
			t.Logf("output:\n%s", ss.out)
		}
	})
	return ss
}

func (s *session) send(line string) {
	s.t.Helper()
	if _, err := fmt.Fprintln(s.in, line); err != nil {
		s.t.Fatalf("send %q: %v", line, err)
	}
}

// wait waits until the output after what was waited for before holds
// want, and moves past it.
func (s *session) wait(want string) {
	s.t.Helper()
	deadline := time.NewTimer(10 * time.Second)
	defer deadline.Stop()
	for {
		s.out.mu.Lock()
		text, changed := s.out.b.String(), s.out.changed
		s.out.mu.Unlock()
		if i := strings.Index(text[s.pos:], want); i >= 0 {
			s.pos += i + len(want)
			return
		}
		select {
		case <-changed:
		case <-deadline.C:
			s.t.Fatalf("no %q in the output within 10s", want)
		}
	}
}

// waitStatus asks for the status until a node's line is want: the nodes'
// states change without a line of output to wait for.
func (s *session) waitStatus(want string) {
	s.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		from := s.pos
		s.send("status")
		s.wait(lastNode) // the last line of the status
		s.wait("\n")
		if strings.Contains(s.out.String()[from:s.pos], "           "+want+"\n") {
			return
		}
	}
	s.t.Fatalf("no status line %q within 10s", want)
}

// lastNode ends the status of a session's nodes: they all have three.
const lastNode = "n3  "

// end waits for Run to return, and returns its error.
func (s *session) end() error {
	s.t.Helper()
	select {
	case err := <-s.done:
		s.done <- err // for the cleanup
		return err
	case <-time.After(10 * time.Second):
		s.t.Fatal("Run did not return within 10s")
		return nil
	}
}

func TestALeaderLineAppears(t *testing.T) {
	s := start(t, Session{N: 3, What: "test nodes"}, lowestTarget)
	s.wait("3 nodes of test nodes on loopback TCP, seed 0")
	s.wait("commands: stop N, start N, status, help, quit")
	s.wait("s  n1 is leader of term 1\n")
}

func TestStoppingTheLeaderAndStartingItAgain(t *testing.T) {
	s := start(t, Session{N: 3}, lowestTarget)
	s.wait("n1 is leader of term 1\n")
	s.waitStatus("n3  follower       term 1  leader n1")
	s.send("stop 1")
	s.wait("s  n1 stopped\n")
	s.wait("s  no leader (n1 stopped)\n")
	s.wait("s  n2 is leader of term 2\n")
	s.send("start n1")
	s.wait("s  n1 started\n")
	s.wait("s  n1 is leader of term 3\n")
	s.waitStatus("n2  follower       term 3  leader n1")
}

func TestStatusListsEveryNode(t *testing.T) {
	s := start(t, Session{N: 3}, lowestTarget)
	s.wait("n1 is leader of term 1\n")
	s.waitStatus("n2  follower       term 1  leader n1")
	s.send("kill 3")
	s.wait("s  n3 stopped\n")
	s.send("status")
	s.wait("           n1  leader         term 1\n")
	s.wait("           n2  follower       term 1  leader n1\n")
	s.wait("           n3  down\n")
	s.send("stop 2")
	s.wait("s  n2 stopped (1 of 3 up: a leader needs 2 votes, so none can be elected)\n")
	s.send("restart 3")
	s.wait("s  n3 started\n")
}

func TestUnknownCommandsAndMistakes(t *testing.T) {
	s := start(t, Session{N: 2}, lowestTarget)
	s.send("dance")
	s.wait(`unknown command "dance": try stop N, start N, status, help or quit` + "\n")
	s.send("help")
	s.wait("  stop N    crash node N")
	s.wait("  quit      stop the cluster and exit")
	s.send("stop")
	s.wait("stop needs one node, e.g. stop 2\n")
	s.send("stop 3")
	s.wait(`no node "3": the nodes are 1 to 2` + "\n")
	s.send("start 2")
	s.wait("n2 is already up\n")
	s.send("stop 2")
	s.wait("n2 stopped")
	s.send("STOP 2")
	s.wait("n2 is already down\n")
}

func TestQuitClosesTheCluster(t *testing.T) {
	s := start(t, Session{N: 3}, lowestTarget)
	s.send("status")
	s.wait("n3  ")
	s.send("quit")
	if err := s.end(); err != nil {
		t.Fatalf("Run: %v", err)
	}
	if !strings.HasSuffix(s.out.String(), "s  all nodes stopped\n") {
		t.Errorf("the output does not end with the cluster stopped:\n%s", s.out)
	}
}

func TestEndOfInputQuits(t *testing.T) {
	s := start(t, Session{N: 1}, lowestTarget)
	s.in.Close()
	if err := s.end(); err != nil {
		t.Fatalf("Run: %v", err)
	}
	s.wait("all nodes stopped\n")
}

func TestInterruptQuits(t *testing.T) {
	s := start(t, Session{N: 2}, lowestTarget)
	s.wait("commands:")
	s.cancel()
	if err := s.end(); err != nil {
		t.Fatalf("Run: %v", err)
	}
	s.wait("all nodes stopped\n")
}

func TestHintOnceWhenNoLeaderIsEverElected(t *testing.T) {
	s := start(t, Session{N: 3, HintAfter: 50 * time.Millisecond, PollEvery: 5 * time.Millisecond}, silentTarget)
	s.wait("s  is node.go written?\n")
	// Many polls later, still one hint.
	for range 3 {
		s.send("status")
		s.wait("n3  follower")
	}
	s.send("quit")
	s.end()
	if n := strings.Count(s.out.String(), "is node.go written?"); n != 1 {
		t.Errorf("the hint was printed %d times, want once", n)
	}
}

func TestTwoLeadersOfATermAreABug(t *testing.T) {
	s := start(t, Session{N: 3}, usurperTarget)
	s.wait("s  n1, n2 and n3 lead term 1: Raft allows one leader per term, so this is a bug\n")
	s.send("stop 2")
	s.wait("s  n1 and n3 lead term 1")
	s.send("stop 3")
	s.wait("s  n1 is leader of term 1\n")
}

func TestLogShowsTheNodesLines(t *testing.T) {
	s := start(t, Session{N: 2, Log: true}, lowestTarget)
	s.wait("s n1: leading term 1\n")
}

func TestAClusterThatCannotStartIsAnError(t *testing.T) {
	err := Run(context.Background(), Session{N: 0}, lowestTarget, strings.NewReader(""), io.Discard)
	if err == nil {
		t.Fatal("Run of 0 nodes returned no error")
	}
}

func TestATargetsCommandsRunThroughItsClients(t *testing.T) {
	target := lowestTarget
	target.NewNode = func(id sim.NodeID) sim.Node {
		if id > 3 {
			return silent{}
		}
		return newLowest(id)
	}
	target.Clients = 1
	target.Commands = []Command{{
		Name:  "ping",
		Usage: "ping X    say X through the client",
		Run: func(args []string, a Actions) {
			client := a.Clients()[0]
			err := a.Do(client, func(n sim.Node) { a.Printf("%v says %s", client, strings.Join(args, " ")) })
			if err != nil {
				a.Printf("no client: %v", err)
			}
		},
	}}
	s := start(t, Session{N: 3, Seed: 1}, target)
	s.wait("is leader of term")
	s.send("ping Hello There")
	s.wait("n4 says Hello There")
	s.send("help")
	s.wait("ping X    say X through the client")
	s.send("stop 4")
	s.wait(`no node "4": the nodes are 1 to 3`)
	s.send("bogus")
	s.wait("try stop N, start N, status, ping, help or quit")
	s.waitStatus("n1  leader         term 1")
	if strings.Contains(s.out.String(), "n4  ") {
		t.Errorf("the status shows the client:\n%s", s.out)
	}
}
