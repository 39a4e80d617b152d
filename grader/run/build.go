package run

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/distlings/distlings/grader/proc"
)

// BuildProgress is how far a build has come: packages compiled so far, of
// the packages that were out of date when it started (0 while unknown).
type BuildProgress struct {
	Race     bool // the race-instrumented build, when a lab needs both
	Compiled int
	Total    int
	Linking  bool
}

// String says how far the build is, for a status line.
func (p BuildProgress) String() string {
	what := fmt.Sprintf("%d packages compiled", p.Compiled)
	if p.Total > 0 {
		what = fmt.Sprintf("%d of %d packages compiled", p.Compiled, p.Total)
	}
	if p.Linking {
		what += ", linking"
	}
	return what
}

// Describe says how far the builds of a lab are, one or both variants,
// for a status line; "" before the first report.
func Describe(progress map[bool]BuildProgress) string {
	var parts []string
	for _, race := range []bool{false, true} {
		p, ok := progress[race]
		if !ok {
			continue
		}
		what := p.String()
		if race && len(progress) > 1 {
			what = "with the race detector: " + what
		}
		parts = append(parts, what)
	}
	return strings.Join(parts, "; ")
}

// FirstBuildNote tells a learner waiting on a slow build why it is slow.
const FirstBuildNote = "a lab's first build compiles what it needs (for lab 01, etcd: a minute or more); later builds take seconds"

// progressDelay is how long a build runs before the grader asks the go
// command how much is left: a warm build is done before then, and asking
// costs a second of CPU on a large lab.
const progressDelay = time.Second

// buildEvent is one line of `go test -c -json` output.
type buildEvent struct {
	ImportPath string
	Action     string
	Output     string
}

// Build compiles the lab's test binary into dir. bin is its path. With
// progress set, it reports packages compiled as they are (from the
// commands `go test -x` prints, which -json wraps per package).
func (tc *Toolchain) Build(ctx context.Context, s *Spec, dir string, race bool, progress func(BuildProgress)) (bin string, b Build) {
	start := time.Now()
	name := "lab.test"
	if race {
		name = "lab-race.test"
	}
	bin = filepath.Join(dir, name)
	if runtime.GOOS == "windows" {
		bin += ".exe"
	}
	flags, err := buildFlags(s, dir, race)
	if err != nil {
		return "", Build{Output: []string{err.Error()}}
	}
	args := append([]string{"test", "-c", "-o", bin, "-json"}, flags...)
	if progress != nil {
		args = append(args, "-x")
	}
	args = append(args, "./"+s.Lab.RelDir)
	outR, outW, err := os.Pipe()
	if err != nil {
		return bin, Build{Output: []string{"could not run go test -c: " + err.Error()}, Elapsed: time.Since(start)}
	}
	var stderr bytes.Buffer
	build := proc.Start(ctx, proc.Spec{
		Path: tc.Go, Args: args, Dir: s.buildRoot(), Env: tc.goEnv(),
		Stdout: outW, Stderr: &limitedBuffer{buf: &stderr, max: maxBuildBytes},
		Timeout: buildTimeout,
	})
	outW.Close()
	defer outR.Close()
	stdout := io.Reader(outR)
	p := &buildParser{messages: map[string][]string{}, compiled: map[string]bool{}}
	var total totalCounter
	if progress != nil {
		stopTotal := total.start(ctx, tc, s, flags, p)
		defer stopTotal()
		tick := time.NewTicker(250 * time.Millisecond)
		defer tick.Stop()
		done := make(chan struct{})
		defer close(done)
		go func() {
			for {
				select {
				case <-done:
					return
				case <-tick.C:
					compiled, linking := p.progress()
					progress(BuildProgress{Race: race, Compiled: compiled, Total: total.get(compiled), Linking: linking})
				}
			}
		}()
	}
	p.parse(stdout)
	exit := build.Wait()
	b = Build{OK: exit.Success(), Output: p.result(), Elapsed: time.Since(start)}
	if !b.OK {
		b.Output = append(b.Output, buildMessages(stderr.Bytes())...)
		switch {
		case exit.TimedOut:
			b.Output = append(b.Output, fmt.Sprintf("go test -c ran for more than %v and was stopped", buildTimeout))
		case len(b.Output) == 0:
			b.Output = []string{"go test -c " + exit.String()}
		}
	}
	if len(b.Output) > maxBuildLines {
		b.Output = append(b.Output[:maxBuildLines:maxBuildLines], "… (more build errors not shown)")
	}
	return bin, b
}

// buildFlags are the flags a build shares with the go list that measures it.
func buildFlags(s *Spec, dir string, race bool) ([]string, error) {
	var flags []string
	if race {
		flags = append(flags, "-race")
	}
	if len(s.Tags) > 0 {
		flags = append(flags, "-tags", strings.Join(s.Tags, ","))
	}
	if len(s.Overlay) > 0 {
		// One file per variant: the two builds of a lab run at once in dir.
		name := "overlay.json"
		if race {
			name = "overlay-race.json"
		}
		path := filepath.Join(dir, name)
		data, _ := json.Marshal(map[string]any{"Replace": s.Overlay})
		if err := os.WriteFile(path, data, 0o644); err != nil {
			return nil, err
		}
		flags = append(flags, "-overlay", path)
	}
	return flags, nil
}

// buildParser reads the BuildEvents of `go test -c -json [-x]`.
type buildParser struct {
	mu       sync.Mutex
	compiled map[string]bool
	linking  bool
	// messages holds, per package, what the toolchain printed after the
	// "# package" header that starts a compiler's or vet's report.
	messages map[string][]string
	inReport map[string]bool
	failed   []string // packages whose build failed, in order
	other    []string // lines that were not build events
}

func (p *buildParser) parse(r io.Reader) {
	// Whatever stops the scan, the rest is read: a go command that cannot
	// write would never exit.
	defer io.Copy(io.Discard, r)
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), maxEventBytes)
	for sc.Scan() {
		var e buildEvent
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil || e.Action == "" {
			p.mu.Lock()
			if len(p.other) < maxBuildLines {
				p.other = append(p.other, sc.Text())
			}
			p.mu.Unlock()
			continue
		}
		p.event(e)
	}
}

func (p *buildParser) event(e buildEvent) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.inReport == nil {
		p.inReport = map[string]bool{}
	}
	switch e.Action {
	case "build-fail":
		p.failed = append(p.failed, e.ImportPath)
		return
	case "build-output":
	default:
		return
	}
	out := strings.TrimRight(e.Output, "\n")
	if isReportHeader(out) {
		p.inReport[e.ImportPath] = true // a report follows; the header itself is noise
		return
	}
	for _, l := range strings.Split(out, "\n") {
		switch {
		case p.inReport[e.ImportPath]:
			if len(p.messages[e.ImportPath]) < maxBuildLines {
				p.messages[e.ImportPath] = append(p.messages[e.ImportPath], l)
			}
		case isTool(l, "compile"):
			p.compiled[e.ImportPath] = true
		case isTool(l, "link"):
			p.linking = true
		}
	}
}

// isReportHeader reports whether an event's output is the "# package" line
// that the go command prints, alone, before a tool's messages. (It need not
// name the event's package: a missing import is reported under the import
// with the importer's name. A "# import config" line of -x output comes
// inside a longer event.)
func isReportHeader(out string) bool {
	return strings.HasPrefix(out, "# ") && !strings.Contains(out, "\n")
}

// isTool reports whether an -x line runs the named tool of the toolchain.
func isTool(line, tool string) bool {
	first, _, _ := strings.Cut(line, " ")
	base := filepath.Base(first)
	return base == tool || base == tool+".exe"
}

func (p *buildParser) progress() (int, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.compiled), p.linking
}

// result is the compiler's and vet's messages for the packages that failed.
func (p *buildParser) result() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []string
	for _, pkg := range p.failed {
		out = append(out, p.messages[pkg]...)
	}
	if len(out) == 0 && len(p.failed) > 0 {
		out = append(out, p.other...)
	}
	return out
}

// totalCounter learns how many packages a slow build has to compile, by
// asking go list which ones are stale, once the build has run a while.
type totalCounter struct {
	mu    sync.Mutex
	total int
}

func (t *totalCounter) start(ctx context.Context, tc *Toolchain, s *Spec, flags []string, p *buildParser) (stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	go func() {
		select {
		case <-ctx.Done():
			return
		case <-time.After(progressDelay):
		}
		before, _ := p.progress()
		args := append([]string{"list", "-deps", "-test", "-f", "{{if .Stale}}x{{end}}"}, flags...)
		var out bytes.Buffer
		exit := proc.Run(ctx, proc.Spec{
			Path: tc.Go, Args: append(args, "./"+s.Lab.RelDir), Dir: s.buildRoot(), Env: tc.goEnv(),
			Stdout: &limitedBuffer{buf: &out, max: 1 << 20},
		})
		if !exit.Success() {
			return
		}
		stale := bytes.Count(out.Bytes(), []byte("x"))
		t.mu.Lock()
		t.total = before + stale
		t.mu.Unlock()
	}()
	return cancel
}

// get is the total, never below what has been compiled already.
func (t *totalCounter) get(compiled int) int {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.total == 0 {
		return 0
	}
	return max(t.total, compiled)
}

// limitedBuffer keeps the first max bytes written to it and drops the rest.
type limitedBuffer struct {
	buf *bytes.Buffer
	max int
}

func (l *limitedBuffer) Write(b []byte) (int, error) {
	if room := l.max - l.buf.Len(); room > 0 {
		l.buf.Write(b[:min(room, len(b))])
	}
	return len(b), nil
}

const maxBuildBytes = 1 << 20

// buildTimeout bounds a build: a first build of lab 01 takes minutes.
const buildTimeout = 30 * time.Minute
