package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// demoWorkbook writes a workbook of one lab (the one grader watch's tests
// use) and makes it the current folder, where run finds it.
func demoWorkbook(t *testing.T) {
	t.Helper()
	root := t.TempDir()
	for name, data := range map[string]string{
		"go.mod":                    "module example.com/wb\n\ngo 1.26\n",
		"labs/01-demo/lab.toml":     demoManifest,
		"labs/01-demo/demo.go":      "package demo\n\nfunc Add(a, b int) int { return 0 }\n\nfunc Sub(a, b int) int { return 0 }\n",
		"labs/01-demo/demo_test.go": demoTests,
	} {
		path := filepath.Join(root, name)
		require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
		require.NoError(t, os.WriteFile(path, []byte(data), 0o644))
	}
	t.Chdir(root)
}

// A dumb terminal (TERM=dumb, or no TERM on Unix) cannot show the
// full-screen view: grader alone prints the plain status there, as in a
// pipe. The scripts cannot give the grader a terminal, so this test stands
// one in.
func TestNoCommandOnADumbTerminalPrintsThePlainStatus(t *testing.T) {
	demoWorkbook(t)
	saved := isTerminal
	t.Cleanup(func() { isTerminal = saved })
	isTerminal = func(any) bool { return true }

	terms := map[string]func(){"TERM=dumb": func() { t.Setenv("TERM", "dumb") }}
	if runtime.GOOS != "windows" {
		terms["no TERM"] = func() {
			t.Setenv("TERM", "") // restored after the test
			require.NoError(t, os.Unsetenv("TERM"))
		}
	}
	for name, set := range terms {
		set()
		var stdout, stderr bytes.Buffer
		code := run(context.Background(), nil, &stdout, &stderr)
		assert.Equal(t, exitOK, code, name)
		assert.Contains(t, stdout.String(), "distlings  0/20 points", name)
		assert.Contains(t, stdout.String(), "Next: work on lab 01 part 1", name)
		assert.NotContains(t, stdout.String(), "\x1b", "%s: no escape codes at all", name)
		assert.Empty(t, stderr.String(), name)
	}
}

// A bug in the grader ends as one line that says where, and exit 3, not a
// stack trace and not the exit code of a failing test or a typo.
func TestAPanicEndsAsOneLineAndExitCode3(t *testing.T) {
	saved := commands
	t.Cleanup(func() { commands = saved })
	commands = append(slices.Clone(commands), command{name: "crash", run: func(*cli, []string) int {
		var labs []string
		return len(labs[3])
	}})
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), []string{"crash"}, &stdout, &stderr)
	assert.Equal(t, exitGrader, code)
	assert.Regexp(t, `^grader: internal error: runtime error: index out of range \[3\] with length 0 at grader/run_test.go:\d+; please report it\n$`, stderr.String())
	assert.Empty(t, stdout.String())
}

// Without a Go toolchain nothing can run: that is the grader's failure
// (3), not a failing test (1) or bad usage (2).
func TestNoToolchainIsExitCode3(t *testing.T) {
	demoWorkbook(t)
	t.Setenv("PATH", "")
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), []string{"test", "01"}, &stdout, &stderr)
	assert.Equal(t, exitGrader, code)
	assert.Contains(t, stderr.String(), "grader: the go command is not on PATH")
}

func TestVersionSaysWhichBuildItIs(t *testing.T) {
	vcs := func(rev, modified string) []debug.BuildSetting {
		return []debug.BuildSetting{{Key: "vcs", Value: "git"}, {Key: "vcs.revision", Value: rev}, {Key: "vcs.modified", Value: modified}}
	}
	const rev = "7e2c2d5a1b3c4d5e6f708192a3b4c5d6e7f80912"
	for _, tc := range []struct {
		info *debug.BuildInfo
		want string
	}{
		{&debug.BuildInfo{Main: debug.Module{Version: "v1.2.0"}}, "v1.2.0"},
		{&debug.BuildInfo{Main: debug.Module{Version: "v0.0.0-20250102030405-7e2c2d5a1b3c+dirty"}, Settings: vcs(rev, "true")},
			"v0.0.0-20250102030405-7e2c2d5a1b3c+dirty"},
		{&debug.BuildInfo{Main: debug.Module{Version: "(devel)"}, Settings: vcs(rev, "false")}, "(devel), commit 7e2c2d5a1b3c"},
		{&debug.BuildInfo{Main: debug.Module{Version: "(devel)"}, Settings: vcs(rev, "true")}, "(devel), commit 7e2c2d5a1b3c with uncommitted changes"},
		{&debug.BuildInfo{Main: debug.Module{Version: "(devel)"}}, "(devel)"}, // go run, or -buildvcs=false
		{&debug.BuildInfo{}, "(devel)"},
		{nil, "(unknown version)"},
	} {
		assert.Equal(t, tc.want, version(tc.info))
	}
}
