package jitter

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

const (
	base = 100 * time.Millisecond
	max  = time.Second
)

// waitsOf draws the waits of clients before each of retries retries.
func waitsOf(clients, retries int, draw func(bound time.Duration) time.Duration) [][]time.Duration {
	waits := make([][]time.Duration, retries)
	for n := range retries {
		for range clients {
			waits[n] = append(waits[n], draw(Bound(n, base, max)))
		}
	}
	return waits
}

func TestFullJitterPassesOnEverySeed(t *testing.T) {
	for seed := uint64(1); seed <= 200; seed++ {
		r := rand.New(rand.NewPCG(seed, 1))
		ok, table := Judge(waitsOf(400, 6, func(b time.Duration) time.Duration { return time.Duration(r.Int64N(int64(b))) }), base, max)
		if !assert.True(t, ok, "seed %d:\n%s", seed, table) {
			return
		}
	}
}

func TestCommonMistakesFail(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 1))
	for name, draw := range map[string]func(time.Duration) time.Duration{
		"no jitter":   func(b time.Duration) time.Duration { return b / 2 },
		"half jitter": func(b time.Duration) time.Duration { return b/2 + time.Duration(r.Int64N(int64(b/2))) },
		"the bound":   func(b time.Duration) time.Duration { return b },
		"no doubling": func(time.Duration) time.Duration { return time.Duration(r.Int64N(int64(base))) },
	} {
		ok, table := Judge(waitsOf(400, 6, draw), base, max)
		assert.False(t, ok, "%s passed:\n%s", name, table)
	}
	ok, _ := Judge([][]time.Duration{nil}, base, max)
	assert.False(t, ok, "no waits at all")
}

func TestBoundDoublesUpToTheCap(t *testing.T) {
	assert.Equal(t, []time.Duration{100 * time.Millisecond, 200 * time.Millisecond, 400 * time.Millisecond, 800 * time.Millisecond, time.Second, time.Second},
		[]time.Duration{Bound(0, base, max), Bound(1, base, max), Bound(2, base, max), Bound(3, base, max), Bound(4, base, max), Bound(5, base, max)})
}

func TestBusiestFindsTheFullestWindow(t *testing.T) {
	ms := time.Millisecond
	start, n := Busiest([]time.Duration{1 * ms, 12 * ms, 15 * ms, 19 * ms, 25 * ms, 31 * ms, 33 * ms, 38 * ms}, 10*ms)
	assert.Equal(t, 10*ms, start, "ties go to the earliest window")
	assert.Equal(t, 3, n)
	_, n = Busiest(nil, 10*ms)
	assert.Zero(t, n)
}
