package run

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/distlings/distlings/grader/catalog"
	"github.com/distlings/distlings/grader/proc"
	"github.com/distlings/distlings/grader/scratch"
)

// Spec says what to run.
type Spec struct {
	Root string // workbook root: the tests run in the lab's folder under it
	// BuildRoot, when set, is where the go command builds instead: a copy
	// of the workbook holding only the files that are graded. Paths under
	// it in the tests' output are shown as paths under Root.
	BuildRoot string
	Lab       *catalog.Lab //
	Parts     []*catalog.Part
	// Overlay replaces files when building: absolute path of a lab file →
	// absolute path of the file to compile instead (go build -overlay).
	Overlay map[string]string
	Tags    []string
	// Race says which parts run under the race detector; nil means none.
	// A lab whose parts differ is built twice, with and without it.
	Race func(*catalog.Part) bool
	Args []string // extra flags for the test binary, such as -seed=7
	Env  []string // extra environment of the test processes, such as DISTLINGS_SHRINK=off
	// Tests, when set, are the top-level tests the lab's test files define,
	// read from their source; otherwise the test binary is asked.
	Tests []string
	// Binaries, when set, reuses binaries built from the same sources.
	Binaries *Binaries
	// Parallel is how many parts run at once; 0 means one per CPU.
	Parallel int
	Events   func(Event) // may be nil; called from several goroutines, one at a time

	tmp string // TMPDIR of the test processes, in the run's folder
}

func (s *Spec) buildRoot() string {
	if s.BuildRoot != "" {
		return s.BuildRoot
	}
	return s.Root
}

// runDir is where the tests run: the learner's lab folder, so that what
// they write (traces) and print (replay commands) is about the workbook.
func (s *Spec) runDir() string { return s.Lab.Dir }

// rewriter maps paths in the build copy to the workbook's; nil when the
// build is in place.
func (s *Spec) rewriter() func(string) string {
	if s.BuildRoot == "" || s.BuildRoot == s.Root {
		return nil
	}
	from, to := s.BuildRoot+string(filepath.Separator), s.Root+string(filepath.Separator)
	return func(line string) string { return strings.ReplaceAll(line, from, to) }
}

func (s *Spec) rewrite(lines []string) []string {
	rw := s.rewriter()
	if rw == nil {
		return lines
	}
	out := make([]string, len(lines))
	for i, l := range lines {
		out[i] = rw(l)
	}
	return out
}

// Grace is how long a part may run past its timeout before it is killed:
// the test binary's own -test.timeout fires first and prints where it was.
const Grace = 20 * time.Second

// buildMessages keeps the compiler's and vet's messages and drops the
// "# package" headers between them.
func buildMessages(out []byte) []string {
	var msgs []string
	for _, line := range strings.Split(strings.TrimRight(string(out), "\n"), "\n") {
		if line == "" || strings.HasPrefix(line, "# ") {
			continue
		}
		if len(msgs) == maxBuildLines {
			msgs = append(msgs, "… (more build errors not shown)")
			break
		}
		msgs = append(msgs, line)
	}
	return msgs
}

const maxBuildLines = 40

// Run builds the lab once and runs the asked parts, each in its own process.
// The error is for problems of the grader's own (a temporary folder that
// cannot be made); everything about the lab's code is in the Result.
func (tc *Toolchain) Run(ctx context.Context, s *Spec) (*Result, error) {
	start := time.Now()
	dir, err := scratch.MkdirTemp(s.Lab.Name + "-")
	if err != nil {
		return nil, fmt.Errorf("make a temporary folder: %w", err)
	}
	defer os.RemoveAll(dir)
	// The tests' own temporary files (t.TempDir, os.CreateTemp) go in the
	// run's folder: a test process that dies cannot clean up after itself.
	tmp := filepath.Join(dir, "tmp")
	if err := os.Mkdir(tmp, 0o755); err != nil {
		return nil, fmt.Errorf("make a temporary folder: %w", err)
	}
	sc := *s
	sc.tmp, s = tmp, &sc
	parts, emit := s.partsAndEmit()
	bins, build := tc.build(ctx, s, parts, dir, emit)
	res := &Result{Lab: s.Lab, Build: build, Parts: make([]*PartResult, len(parts))}
	if !build.OK {
		for i, p := range parts {
			res.Parts[i] = notBuilt(p)
		}
		res.Elapsed = time.Since(start)
		return res, nil
	}
	listBin, ok := bins[false] // starts faster than a race-instrumented one
	if !ok {
		listBin = bins[true]
	}
	list := tc.List(ctx, s, listBin)
	if list.startup != nil {
		// Start-up itself fails: every part would end the same way.
		for i, p := range parts {
			r := *list.startup
			r.Part = p
			r.Output = s.rewrite(r.Output)
			for _, name := range p.Tests {
				r.Tests = append(r.Tests, &TestResult{Name: name, Status: TestNotRun})
			}
			res.Parts[i] = &r
			emit(Event{Kind: PartDone, Part: p, Done: &r})
		}
		res.Elapsed = time.Since(start)
		return res, nil
	}
	res.Defined = list.names
	if s.Tests != nil {
		// What the binary lists is what the code in it says; the source
		// of the shipped tests cannot be talked into listing less.
		res.Defined = s.Tests
	}
	defined := map[string]bool{}
	for _, n := range res.Defined {
		defined[n] = true
	}

	workers := s.Parallel
	if workers <= 0 {
		workers = runtime.NumCPU()
	}
	sem := make(chan struct{}, workers)
	var wg sync.WaitGroup
	for i, p := range parts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			emit(Event{Kind: PartStarted, Part: p})
			race := s.Race != nil && s.Race(p)
			r := tc.runPart(ctx, s, bins[race], race, p, defined, func(t *TestResult) {
				emit(Event{Kind: TestDone, Part: p, Test: t})
			})
			r.Race = race
			res.Parts[i] = r
			emit(Event{Kind: PartDone, Part: p, Done: r})
		}()
	}
	wg.Wait()
	res.Elapsed = time.Since(start)
	return res, nil
}

// Prepare builds what a run of the parts needs, so that the next run finds
// every package compiled, and throws the binaries away.
func (tc *Toolchain) Prepare(ctx context.Context, s *Spec) (Build, error) {
	dir, err := scratch.MkdirTemp(s.Lab.Name + "-")
	if err != nil {
		return Build{}, fmt.Errorf("make a temporary folder: %w", err)
	}
	defer os.RemoveAll(dir)
	parts, emit := s.partsAndEmit()
	_, b := tc.build(ctx, s, parts, dir, emit)
	return b, nil
}

// partsAndEmit are the parts to run (all, unless the Spec names some) and
// a way to report events that calls Events one at a time.
func (s *Spec) partsAndEmit() ([]*catalog.Part, func(Event)) {
	parts := s.Parts
	if parts == nil {
		parts = s.Lab.Parts
	}
	var mu sync.Mutex
	emit := func(e Event) {
		if s.Events != nil {
			mu.Lock()
			defer mu.Unlock()
			s.Events(e)
		}
	}
	return parts, emit
}

// build reports the build's start and end around buildAll.
func (tc *Toolchain) build(ctx context.Context, s *Spec, parts []*catalog.Part, dir string, emit func(Event)) (map[bool]string, Build) {
	emit(Event{Kind: BuildStarted})
	bins, b := tc.buildAll(ctx, s, parts, dir, emit)
	emit(Event{Kind: BuildDone, Build: &b})
	return bins, b
}

// buildAll builds the binaries the parts need: one without the race
// detector, one with it, or both at once.
func (tc *Toolchain) buildAll(ctx context.Context, s *Spec, parts []*catalog.Part, dir string, emit func(Event)) (map[bool]string, Build) {
	need := map[bool]bool{}
	for _, p := range parts {
		need[s.Race != nil && s.Race(p)] = true
	}
	bins := map[bool]string{}
	builds := map[bool]Build{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for race := range need {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var progress func(BuildProgress)
			if s.Events != nil {
				progress = func(p BuildProgress) { emit(Event{Kind: BuildProgressed, Progress: &p}) }
			}
			bin, b := tc.cachedBuild(ctx, s, dir, race, progress)
			mu.Lock()
			defer mu.Unlock()
			bins[race], builds[race] = bin, b
		}()
	}
	wg.Wait()
	// One report: the first failure (without the race detector first: its
	// messages are the same and it is the one a plain go test shows).
	merged := Build{OK: true}
	for _, race := range []bool{false, true} {
		b, ok := builds[race]
		if !ok {
			continue
		}
		merged.Elapsed = max(merged.Elapsed, b.Elapsed)
		if !b.OK && merged.OK {
			merged.OK, merged.Output = false, b.Output
		}
	}
	return bins, merged
}

// cachedBuild builds through s.Binaries when it is set, and when the
// build's inputs can be read to key it; otherwise into dir.
func (tc *Toolchain) cachedBuild(ctx context.Context, s *Spec, dir string, race bool, progress func(BuildProgress)) (string, Build) {
	if s.Binaries != nil {
		if key, err := buildKey(s, race); err == nil {
			return s.Binaries.get(key, func(dir string) (string, Build) { return tc.Build(ctx, s, dir, race, nil) })
		}
	}
	return tc.Build(ctx, s, dir, race, progress)
}

func notBuilt(p *catalog.Part) *PartResult {
	r := &PartResult{Part: p, Status: BuildFailed}
	for _, name := range p.Tests {
		r.Tests = append(r.Tests, &TestResult{Name: name, Status: TestNotRun})
	}
	return r
}

// runPart runs one part's tests in a process of its own, through test2json.
func (tc *Toolchain) runPart(ctx context.Context, s *Spec, bin string, race bool, p *catalog.Part, defined map[string]bool, testDone func(*TestResult)) *PartResult {
	start := time.Now()
	res := &PartResult{Part: p}
	var toRun []string
	for _, name := range p.Tests {
		if defined != nil && !defined[name] {
			continue
		}
		toRun = append(toRun, regexp.QuoteMeta(name))
	}
	dec := newDecoder(p.Tests)
	dec.rewrite = s.rewriter()
	if len(toRun) > 0 {
		args := []string{"-test.v=test2json", "-test.paniconexit0", "-test.count=1",
			"-test.timeout=" + p.Timeout.String(),
			"-test.run=^(" + strings.Join(toRun, "|") + ")$"}
		dec.onTest = testDone
		dec.exit = tc.runTests(ctx, s, bin, race, p, append(args, s.Args...), dec)
		dec.memoryLimit = s.Lab.MemoryLimit()
		switch {
		case dec.exit.TimedOut:
			dec.killedAfter = p.Timeout + Grace
		case dec.exit.Cancelled:
			dec.cancelled = true
		}
	}
	dec.finish(res, defined)
	res.Elapsed = time.Since(start)
	return res
}

// outputGrace is how long the output may stay open after the test process
// exits: only something it started, and escaped its process group, holds it.
const outputGrace = 2 * time.Second

// runTests runs the test binary with its output piped through test2json
// into dec. Both run under proc's control; the binary has the lab's
// timeout and memory limit.
func (tc *Toolchain) runTests(ctx context.Context, s *Spec, bin string, race bool, p *catalog.Part, args []string, dec *decoder) proc.Exit {
	outR, outW, err := os.Pipe()
	if err != nil {
		return proc.Exit{Err: err}
	}
	jsonR, jsonW, err := os.Pipe()
	if err != nil {
		outR.Close()
		outW.Close()
		return proc.Exit{Err: err}
	}
	defer jsonR.Close()
	var convErr bytes.Buffer
	conv := proc.Start(ctx, proc.Spec{
		Path: tc.Test2JSON, Args: []string{"-t", "-p", s.Lab.ImportPath},
		Stdin: outR, Stdout: jsonW, Stderr: &limitedBuffer{buf: &convErr, max: 4 << 10},
	})
	outR.Close()
	jsonW.Close()
	test := proc.Start(ctx, proc.Spec{
		Path: bin, Args: args, Dir: s.runDir(), Env: testEnv(s),
		Stdout: outW, Stderr: outW,
		Timeout: p.Timeout + Grace, MemoryLimit: s.Lab.MemoryLimit(), Race: race,
	})
	outW.Close()
	decoded := make(chan struct{})
	go func() {
		defer close(decoded)
		dec.decode(jsonR)
	}()
	exit := test.Wait()
	select {
	case <-decoded:
	case <-time.After(outputGrace):
		conv.Kill()
		<-decoded
		exit.Leftovers, dec.heldOutput = true, true
	}
	if ce := conv.Wait(); !ce.Started {
		exit = proc.Exit{Err: fmt.Errorf("test2json: %w", ce.Err)}
	}
	// test2json's own complaints, if any, are the part's output too.
	for _, line := range strings.Split(strings.TrimSpace(convErr.String()), "\n") {
		if line != "" {
			dec.packageLine(line)
		}
	}
	return exit
}

// testKnobs are the variables through which labs/internal/seeds and sim
// are told to test less, or otherwise.
var testKnobs = map[string]bool{"DISTLINGS_SEED": true, "DISTLINGS_SEEDS": true, "DISTLINGS_FAULTS": true, "DISTLINGS_SHRINK": true}

// testEnv is the environment of a test process. The race detector normally
// sleeps a second at exit to collect late reports; per part that adds up.
//
// The variables that change what the lab's tests try (one seed, fewer
// seeds, planned faults) are dropped from the grader's own environment: a
// graded run runs the shipped sweep, and only Spec.Env asks for less.
func testEnv(s *Spec) []string {
	var env []string
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		if !testKnobs[name] {
			env = append(env, kv)
		}
	}
	if os.Getenv("GORACE") == "" {
		env = append(env, "GORACE=atexit_sleep_ms=0")
	}
	if s.tmp != "" {
		env = append(env, "TMPDIR="+s.tmp)
	}
	return append(env, s.Env...)
}
