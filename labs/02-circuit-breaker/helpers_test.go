package breaker

// Every test runs in a testing/synctest bubble: time.Now starts at
// midnight UTC, 2000-01-01, and time.Sleep moves the clock at once, so
// hours of traffic take milliseconds and times are exact.

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// lesson joins what happened and the rule it breaks into one message.
func lesson(what, rule string) string { return what + "\nrule: " + rule }

// errBoom is a failed call.
var errBoom = errors.New("dependency failed")

// call makes one call through b that ends with err at once; it reports
// whether the breaker let it through.
func call(t *testing.T, b *Breaker, err error) bool {
	t.Helper()
	g, rejected := b.Allow()
	if rejected != nil {
		require.True(t, errors.Is(rejected, ErrOpen) || errors.Is(rejected, ErrTooManyProbes), lesson(
			fmt.Sprintf("Allow returned %v", rejected),
			"Allow says yes (nil), or no with ErrOpen or ErrTooManyProbes"))
		return false
	}
	b.Record(g, err)
	return true
}

// fail makes n failing calls through b.
func fail(t *testing.T, b *Breaker, n int) {
	t.Helper()
	for range n {
		call(t, b, errBoom)
	}
}

// succeed makes n successful calls through b.
func succeed(t *testing.T, b *Breaker, n int) {
	t.Helper()
	for range n {
		call(t, b, nil)
	}
}

// wantState checks b's state, and says what the rule is.
func wantState(t *testing.T, b *Breaker, want State, what, rule string) bool {
	t.Helper()
	got := b.State()
	if got == want {
		return true
	}
	t.Errorf("%s", lesson(fmt.Sprintf("%s: the breaker is %v, want %v (counts %+v)", what, got, want, b.Counts()), rule))
	return false
}

// open trips b (with a ConsecutiveFailures rule) and returns when.
func open(t *testing.T, b *Breaker, failures int) time.Time {
	t.Helper()
	fail(t, b, failures)
	require.Equal(t, Open, b.State(), lesson(fmt.Sprintf("after %d failures in a row the breaker is %v", failures, b.State()),
		"ConsecutiveFailures failures in a row open the breaker"))
	return time.Now()
}
