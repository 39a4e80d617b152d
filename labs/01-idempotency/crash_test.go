package idempotency

// Part 3: the process dies halfway. The durable store survives; the Service
// does not. A restart is New on the same store.

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// opsOfOneCharge runs req once with nothing failing and returns the store
// operations it made: the points where a crash can fall.
func opsOfOneCharge(t *testing.T, req ChargeRequest) []string {
	t.Helper()
	durable := fundedStore(t, map[string]int64{req.Account: 100_00})
	watch := &crashingStore{durable: durable, survive: 1 << 30}
	_, err := New(watch, Config{}).Charge(context.Background(), req)
	require.NoError(t, err, "%s with nothing failing", describe(req))
	return watch.log()
}

func TestCrashAtAnyStepThenRetryChargesOnce(t *testing.T) {
	req := ChargeRequest{Key: "k1", Account: alice, Amount: 10_00}
	ops := opsOfOneCharge(t, req)
	for k := range ops {
		for _, applied := range []bool{false, true} {
			where := fmt.Sprintf("after store operation %d of %d", k, len(ops))
			name := fmt.Sprintf("crash_after_op_%d", k)
			if applied {
				where = fmt.Sprintf("during store operation %d of %d, after it reached the store", k+1, len(ops))
				name = fmt.Sprintf("crash_during_op_%d", k+1)
			}
			t.Run(name, func(t *testing.T) {
				heading(t, "the process crashes %s; the client retries on the restarted service", where)
				durable := fundedStore(t, map[string]int64{alice: 100_00})
				crashing := &crashingStore{durable: durable, survive: k, appliedLast: applied}
				_, _ = New(crashing, Config{}).Charge(context.Background(), req) // the process dies in here

				restarted := New(durable, Config{})
				receipt, err := restarted.Charge(context.Background(), req)
				require.NoError(t, err, "the process crashed %s; the client's retry on the restarted service must succeed", where)

				got := balanceOf(t, durable, alice)
				assert.Equal(t, int64(90_00), got, lesson(
					fmt.Sprintf("the process crashed %s, then the client retried on the restarted service: alice was charged %d times, want once.\nthe crashed attempt's store operations:%s",
						where, timesCharged(100_00, got, 10_00), crashing.report()),
					"the debit and the record of the key are one fact: whenever the process dies, the store holds both or neither. Between two writes, a crash either forgets the key (the retry charges again) or forgets the debit (the retry finds the key and never charges), and reordering them only picks which"))
				assert.Equal(t, got, receipt.Balance, "the retry's receipt must show the balance after the one charge")

				again, err := restarted.Charge(context.Background(), req)
				require.NoError(t, err)
				requireSameReceipt(t, receipt, again, "a second retry must get the same receipt")
			})
		}
	}
}

func TestRestartedServiceStillKnowsItsKeys(t *testing.T) {
	durable := fundedStore(t, map[string]int64{alice: 100_00})
	req := ChargeRequest{Key: "k1", Account: alice, Amount: 10_00}
	first, err := New(durable, Config{}).Charge(context.Background(), req)
	require.NoError(t, err, describe(req))

	restarted := New(durable, Config{}) // the old process is gone, with its memory
	again, err := restarted.Charge(context.Background(), req)
	require.NoError(t, err, "the retry on a restarted service")
	got := balanceOf(t, durable, alice)
	assert.Equal(t, int64(90_00), got, lesson(
		fmt.Sprintf("a retry that reached a restarted service charged again (alice was charged %d times)", timesCharged(100_00, got, 10_00)),
		"what the service knows about keys must come from the Store, not from memory that a restart wipes. Retries come precisely when things went wrong, crashes included"))
	requireSameReceipt(t, first, again, "the retry must get the receipt of the first attempt")

	_, err = restarted.Charge(context.Background(), ChargeRequest{Key: "k1", Account: alice, Amount: 99_00})
	assert.ErrorIs(t, err, ErrKeyReused, "a restarted service must still reject a reused key")
}

// errStoreTimeout is a store operation that failed without a crash: a
// timeout, a dropped connection. The operation changed nothing, and the
// next one may well work.
var errStoreTimeout = errors.New("store operation timed out")

// flakyStore fails the fail-th operation it is asked for with
// errStoreTimeout, without touching the durable store, and the same
// operation again each time it is asked for it, up to outage times in all
// (once, when outage is 0), until heal is called. Every other operation
// goes through. A store that keeps failing one read is what a service that
// tries a failed call again at once, a fixed number of times, meets.
type flakyStore struct {
	durable Store
	fail    int
	outage  int

	mu       sync.Mutex
	ops      []string
	failing  string // the operation that fails
	failures int
	healed   bool
}

// storeOutage is how many times in a row a flaky store fails an operation.
const storeOutage = 3

func (f *flakyStore) enter(op string) (fails bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.ops = append(f.ops, op)
	if len(f.ops) == f.fail {
		f.failing = op
	}
	if f.healed || f.failing == "" || op != f.failing || f.failures >= max(1, f.outage) {
		return false
	}
	f.failures++
	return true
}

// heal ends the outage.
func (f *flakyStore) heal() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.healed = true
}

func (f *flakyStore) Get(key string) ([]byte, bool, error) {
	if f.enter("Get " + key) {
		return nil, false, errStoreTimeout
	}
	return f.durable.Get(key)
}

func (f *flakyStore) Scan(prefix string) ([]Entry, error) {
	if f.enter("Scan " + prefix) {
		return nil, errStoreTimeout
	}
	return f.durable.Scan(prefix)
}

func (f *flakyStore) Commit(writes ...Write) error {
	names := make([]string, len(writes))
	for i, w := range writes {
		names[i] = w.String()
	}
	if f.enter("Commit(" + strings.Join(names, ", ") + ")") {
		return errStoreTimeout
	}
	return f.durable.Commit(writes...)
}

func (f *flakyStore) log() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.ops...)
}

func TestRetryWhoseLookupFailsDoesNotChargeAgain(t *testing.T) {
	req := ChargeRequest{Key: "k1", Account: alice, Amount: 10_00}
	// The store operations of a retry with nothing failing, on another
	// service (a restart, or a second process) than the one that charged.
	durable := fundedStore(t, map[string]int64{alice: 100_00})
	_, err := New(durable, Config{}).Charge(context.Background(), req)
	require.NoError(t, err, describe(req))
	watch := &flakyStore{durable: durable}
	_, err = New(watch, Config{}).Charge(context.Background(), req)
	require.NoError(t, err, "a retry of %s with nothing failing", describe(req))
	ops := watch.log()

	for k := 1; k <= len(ops); k++ {
		t.Run(fmt.Sprintf("op_%d_fails", k), func(t *testing.T) {
			heading(t, "store operation %d of the retry (%s) fails, and fails again each time it is tried, up to %d times (an outage, no crash); then the store recovers and the client retries again", k, ops[k-1], storeOutage)
			durable := fundedStore(t, map[string]int64{alice: 100_00})
			first, err := New(durable, Config{}).Charge(context.Background(), req)
			require.NoError(t, err, describe(req))

			flaky := &flakyStore{durable: durable, fail: k, outage: storeOutage}
			svc := New(flaky, Config{})
			receipt, err := svc.Charge(context.Background(), req) // operation k fails in here
			flaky.heal()
			got := balanceOf(t, durable, alice)
			assert.Equal(t, int64(90_00), got, lesson(
				fmt.Sprintf("a retry of a payment already charged, whose store operation %d (%s) failed with %q, left alice charged %d times, want once.\nthe retry's store operations: %s",
					k, ops[k-1], errStoreTimeout, timesCharged(100_00, got, 10_00), strings.Join(flaky.log(), ", ")),
				"only a store that answers \"not found\" says a key is new. A failed read says nothing, however often it is tried again: return the error (the client will retry), never go on as if the key had not been seen, or every outage of the store charges payments again"))
			if err != nil {
				assert.False(t, permanentError(err), lesson(
					fmt.Sprintf("a store failure reached the client as %q", err),
					"a store that failed this once may work on the next attempt; an error the client treats as an answer (ErrInsufficientFunds, ErrKeyReused, ErrInvalidRequest) stops its retries for good"))
			} else if got == 90_00 {
				requireSameReceipt(t, first, receipt, "a retry that succeeds despite the failed operation must get the receipt of the first attempt")
			}

			again, err := svc.Charge(context.Background(), req)
			require.NoError(t, err, "the client's next retry, with the store working again")
			requireSameReceipt(t, first, again, "the next retry must get the receipt of the first attempt")
		})
	}
}

func TestFirstAttemptWhoseStoreFailsIsNeitherRefusedNorConfirmed(t *testing.T) {
	req := ChargeRequest{Key: "k1", Account: alice, Amount: 10_00}
	ops := opsOfOneCharge(t, req)
	for k := 1; k <= len(ops); k++ {
		t.Run(fmt.Sprintf("op_%d_fails", k), func(t *testing.T) {
			heading(t, "store operation %d of a new payment (%s) fails, and fails again each time it is tried, up to %d times (an outage, no crash); then the store recovers and the client retries", k, ops[k-1], storeOutage)
			durable := fundedStore(t, map[string]int64{alice: 100_00})
			flaky := &flakyStore{durable: durable, fail: k, outage: storeOutage}
			svc := New(flaky, Config{})
			receipt, err := svc.Charge(context.Background(), req) // operation k fails in here
			flaky.heal()
			got := balanceOf(t, durable, alice)
			if err != nil {
				assert.False(t, permanentError(err), lesson(
					fmt.Sprintf("store operation %d (%s) of a new payment failed with %q, and the client was told %q.\nthe store operations: %s",
						k, ops[k-1], errStoreTimeout, err, strings.Join(flaky.log(), ", ")),
					"a store that fails says nothing about the payment: return its error (the client will retry). Alice has the money; an error the client treats as an answer (ErrInsufficientFunds, ErrKeyReused, ErrInvalidRequest) refuses her payment for good"))
			} else {
				assert.Equal(t, int64(90_00), got, lesson(
					fmt.Sprintf("store operation %d (%s) of a new payment failed with %q, and Charge answered with a receipt (balance %s) although alice still has %s.\nthe store operations: %s",
						k, ops[k-1], errStoreTimeout, money(receipt.Balance), money(got), strings.Join(flaky.log(), ", ")),
					"a receipt says the charge is in the store: return it only once the Commit has succeeded. A failed Commit is an error, which the client retries; a receipt for it is a payment the shop never gets"))
			}

			again, err := svc.Charge(context.Background(), req)
			require.NoError(t, err, "the client's retry, with the store working again")
			assert.Equal(t, int64(90_00), balanceOf(t, durable, alice), lesson(
				fmt.Sprintf("store operation %d (%s) of a new payment failed, the client retried, and alice was charged %d times.\nthe store operations: %s",
					k, ops[k-1], timesCharged(100_00, balanceOf(t, durable, alice), 10_00), strings.Join(flaky.log(), ", ")),
				"one payment, charged once, whatever failed on the way: a failure between the debit and the record of the key leaves a debit that no key remembers, and the retry charges again"))
			assert.Equal(t, int64(90_00), again.Balance, "the retry's receipt shows the balance after the one charge")
		})
	}
}

// permanentError reports whether err is one of the answers a client must
// not retry.
func permanentError(err error) bool {
	return errors.Is(err, ErrInvalidRequest) || errors.Is(err, ErrInsufficientFunds) || errors.Is(err, ErrKeyReused)
}
