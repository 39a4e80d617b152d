package idempotency

// Part 1: one key, one charge. Reference: the guide, "Part 1".

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestChargeDebitsTheAccount(t *testing.T) {
	store := fundedStore(t, map[string]int64{alice: 100_00})
	svc := New(store, Config{})
	req := ChargeRequest{Key: "k1", Account: alice, Amount: 30_00}
	before := time.Now()

	r, err := svc.Charge(context.Background(), req)

	require.NoError(t, err, lesson(describe(req)+" on an account holding 100.00 failed",
		"a valid request on an account that holds at least the amount is charged, and answered with its receipt"))
	assert.Equal(t, req.Key, r.Key, "the receipt names the key it answers")
	assert.Equal(t, req.Account, r.Account)
	assert.Equal(t, req.Amount, r.Amount)
	assert.Equal(t, int64(70_00), r.Balance, "the receipt shows the balance right after the charge")
	assert.False(t, r.ChargedAt.Before(before) || r.ChargedAt.After(time.Now()), "ChargedAt is when the charge was applied; got %v", r.ChargedAt)
	assert.Equal(t, int64(70_00), balanceOf(t, store, alice),
		lesson("the balance in the store did not change", "the debit must be written to the Store: it is the only thing that survives a crash"))

	all := ChargeRequest{Key: "k2", Account: alice, Amount: 70_00}
	r, err = svc.Charge(context.Background(), all)
	require.NoError(t, err, lesson(
		fmt.Sprintf("%s, the whole 70.00 that alice has left, failed", describe(all)),
		"an account that holds at least the amount can pay it: refuse only a balance below the amount (balance < amount), or nobody can spend their last cent"))
	assert.Equal(t, int64(0), r.Balance, "70.00 from 70.00 leaves nothing")
}

func TestChargeRejectsInvalidRequests(t *testing.T) {
	for _, tc := range []struct {
		name string
		req  ChargeRequest
	}{
		{"no key", ChargeRequest{Account: alice, Amount: 1_00}},
		{"no account", ChargeRequest{Key: "k1", Amount: 1_00}},
		{"zero amount", ChargeRequest{Key: "k1", Account: alice}},
		{"negative amount", ChargeRequest{Key: "k1", Account: alice, Amount: -5_00}},
	} {
		// Once on a fresh service, once after k1 has charged alice 1.00: an
		// invalid request is invalid whatever its key has done before.
		for _, after := range []*ChargeRequest{nil, {Key: "k1", Account: alice, Amount: 1_00}} {
			name, before := tc.name, int64(100_00)
			if after != nil {
				name, before = tc.name+" after a charge of k1", 99_00
			}
			t.Run(name, func(t *testing.T) {
				store := fundedStore(t, map[string]int64{alice: 100_00})
				svc := New(store, Config{})
				what := describe(tc.req)
				if after != nil {
					_, err := svc.Charge(context.Background(), *after)
					require.NoError(t, err, describe(*after))
					what += " after " + describe(*after)
				}
				stored := store.Len()
				_, err := svc.Charge(context.Background(), tc.req)
				require.ErrorIs(t, err, ErrInvalidRequest,
					lesson(what+" must fail with ErrInvalidRequest", "a request is checked before anything else: an invalid one is the client's mistake whatever its key did before, and a negative charge is a deposit in disguise"))
				assert.Equal(t, before, balanceOf(t, store, alice), "an invalid request must change nothing")
				assert.Equal(t, stored, store.Len(), "an invalid request must store nothing")
			})
		}
	}
}

func TestChargeRefusesOverdraftAndRemembersNothing(t *testing.T) {
	store := fundedStore(t, map[string]int64{alice: 10_00})
	svc := New(store, Config{})
	req := ChargeRequest{Key: "k1", Account: alice, Amount: 20_00}

	_, err := svc.Charge(context.Background(), req)
	require.ErrorIs(t, err, ErrInsufficientFunds, lesson(describe(req)+" with 10.00 in the account must fail with ErrInsufficientFunds",
		"a charge is paid from what the account holds: one the balance cannot cover is refused, and no account goes below zero"))
	assert.Equal(t, int64(10_00), balanceOf(t, store, alice), "a refused charge must not touch the balance")

	require.NoError(t, Fund(store, alice, 50_00))
	r, err := svc.Charge(context.Background(), req)
	require.NoError(t, err, lesson("after alice got more money, the same request was refused again",
		"a key records a charge that happened. A refused charge did nothing, so its key must stay free for the retry"))
	assert.Equal(t, int64(30_00), r.Balance)
}

func TestRetryWithTheSameKeyChargesOnce(t *testing.T) {
	store := fundedStore(t, map[string]int64{alice: 100_00})
	svc := New(store, Config{})
	req := ChargeRequest{Key: "k1", Account: alice, Amount: 10_00}

	first, err := svc.Charge(context.Background(), req)
	require.NoError(t, err, describe(req))
	for retry := 1; retry <= 3; retry++ {
		again, err := svc.Charge(context.Background(), req)
		require.NoError(t, err, lesson(fmt.Sprintf("retry %d of %s failed", retry, describe(req)),
			"a retry is not an error: the client did not hear the answer, so it asks again"))
		requireSameReceipt(t, first, again, "a retry must get the receipt of the first attempt")
	}
	got := balanceOf(t, store, alice)
	assert.Equal(t, int64(90_00), got,
		lesson(fmt.Sprintf("one payment sent 4 times was charged %d times", timesCharged(100_00, got, 10_00)),
			"one idempotency key, one charge: that is what makes retrying safe"))
}

func TestRetryGetsTheOriginalReceipt(t *testing.T) {
	store := fundedStore(t, map[string]int64{alice: 100_00})
	svc := New(store, Config{})
	k1 := ChargeRequest{Key: "k1", Account: alice, Amount: 30_00}
	k2 := ChargeRequest{Key: "k2", Account: alice, Amount: 10_00}

	first, err := svc.Charge(context.Background(), k1)
	require.NoError(t, err, describe(k1))
	_, err = svc.Charge(context.Background(), k2)
	require.NoError(t, err, describe(k2))
	again, err := svc.Charge(context.Background(), k1)
	require.NoError(t, err, lesson("the retry of "+describe(k1)+" failed",
		"a retry is not an error: the client did not hear the answer, so it asks again, and gets the receipt of the first attempt"))

	requireSameReceipt(t, first, again, lesson("the retry of k1 after k2 got a different receipt",
		"store the receipt and return it as stored; a receipt made again from today's balance (60.00) says something that never happened"))
}

// A receipt comes back as it was stored, whatever the account is called
// and however large the amounts: account names are the customer's to
// choose, and cents above 2⁵³ do not survive a trip through a float64.
func TestRetryGetsItsReceiptBackExactly(t *testing.T) {
	const rich = 1 << 62
	for i, account := range []string{"acct|42|7", `o"brien, pat`, "line\nbreak", "zoë 🙂", "idem/k1"} {
		req := ChargeRequest{Key: fmt.Sprintf("k%d", i), Account: account, Amount: 1<<53 + 1}
		store := fundedStore(t, map[string]int64{account: rich})
		svc := New(store, Config{})
		first, err := svc.Charge(context.Background(), req)
		require.NoError(t, err, describe(req))
		const rule = "a receipt is stored so that it reads back exactly, field for field: an account name may hold any character, and an amount any int64"
		again, err := svc.Charge(context.Background(), req)
		require.NoError(t, err, lesson("the retry of "+describe(req)+" failed", rule))
		requireSameReceipt(t, first, again, lesson("the retry of "+describe(req)+" got a receipt that differs from the first", rule))
		assert.Equal(t, int64(rich-req.Amount), balanceOf(t, store, account), "the balance after %s", describe(req))
	}
}

func TestRetryAfterTheChargeSpentEverythingGetsItsReceipt(t *testing.T) {
	store := fundedStore(t, map[string]int64{alice: 5_00})
	svc := New(store, Config{})
	coffee := ChargeRequest{Key: "k1", Account: alice, Amount: 5_00}
	first, err := svc.Charge(context.Background(), coffee)
	require.NoError(t, err, "%s with 5.00 in the account", describe(coffee))

	again, err := svc.Charge(context.Background(), coffee)
	require.NoError(t, err, lesson(
		fmt.Sprintf("the retry of %s, which went through and left 0.00, failed", describe(coffee)),
		"a retry is answered by what its key recorded, whatever the account holds now: the balance is low because of this very payment, and refusing it tells the client a payment that went through did not"))
	requireSameReceipt(t, first, again, "the retry must get the receipt of the first attempt")

	other := ChargeRequest{Key: "k1", Account: alice, Amount: 7_00}
	_, err = svc.Charge(context.Background(), other)
	require.ErrorIs(t, err, ErrKeyReused, lesson(
		fmt.Sprintf("%s after %s must fail with ErrKeyReused", describe(other), describe(coffee)),
		"a key that was used is reused whatever the account holds: answering a client bug with ErrInsufficientFunds sends its authors looking for money instead of the bug"))
	assert.Equal(t, int64(0), balanceOf(t, store, alice), "nothing after the first charge may change the balance")
}

func TestDifferentKeysAreDifferentCharges(t *testing.T) {
	store := fundedStore(t, map[string]int64{alice: 100_00})
	svc := New(store, Config{})
	for _, key := range []string{"k1", "k2", "K1"} {
		_, err := svc.Charge(context.Background(), ChargeRequest{Key: key, Account: alice, Amount: 30_00})
		require.NoError(t, err)
	}
	assert.Equal(t, int64(10_00), balanceOf(t, store, alice), lesson(
		`three payments of 30.00 with the keys "k1", "k2" and "K1" were not all charged`,
		"only the key says whether two requests are one payment, byte for byte: alice may well buy three coffees, and a client that picked \"K1\" means \"K1\""))
}

// An idempotency key is whatever the client sends: one that looks like the
// name of something in the store must still only name a payment.
func TestAKeyNamesAPaymentNotAPlaceInTheStore(t *testing.T) {
	for i, key := range []string{BalanceKey(bob), BalancePrefix, "../" + BalanceKey(bob)} {
		t.Run(fmt.Sprintf("key_%d", i+1), func(t *testing.T) {
			store := fundedStore(t, map[string]int64{alice: 100_00, bob: 50_00})
			svc := New(store, Config{})
			req := ChargeRequest{Key: key, Account: alice, Amount: 10_00}
			first, err := svc.Charge(context.Background(), req)
			require.NoError(t, err, describe(req))
			b, found, err := store.Get(BalanceKey(bob))
			require.NoError(t, err)
			_, decodeErr := DecodeBalance(b)
			require.True(t, found && decodeErr == nil && string(b) == string(EncodeBalance(50_00)), lesson(
				fmt.Sprintf("%s charged alice, and bob's balance in the store is now %q (found %v), not 50.00", describe(req), b, found),
				"an idempotency key is the client's to choose: whatever it says, it names a payment, never a place in the store. A key written where it lands overwrites whatever is there"))
			again, err := svc.Charge(context.Background(), req)
			require.NoError(t, err, "the retry of "+describe(req))
			requireSameReceipt(t, first, again, "the retry gets the receipt of the first attempt")
			assert.Equal(t, int64(90_00), balanceOf(t, store, alice), "one payment, one charge")
		})
	}
}

func TestKeyReusedForAnotherRequestIsRejected(t *testing.T) {
	store := fundedStore(t, map[string]int64{alice: 100_00, bob: 100_00})
	svc := New(store, Config{})
	orig := ChargeRequest{Key: "k1", Account: alice, Amount: 30_00}
	first, err := svc.Charge(context.Background(), orig)
	require.NoError(t, err, describe(orig))

	for _, other := range []struct {
		req  ChargeRequest
		note string
	}{
		{ChargeRequest{Key: "k1", Account: alice, Amount: 40_00}, ""},
		{ChargeRequest{Key: "k1", Account: bob, Amount: 30_00}, ""},
		{ChargeRequest{Key: "k1", Account: "Alice", Amount: 30_00}, " (an account name is an id, compared exactly: Alice is not alice)"},
	} {
		_, err := svc.Charge(context.Background(), other.req)
		require.ErrorIs(t, err, ErrKeyReused, lesson(describe(other.req)+" after "+describe(orig)+" must fail with ErrKeyReused"+other.note,
			"the same key with a different request is a client bug, not a retry; answering it with the first receipt hides the bug, charging it breaks the promise of the key"))
	}
	assert.Equal(t, int64(70_00), balanceOf(t, store, alice), "a rejected request must change nothing")
	assert.Equal(t, int64(100_00), balanceOf(t, store, bob), "a rejected request must change nothing")

	again, err := svc.Charge(context.Background(), orig)
	require.NoError(t, err, "the real retry still works")
	requireSameReceipt(t, first, again, "the real retry still gets its receipt")
}
