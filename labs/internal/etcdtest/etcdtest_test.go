package etcdtest_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/distlings/distlings/labs/internal/etcdtest"
)

func ctxFor(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func TestStartServesPutAndGet(t *testing.T) {
	cluster := etcdtest.Start(t)
	cli := cluster.Client(t)
	ctx := ctxFor(t)

	_, err := cli.Put(ctx, "greeting", "hello")
	require.NoError(t, err)
	resp, err := cli.Get(ctx, "greeting")
	require.NoError(t, err)
	require.Len(t, resp.Kvs, 1)
	assert.Equal(t, "hello", string(resp.Kvs[0].Value))
	assert.Equal(t, 1, cluster.Size())
	assert.Regexp(t, `^http://127\.0\.0\.1:\d+$`, cluster.Endpoints()[0], "loopback, kernel-chosen port")
}

func TestClustersOfOneTestAreIndependent(t *testing.T) {
	a, b := etcdtest.Start(t), etcdtest.Start(t)
	ctx := ctxFor(t)
	assert.NotEqual(t, a.Endpoints(), b.Endpoints())

	_, err := a.Client(t).Put(ctx, "k", "a")
	require.NoError(t, err)
	resp, err := b.Client(t).Get(ctx, "k")
	require.NoError(t, err)
	assert.Empty(t, resp.Kvs, "a write to one cluster must not show in another")
}

func TestTransactionsAreAtomic(t *testing.T) {
	cli := etcdtest.Start(t).Client(t)
	ctx := ctxFor(t)

	put := func() bool {
		resp, err := cli.Txn(ctx).
			If(clientv3.Compare(clientv3.CreateRevision("once"), "=", 0)).
			Then(clientv3.OpPut("once", "x"), clientv3.OpPut("effect", "y")).
			Commit()
		require.NoError(t, err)
		return resp.Succeeded
	}
	assert.True(t, put(), "first transaction")
	assert.False(t, put(), "second transaction must see the first")
}

func TestClusterKeepsServingWhileOneMemberIsDown(t *testing.T) {
	cluster := etcdtest.StartCluster(t, 3)
	cli := cluster.Client(t)
	ctx := ctxFor(t)

	_, err := cli.Put(ctx, "before", "1")
	require.NoError(t, err)

	cluster.Stop(0)
	assert.False(t, cluster.Running(0))
	_, err = cli.Put(ctx, "during", "2")
	require.NoError(t, err, "two of three members are a majority")

	cluster.Restart(0)
	assert.True(t, cluster.Running(0))
	only0, err := clientv3.New(clientv3.Config{Endpoints: cluster.Endpoints()[:1], DialTimeout: 5 * time.Second})
	require.NoError(t, err)
	defer only0.Close()
	// A linearizable read on the restarted member sees what was written
	// while it was down: it caught up from the others.
	resp, err := only0.Get(ctx, "during")
	require.NoError(t, err)
	require.Len(t, resp.Kvs, 1)
	assert.Equal(t, "2", string(resp.Kvs[0].Value))
}

func BenchmarkStartStop(b *testing.B) {
	for b.Loop() {
		tb := &cleanupTB{TB: b}
		etcdtest.Start(tb)
		tb.runCleanups()
	}
}

// cleanupTB gives a benchmark iteration its own cleanups, so that each
// server stops inside the loop rather than when the benchmark ends.
type cleanupTB struct {
	testing.TB
	cleanups []func()
}

func (c *cleanupTB) Cleanup(f func()) { c.cleanups = append(c.cleanups, f) }

func (c *cleanupTB) runCleanups() {
	for i := len(c.cleanups) - 1; i >= 0; i-- {
		c.cleanups[i]()
	}
	c.cleanups = nil
}
