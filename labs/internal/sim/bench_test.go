package sim_test

import (
	"runtime"
	"testing"
	"time"

	"github.com/distlings/distlings/labs/internal/sim"
)

// Beat is a small message with nothing to copy: the common case.
type Beat struct {
	From  sim.NodeID
	Round int
}

// beater sends a Beat to every peer every period.
type beater struct {
	env      sim.Env
	period   time.Duration
	round    int
	received *int
}

func (b *beater) Start(env sim.Env)                     { b.env = env; env.SetTimer(b.period, tick{}) }
func (b *beater) HandleMessage(sim.NodeID, sim.Message) { *b.received++ }
func (b *beater) HandleTimer(sim.Timer) {
	b.round++
	for _, p := range b.env.Peers() {
		b.env.Send(p, Beat{From: b.env.ID(), Round: b.round})
	}
	b.env.SetTimer(b.period, tick{})
}

// BenchmarkEvents measures the simulator's own speed: one op is one event
// (a delivery or a timer) of a 5-node cluster sending small messages.
func BenchmarkEvents(b *testing.B) {
	deliveries := 0
	w := sim.NewWorld(sim.Config{Nodes: 5, Seed: 1, TraceLimit: 1 << 16},
		func(sim.NodeID) sim.Node { return &beater{period: 10 * time.Millisecond, received: &deliveries} })
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	deliveries = 0
	b.ResetTimer()
	for b.Loop() {
		w.Step()
	}
	b.StopTimer()
	runtime.ReadMemStats(&after)
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
	if deliveries > 0 {
		b.ReportMetric(float64(after.Mallocs-before.Mallocs)/float64(deliveries), "allocs/delivery")
	}
}
