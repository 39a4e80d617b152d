package sim_test

import (
	"errors"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/distlings/distlings/labs/internal/sim"
)

// looper's timer handler never returns.
type looper struct{ spins int }

func (l *looper) Start(env sim.Env)                     { env.SetTimer(10*time.Millisecond, tick{}) }
func (l *looper) HandleMessage(sim.NodeID, sim.Message) {}
func (l *looper) HandleTimer(sim.Timer) {
	for {
		l.spins++
	}
}

// The run is a child process: a handler stuck in a loop can only be
// stopped by ending the process, which the parent watches.
func TestAHandlerThatNeverReturnsStopsTheRunAndSaysWhere(t *testing.T) {
	if os.Getenv("DISTLINGS_HANG_CHILD") == "1" {
		sim.HangLimit = 300 * time.Millisecond
		c := sim.NewCluster(t, sim.Config{Nodes: 2, Seed: 3}, func(sim.NodeID) sim.Node { return &looper{} })
		c.Run(time.Second)
		t.Fatal("the run returned though a handler never does")
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestAHandlerThatNeverReturnsStopsTheRunAndSaysWhere$", "-test.v")
	cmd.Env = append(os.Environ(), "DISTLINGS_HANG_CHILD=1")
	done := make(chan struct{})
	var out []byte
	var err error
	go func() {
		defer close(done)
		out, err = cmd.CombinedOutput()
	}()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		_ = cmd.Process.Kill()
		<-done
		t.Fatalf("a run whose handler never returns was still going 30s later; its output:\n%s", out)
	}
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 3 {
		t.Fatalf("the run ended with %v, want exit status 3; its output:\n%s", err, out)
	}
	for _, want := range []string{"has been in HandleTimer(tick{})", "at 0.010s of virtual time, seed 3", "the handler never returned", "rule: a handler does its work and returns"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("the output does not say %q:\n%s", want, out)
		}
	}
}
