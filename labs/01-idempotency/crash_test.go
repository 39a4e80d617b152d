package idempotency

// Part 3: the process dies halfway. The durable store survives; the Service
// does not. A restart is New on the same store.

import (
	"context"
	"fmt"
	"strings"
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
				where = fmt.Sprintf("during store operation %d of %d, after it reached the disk", k+1, len(ops))
				name = fmt.Sprintf("crash_during_op_%d", k+1)
			}
			t.Run(name, func(t *testing.T) {
				durable := fundedStore(t, map[string]int64{alice: 100_00})
				crashing := &crashingStore{durable: durable, survive: k, appliedLast: applied}
				_, _ = New(crashing, Config{}).Charge(context.Background(), req) // the process dies in here

				restarted := New(durable, Config{})
				receipt, err := restarted.Charge(context.Background(), req)
				require.NoError(t, err, "the process crashed %s; the client's retry on the restarted service must succeed", where)

				got := balanceOf(t, durable, alice)
				assert.Equal(t, int64(90_00), got, lesson(
					fmt.Sprintf("the process crashed %s, then the client retried on the restarted service: alice was charged %d times, want once.\nthe crashed attempt made these store operations:\n    %s",
						where, timesCharged(100_00, got, 10_00), strings.Join(crashing.log(), "\n    ")),
					"the debit and the record of the key must be written in one Commit. Written separately, a crash between them either forgets the key (the retry charges again) or forgets the debit (the retry finds the key and never charges)"))
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
