// Package etcdtest runs real etcd servers inside a test process, so that lab
// tests get a real etcd without Docker, a network or a fixed port.
//
// Every server listens on loopback ports chosen by the kernel, keeps its data
// in the test's temporary directory and is closed when the test ends, after
// the clients the test opened:
//
//	cluster := etcdtest.Start(t)   // one member
//	cli := cluster.Client(t)       // a clientv3.Client on every member
//
// StartCluster starts several members; Stop and Restart take one down and
// bring it back with its data, for tests of what clients see meanwhile.
package etcdtest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/server/v3/embed"
	"go.uber.org/zap"
)

// Timing of the servers. A fast heartbeat makes elections take a fraction of
// a second, which is what tests that stop a leader want.
const (
	tickMs       = 10
	electionMs   = 100
	readyTimeout = 30 * time.Second
	closeTimeout = 15 * time.Second
	dialTimeout  = 5 * time.Second
	bindAttempts = 5
)

// Cluster is a set of etcd members running in this process.
type Cluster struct {
	t       testing.TB
	members []*member
}

type member struct {
	name      string
	dir       string
	peerURL   url.URL
	clientURL url.URL
	etcd      *embed.Etcd // nil while stopped
}

// Start starts a one-member etcd for the test and stops it when the test ends.
func Start(t testing.TB) *Cluster {
	t.Helper()
	return StartCluster(t, 1)
}

// StartCluster starts an etcd cluster of size members for the test and stops
// it when the test ends. It fails the test if the cluster cannot start.
func StartCluster(t testing.TB, size int) *Cluster {
	t.Helper()
	if size < 1 {
		t.Fatalf("etcdtest: a cluster needs at least one member, got %d", size)
	}
	c := &Cluster{t: t}
	// Cleanups run last-registered first: clients registered later by
	// Client close before the servers they talk to.
	t.Cleanup(c.stopAll)

	root := t.TempDir()
	var err error
	for attempt := 1; attempt <= bindAttempts; attempt++ {
		if err = c.startAll(root, size, attempt); err == nil || !isAddrInUse(err) {
			break
		}
		// Another process took a port between our probe and etcd's bind.
		c.stopAll()
	}
	if err != nil {
		t.Fatalf("etcdtest: starting %d-member etcd: %v", size, err)
	}
	return c
}

// startAll starts every member and waits until all are ready.
func (c *Cluster) startAll(root string, size, attempt int) error {
	c.members = make([]*member, size)
	var initial []string
	for i := range c.members {
		ports, err := freePorts(2)
		if err != nil {
			return err
		}
		m := &member{
			name:      fmt.Sprintf("m%d", i),
			dir:       filepath.Join(root, fmt.Sprintf("try%d-m%d", attempt, i)),
			peerURL:   url.URL{Scheme: "http", Host: ports[0]},
			clientURL: url.URL{Scheme: "http", Host: ports[1]},
		}
		c.members[i] = m
		initial = append(initial, m.name+"="+m.peerURL.String())
	}
	for _, m := range c.members {
		e, err := embed.StartEtcd(m.config(strings.Join(initial, ",")))
		if err != nil {
			return fmt.Errorf("member %s: %w", m.name, err)
		}
		m.etcd = e
	}
	for _, m := range c.members {
		if err := waitReady(m); err != nil {
			return err
		}
	}
	return nil
}

func (m *member) config(initialCluster string) *embed.Config {
	cfg := embed.NewConfig()
	cfg.Name = m.name
	cfg.Dir = m.dir
	cfg.ListenPeerUrls = []url.URL{m.peerURL}
	cfg.AdvertisePeerUrls = []url.URL{m.peerURL}
	cfg.ListenClientUrls = []url.URL{m.clientURL}
	cfg.AdvertiseClientUrls = []url.URL{m.clientURL}
	cfg.InitialCluster = initialCluster
	cfg.InitialClusterToken = "etcdtest"
	cfg.TickMs = tickMs
	cfg.ElectionMs = electionMs
	// The data lives in a temporary directory that is deleted after the
	// test: durability against power loss buys nothing and costs seconds.
	cfg.UnsafeNoFsync = true
	// etcd logs at error level while it shuts down; a test's output is for
	// the learner, so the servers stay quiet.
	cfg.ZapLoggerBuilder = embed.NewZapLoggerBuilder(zap.NewNop())
	return cfg
}

func waitReady(m *member) error {
	select {
	case <-m.etcd.Server.ReadyNotify():
		return nil
	case err := <-m.etcd.Err():
		return fmt.Errorf("member %s: %w", m.name, err)
	case <-time.After(readyTimeout):
		return fmt.Errorf("member %s: not ready after %v", m.name, readyTimeout)
	}
}

// freePorts returns n loopback addresses whose ports were free a moment ago.
func freePorts(n int) ([]string, error) {
	var addrs []string
	var listeners []net.Listener
	defer func() {
		for _, l := range listeners {
			l.Close()
		}
	}()
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		listeners = append(listeners, l)
		addrs = append(addrs, l.Addr().String())
	}
	return addrs, nil
}

func isAddrInUse(err error) bool {
	return errors.Is(err, syscall.EADDRINUSE) || strings.Contains(err.Error(), "address already in use")
}

// Endpoints returns the client URLs of the members, running or not.
func (c *Cluster) Endpoints() []string {
	var eps []string
	for _, m := range c.members {
		eps = append(eps, m.clientURL.String())
	}
	return eps
}

// Size returns the number of members.
func (c *Cluster) Size() int { return len(c.members) }

// Client returns a client of every member, closed when the test ends (before
// the servers stop).
func (c *Cluster) Client(t testing.TB) *clientv3.Client {
	t.Helper()
	cli, err := clientv3.New(clientv3.Config{
		Endpoints:   c.Endpoints(),
		DialTimeout: dialTimeout,
		Logger:      zap.NewNop(),
	})
	if err != nil {
		t.Fatalf("etcdtest: connecting to %v: %v", c.Endpoints(), err)
	}
	t.Cleanup(func() { cli.Close() })
	return cli
}

// Stop stops member i, keeping its data for Restart.
func (c *Cluster) Stop(i int) {
	c.t.Helper()
	m := c.member(i)
	if m.etcd == nil {
		c.t.Fatalf("etcdtest: member %d is already stopped", i)
	}
	if err := closeMember(m); err != nil {
		c.t.Fatalf("etcdtest: %v", err)
	}
}

// Restart starts member i again on its old ports and data after Stop.
func (c *Cluster) Restart(i int) {
	c.t.Helper()
	m := c.member(i)
	if m.etcd != nil {
		c.t.Fatalf("etcdtest: member %d is running; Stop it first", i)
	}
	var initial []string
	for _, o := range c.members {
		initial = append(initial, o.name+"="+o.peerURL.String())
	}
	cfg := m.config(strings.Join(initial, ","))
	cfg.ClusterState = embed.ClusterStateFlagExisting
	e, err := embed.StartEtcd(cfg)
	if err != nil {
		c.t.Fatalf("etcdtest: restarting member %d: %v", i, err)
	}
	m.etcd = e
	if err := waitReady(m); err != nil {
		c.t.Fatalf("etcdtest: restarting member %d: %v", i, err)
	}
}

// Running reports whether member i is running.
func (c *Cluster) Running(i int) bool { return c.member(i).etcd != nil }

func (c *Cluster) member(i int) *member {
	c.t.Helper()
	if i < 0 || i >= len(c.members) {
		c.t.Fatalf("etcdtest: no member %d in a cluster of %d", i, len(c.members))
	}
	return c.members[i]
}

func (c *Cluster) stopAll() {
	for _, m := range c.members {
		if m != nil && m.etcd != nil {
			if err := closeMember(m); err != nil {
				c.t.Errorf("etcdtest: %v", err)
			}
		}
	}
}

// closeMember stops a member, giving up after closeTimeout so that a stuck
// server fails the test instead of hanging it.
func closeMember(m *member) error {
	e := m.etcd
	m.etcd = nil
	done := make(chan struct{})
	go func() {
		e.Close()
		close(done)
	}()
	ctx, cancel := context.WithTimeout(context.Background(), closeTimeout)
	defer cancel()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("member %s did not stop within %v", m.name, closeTimeout)
	}
}
