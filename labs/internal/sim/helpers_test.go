package sim_test

import (
	"fmt"
	"os"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/distlings/distlings/labs/internal/sim"
)

// Ping is what a pinger sends: a slice, so that copying is real work.
type Ping struct {
	From  sim.NodeID
	Round int
	Path  []sim.NodeID
}

type tick struct{}

// pinger sends a Ping to every peer every period, and remembers what it
// received and how many times it started (in its Storage).
type pinger struct {
	env      sim.Env
	period   time.Duration
	round    int
	received []Ping
	timer    sim.TimerID
	onPing   func(p *pinger, from sim.NodeID, msg Ping) // optional, for tests
}

func newPinger(period time.Duration) func(sim.NodeID) sim.Node {
	return func(sim.NodeID) sim.Node { return &pinger{period: period} }
}

func (p *pinger) Start(env sim.Env) {
	p.env = env
	starts := 0
	if v, ok := env.Storage().Get("starts"); ok {
		fmt.Sscan(string(v), &starts)
	}
	env.Storage().Put("starts", []byte(fmt.Sprint(starts+1)))
	p.timer = env.SetTimer(p.period, tick{})
}

func (p *pinger) HandleTimer(sim.Timer) {
	p.round++
	for _, peer := range p.env.Peers() {
		p.env.Send(peer, Ping{From: p.env.ID(), Round: p.round, Path: []sim.NodeID{p.env.ID()}})
	}
	p.timer = p.env.SetTimer(p.period, tick{})
}

func (p *pinger) HandleMessage(from sim.NodeID, msg sim.Message) {
	ping := msg.(Ping)
	p.received = append(p.received, ping)
	if p.onPing != nil {
		p.onPing(p, from, ping)
	}
}

func pingerOf(w *sim.World, id sim.NodeID) *pinger {
	n, _ := w.Node(id).(*pinger)
	return n
}

// fakeTB stands in for a test that is expected to fail, to check what the
// failure says. Fatal ends the goroutine, as testing.T's does.
type fakeTB struct {
	testing.TB
	mu       sync.Mutex
	failed   bool
	messages []string
	cleanups []func()
}

func (f *fakeTB) Helper()      {}
func (f *fakeTB) Name() string { return "TestFake" }
func (f *fakeTB) Failed() bool { f.mu.Lock(); defer f.mu.Unlock(); return f.failed }
func (f *fakeTB) Cleanup(fn func()) {
	f.cleanups = append(f.cleanups, fn)
}
func (f *fakeTB) Logf(format string, args ...any) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.messages = append(f.messages, fmt.Sprintf(format, args...))
}
func (f *fakeTB) Fatal(args ...any) {
	f.mu.Lock()
	f.failed = true
	f.messages = append(f.messages, fmt.Sprint(args...))
	f.mu.Unlock()
	runtime.Goexit()
}
func (f *fakeTB) Fatalf(format string, args ...any) { f.Fatal(fmt.Sprintf(format, args...)) }

var traceLine = regexp.MustCompile(`full trace: (\S+)`)

// expectFailure runs body as a test that must fail, and returns everything
// it said.
func expectFailure(t *testing.T, body func(tb testing.TB)) string {
	t.Helper()
	f := &fakeTB{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		body(f)
	}()
	<-done
	for i := len(f.cleanups) - 1; i >= 0; i-- {
		f.cleanups[i]()
	}
	if !f.Failed() {
		t.Fatalf("the test was expected to fail and did not")
	}
	out := strings.Join(f.messages, "\n")
	if m := traceLine.FindStringSubmatch(out); m != nil {
		t.Cleanup(func() { os.Remove(m[1]) })
	}
	return out
}
