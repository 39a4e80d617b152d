package sim

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
)

// probe stands in for a test while its check runs again, quietly, to learn
// whether a smaller run still fails and how: it keeps the first failure,
// its place in the test's code, and discards the logs.
type probe struct {
	testing.TB // the real test, for its name and helpers

	mu       sync.Mutex
	failed   bool
	skipped  bool
	message  string // the first failure's message
	site     string // where in the test's code it was raised
	cleanups []func()
	hung     chan string // a handler that never returned, and what it was
	ctx      context.Context
	cancel   context.CancelFunc
}

func newProbe(t testing.TB) *probe {
	ctx, cancel := context.WithCancel(context.Background())
	return &probe{TB: t, hung: make(chan string, 1), ctx: ctx, cancel: cancel}
}

func (p *probe) note(args ...any) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.failed {
		p.message, p.site = strings.TrimSpace(fmt.Sprint(args...)), callSite()
	}
	p.failed = true
}

func (p *probe) Error(args ...any)                 { p.note(args...) }
func (p *probe) Errorf(format string, args ...any) { p.note(fmt.Sprintf(format, args...)) }
func (p *probe) Fail()                             { p.note("failed") }
func (p *probe) FailNow()                          { p.note("failed"); runtime.Goexit() }
func (p *probe) Fatal(args ...any)                 { p.note(args...); runtime.Goexit() }
func (p *probe) Fatalf(format string, args ...any) {
	p.note(fmt.Sprintf(format, args...))
	runtime.Goexit()
}
func (p *probe) Failed() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.failed
}
func (p *probe) Log(...any)               {}
func (p *probe) Logf(string, ...any)      {}
func (p *probe) Skip(...any)              { p.SkipNow() }
func (p *probe) Skipf(string, ...any)     { p.SkipNow() }
func (p *probe) SkipNow()                 { p.skipped = true; runtime.Goexit() }
func (p *probe) Skipped() bool            { return p.skipped }
func (p *probe) Helper()                  {}
func (p *probe) Output() io.Writer        { return io.Discard }
func (p *probe) Context() context.Context { return p.ctx }
func (p *probe) Attr(string, string)      {}
func (p *probe) Cleanup(f func())         { p.cleanups = append(p.cleanups, f) }
func (p *probe) Chdir(string)             { p.Fatal("a check run again to shrink its faults cannot change folder") }
func (p *probe) TempDir() string          { return p.tempDir() }
func (p *probe) ArtifactDir() string      { return p.tempDir() }

// Setenv sets a variable until the check's cleanups run.
func (p *probe) Setenv(key, value string) {
	old, had := os.LookupEnv(key)
	p.Cleanup(func() {
		if had {
			os.Setenv(key, old)
		} else {
			os.Unsetenv(key)
		}
	})
	os.Setenv(key, value)
}

func (p *probe) tempDir() string {
	dir, err := os.MkdirTemp("", "distlings-shrink-")
	if err != nil {
		p.Fatal(err)
	}
	p.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

// failure is the first failure's message and place.
func (p *probe) failure() (message, site string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.message, p.site
}

// hang reports a handler of the check's cluster that never returns.
func (p *probe) hang(what string) {
	select {
	case p.hung <- what:
	default:
	}
}

// runCleanups ends the check's context and runs its cleanups, the last
// registered first, as testing does.
func (p *probe) runCleanups() {
	p.cancel()
	for len(p.cleanups) > 0 {
		f := p.cleanups[len(p.cleanups)-1]
		p.cleanups = p.cleanups[:len(p.cleanups)-1]
		f()
	}
}

// callSite is the file and line of the test code that raised a failure.
func callSite() string {
	pcs := make([]uintptr, 32)
	frames := runtime.CallersFrames(pcs[:runtime.Callers(3, pcs)])
	for {
		f, more := frames.Next()
		if strings.HasSuffix(f.File, "_test.go") {
			return fmt.Sprintf("%s:%d", filepath.Base(f.File), f.Line)
		}
		if !more {
			return ""
		}
	}
}
