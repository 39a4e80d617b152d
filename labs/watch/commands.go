package watch

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/distlings/distlings/labs/internal/sim"
)

// The commands typed while a cluster runs. They run on Run's goroutine,
// between two polls.

// command runs one line of input, and reports whether it was quit.
func (w *watcher) command(line string) (quit bool) {
	f := strings.Fields(strings.ToLower(line))
	if len(f) == 0 {
		return false
	}
	switch f[0] {
	case "stop", "kill":
		w.stop(f)
	case "start", "restart":
		w.start(f)
	case "status":
		w.status()
	case "help", "?":
		w.help()
	case "quit", "exit", "q":
		return true
	default:
		for _, c := range w.t.Commands {
			if c.Name == f[0] {
				// Arguments keep their case: keys and values are the user's.
				c.Run(strings.Fields(line)[1:], actions{w})
				return false
			}
		}
		w.out.line("unknown command %q: try %s", f[0], w.commandNames())
	}
	return false
}

// commandNames lists the commands for a mistake's message.
func (w *watcher) commandNames() string {
	names := []string{"stop N", "start N", "status"}
	for _, c := range w.t.Commands {
		names = append(names, c.Name)
	}
	return strings.Join(names, ", ") + ", help or quit"
}

// actions is what a target's commands may do.
type actions struct{ w *watcher }

func (a actions) Do(id sim.NodeID, f func(sim.Node)) error { return a.w.c.Do(id, f) }
func (a actions) Printf(format string, args ...any)        { a.w.out.event(format, args...) }
func (a actions) Clients() []sim.NodeID                    { return a.w.c.IDs()[a.w.s.N:] }

func (w *watcher) stop(f []string) {
	id, ok := w.nodeArg(f)
	if !ok {
		return
	}
	if w.c.Node(id) == nil {
		w.out.line("%v is already down", id)
		return
	}
	w.c.Stop(id)
	up := upCount(w.snapshot())
	if need := majority(w.s.N); up < need {
		w.out.event("%v stopped (%d of %d up: a leader needs %d votes, so none can be elected)", id, up, w.s.N, need)
		return
	}
	w.out.event("%v stopped", id)
}

func (w *watcher) start(f []string) {
	id, ok := w.nodeArg(f)
	if !ok {
		return
	}
	if w.c.Node(id) != nil {
		w.out.line("%v is already up", id)
		return
	}
	if err := w.c.Restart(id); err != nil {
		w.out.line("could not start %v: %v", id, err)
		return
	}
	w.out.event("%v started", id)
}

// nodeArg reads the node of "stop N": 2 or n2.
func (w *watcher) nodeArg(f []string) (sim.NodeID, bool) {
	if len(f) != 2 {
		w.out.line("%s needs one node, e.g. %s 2", f[0], f[0])
		return 0, false
	}
	k, err := strconv.Atoi(strings.TrimPrefix(f[1], "n"))
	if err != nil || k < 1 || k > w.s.N {
		w.out.line("no node %q: the nodes are 1 to %d", f[1], w.s.N)
		return 0, false
	}
	return sim.NodeID(k), true
}

// status prints every node, indented under the events' text.
func (w *watcher) status() {
	for _, v := range w.snapshot() {
		if !v.up {
			w.out.line("%11s%v  down", "", v.id)
			continue
		}
		s := fmt.Sprintf("%v  %-13s  term %d", v.id, v.Role, v.Term)
		if v.Voted != 0 {
			s += fmt.Sprintf("  voted %v", v.Voted)
		}
		if v.Leader != 0 && !v.Leading {
			s += fmt.Sprintf("  leader %v", v.Leader)
		}
		w.out.line("%11s%s", "", s)
	}
}

func (w *watcher) help() {
	w.out.line(`commands:
  stop N    crash node N: its memory is lost, its storage kept (also: kill N)
  start N   boot node N again on its storage (also: restart N)
  status    every node's role, term, vote and leader
  help      this list
  quit      stop the cluster and exit (also: end of input, Ctrl-C)`)
	for _, c := range w.t.Commands {
		w.out.line("  %s", c.Usage)
	}
}

// DoOn runs f on node id's goroutine with the node as an N: for commands
// written outside labs/, which may not name sim.Node.
func DoOn[N sim.Node](a Actions, id sim.NodeID, f func(N)) error {
	return a.Do(id, func(n sim.Node) { f(n.(N)) })
}
