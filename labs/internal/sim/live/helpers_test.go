package live_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/distlings/distlings/labs/internal/sim"
	"github.com/distlings/distlings/labs/internal/sim/live"
)

// eventually polls cond until it holds, and fails the test if it does not
// within a few seconds. Conditions are read through Cluster.Do, so polling
// is the way to wait on a live cluster without sleeping a guessed time.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.NewTimer(5 * time.Second)
	defer deadline.Stop()
	poll := time.NewTicker(5 * time.Millisecond)
	defer poll.Stop()
	for !cond() {
		select {
		case <-poll.C:
		case <-deadline.C:
			t.Fatalf("timed out waiting until %s", what)
		}
	}
}

// inspect reads something from node id on its own goroutine.
func inspect[N sim.Node, T any](t *testing.T, c *live.Cluster, id sim.NodeID, read func(N) T) T {
	t.Helper()
	var v T
	require.NoError(t, c.Do(id, func(n sim.Node) { v = read(n.(N)) }))
	return v
}

// logSink collects a cluster's log lines and shows them if the test fails.
type logSink struct {
	t     *testing.T
	lines chan string
}

func newLogSink(t *testing.T) *logSink {
	return &logSink{t: t, lines: make(chan string, 10000)}
}

func (s *logSink) log(line string) {
	s.t.Log(line)
	select {
	case s.lines <- line:
	default:
		panic("logSink full")
	}
}

// all returns the lines logged so far.
func (s *logSink) all() []string {
	var lines []string
	for {
		select {
		case l := <-s.lines:
			lines = append(lines, l)
		default:
			return lines
		}
	}
}

// panicValue runs f and returns what it panicked with, as a string.
func panicValue(f func()) (msg string) {
	defer func() {
		if p := recover(); p != nil {
			msg = fmt.Sprint(p)
		}
	}()
	f()
	return ""
}
