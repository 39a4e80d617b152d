package idempotency

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/distlings/distlings/labs/internal/lockstep"
)

const (
	alice = "alice"
	bob   = "bob"
	carol = "carol"
)

// lesson is a failure message: what happened, then the rule it breaks and
// why the rule matters.
func lesson(what, rule string) string {
	return what + "\nrule: " + rule
}

// fundedStore returns a store in which each account has the given balance.
func fundedStore(t *testing.T, balances map[string]int64) *MemStore {
	t.Helper()
	s := NewMemStore()
	for account, cents := range balances {
		require.NoError(t, Fund(s, account, cents))
	}
	return s
}

func balanceOf(t *testing.T, s Store, account string) int64 {
	t.Helper()
	b, err := ReadBalance(s, account)
	require.NoError(t, err)
	return b
}

func describe(req ChargeRequest) string {
	return fmt.Sprintf("Charge(key %q, %q, %s)", req.Key, req.Account, money(req.Amount))
}

// money prints cents as 12.34.
func money(cents int64) string {
	sign := ""
	if cents < 0 {
		sign, cents = "-", -cents
	}
	return fmt.Sprintf("%s%d.%02d", sign, cents/100, cents%100)
}

// requireSameReceipt fails unless got is the same receipt as want.
func requireSameReceipt(t *testing.T, want, got Receipt, msg string) {
	t.Helper()
	if !got.Equal(want) {
		require.Failf(t, "not the same receipt", "%s\nwant: %s\ngot:  %s", msg, showReceipt(want), showReceipt(got))
	}
}

// showReceipt prints a receipt's fields, its time without the monotonic
// clock reading that %v adds (it says nothing about the receipt).
func showReceipt(r Receipt) string {
	return fmt.Sprintf("{Key:%s Account:%s Amount:%d Balance:%d ChargedAt:%s}",
		r.Key, r.Account, r.Amount, r.Balance, r.ChargedAt.Round(0).Format(time.RFC3339Nano))
}

// timesCharged says how many charges of amount explain a drop in balance.
func timesCharged(before, after, amount int64) int64 { return (before - after) / amount }

// errCrashed is what every store operation returns once the process has
// "crashed".
var errCrashed = errors.New("store unreachable: the process crashed")

// crashingStore stands between a service and its durable store. It lets
// the first survive operations through, then fails every operation after,
// as if the process had died at that point. With appliedLast, operation
// survive+1 still reaches the durable store but its caller gets the crash:
// the write made it to disk, the process died before it heard so.
type crashingStore struct {
	durable     Store
	survive     int
	appliedLast bool

	mu  sync.Mutex
	ops []string // every operation the service attempted, in order
}

func (c *crashingStore) enter(op string) (apply, crashed bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.ops = append(c.ops, op)
	n := len(c.ops)
	switch {
	case n <= c.survive:
		return true, false
	case n == c.survive+1 && c.appliedLast:
		return true, true
	}
	return false, true
}

func (c *crashingStore) Get(key string) ([]byte, bool, error) {
	apply, crashed := c.enter("Get " + key)
	if !apply {
		return nil, false, errCrashed
	}
	v, ok, err := c.durable.Get(key)
	if crashed {
		return nil, false, errCrashed
	}
	return v, ok, err
}

func (c *crashingStore) Scan(prefix string) ([]Entry, error) {
	apply, crashed := c.enter("Scan " + prefix)
	if !apply {
		return nil, errCrashed
	}
	e, err := c.durable.Scan(prefix)
	if crashed {
		return nil, errCrashed
	}
	return e, err
}

func (c *crashingStore) Commit(writes ...Write) error {
	names := make([]string, len(writes))
	for i, w := range writes {
		names[i] = w.String()
	}
	apply, crashed := c.enter("Commit(" + strings.Join(names, ", ") + ")")
	if !apply {
		return errCrashed
	}
	err := c.durable.Commit(writes...)
	if crashed {
		return errCrashed
	}
	return err
}

func (c *crashingStore) log() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.ops...)
}

// report lists the operations of the crashed attempt, each marked with
// whether it reached the store.
func (c *crashingStore) report() string {
	return crashReport(c.log(), c.survive, c.appliedLast, "the process", "the store")
}

// crashReport numbers the calls a crashed caller (who) made to target and
// marks each: the first survive went through; call survive+1 is where the
// crash fell, and reached the target only when appliedLast; any call after
// it never left the dead process.
func crashReport(calls []string, survive int, appliedLast bool, who, target string) string {
	width := 0
	for _, c := range calls {
		width = max(width, len(c))
	}
	var b strings.Builder
	for i, c := range calls {
		n := i + 1
		mark := "done"
		switch {
		case n == survive+1 && appliedLast:
			mark = fmt.Sprintf("reached %s, but %s died before it heard back   <- the crash", target, who)
		case n == survive+1:
			mark = fmt.Sprintf("never reached %s: %s had crashed   <- the crash", target, who)
		case n > survive+1:
			mark = fmt.Sprintf("never reached %s", target)
		}
		fmt.Fprintf(&b, "\n    %d. %-*s  %s", n, width, c, mark)
	}
	return b.String()
}

// heading logs, first thing in a subtest, the situation it sets up. Output
// of a subtest is shown only when it fails, and a failing subtest's own
// "--- FAIL" line comes after its messages; the heading makes the messages
// that follow it read as that subtest's.
func heading(t *testing.T, format string, args ...any) {
	t.Helper()
	t.Logf("== "+format, args...)
}

// gatedStore makes every store operation pass a lockstep gate, so that
// concurrent charges interleave at the store in the worst possible way.
type gatedStore struct {
	Store
	gate *lockstep.Gate
}

func (g gatedStore) Get(key string) ([]byte, bool, error) {
	g.gate.Pass()
	return g.Store.Get(key)
}

func (g gatedStore) Scan(prefix string) ([]Entry, error) {
	g.gate.Pass()
	return g.Store.Scan(prefix)
}

func (g gatedStore) Commit(writes ...Write) error {
	g.gate.Pass()
	return g.Store.Commit(writes...)
}
