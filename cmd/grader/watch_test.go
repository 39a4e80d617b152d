package main

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/distlings/distlings/grader/grade"
	"github.com/distlings/distlings/grader/textout"
)

// TestWatchRunsAgainOnSave drives grader watch as a learner would: the
// first run fails, a save that fixes part 1 runs the lab again and records
// the pass, and Ctrl-C (a cancelled context) stops it with exit 0. It is a
// Go test rather than a script because it has to save files while the
// command runs and wait for its output.
func TestWatchRunsAgainOnSave(t *testing.T) {
	// The runs build the fixture with the go command: share the build
	// cache, and never reach the network (it needs nothing from it).
	t.Setenv("GOPROXY", "off")
	t.Setenv("GOTOOLCHAIN", "local")
	t.Setenv("GOFLAGS", "-mod=mod")
	root := t.TempDir()
	files := map[string]string{
		"go.mod":                    "module example.com/wb\n\ngo 1.26\n",
		"labs/01-demo/lab.toml":     demoManifest,
		"labs/01-demo/demo.go":      "package demo\n\nfunc Add(a, b int) int { return 0 }\n\nfunc Sub(a, b int) int { return 0 }\n",
		"labs/01-demo/demo_test.go": demoTests,
	}
	for name, data := range files {
		path := filepath.Join(root, name)
		require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
		require.NoError(t, os.WriteFile(path, []byte(data), 0o644))
	}
	// Graded runs need the shipped copy, as a release has it.
	shipper := &cli{ctx: context.Background(), stdout: io.Discard, stderr: io.Discard,
		out: textout.New(io.Discard), errOut: textout.New(io.Discard), cwd: root}
	require.Equal(t, exitOK, shipper.ship(nil))

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	stdout, stderr := newWatchedBuffer(), newWatchedBuffer()
	c := &cli{ctx: ctx, stdout: stdout, stderr: stderr, out: textout.New(stdout), errOut: textout.New(stderr), cwd: root}
	code := -1
	exited := make(chan struct{})
	go func() {
		defer close(exited)
		code = c.watch([]string{"01", "-no-race", "-debounce", "50ms"})
	}()
	// wait waits until s has been written n times, failing if the command
	// stops first; each write wakes it, so it never sleeps.
	wait := func(s string, n int) {
		t.Helper()
		timeout := time.After(2 * time.Minute) // builds under -race can be slow
		for strings.Count(stdout.String(), s) < n {
			select {
			case <-stdout.wrote:
			case <-exited:
				t.Fatalf("grader watch stopped (exit %d) before writing %q; stdout:\n%s\nstderr:\n%s", code, s, stdout, stderr)
			case <-timeout:
				t.Fatalf("waited for %q to appear %d time(s); stdout:\n%s\nstderr:\n%s", s, n, stdout, stderr)
			}
		}
	}

	wait("watching labs/01-demo for saves (Ctrl-C to stop)", 1)
	out := stdout.String()
	assert.Contains(t, out, "FAIL     part 1  Adds")
	assert.Contains(t, out, "0/20 points from the parts that ran")

	// A save by renaming over the file, as some editors do; the temporary
	// file's name is one the watcher ignores.
	demo := filepath.Join(root, "labs/01-demo/demo.go")
	tmp := filepath.Join(root, "labs/01-demo/.demo.go.tmp")
	require.NoError(t, os.WriteFile(tmp, []byte("package demo\n\nfunc Add(a, b int) int { return a + b }\n\nfunc Sub(a, b int) int { return 0 }\n"), 0o644))
	require.NoError(t, os.Rename(tmp, demo))
	wait("watching labs/01-demo", 2)
	out = stdout.String()
	assert.Equal(t, 1, strings.Count(out, "changed: demo.go\n"), out)
	second := out[strings.Index(out, "changed: demo.go"):]
	assert.Contains(t, second, "PASS     part 1  Adds")
	assert.Contains(t, second, "10/20 points from the parts that ran")

	// The run was recorded, as grader test records it.
	g, err := grade.Open(root)
	require.NoError(t, err)
	view, _ := g.LabView(g.Catalog.Labs[0])
	assert.Equal(t, grade.Passed, view.Parts[0].State)

	cancel()
	select {
	case <-exited:
		assert.Equal(t, exitOK, code)
	case <-time.After(time.Minute):
		t.Fatal("grader watch did not stop when its context was cancelled")
	}
	assert.Empty(t, stderr.String())
}

func TestWatchUsageErrors(t *testing.T) {
	root := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(root, "go.mod"), []byte("module example.com/wb\n\ngo 1.26\n"), 0o644))
	require.NoError(t, os.MkdirAll(filepath.Join(root, "labs/01-demo"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(root, "labs/01-demo/lab.toml"), []byte(demoManifest), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(root, "labs/01-demo/demo.go"), []byte("package demo\n"), 0o644))
	for _, tc := range []struct {
		args []string
		says string
	}{
		{nil, "name a lab"},
		{[]string{"07"}, "07"},
		{[]string{"01", "7"}, "there is no part 7"},
		{[]string{"01", "x"}, `"x" is not a part number`},
		{[]string{"01", "-debounce", "-1s"}, "-debounce cannot be negative"},
		{[]string{"01", "-debounce", "soon"}, `invalid value "soon"`},
	} {
		var stdout, stderr bytes.Buffer
		c := &cli{ctx: context.Background(), stdout: &stdout, stderr: &stderr, out: textout.New(&stdout), errOut: textout.New(&stderr), cwd: root}
		assert.Equal(t, exitUsage, c.watch(tc.args), "grader watch %q", tc.args)
		assert.Contains(t, stderr.String(), tc.says, "grader watch %q", tc.args)
		assert.Empty(t, stdout.String(), "grader watch %q runs nothing", tc.args)
	}
}

const demoManifest = `title = "Demo"
stubs = ["demo.go"]

[[part]]
title = "Adds"
points = 10
tests = ["TestAdds"]
hints = ["Use +."]

[[part]]
title = "Subtracts"
points = 10
tests = ["TestSubtracts"]
hints = ["Use -."]
`

const demoTests = `package demo

import "testing"

func TestAdds(t *testing.T) {
	if got := Add(2, 3); got != 5 {
		t.Errorf("Add(2, 3) = %d, want 5", got)
	}
}

func TestSubtracts(t *testing.T) {
	if got := Sub(5, 3); got != 2 {
		t.Errorf("Sub(5, 3) = %d, want 2", got)
	}
}
`

// watchedBuffer is an output the command writes to from its goroutine while
// the test reads it; every write wakes a waiting reader.
type watchedBuffer struct {
	mu    sync.Mutex
	buf   bytes.Buffer
	wrote chan struct{}
}

func newWatchedBuffer() *watchedBuffer { return &watchedBuffer{wrote: make(chan struct{}, 1)} }

func (b *watchedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	select {
	case b.wrote <- struct{}{}:
	default: // a wake-up is already pending
	}
	return b.buf.Write(p)
}

func (b *watchedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
