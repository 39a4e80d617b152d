// Package watch runs sim.Nodes as a live cluster on loopback TCP for a
// person to watch: it prints each change of leader as it happens, and takes
// commands (stop N, start N, status, help, quit) from its input. It is the
// core of cmd/raftrun.
//
// It lives under labs/ because only code under labs/ may import
// labs/internal/sim; a command reaches the live runtime through it. It knows
// no lab: a Target says how to make a node and how to read its state.
package watch

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/distlings/distlings/labs/internal/sim"
	"github.com/distlings/distlings/labs/internal/sim/live"
)

// Session is how one cluster is run.
type Session struct {
	N    int
	Seed uint64
	Log  bool   // also print the nodes' Logf lines
	What string // what runs, for the banner, e.g. "labs/03-raft-election (your node.go)"
	// HintAfter is how long a cluster may go with no leader ever before
	// Target.Hint is printed; 0 means 3s.
	HintAfter time.Duration
	// PollEvery is how often every node's state is read; 0 means 20ms.
	PollEvery time.Duration
}

// State is what is shown of a node.
type State struct {
	Role    string // e.g. "follower"
	Leading bool
	Term    uint64
	Voted   sim.NodeID // 0: no vote in Term
	Leader  sim.NodeID // the leader it follows; 0: none known
}

// Target is what a cluster runs.
type Target struct {
	// NewNode makes node 1 to N, and the clients after them.
	NewNode func(sim.NodeID) sim.Node
	// State reads a node's state. It is called on the node's own
	// goroutine (with live.Cluster.Do), never concurrently with its events.
	State func(sim.Node) State
	// Hint is printed once if no leader is ever elected.
	Hint string
	// Clients is how many nodes after the N run as clients of the
	// others: they are started with the cluster, and neither shown nor
	// stopped.
	Clients int
	// Commands are more commands to type, e.g. a key-value store's put
	// and get, sent through a client.
	Commands []Command
}

// Command is a command a Target adds.
type Command struct {
	Name  string // what is typed first, e.g. "put"
	Usage string // e.g. "put K V   set key K to V, through the clerk"
	// Run runs the command's arguments. It runs on Run's goroutine;
	// a reaches the nodes and prints.
	Run func(args []string, a Actions)
}

// Actions is what a Command may do.
type Actions interface {
	// Do runs f on node id's own goroutine, between two of its events;
	// it fails if the node is down.
	Do(id sim.NodeID, f func(sim.Node)) error
	// Printf prints a line stamped with the time, whenever it is called
	// from whatever goroutine.
	Printf(format string, args ...any)
	// Clients returns the ids of the clients.
	Clients() []sim.NodeID
}

// For makes the Target of nodes of type N, so that state gets each node as
// an N; callers outside labs/, which may not name sim.Node, can write it.
func For[N sim.Node](newNode func(sim.NodeID) sim.Node, state func(N) State, hint string) Target {
	return Target{NewNode: newNode, State: func(n sim.Node) State { return state(n.(N)) }, Hint: hint}
}

// Run runs a cluster of t's nodes, prints each change of leader to stdout,
// and runs the commands read from stdin, until quit, the end of stdin, or
// ctx is done (Ctrl-C); then it closes the cluster. Everything but the
// nodes' log lines happens on Run's goroutine, so commands and polls never
// race. The error is only that the cluster could not start.
func Run(ctx context.Context, s Session, t Target, stdin io.Reader, stdout io.Writer) error {
	if s.HintAfter == 0 {
		s.HintAfter = 3 * time.Second
	}
	if s.PollEvery == 0 {
		s.PollEvery = 20 * time.Millisecond
	}
	if t.Hint == "" {
		t.Hint = "no leader yet"
	}
	out := &printer{w: stdout, start: time.Now()}
	cfg := live.Config{Seed: s.Seed}
	if s.Log {
		cfg.Log = out.raw // live stamps the time and node itself
	}
	c, err := live.Start(s.N+t.Clients, t.NewNode, cfg)
	if err != nil {
		return err
	}
	w := &watcher{s: s, t: t, c: c, out: out}
	out.line("%d nodes of %s on loopback TCP, seed %d", s.N, s.What, s.Seed)
	more := ""
	for _, c := range t.Commands {
		more += ", " + strings.TrimSpace(strings.SplitN(c.Usage, "  ", 2)[0])
	}
	out.line("commands: stop N, start N, status%s, help, quit (or Ctrl-D)", more)

	done := make(chan struct{})
	defer close(done)
	lines := readLines(stdin, done)
	tick := time.NewTicker(s.PollEvery)
	defer tick.Stop()
	w.poll()
loop:
	for {
		select {
		case <-ctx.Done():
			break loop
		case line, ok := <-lines:
			if !ok || w.command(line) {
				break loop
			}
			w.poll() // show what the command changed at once
		case <-tick.C:
			w.poll()
		}
	}
	c.Close()
	out.event("all nodes stopped")
	return nil
}

// readLines sends stdin's lines until its end, then closes the channel. It
// gives up when done closes; a read that blocks then is left to the exit.
func readLines(r io.Reader, done <-chan struct{}) <-chan string {
	lines := make(chan string)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(r)
		for sc.Scan() {
			select {
			case lines <- sc.Text():
			case <-done:
				return
			}
		}
	}()
	return lines
}

// watcher holds what was last shown of the cluster.
type watcher struct {
	s   Session
	t   Target
	c   *live.Cluster
	out *printer

	leaders []sim.NodeID // who leads term, last shown; two or more is a bug
	term    uint64
	everLed bool // some node has led since the start
	hinted  bool
}

// nodeView is a node as last polled.
type nodeView struct {
	id sim.NodeID
	up bool
	State
}

// snapshot reads every node's state on its own goroutine: reading its
// fields from here would race with its event loop.
func (w *watcher) snapshot() []nodeView {
	var views []nodeView
	for _, id := range w.c.IDs()[:w.s.N] {
		v := nodeView{id: id}
		v.up = w.c.Do(id, func(n sim.Node) { v.State = w.t.State(n) }) == nil
		views = append(views, v)
	}
	return views
}

// poll prints a line if the leader or its term changed since the last poll.
func (w *watcher) poll() {
	nodes := w.snapshot()
	// The leader is the node that leads the newest term: a leader of an
	// older term has only not heard yet that it was replaced.
	var leaders []sim.NodeID
	var term uint64
	for _, v := range nodes {
		switch {
		case !v.up || !v.Leading || v.Term < term:
		case v.Term > term:
			leaders, term = []sim.NodeID{v.id}, v.Term
		default:
			leaders = append(leaders, v.id)
		}
	}
	if term != w.term || !slices.Equal(leaders, w.leaders) {
		w.report(nodes, leaders, term)
		w.leaders, w.term = leaders, term
	}
	w.everLed = w.everLed || len(leaders) > 0
	// A stub never elects anyone, and a learner watching a silent cluster
	// should learn why. Not when the user has stopped too many nodes.
	if !w.everLed && !w.hinted && w.out.since() >= w.s.HintAfter && upCount(nodes) >= majority(len(nodes)) {
		w.hinted = true
		w.out.event("%s", w.t.Hint)
	}
}

func (w *watcher) report(nodes []nodeView, leaders []sim.NodeID, term uint64) {
	switch {
	case len(leaders) == 1:
		w.out.event("%v is leader of term %d", leaders[0], term)
	case len(leaders) > 1:
		w.out.event("%s lead term %d: Raft allows one leader per term, so this is a bug", names(leaders), term)
	case len(w.leaders) == 1:
		old := w.leaders[0]
		why := "stepped down"
		if !nodes[old-1].up { // nodes are n1 to nN, in order
			why = "stopped"
		}
		w.out.event("no leader (%v %s)", old, why)
	default:
		w.out.event("no leader")
	}
}

func upCount(nodes []nodeView) int {
	up := 0
	for _, v := range nodes {
		if v.up {
			up++
		}
	}
	return up
}

// majority is how many votes a leader needs among n nodes, its own included.
func majority(n int) int { return n/2 + 1 }

// names lists ids as "n1, n2 and n3".
func names(ids []sim.NodeID) string {
	s := make([]string, len(ids))
	for i, id := range ids {
		s[i] = id.String()
	}
	if len(s) < 2 {
		return strings.Join(s, "")
	}
	return strings.Join(s[:len(s)-1], ", ") + " and " + s[len(s)-1]
}

// printer writes whole lines, one at a time: the nodes' log lines come from
// their own goroutines.
type printer struct {
	mu    sync.Mutex
	w     io.Writer
	start time.Time
}

func (p *printer) since() time.Duration { return time.Since(p.start) }

func (p *printer) line(format string, args ...any) {
	s := fmt.Sprintf(format, args...)
	p.mu.Lock()
	defer p.mu.Unlock()
	fmt.Fprintln(p.w, s)
}

// event prints a line stamped with the time since the start.
func (p *printer) event(format string, args ...any) {
	p.line("%8.3fs  %s", p.since().Seconds(), fmt.Sprintf(format, args...))
}

func (p *printer) raw(line string) { p.line("%s", line) }
