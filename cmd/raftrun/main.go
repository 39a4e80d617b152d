// Command raftrun runs a lab's Raft nodes as a real cluster on loopback
// TCP, and prints who leads as it changes. Stop and start nodes from the
// keyboard and watch the cluster elect a new leader; with lab 04, put and
// get keys through a clerk while you do.
//
//	go run ./cmd/raftrun [-lab 03|04] [-n 5] [-solution] [-seed N] [-log]
//
// It runs your labs/03-raft-election/node.go, or lab 04's log.go and
// kv.go; with -solution, the reference solution instead.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	raft "github.com/distlings/distlings/labs/03-raft-election"
	"github.com/distlings/distlings/labs/watch"
)

// Exit codes, as for cmd/grader.
const (
	exitOK    = 0
	exitFail  = 1 // the cluster could not start, or the solution's run failed
	exitUsage = 2 // bad flags or arguments
)

// maxNodes keeps node ids one digit, and the output readable.
const maxNodes = 9

// reference is set when this binary was built on the reference solution
// (see reference.go): then a cluster with no leader is not the stub's fault.
var reference = false

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run is the command, testable: main only adds the process around it.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	opts, code, ok := parseFlags(args, stdout, stderr)
	if !ok {
		return code
	}
	if opts.solution {
		return runSolution(opts, stdin, stdout, stderr)
	}
	t := raftTarget()
	if opts.lab.dir == "04-raft-log" {
		t = kvTarget(opts.n)
	}
	err := watch.Run(ctx, watch.Session{
		N:    opts.n,
		Seed: opts.seed,
		Log:  opts.log,
		What: fmt.Sprintf("labs/%s (%s)", opts.lab.dir, t.origin),
	}, t.Target, stdin, stdout)
	if err != nil {
		fmt.Fprintln(stderr, "raftrun:", err)
		return exitFail
	}
	return exitOK
}

// options are the parsed flags.
type options struct {
	lab      lab
	n        int
	solution bool
	seed     uint64
	log      bool
	// childArgs are the flags set on the command line but -solution, for
	// the run on the reference solution.
	childArgs []string
}

// lab is a lab whose node raftrun can run.
type lab struct {
	names []string // what -lab accepts
	dir   string   // its folder under labs/ and solutions/
}

// labs lists the labs with a runnable node. Lab 01 is a service, not a node.
var labs = []lab{
	{names: []string{"03", "3", "raft-election"}, dir: "03-raft-election"},
	{names: []string{"04", "4", "raft-log"}, dir: "04-raft-log"},
}

func findLab(name string) (lab, bool) {
	for _, l := range labs {
		for _, n := range l.names {
			if n == name {
				return l, true
			}
		}
	}
	return lab{}, false
}

const usage = `Usage: raftrun [-lab 03|04] [-n 5] [-solution] [-seed N] [-log]

Runs a lab's Raft node as a cluster on loopback TCP and prints each change
of leader. Type commands while it runs: stop N, start N, status, help, quit;
with -lab 04, also put K V, append K V and get K, through a clerk.

Flags:
`

// parseFlags parses args. When ok is false the command ends with code: it
// has printed help, or said what is wrong.
func parseFlags(args []string, stdout, stderr io.Writer) (opts options, code int, ok bool) {
	fs := flag.NewFlagSet("raftrun", flag.ContinueOnError)
	fs.SetOutput(stderr)
	labName := fs.String("lab", "03", "the lab whose nodes to run: 03 (raft-election) or 04 (raft-log)")
	fs.IntVar(&opts.n, "n", 5, fmt.Sprintf("how many nodes, 1 to %d", maxNodes))
	fs.BoolVar(&opts.solution, "solution", false, "run the reference solution instead of your node.go")
	fs.Uint64Var(&opts.seed, "seed", 1, "seed of the nodes' random timeouts (a live run never repeats exactly)")
	fs.BoolVar(&opts.log, "log", false, "also print what the nodes log with env.Logf")
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), usage)
		fs.PrintDefaults()
	}
	// Help asked for goes to stdout and is no error; flag would print it to
	// stderr, so it is answered before parsing, as cmd/grader does.
	for _, a := range args {
		if a == "--" {
			break
		}
		if a == "-h" || a == "-help" || a == "--help" {
			fs.SetOutput(stdout)
			fs.Usage()
			return opts, exitOK, false
		}
	}
	if err := fs.Parse(args); err != nil {
		return opts, exitUsage, false // flag has said what and shown the usage
	}
	bad := func(format string, args ...any) (options, int, bool) {
		fmt.Fprintf(stderr, "raftrun: %s\n", fmt.Sprintf(format, args...))
		fmt.Fprintln(stderr, "Usage: raftrun [-lab 03|04] [-n 5] [-solution] [-seed N] [-log]")
		return opts, exitUsage, false
	}
	if fs.NArg() > 0 {
		return bad("unexpected argument %q: commands such as stop or status are typed while it runs", fs.Arg(0))
	}
	l, found := findLab(*labName)
	if !found {
		return bad("-lab %s: no such lab with a node to run; -lab accepts 03, 3 or raft-election (lab 03, Raft leader election) and 04, 4 or raft-log (lab 04, the replicated log and its key-value store)", *labName)
	}
	opts.lab = l
	if opts.n < 1 || opts.n > maxNodes {
		return bad("-n %d: a cluster here has 1 to %d nodes", opts.n, maxNodes)
	}
	fs.Visit(func(f *flag.Flag) {
		if f.Name != "solution" {
			opts.childArgs = append(opts.childArgs, "-"+f.Name+"="+f.Value.String())
		}
	})
	return opts, exitOK, true
}

// target is a watch.Target and whose node it runs.
type target struct {
	watch.Target
	origin string
}

// raftTarget runs lab 03's node with the default timing.
func raftTarget() target {
	origin, hint := "your node.go", "no leader yet: is node.go written? try -solution to watch the reference"
	if reference {
		origin, hint = "the reference solution", "no leader yet, and this is the reference solution: is the machine very busy?"
	}
	state := func(n *raft.Node) watch.State {
		return watch.State{
			Role:    n.Role().String(),
			Leading: n.Role() == raft.Leader,
			Term:    n.Term(),
			Voted:   n.VotedFor(),
			Leader:  n.Leader(),
		}
	}
	return target{watch.For(raft.New(raft.Config{}), state, hint), origin}
}
