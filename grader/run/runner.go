package run

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/distlings/distlings/grader/catalog"
)

// Spec says what to run.
type Spec struct {
	Root  string       // workbook root: the go command runs there
	Lab   *catalog.Lab //
	Parts []*catalog.Part
	// Overlay replaces files when building: absolute path of a lab file →
	// absolute path of the file to compile instead (go build -overlay).
	Overlay map[string]string
	Tags    []string
	// Race says which parts run under the race detector; nil means none.
	// A lab whose parts differ is built twice, with and without it.
	Race func(*catalog.Part) bool
	Args []string // extra flags for the test binary, such as -seed=7
	// Binaries, when set, reuses binaries built from the same sources.
	Binaries *Binaries
	// Parallel is how many parts run at once; 0 means one per CPU.
	Parallel int
	Events   func(Event) // may be nil; called from several goroutines, one at a time
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
	dir, err := os.MkdirTemp("", "distlings-"+s.Lab.Name+"-")
	if err != nil {
		return nil, fmt.Errorf("make a temporary folder: %w", err)
	}
	defer os.RemoveAll(dir)
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
	defined := map[string]bool{}
	listBin, ok := bins[false] // starts faster than a race-instrumented one
	if !ok {
		listBin = bins[true]
	}
	if names, err := tc.List(ctx, listBin, s.Lab.Dir); err == nil {
		res.Defined = names
		for _, n := range names {
			defined[n] = true
		}
	} else {
		defined = nil // cannot tell; let the runs speak
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
			r := tc.runPart(ctx, s, bins[race], p, defined, func(t *TestResult) {
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
	dir, err := os.MkdirTemp("", "distlings-"+s.Lab.Name+"-")
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
func (tc *Toolchain) runPart(ctx context.Context, s *Spec, bin string, p *catalog.Part, defined map[string]bool, testDone func(*TestResult)) *PartResult {
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
	if len(toRun) > 0 {
		ctx, cancel := context.WithTimeout(ctx, p.Timeout+Grace)
		defer cancel()
		args := []string{"-t", "-p", s.Lab.ImportPath, bin,
			"-test.v=test2json", "-test.paniconexit0", "-test.count=1",
			"-test.timeout=" + p.Timeout.String(),
			"-test.run=^(" + strings.Join(toRun, "|") + ")$"}
		cmd := exec.CommandContext(ctx, tc.Test2JSON, append(args, s.Args...)...)
		cmd.Dir = s.Lab.Dir
		cmd.Env = testEnv()
		killGroup(cmd)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		stdout, err := cmd.StdoutPipe()
		if err == nil {
			err = cmd.Start()
		}
		if err != nil {
			res.Status, res.Note = Crashed, "could not start the tests: "+err.Error()
			return res
		}
		dec.onTest = testDone
		dec.decode(stdout)
		waitErr := cmd.Wait()
		for _, line := range strings.Split(strings.TrimSpace(stderr.String()), "\n") {
			if line != "" {
				dec.packageLine(line)
			}
		}
		if ctx.Err() == context.DeadlineExceeded {
			dec.killedAfter = p.Timeout + Grace
		} else if ctx.Err() != nil {
			dec.cancelled = true
		}
		_ = waitErr // the outcome is read from the events, not the exit code
	}
	dec.finish(res, defined)
	res.Elapsed = time.Since(start)
	return res
}

// testEnv is the environment of a test process. The race detector normally
// sleeps a second at exit to collect late reports; per part that adds up.
func testEnv() []string {
	env := os.Environ()
	if os.Getenv("GORACE") == "" {
		env = append(env, "GORACE=atexit_sleep_ms=0")
	}
	return env
}
