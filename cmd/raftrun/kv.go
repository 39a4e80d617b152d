package main

import (
	"sync/atomic"
	"time"

	raftlog "github.com/distlings/distlings/labs/04-raft-log"
	"github.com/distlings/distlings/labs/watch"
)

// kvTarget runs lab 04's key-value servers, n of them, and one clerk after
// them that takes put, append and get from the keyboard.
func kvTarget(n int) target {
	origin, hint := "your log.go and kv.go", "no leader yet: is log.go written? try -solution to watch the reference"
	if reference {
		origin, hint = "the reference solution", "no leader yet, and this is the reference solution: is the machine very busy?"
	}
	state := func(s *raftlog.Server) watch.State {
		r := s.Raft()
		return watch.State{Role: r.Role().String(), Leading: r.Role() == raftlog.Leader, Term: r.Term(), Voted: r.VotedFor(), Leader: r.Leader()}
	}
	t := watch.For(raftlog.NewServers(raftlog.Config{}, n), state, hint)
	t.Clients = 1
	var busy atomic.Bool // the clerk does one operation at a time
	op := func(kind raftlog.OpKind, want int, usage string) func([]string, watch.Actions) {
		return func(args []string, a watch.Actions) {
			if len(args) != want {
				a.Printf("usage: %s", usage)
				return
			}
			o := raftlog.Op{Kind: kind, Key: args[0]}
			if want == 2 {
				o.Value = args[1]
			}
			if !busy.CompareAndSwap(false, true) {
				a.Printf("the clerk is still waiting for its last operation: one at a time")
				return
			}
			var done atomic.Bool
			slow := time.AfterFunc(3*time.Second, func() {
				if !done.Load() {
					a.Printf("%v is still waiting for an answer: while a majority of servers is up, it should not be long (is kv.go written? try -solution)", o)
				}
			})
			clerk := a.Clients()[0]
			err := watch.DoOn(a, clerk, func(c *raftlog.Clerk) {
				c.Do(o, func(value string) {
					done.Store(true)
					slow.Stop()
					busy.Store(false)
					if kind == raftlog.Get {
						a.Printf("%v → %q", o, value)
						return
					}
					a.Printf("%v done", o)
				})
			})
			if err != nil {
				busy.Store(false)
				slow.Stop()
				a.Printf("the clerk is not running: %v", err)
			}
		}
	}
	t.Commands = []watch.Command{
		{Name: "put", Usage: "put K V   set key K to V, through the clerk", Run: op(raftlog.Put, 2, "put KEY VALUE")},
		{Name: "append", Usage: "append K V  add V at the end of key K's value", Run: op(raftlog.Append, 2, "append KEY VALUE")},
		{Name: "get", Usage: "get K     read key K", Run: op(raftlog.Get, 1, "get KEY")},
	}
	return target{t, origin}
}
