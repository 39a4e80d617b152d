// Command grader runs the workbook's labs, shows what failed and why, and
// keeps track of progress. Run it with no arguments for where you stand, or
// see `grader help`.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/term"

	"github.com/distlings/distlings/grader/catalog"
	"github.com/distlings/distlings/grader/grade"
	"github.com/distlings/distlings/grader/shipped"
	"github.com/distlings/distlings/grader/textout"
	"github.com/distlings/distlings/grader/tui"
)

// Exit codes, as grader help lists them. A script tells "my code fails"
// (1) from "I typed it wrong" (2) from "the grader could not do its job" (3).
const (
	exitOK     = 0
	exitFail   = 1 // tests or checks failed
	exitUsage  = 2 // bad usage or input: unknown command, lab or part, broken manifest
	exitGrader = 3 // the grader itself failed: no Go toolchain, a file it cannot read or write, a bug
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := runClean(ctx, os.Args[1:], os.Stdout, os.Stderr)
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
		{"test", "LAB [PART...] [-v] [-seed N] [-faults FILE] [-no-shrink] [-no-race]", "run a lab or some parts: what failed and why", (*cli).test},
		{"hint", "LAB [PART]", "the next hint for the first part not yet passing", (*cli).hint},
		{"reset", "LAB", "put back the shipped stubs (yours are backed up)", (*cli).reset},
		{"watch", "LAB [PART...] [-no-race] [-debounce D]", "run a lab again each time you save its files", (*cli).watch},
		{"report", "[LAB...] [-last] [-format F] [-o FILE] [-summary FILE] [-no-race]", "run labs and write a report: text, json, junit, gradescope, markdown", (*cli).report},
		{"grade", "[-student DIR] [LAB...] [-format F] [-o FILE] [-summary FILE] [-no-race]", "instructors: grade a student's copy (-student DIR) on these tests", (*cli).grade},
		{"roster", "DIR [-format F]", "instructors: a table of many students' JSON reports", (*cli).roster},
		{"setup", "[LAB...]", "build every lab once, so the first test takes seconds", (*cli).setup},
		{"verify", "[LAB...] [-no-race] [-j N]", "maintainers: stubs fail, solutions pass", (*cli).verify},
		{"ship", "[LAB...]", "maintainers: record the labs as shipped", (*cli).ship},
		{"release", "DIR", "maintainers: write a student release, without solutions", (*cli).release},
		{"version", "", "the grader's version and the Go it was built with", (*cli).version},
	}
}

type cli struct {
	ctx            context.Context
	stdout, stderr io.Writer
	out, errOut    *textout.Printer
	cwd            string
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) (code int) {
	defer func() {
		if r := recover(); r != nil {
			// One line, as for any other error, with where it happened:
			// that is what a report needs, and a stack trace would bury it.
			fmt.Fprintf(stderr, "grader: internal error: %s%s; please report it\n", oneLine(fmt.Sprint(r)), panicSite())
			code = exitGrader
		}
	}()
	cwd, err := os.Getwd()
	if err != nil {
		fmt.Fprintln(stderr, "grader:", err)
		return exitGrader
	}
	c := &cli{ctx: ctx, stdout: stdout, stderr: stderr, out: textout.New(stdout), errOut: textout.New(stderr), cwd: cwd}
	if len(args) == 0 {
		// On a terminal, the TUI; in a pipe, CI or a dumb terminal (which
		// would show its escape codes as text), the plain status.
		if isTerminal(stdout) && isTerminal(os.Stdin) && !textout.DumbTerminal() {
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
	case "-version", "--version":
		name = "version"
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
		return exitGrader
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
	release := false
	if w, err := catalog.FindWorkbook(c.cwd); err == nil && !w.HasSolutions() {
		release = true // a student release: the maintainers' commands do not work here
	}
	for _, cmd := range commands {
		if release && strings.HasPrefix(cmd.summary, "maintainers:") {
			continue
		}
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

Exit status:
  0  success (for test and verify: everything that ran passed)
  1  some tests or checks failed
  2  bad usage or input: an unknown command, lab or part, a broken manifest
  3  the grader itself failed: no Go toolchain, a file it could not read or
     write, or an internal error (please report those)
`)
}

func (c *cli) commandHelp(cmd *command) {
	fmt.Fprintf(c.stdout, "Usage: %s\n\n%s\n", usageLine(cmd), cmd.summary)
	switch cmd.name {
	case "test":
		fmt.Fprint(c.stdout, `
Flags:
  -v            list passing tests and show failing output in full
  -seed N       replay a randomized test with this seed
  -faults FILE  replay a shrunk run: the faults file a failure names, with
                its seed
  -no-shrink    do not shrink a failing simulated run to its fewest faults
                (by default a failing seed is run again with fewer and
                fewer of its faults, and the few that matter are listed)
  -no-race      do not use the race detector, even if the lab asks for it

A run with -seed or -faults tests one run, not the lab's sweep of seeds,
so it records no progress.

Exit status: 0 when every part that ran passed, 1 when some failed,
2 for bad usage (an unknown lab, a broken manifest), 3 when the grader
itself failed (no Go toolchain, say).
`)
	case "watch":
		fmt.Fprint(c.stdout, watchHelp)
	case "report":
		fmt.Fprint(c.stdout, reportHelp)
	case "grade":
		fmt.Fprint(c.stdout, gradeHelp)
	case "release":
		fmt.Fprint(c.stdout, releaseHelp)
	case "roster":
		fmt.Fprint(c.stdout, rosterHelp)
	case "verify":
		fmt.Fprint(c.stdout, `
Checks that every part's tests fail on the stub and pass on the solution,
that every wrong solution in solutions/NN-name/wrong/ is caught, and that
the shipped copy is up to date. Without LAB, every lab.

Flags:
  -no-race    do not use the race detector
  -j N        builds and runs at once (default 2)

Exit status: 0 when every check passed, 1 when some failed, 2 for bad usage,
3 when the grader itself failed.
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
			fmt.Fprintf(c.stderr, "Usage: %s\n", usageLine(cmd))
		}
		fs.PrintDefaults()
	}
	return fs
}

func (c *cli) usageError(name, format string, args ...any) int {
	fmt.Fprintf(c.stderr, "grader %s: %s\n", name, fmt.Sprintf(format, args...))
	if cmd := lookup(name); cmd != nil {
		fmt.Fprintf(c.stderr, "Usage: %s\n", usageLine(cmd))
	}
	return exitUsage
}

func usageLine(cmd *command) string {
	return strings.TrimSpace("grader " + cmd.name + " " + cmd.args)
}

func (c *cli) open() (*grade.Grader, int) {
	g, err := grade.Open(c.cwd)
	if err != nil {
		return nil, c.stopped(err)
	}
	return g, exitOK
}

// stopped says why a command cannot go on and returns its exit code: bad
// usage or input when the learner can put it right, else the grader's own
// failure.
func (c *cli) stopped(err error) int {
	c.errOut.Error(err)
	if isInputError(err) {
		return exitUsage
	}
	return exitGrader
}

// isInputError reports whether err is about what the grader was given: a
// lab or part that does not exist, a broken manifest, a folder that is not
// a workbook, a workbook without the shipped copy a command needs.
func isInputError(err error) bool {
	return errors.Is(err, catalog.ErrNoWorkbook) || errors.Is(err, shipped.ErrNoArchive) ||
		errors.As(err, new(*catalog.UnknownLabError)) || errors.As(err, new(*catalog.ManifestError)) ||
		errors.As(err, new(*grade.NoSuchPartError))
}

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

// lab resolves a lab name; an unknown one is a usage error listing the labs.
func (c *cli) lab(g *grade.Grader, name string) (*catalog.Lab, int) {
	lab, err := g.Catalog.Find(name, c.cwd)
	if err != nil {
		return nil, c.stopped(err)
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

// isTerminal is a variable so that tests can stand in for a terminal.
var isTerminal = func(f any) bool {
	file, ok := f.(*os.File)
	return ok && term.IsTerminal(int(file.Fd()))
}

// panicSite is where the panic being recovered was raised, as " at
// dir/file.go:line"; it must be called from the deferred function that
// recovers.
func panicSite() string {
	pcs := make([]uintptr, 64)
	frames := runtime.CallersFrames(pcs[:runtime.Callers(0, pcs)])
	panicking := false
	for {
		f, more := frames.Next()
		switch {
		case f.Function == "runtime.gopanic":
			panicking = true
		case panicking && !strings.HasPrefix(f.Function, "runtime."):
			return fmt.Sprintf(" at %s/%s:%d", filepath.Base(filepath.Dir(f.File)), filepath.Base(f.File), f.Line)
		}
		if !more {
			return ""
		}
	}
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

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
	faults := fs.String("faults", "", "replay a shrunk run: the faults file its failure names (its seed comes with it)")
	noShrink := fs.Bool("no-shrink", false, "do not shrink a failing run to its fewest faults")
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
	opts := grade.TestOptions{Parts: parts, NoRace: *noRace, Replay: *seed != "" || *faults != ""}
	if *seed != "" {
		if _, err := strconv.ParseUint(*seed, 10, 64); err != nil {
			return c.usageError("test", "-seed wants a whole number, got %q", *seed)
		}
		opts.Args = append(opts.Args, "-seed="+*seed)
	}
	if *faults != "" {
		env, err := replayFaults(*faults, *seed)
		if err != nil {
			return c.usageError("test", "-faults: %v", err)
		}
		opts.Env = append(opts.Env, env...)
	}
	if *noShrink {
		opts.Env = append(opts.Env, "DISTLINGS_SHRINK=off")
	}
	return c.runTests(g, lab, opts, *verbose)
}

// replayFaults checks a faults file written by a shrink and returns the
// environment that replays it: the file, and its seed unless -seed gave
// the same one.
func replayFaults(path, seed string) ([]string, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, err
	}
	data, err := os.ReadFile(abs)
	if err != nil {
		return nil, err
	}
	var file struct {
		Test string `json:"test"`
		Seed uint64 `json:"seed"`
	}
	if err := json.Unmarshal(data, &file); err != nil || file.Test == "" || file.Seed == 0 {
		return nil, fmt.Errorf("%s is not a faults file written by a shrink (it names a test and a seed)", path)
	}
	env := []string{"DISTLINGS_FAULTS=" + abs}
	switch want := strconv.FormatUint(file.Seed, 10); seed {
	case "":
		env = append(env, "DISTLINGS_SEED="+want)
	case want:
	default:
		return nil, fmt.Errorf("%s is the run of seed %s, not %s", path, want, seed)
	}
	return env, nil
}

// runTests runs a lab once, prints the outcome and returns the exit code;
// grader test and each run of grader watch share it.
func (c *cli) runTests(g *grade.Grader, lab *catalog.Lab, opts grade.TestOptions, verbose bool) int {
	stream := c.out.Stream(lab, verbose, isTerminal(c.stdout))
	opts.Events = stream.Event
	o, err := g.Test(c.ctx, lab, opts)
	if err != nil {
		stream.Close()
		return c.stopped(err)
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
	switch {
	case err != nil:
		return c.stopped(err)
	case h == nil:
		c.out.NoHint(lab) // a finished lab: nothing went wrong
		return exitOK
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
		return c.stopped(err)
	}
	c.out.Reset(lab.ID(), r)
	return exitOK
}
