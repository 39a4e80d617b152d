// Command grader runs the workbook's labs, shows what failed and why, and
// keeps track of progress. Run it with no arguments for where you stand, or
// see `grader help`.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/term"

	"github.com/distlings/distlings/grader/catalog"
	"github.com/distlings/distlings/grader/grade"
	"github.com/distlings/distlings/grader/textout"
	"github.com/distlings/distlings/grader/tui"
)

// Exit codes.
const (
	exitOK    = 0
	exitFail  = 1 // tests or checks failed
	exitUsage = 2 // bad usage or input: unknown lab, broken manifest
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

type command struct {
	name, args, summary string
	run                 func(c *cli, args []string) int
}

// commands is filled in init: the commands refer to lookup, which reads it.
var commands []command

func init() {
	commands = []command{
		{"status", "[LAB]", "every lab, parts passed, points, what next", (*cli).status},
		{"test", "LAB [PART...] [-v] [-seed N] [-no-race]", "run a lab or some parts: what failed and why", (*cli).test},
		{"hint", "LAB [PART]", "the next hint for the first part not yet passing", (*cli).hint},
		{"reset", "LAB", "put back the shipped stubs (yours are backed up)", (*cli).reset},
		{"watch", "LAB [PART...] [-no-race] [-debounce D]", "run a lab again each time you save its files", (*cli).watch},
		{"setup", "[LAB...]", "build every lab once, so the first test takes seconds", (*cli).setup},
		{"verify", "[LAB...] [-no-race] [-j N]", "maintainers: stubs fail, solutions pass", (*cli).verify},
		{"ship", "[LAB...]", "maintainers: record the labs as shipped", (*cli).ship},
	}
}

type cli struct {
	ctx            context.Context
	stdout, stderr io.Writer
	out, errOut    *textout.Printer
	cwd            string
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	cwd, err := os.Getwd()
	if err != nil {
		fmt.Fprintln(stderr, "grader:", err)
		return exitUsage
	}
	c := &cli{ctx: ctx, stdout: stdout, stderr: stderr, out: textout.New(stdout), errOut: textout.New(stderr), cwd: cwd}
	if len(args) == 0 {
		// On a terminal, the TUI; in a pipe or CI, the plain status.
		if isTerminal(stdout) && isTerminal(os.Stdin) {
			return c.tui()
		}
		return c.status(nil)
	}
	name, rest := args[0], args[1:]
	switch name {
	case "help", "-h", "-help", "--help":
		if len(rest) > 0 {
			if cmd := lookup(rest[0]); cmd != nil {
				c.commandHelp(cmd)
				return exitOK
			}
		}
		c.help(stdout)
		return exitOK
	case "list":
		name = "status"
	}
	cmd := lookup(name)
	if cmd == nil {
		fmt.Fprintf(stderr, "grader: unknown command %q\n\n", name)
		c.help(stderr)
		return exitUsage
	}
	for _, a := range rest {
		if a == "-h" || a == "-help" || a == "--help" {
			c.commandHelp(cmd)
			return exitOK
		}
	}
	return cmd.run(c, rest)
}

func (c *cli) tui() int {
	g, code := c.open()
	if g == nil {
		return code
	}
	if err := tui.Run(c.ctx, g, os.Stdin, c.stdout); err != nil {
		c.errOut.Error(err)
		return exitFail
	}
	return exitOK
}

func lookup(name string) *command {
	for i := range commands {
		if commands[i].name == name {
			return &commands[i]
		}
	}
	return nil
}

func (c *cli) help(w io.Writer) {
	fmt.Fprint(w, `grader runs the distlings labs and tracks your progress.

Usage:
  grader                     where you stand (same as grader status)
  grader list                the same as grader status
`)
	for _, cmd := range commands {
		usage := []string{cmd.name}
		for _, arg := range strings.Fields(cmd.args) {
			// Leave out flags: "[-v]", and "[-seed" "N]" with its value.
			flagValue := strings.HasSuffix(arg, "]") && !strings.HasPrefix(arg, "[")
			if !strings.HasPrefix(arg, "[-") && !flagValue {
				usage = append(usage, arg)
			}
		}
		fmt.Fprintf(w, "  grader %-20s%s\n", strings.Join(usage, " "), cmd.summary)
	}
	fmt.Fprint(w, `
LAB is a lab's number (1 or 01), its name (idempotency) or its folder
(labs/01-idempotency). PART is a part's number. "grader help COMMAND" says more.
`)
}

func (c *cli) commandHelp(cmd *command) {
	fmt.Fprintf(c.stdout, "Usage: grader %s %s\n\n%s\n", cmd.name, cmd.args, cmd.summary)
	switch cmd.name {
	case "test":
		fmt.Fprint(c.stdout, `
Flags:
  -v          list passing tests and show failing output in full
  -seed N     replay a randomized test with this seed
  -no-race    do not use the race detector, even if the lab asks for it

Exit status: 0 when every part that ran passed, 1 when some failed,
2 for bad usage (an unknown lab, a broken manifest).
`)
	case "watch":
		fmt.Fprint(c.stdout, watchHelp)
	case "verify":
		fmt.Fprint(c.stdout, `
Checks that every part's tests fail on the stub and pass on the solution,
that every wrong solution in solutions/NN-name/wrong/ is caught, and that
the shipped copy is up to date. Without LAB, every lab.

Flags:
  -no-race    do not use the race detector
  -j N        builds and runs at once (default 2)

Exit status: 0 when every check passed, 1 when some failed, 2 for bad usage.
`)
	}
}

// parse reads flags that may come before, between or after arguments.
func parse(fs *flag.FlagSet, args []string) ([]string, error) {
	var positional []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		if fs.NArg() == 0 {
			return positional, nil
		}
		positional = append(positional, fs.Arg(0))
		args = fs.Args()[1:]
	}
}

func (c *cli) flags(name string) *flag.FlagSet {
	fs := flag.NewFlagSet("grader "+name, flag.ContinueOnError)
	fs.SetOutput(c.stderr)
	fs.Usage = func() {
		if cmd := lookup(name); cmd != nil {
			fmt.Fprintf(c.stderr, "Usage: grader %s %s\n", cmd.name, cmd.args)
		}
		fs.PrintDefaults()
	}
	return fs
}

func (c *cli) usageError(name, format string, args ...any) int {
	fmt.Fprintf(c.stderr, "grader %s: %s\n", name, fmt.Sprintf(format, args...))
	if cmd := lookup(name); cmd != nil {
		fmt.Fprintf(c.stderr, "Usage: grader %s %s\n", cmd.name, cmd.args)
	}
	return exitUsage
}

func (c *cli) open() (*grade.Grader, int) {
	g, err := grade.Open(c.cwd)
	if err != nil {
		c.errOut.Error(err)
		return nil, exitUsage
	}
	return g, exitOK
}

// lab resolves a lab name; an unknown one is a usage error listing the labs.
// openLab opens the workbook and finds a lab in it; on failure it has said
// why and returns the exit code.
func (c *cli) openLab(name string) (*grade.Grader, *catalog.Lab, int) {
	g, code := c.open()
	if g == nil {
		return nil, nil, code
	}
	lab, code := c.lab(g, name)
	return g, lab, code
}

func (c *cli) lab(g *grade.Grader, name string) (*catalog.Lab, int) {
	lab, err := g.Catalog.Find(name, c.cwd)
	if err != nil {
		c.errOut.Error(err)
		return nil, exitUsage
	}
	if lab.Err != nil {
		c.errOut.Error(fmt.Errorf("lab %s cannot be used: %w", lab.ID(), lab.Err))
		return nil, exitUsage
	}
	return lab, exitOK
}

func partNumbers(args []string) ([]int, error) {
	var parts []int
	for _, a := range args {
		n, err := strconv.Atoi(strings.TrimPrefix(strings.ToLower(a), "part"))
		if err != nil || n < 1 {
			return nil, fmt.Errorf("%q is not a part number", a)
		}
		parts = append(parts, n)
	}
	return parts, nil
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

func (c *cli) status(args []string) int {
	fs := c.flags("status")
	pos, err := parse(fs, args)
	if err != nil {
		return exitUsage
	}
	g, code := c.open()
	if g == nil {
		return code
	}
	if len(pos) > 1 {
		return c.usageError("status", "one lab at most")
	}
	if len(pos) == 1 {
		lab, code := c.lab(g, pos[0])
		if lab == nil {
			return code
		}
		view, notices := g.LabView(lab)
		c.out.Notices(notices)
		c.out.LabStatus(view)
		return exitOK
	}
	ov := g.Overview()
	c.out.Status(ov)
	for _, v := range ov.Labs {
		if v.Lab.Err != nil {
			return exitUsage
		}
	}
	return exitOK
}

func (c *cli) test(args []string) int {
	fs := c.flags("test")
	verbose := fs.Bool("v", false, "list passing tests and show failing output in full")
	seed := fs.String("seed", "", "replay a randomized test with this seed")
	noRace := fs.Bool("no-race", false, "do not use the race detector")
	pos, err := parse(fs, args)
	if err != nil {
		return exitUsage
	}
	if len(pos) == 0 {
		return c.usageError("test", "name a lab, e.g. grader test 01")
	}
	g, lab, code := c.openLab(pos[0])
	if lab == nil {
		return code
	}
	parts, err := partNumbers(pos[1:])
	if err != nil {
		return c.usageError("test", "%v", err)
	}
	opts := grade.TestOptions{Parts: parts, NoRace: *noRace}
	if *seed != "" {
		if _, err := strconv.ParseUint(*seed, 10, 64); err != nil {
			return c.usageError("test", "-seed wants a whole number, got %q", *seed)
		}
		opts.Args = append(opts.Args, "-seed="+*seed)
	}
	return c.runTests(g, lab, opts, *verbose)
}

// runTests runs a lab once, prints the outcome and returns the exit code;
// grader test and each run of grader watch share it.
func (c *cli) runTests(g *grade.Grader, lab *catalog.Lab, opts grade.TestOptions, verbose bool) int {
	stream := c.out.Stream(lab, verbose, isTerminal(c.stdout))
	opts.Events = stream.Event
	o, err := g.Test(c.ctx, lab, opts)
	if err != nil {
		stream.Close()
		c.errOut.Error(err)
		if errors.As(err, new(*catalog.ManifestError)) || strings.Contains(err.Error(), "there is no part") {
			return exitUsage
		}
		return exitFail
	}
	stream.Finish(o)
	if c.ctx.Err() != nil {
		fmt.Fprintln(c.stderr, "grader: stopped; nothing was recorded")
		return exitFail
	}
	if !o.Passed() {
		return exitFail
	}
	return exitOK
}

func (c *cli) hint(args []string) int {
	pos, err := parse(c.flags("hint"), args)
	if err != nil {
		return exitUsage
	}
	if len(pos) == 0 || len(pos) > 2 {
		return c.usageError("hint", "name a lab and optionally a part, e.g. grader hint 01 2")
	}
	g, lab, code := c.openLab(pos[0])
	if lab == nil {
		return code
	}
	part := 0
	if len(pos) == 2 {
		parts, err := partNumbers(pos[1:])
		if err != nil {
			return c.usageError("hint", "%v", err)
		}
		part = parts[0]
	}
	h, notices, err := g.NextHint(lab, part)
	c.out.Notices(notices)
	if err != nil {
		c.errOut.Error(err)
		return exitUsage
	}
	c.out.Hint(h)
	return exitOK
}

func (c *cli) reset(args []string) int {
	pos, err := parse(c.flags("reset"), args)
	if err != nil {
		return exitUsage
	}
	if len(pos) != 1 {
		return c.usageError("reset", "name one lab, e.g. grader reset 01")
	}
	g, lab, code := c.openLab(pos[0])
	if lab == nil {
		return code
	}
	r, err := g.Reset(lab)
	if err != nil {
		c.errOut.Error(err)
		return exitFail
	}
	c.out.Reset(lab.ID(), r)
	return exitOK
}
