// Package run builds a lab's tests once and runs each part in its own
// process, decoding test2json events into per-test results. A part that
// panics, exits, deadlocks, hangs or floods its output costs that part only.
package run

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/distlings/distlings/grader/catalog"
	"github.com/distlings/distlings/grader/proc"
)

// Toolchain is the Go installation the grader drives.
type Toolchain struct {
	Go        string // the go command
	Test2JSON string // the toolchain's test2json, run directly to avoid a go command per part
	// CanRace is false when cgo is off (no C compiler): the race detector
	// needs cgo on most platforms.
	CanRace bool
	goFlags string // GOFLAGS for builds, without what could change them
}

// unsafeGoFlags are the go command flags that could replace what a graded
// build compiles (an overlay, a wrapped compiler) if GOFLAGS or the go env
// file set them.
var unsafeGoFlags = []string{"-overlay", "-toolexec", "-exec", "-modfile", "-gcflags", "-ldflags", "-asmflags", "-gccgoflags", "-pgo"}

// safeGoFlags is GOFLAGS without the unsafe flags.
func safeGoFlags(flags string) string {
	var kept []string
	for _, f := range strings.Fields(flags) {
		name, _, _ := strings.Cut(f, "=")
		name = "-" + strings.TrimLeft(name, "-")
		if !slices.Contains(unsafeGoFlags, name) {
			kept = append(kept, f)
		}
	}
	return strings.Join(kept, " ")
}

// goEnv is the go command's environment for a build: a go.work above the
// workbook, or GOFLAGS from the environment or the go env file, must not
// change what is built.
func (tc *Toolchain) goEnv() []string {
	return append(os.Environ(), "GOWORK=off", "GOFLAGS="+tc.goFlags)
}

// FindToolchain locates go on PATH and asks it where its tools are.
func FindToolchain(ctx context.Context) (*Toolchain, error) {
	goCmd, err := exec.LookPath("go")
	if err != nil {
		return nil, fmt.Errorf("the go command is not on PATH: install Go from https://go.dev/dl and try again")
	}
	out, err := output(ctx, goCmd, nil, "env", "-json", "GOTOOLDIR", "CGO_ENABLED", "GOFLAGS")
	if err != nil {
		return nil, fmt.Errorf("go env: %w", err)
	}
	var env struct{ GOTOOLDIR, CGO_ENABLED, GOFLAGS string }
	if err := json.Unmarshal([]byte(out), &env); err != nil {
		return nil, fmt.Errorf("go env: unexpected output %q", out)
	}
	tc := &Toolchain{Go: goCmd, CanRace: env.CGO_ENABLED == "1", goFlags: safeGoFlags(env.GOFLAGS)}
	t2j := filepath.Join(env.GOTOOLDIR, "test2json")
	if runtime.GOOS == "windows" {
		t2j += ".exe"
	}
	if _, err := os.Stat(t2j); err != nil {
		// Since Go 1.25 the distribution builds test2json on first use; -n
		// builds it into the build cache and prints where.
		out, err := output(ctx, goCmd, tc.goEnv(), "tool", "-n", "test2json")
		if err != nil {
			return nil, fmt.Errorf("this Go installation cannot provide test2json: %w", err)
		}
		t2j = strings.TrimSpace(out)
	}
	tc.Test2JSON = t2j
	return tc, nil
}

// output runs a go command that answers a question, and returns what it
// printed.
func output(ctx context.Context, goCmd string, env []string, args ...string) (string, error) {
	var stdout, stderr bytes.Buffer
	exit := proc.Run(ctx, proc.Spec{
		Path: goCmd, Args: args, Env: env, Timeout: 5 * time.Minute,
		Stdout: &limitedBuffer{buf: &stdout, max: 64 << 10}, Stderr: &limitedBuffer{buf: &stderr, max: 4 << 10},
	})
	if !exit.Success() {
		if msg := strings.TrimSpace(stderr.String()); msg != "" {
			return "", fmt.Errorf("%s: %s", exit, msg)
		}
		return "", fmt.Errorf("%s", exit)
	}
	return stdout.String(), nil
}

// Race is the Spec.Race of a run that follows each part's manifest
// setting: nil (no part under the detector) when off is set or when this
// toolchain cannot race.
func (tc *Toolchain) Race(off bool) func(*catalog.Part) bool {
	if off || !tc.CanRace {
		return nil
	}
	return func(p *catalog.Part) bool { return p.Race }
}

// listTimeout bounds listing a binary's tests (or the lab's timeout, if
// shorter): package init runs first, and learner code there may hang.
const listTimeout = 10 * time.Second

// listing is what listing a test binary's tests found: the names, or why
// the binary could not even start.
type listing struct {
	names []string
	// startup is set when the process did not get as far as listing:
	// package initialisation hung, exited, crashed or ran out of memory.
	// Every part would end the same way, so none is run.
	startup *PartResult
}

// List returns the top-level test functions a built test binary holds.
func (tc *Toolchain) List(ctx context.Context, s *Spec, bin string) listing {
	timeout := min(listTimeout, s.Lab.Timeout)
	names := &nameCollector{}
	dec := newDecoder(nil)
	exit := proc.Run(ctx, proc.Spec{
		Path: bin, Args: []string{"-test.list", "^Test"}, Dir: s.runDir(), Env: testEnv(s),
		Stdout: names, Stderr: names,
		Timeout: timeout, MemoryLimit: s.Lab.MemoryLimit(), Race: false,
	})
	for _, l := range names.other {
		dec.packageLine(l)
	}
	if exit.Success() && len(names.names) > 0 {
		return listing{names: names.names}
	}
	res := &PartResult{Status: Crashed, Output: dec.pkg}
	switch {
	case exit.TimedOut:
		res.Status = TimedOut
		res.Note = fmt.Sprintf("the test process never started its tests: start-up (package variables and init functions) ran for more than %v", timeout)
	case exit.Cancelled:
		res.Note = "stopped before it finished"
	default:
		res.Note, res.Exited = startupNote(dec, exit, s.Lab.MemoryLimit())
	}
	return listing{startup: res}
}

// startupNote says why a test process ended before any test ran, and
// whether it was by exiting.
func startupNote(d *decoder, exit proc.Exit, limit int64) (note string, exited bool) {
	if note := memoryNote(d, exit, limit); note != "" {
		return note + " during start-up", false
	}
	switch {
	case d.panicLine != "":
		return "panicked during start-up: " + strings.TrimPrefix(d.panicLine, "panic: "), false
	case d.fatalLine != "":
		return fatalNote(d.fatalLine) + " during start-up", false
	case exit.Signal != "":
		return "the test process was killed by " + exit.Signal + " during start-up", false
	case !exit.Started:
		return "the test process could not start: " + exit.Err.Error(), false
	}
	return fmt.Sprintf("the test process exited with status %d before any test ran: something called os.Exit during start-up", exit.Code), true
}

// nameCollector reads -test.list output as it comes: the test names, and a
// few lines of anything else, however much is written.
type nameCollector struct {
	partial []byte
	names   []string
	other   []string
}

func (c *nameCollector) Write(b []byte) (int, error) {
	n := len(b)
	for len(b) > 0 {
		i := bytes.IndexByte(b, '\n')
		if i < 0 {
			if len(c.partial) < maxLineBytes {
				c.partial = append(c.partial, b[:min(len(b), maxLineBytes-len(c.partial))]...)
			}
			break
		}
		if len(c.partial) < maxLineBytes {
			c.partial = append(c.partial, b[:min(i, maxLineBytes-len(c.partial))]...)
		}
		c.line(string(c.partial))
		c.partial, b = c.partial[:0], b[i+1:]
	}
	return n, nil
}

func (c *nameCollector) line(l string) {
	l = strings.TrimSpace(l)
	switch {
	case testName.MatchString(l):
		if len(c.names) < 10000 {
			c.names = append(c.names, l)
		}
	case l != "" && len(c.other) < maxOutputLines:
		c.other = append(c.other, l)
	}
}

var testName = regexp.MustCompile(`^Test[\p{L}\p{N}_]*$`)
