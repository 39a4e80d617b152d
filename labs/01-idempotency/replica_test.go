package idempotency

// Part 6: replicas that share their state in etcd. These tests start a real
// etcd inside the test process. Two replicas take strict turns at etcd (one
// call of A, one call of B, ...), so their calls interleave the same way on
// every run.

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/distlings/distlings/labs/internal/etcdtest"
	"github.com/distlings/distlings/labs/internal/lockstep"
)

// etcdTimeout bounds every test's calls to etcd: a real server, real time.
const etcdTimeout = 30 * time.Second

// ledger is a shared etcd with one account prefix per test.
type ledger struct {
	t      *testing.T
	cli    *clientv3.Client
	prefix string
	ctx    context.Context
}

func newLedger(t *testing.T, balances map[string]int64) *ledger {
	t.Helper()
	cli, ctx := startEtcd(t)
	l := &ledger{t: t, cli: cli, prefix: "/payments/", ctx: ctx}
	for account, cents := range balances {
		putBalance(t, ctx, cli, l.prefix, account, cents)
	}
	return l
}

// startEtcd starts an embedded etcd for the test, and returns a client and
// a context that ends with the test (or after etcdTimeout).
func startEtcd(t *testing.T) (*clientv3.Client, context.Context) {
	t.Helper()
	cluster := etcdtest.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), etcdTimeout)
	t.Cleanup(cancel)
	return cluster.Client(t), ctx
}

// etcdForPrefixes is startEtcd for a test that runs one charge under many
// prefixes; fund gives alice cents under a prefix.
func etcdForPrefixes(t *testing.T, cents int64) (*clientv3.Client, context.Context, func(prefix string)) {
	t.Helper()
	cli, ctx := startEtcd(t)
	return cli, ctx, func(prefix string) { putBalance(t, ctx, cli, prefix, alice, cents) }
}

func putBalance(t *testing.T, ctx context.Context, cli *clientv3.Client, prefix, account string, cents int64) {
	t.Helper()
	_, err := cli.Put(ctx, prefix+BalanceKey(account), string(EncodeBalance(cents)))
	require.NoError(t, err)
}

// balance returns an account's balance and how many times it was written,
// funding included: etcd counts the versions of every key.
func (l *ledger) balance(account string) (cents, writes int64) {
	l.t.Helper()
	resp, err := l.cli.Get(l.ctx, l.prefix+BalanceKey(account))
	require.NoError(l.t, err)
	if len(resp.Kvs) == 0 {
		return 0, 0
	}
	cents, err = DecodeBalance(resp.Kvs[0].Value)
	require.NoError(l.t, err)
	return cents, resp.Kvs[0].Version
}

// hookKV passes each etcd call of one replica through around, which makes
// the call (do) and may hold it back for its turn, fail it, or run something
// else before the replica hears the answer.
type hookKV struct {
	clientv3.KV
	around func(call string, do func() error) error
}

func (k hookKV) Get(ctx context.Context, key string, opts ...clientv3.OpOption) (r *clientv3.GetResponse, err error) {
	err = k.around("Get "+key, func() (e error) { r, e = k.KV.Get(ctx, key, opts...); return e })
	return r, err
}

func (k hookKV) Put(ctx context.Context, key, val string, opts ...clientv3.OpOption) (r *clientv3.PutResponse, err error) {
	err = k.around("Put "+key, func() (e error) { r, e = k.KV.Put(ctx, key, val, opts...); return e })
	return r, err
}

func (k hookKV) Delete(ctx context.Context, key string, opts ...clientv3.OpOption) (r *clientv3.DeleteResponse, err error) {
	err = k.around("Delete "+key, func() (e error) { r, e = k.KV.Delete(ctx, key, opts...); return e })
	return r, err
}

func (k hookKV) Do(ctx context.Context, op clientv3.Op) (r clientv3.OpResponse, err error) {
	err = k.around("Do "+string(op.KeyBytes()), func() (e error) { r, e = k.KV.Do(ctx, op); return e })
	return r, err
}

func (k hookKV) Txn(ctx context.Context) clientv3.Txn {
	return &hookTxn{Txn: k.KV.Txn(ctx), around: k.around}
}

// inTurn makes a replica's etcd calls take their turn as actor.
func inTurn(turns *lockstep.Turns, actor int) func(string, func() error) error {
	return func(_ string, do func() error) (err error) {
		turns.Do(actor, func() { err = do() })
		return err
	}
}

// hookTxn runs a transaction's Commit inside around, which may also fail it.
type hookTxn struct {
	clientv3.Txn
	around func(desc string, commit func() error) error
	desc   []string
}

func (t *hookTxn) If(cs ...clientv3.Cmp) clientv3.Txn {
	for _, c := range cs {
		t.desc = append(t.desc, "if "+string(c.KeyBytes()))
	}
	t.Txn = t.Txn.If(cs...)
	return t
}

func (t *hookTxn) Then(ops ...clientv3.Op) clientv3.Txn {
	t.desc = append(t.desc, "then "+describeOps(ops))
	t.Txn = t.Txn.Then(ops...)
	return t
}

func (t *hookTxn) Else(ops ...clientv3.Op) clientv3.Txn {
	t.desc = append(t.desc, "else "+describeOps(ops))
	t.Txn = t.Txn.Else(ops...)
	return t
}

func (t *hookTxn) Commit() (*clientv3.TxnResponse, error) {
	var r *clientv3.TxnResponse
	err := t.around("Txn("+strings.Join(t.desc, "; ")+")", func() (e error) { r, e = t.Txn.Commit(); return e })
	if err != nil {
		return nil, err
	}
	return r, nil
}

func describeOps(ops []clientv3.Op) string {
	var parts []string
	for _, op := range ops {
		verb := "get"
		switch {
		case op.IsPut():
			verb = "put"
		case op.IsDelete():
			verb = "delete"
		}
		parts = append(parts, verb+" "+string(op.KeyBytes()))
	}
	return strings.Join(parts, ", ")
}

// twoReplicas runs one charge on each of two replicas at once, their etcd
// calls in strict turns.
func twoReplicas(l *ledger, a, b ChargeRequest) (receipts [2]Receipt, errs [2]error) {
	turns := lockstep.NewTurns(2)
	var wg sync.WaitGroup
	for i, req := range []ChargeRequest{a, b} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer turns.Finish(i)
			r := NewReplica(hookKV{KV: l.cli, around: inTurn(turns, i)}, l.prefix)
			receipts[i], errs[i] = r.Charge(l.ctx, req)
		}()
	}
	wg.Wait()
	return receipts, errs
}

func TestReplicaChargesOnceAndRefusesOverdraft(t *testing.T) {
	l := newLedger(t, map[string]int64{alice: 100_00})
	r := NewReplica(l.cli, l.prefix)
	req := ChargeRequest{Key: "k1", Account: alice, Amount: 30_00}

	first, err := r.Charge(l.ctx, req)
	require.NoError(t, err, describe(req))
	assert.Equal(t, int64(70_00), first.Balance)
	again, err := r.Charge(l.ctx, req)
	require.NoError(t, err, "a retry of %s", describe(req))
	requireSameReceipt(t, first, again, "a retry must get the receipt of the first attempt")
	got, _ := l.balance(alice)
	assert.Equal(t, int64(70_00), got, "one key, one charge")

	_, err = r.Charge(l.ctx, ChargeRequest{Key: "k2", Account: alice, Amount: 80_00})
	assert.ErrorIs(t, err, ErrInsufficientFunds, "80.00 from 70.00")
	_, err = r.Charge(l.ctx, ChargeRequest{Key: "k3", Account: alice})
	assert.ErrorIs(t, err, ErrInvalidRequest, "a zero charge")
}

func TestDuplicatesOnTwoReplicasChargeOnce(t *testing.T) {
	l := newLedger(t, map[string]int64{alice: 100_00})
	req := ChargeRequest{Key: "k1", Account: alice, Amount: 10_00}

	receipts, errs := twoReplicas(l, req, req)

	require.NoError(t, errs[0], "replica A")
	require.NoError(t, errs[1], "replica B")
	got, writes := l.balance(alice)
	assert.Equal(t, int64(90_00), got, "alice's balance")
	assert.Equal(t, int64(2), writes, lesson(
		fmt.Sprintf("one request reached two replicas at once and alice's balance was written %d times after it was funded", writes-1),
		"a check in one process cannot stop another process: the check (no record of the key) and the write must be one etcd transaction, with the check in its If"))
	requireSameReceipt(t, receipts[0], receipts[1], "both replicas must answer with the one receipt")
}

func TestChargesOnTwoReplicasToOneAccountAllApply(t *testing.T) {
	l := newLedger(t, map[string]int64{alice: 100_00})

	_, errs := twoReplicas(l,
		ChargeRequest{Key: "k-a", Account: alice, Amount: 10_00},
		ChargeRequest{Key: "k-b", Account: alice, Amount: 10_00})

	require.NoError(t, errs[0], "replica A")
	require.NoError(t, errs[1], "replica B")
	got, _ := l.balance(alice)
	assert.Equal(t, int64(80_00), got, lesson(
		fmt.Sprintf("two payments of 10.00 on two replicas left alice with %s", money(got)),
		"each replica read the balance, then wrote its own new balance over the other's (a lost update). The transaction must also check that the balance has not changed since it was read: Compare(ModRevision(balance), \"=\", the revision read)"))
}

func TestKeyReuseAcrossReplicasIsRejected(t *testing.T) {
	l := newLedger(t, map[string]int64{alice: 100_00})
	a, b := NewReplica(l.cli, l.prefix), NewReplica(l.cli, l.prefix)
	orig := ChargeRequest{Key: "k1", Account: alice, Amount: 30_00}
	_, err := a.Charge(l.ctx, orig)
	require.NoError(t, err, describe(orig))

	_, err = b.Charge(l.ctx, ChargeRequest{Key: "k1", Account: alice, Amount: 40_00})
	assert.ErrorIs(t, err, ErrKeyReused, "the same key for another amount, on another replica")
	got, _ := l.balance(alice)
	assert.Equal(t, int64(70_00), got)
}

// crashingKV fails every etcd call after the first survive, as if the
// replica died there. With appliedLast, call survive+1 reaches etcd but the
// replica dies before it hears the answer. A replica calls etcd through
// hookKV{KV: etcd, around: crashing.guard}.
type crashingKV struct {
	survive     int
	appliedLast bool
	mu          sync.Mutex
	calls       []string
}

func (k *crashingKV) enter(call string) (apply, crashed bool) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.calls = append(k.calls, call)
	n := len(k.calls)
	switch {
	case n <= k.survive:
		return true, false
	case n == k.survive+1 && k.appliedLast:
		return true, true
	}
	return false, true
}

func (k *crashingKV) guard(call string, do func() error) error {
	apply, crashed := k.enter(call)
	if !apply {
		return errCrashed
	}
	err := do()
	if crashed {
		return errCrashed
	}
	return err
}

func (k *crashingKV) log() []string {
	k.mu.Lock()
	defer k.mu.Unlock()
	return append([]string(nil), k.calls...)
}

// report lists the calls of the crashed replica, each marked with whether it
// reached etcd.
func (k *crashingKV) report() string {
	return crashReport(k.log(), k.survive, k.appliedLast, "replica A", "etcd")
}

func TestCrashOnOneReplicaThenRetryOnAnotherChargesOnce(t *testing.T) {
	cli, ctx, fund := etcdForPrefixes(t, 100_00)
	req := ChargeRequest{Key: "k1", Account: alice, Amount: 10_00}

	watch := &crashingKV{survive: 1 << 30}
	fund("/count/")
	_, err := NewReplica(hookKV{KV: cli, around: watch.guard}, "/count/").Charge(ctx, req)
	require.NoError(t, err, "%s with nothing failing", describe(req))
	calls := watch.log()

	for k := range calls {
		for _, applied := range []bool{false, true} {
			where := fmt.Sprintf("after etcd call %d of %d", k, len(calls))
			prefix := fmt.Sprintf("/after-%d/", k)
			if applied {
				where = fmt.Sprintf("during etcd call %d of %d, after etcd applied it", k+1, len(calls))
				prefix = fmt.Sprintf("/during-%d/", k+1)
			}
			t.Run(strings.Trim(prefix, "/"), func(t *testing.T) {
				heading(t, "replica A crashes %s; the client retries on replica B", where)
				fund(prefix)
				crashing := &crashingKV{survive: k, appliedLast: applied}
				_, _ = NewReplica(hookKV{KV: cli, around: crashing.guard}, prefix).Charge(ctx, req) // replica A dies in here

				_, err := NewReplica(cli, prefix).Charge(ctx, req) // the client retries on replica B
				require.NoError(t, err, "replica A crashed %s; the retry on replica B must succeed", where)
				resp, err := cli.Get(ctx, prefix+BalanceKey(alice))
				require.NoError(t, err)
				got, err := DecodeBalance(resp.Kvs[0].Value)
				require.NoError(t, err)
				assert.Equal(t, int64(90_00), got, lesson(
					fmt.Sprintf("replica A crashed %s and the client retried on replica B: alice was charged %d times, want once.\nreplica A's etcd calls:%s",
						where, timesCharged(100_00, got, 10_00), crashing.report()),
					"the new balance and the record of the key must be written in the same transaction; a replica can die between any two calls"))
			})
		}
	}
}

func TestConcurrentReuseOfOneKeyOnTwoReplicasChargesOnlyOnce(t *testing.T) {
	l := newLedger(t, map[string]int64{alice: 100_00, bob: 100_00})
	reqs := [2]ChargeRequest{
		{Key: "shared", Account: alice, Amount: 30_00},
		{Key: "shared", Account: bob, Amount: 30_00},
	}

	_, errs := twoReplicas(l, reqs[0], reqs[1])

	var charged []string
	reused := 0
	for i, req := range reqs {
		if got, _ := l.balance(req.Account); got != 100_00 {
			charged = append(charged, req.Account)
		}
		if errs[i] != nil {
			require.ErrorIs(t, errs[i], ErrKeyReused, "replica %c: %s failed for another reason", 'A'+i, describe(req))
			reused++
		}
	}
	assert.Len(t, charged, 1, lesson(
		fmt.Sprintf("one key reached two replicas at once, for alice on one and for bob on the other, and %d accounts were charged (%s), want exactly one",
			len(charged), strings.Join(charged, " and ")),
		"a key stands for one charge whatever the account. Each replica's balance check is about its own account and cannot see the other's charge, so the transaction must also check that the record of the key is still absent: Compare(CreateRevision(record), \"=\", 0)"))
	assert.Equal(t, 1, reused, lesson(
		fmt.Sprintf("of two requests with one key for two accounts, %d failed with ErrKeyReused, want one", reused),
		"whichever replica writes the record first charges; the other must find that record and answer ErrKeyReused"))
}

// interrupter lets a replica's etcd calls through and, right after call
// number after has returned and before the replica sees its answer, runs
// between: something that happens elsewhere at that moment.
type interrupter struct {
	after   int
	between func()

	mu    sync.Mutex
	calls []string
}

func (in *interrupter) around(call string, do func() error) error {
	err := do()
	in.mu.Lock()
	in.calls = append(in.calls, call)
	now := len(in.calls) == in.after
	in.mu.Unlock()
	if now {
		in.between()
	}
	return err
}

// report lists the calls, with a line where between ran.
func (in *interrupter) report(what string) string {
	in.mu.Lock()
	defer in.mu.Unlock()
	var b strings.Builder
	for i, c := range in.calls {
		fmt.Fprintf(&b, "\n    %d. %s", i+1, c)
		if i+1 == in.after {
			fmt.Fprintf(&b, "\n       <- %s", what)
		}
	}
	return b.String()
}

func TestDuplicateCommittedByAnotherReplicaMidChargeGetsTheReceipt(t *testing.T) {
	// Alice has exactly the amount: once the payment is charged, nothing is
	// left, so a replica that sees the balance without the record refuses.
	cli, ctx, fund := etcdForPrefixes(t, 10_00)
	req := ChargeRequest{Key: "k1", Account: alice, Amount: 10_00}

	watch := &interrupter{}
	fund("/count/")
	_, err := NewReplica(hookKV{KV: cli, around: watch.around}, "/count/").Charge(ctx, req)
	require.NoError(t, err, "%s with alice holding 10.00 and nothing else happening", describe(req))

	for k := 1; k < len(watch.calls); k++ {
		prefix := fmt.Sprintf("/between-%d-and-%d/", k, k+1)
		t.Run(strings.Trim(prefix, "/"), func(t *testing.T) {
			heading(t, "replica B charges the same request, start to finish, between replica A's etcd calls %d and %d", k, k+1)
			fund(prefix)
			var fromB Receipt
			var errB error
			a := &interrupter{after: k, between: func() { fromB, errB = NewReplica(cli, prefix).Charge(ctx, req) }}
			fromA, errA := NewReplica(hookKV{KV: cli, around: a.around}, prefix).Charge(ctx, req)

			require.NoError(t, errB, "replica B, which ran the request from start to finish on its own")
			resp, err := cli.Get(ctx, prefix+BalanceKey(alice))
			require.NoError(t, err)
			balance, err := DecodeBalance(resp.Kvs[0].Value)
			require.NoError(t, err)
			require.NoError(t, errA, lesson(
				fmt.Sprintf("replica B ran %s to the end (alice now has %s) while replica A was between its etcd calls %d and %d. Replica A then answered the same request with %q: the client tells the user the payment was refused, and the money is gone.\nreplica A's etcd calls:%s",
					describe(req), money(balance), k, k+1, errA, a.report("replica B charges the payment here")),
				"decide from one moment of etcd: the record and the balance as they were at the same revision. Read apart, a replica can see no record of the key and then a balance that already paid for it; a refusal is an answer the client never retries, so it must be true"))
			requireSameReceipt(t, fromB, fromA, "both replicas must answer with the one receipt")
			assert.Equal(t, int64(0), balance, "alice's 10.00, charged once")
		})
	}
}

// unreachableKV is an etcd that never answers (a partition, a leader that
// is gone): every call waits until its context ends, or until the test is
// over.
type unreachableKV struct {
	clientv3.KV // not called
	over        chan struct{}
	calls       *atomic.Int64
}

var errTestOver = errors.New("the test is over")

func (k unreachableKV) wait(ctx context.Context) error {
	k.calls.Add(1)
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-k.over:
		return errTestOver
	}
}

func (k unreachableKV) Get(ctx context.Context, _ string, _ ...clientv3.OpOption) (*clientv3.GetResponse, error) {
	return nil, k.wait(ctx)
}

func (k unreachableKV) Put(ctx context.Context, _, _ string, _ ...clientv3.OpOption) (*clientv3.PutResponse, error) {
	return nil, k.wait(ctx)
}

func (k unreachableKV) Delete(ctx context.Context, _ string, _ ...clientv3.OpOption) (*clientv3.DeleteResponse, error) {
	return nil, k.wait(ctx)
}

func (k unreachableKV) Do(ctx context.Context, _ clientv3.Op) (clientv3.OpResponse, error) {
	return clientv3.OpResponse{}, k.wait(ctx)
}

func (k unreachableKV) Txn(ctx context.Context) clientv3.Txn { return unreachableTxn{k, ctx} }

type unreachableTxn struct {
	kv  unreachableKV
	ctx context.Context
}

func (t unreachableTxn) If(...clientv3.Cmp) clientv3.Txn  { return t }
func (t unreachableTxn) Then(...clientv3.Op) clientv3.Txn { return t }
func (t unreachableTxn) Else(...clientv3.Op) clientv3.Txn { return t }
func (t unreachableTxn) Commit() (*clientv3.TxnResponse, error) {
	return nil, t.kv.wait(t.ctx)
}

func TestReplicaGivesUpWhenItsCallersContextEnds(t *testing.T) {
	kv := unreachableKV{over: make(chan struct{}), calls: new(atomic.Int64)}
	defer close(kv.over)
	req := ChargeRequest{Key: "k1", Account: alice, Amount: 10_00}
	const attempt, patience = 50 * time.Millisecond, 10 * time.Second
	ctx, cancel := context.WithTimeout(context.Background(), attempt)
	defer cancel()

	done := make(chan error, 1)
	go func() {
		_, err := NewReplica(kv, "/payments/").Charge(ctx, req)
		done <- err
	}()
	select {
	case err := <-done:
		require.Error(t, err, "etcd never answered; %s cannot have succeeded", describe(req))
		require.NotZero(t, kv.calls.Load(), "%s failed with %q without calling etcd", describe(req), err)
		assert.False(t, permanentError(err), lesson(
			fmt.Sprintf("etcd never answered, and %s failed with %q", describe(req), err),
			"an etcd that does not answer says nothing about the payment: return the error, never an answer the client stops retrying on"))
	case <-time.After(patience):
		require.Fail(t, "the replica outlived its caller", lesson(
			fmt.Sprintf("etcd did not answer (a partition); the caller's context ended after %v, and %s was still waiting %v later", attempt, describe(req), patience),
			"make every etcd call with the caller's ctx, not context.Background(): when the client's attempt times out it retries, on this replica or another, and a replica still waiting for etcd holds a goroutine and a connection for an answer nobody will read. Under an outage, every retry adds another"))
	}
}
