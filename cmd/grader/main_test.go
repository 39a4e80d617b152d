package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rogpeppe/go-internal/testscript"
)

func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"grader": func() { os.Exit(runClean(context.Background(), os.Args[1:], os.Stdout, os.Stderr)) },
	})
}

// TestScripts drives the grader as a learner would, in small fixture
// workbooks (testdata/script/*.txtar), each doing one thing that must work
// or one thing that must fail clearly.
func TestScripts(t *testing.T) {
	env := goEnv(t, "GOCACHE", "GOMODCACHE", "GOPATH", "CGO_ENABLED")
	cgo := env["CGO_ENABLED"] == "1"
	testscript.Run(t, testscript.Params{
		Dir: "testdata/script",
		Condition: func(cond string) (bool, error) {
			if cond == "cgo" { // the race detector needs it
				return cgo, nil
			}
			return false, fmt.Errorf("unknown condition %q", cond)
		},
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			"waitfile": waitFile,
			"gone":     gone,
		},
		Setup: func(e *testscript.Env) error {
			// Share the build cache so fixture builds take a fraction of a
			// second; fixtures use only the standard library.
			for k, v := range env {
				e.Setenv(k, v)
			}
			e.Setenv("GOPROXY", "off")
			e.Setenv("GOTOOLCHAIN", "local")
			e.Setenv("GOFLAGS", "-mod=mod")
			e.Setenv("NO_COLOR", "")
			// The course setups the scripts run, as shipped in docs/.
			classroom, err := filepath.Abs(filepath.Join("..", "..", "docs", "classroom"))
			if err != nil {
				return err
			}
			e.Setenv("CLASSROOM", classroom)
			return nil
		},
	})
}

func goEnv(t *testing.T, names ...string) map[string]string {
	t.Helper()
	out, err := exec.Command("go", append([]string{"env"}, names...)...).Output()
	if err != nil {
		t.Fatalf("go env: %v", err)
	}
	values := strings.Split(strings.TrimRight(string(out), "\n"), "\n")
	env := map[string]string{}
	for i, n := range names {
		env[n] = values[i]
	}
	return env
}

// waitFile waits, up to a deadline, for a file to exist: a background
// command has reached the point that writes it.
func waitFile(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: waitfile FILE")
	}
	deadline := time.Now().Add(2 * time.Minute)
	for time.Now().Before(deadline) {
		if _, err := os.Stat(ts.MkAbs(args[0])); err == nil {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	ts.Fatalf("%s did not appear within 2m", args[0])
}

// gone checks that the processes whose pids the files hold (one per line)
// have ended, allowing a few seconds for a kill to land.
func gone(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) == 0 {
		ts.Fatalf("usage: gone PIDFILE...")
	}
	var pids []int
	for _, f := range args {
		for _, field := range strings.Fields(ts.ReadFile(f)) {
			pid, err := strconv.Atoi(field)
			ts.Check(err)
			pids = append(pids, pid)
		}
	}
	deadline := time.Now().Add(10 * time.Second)
	for _, pid := range pids {
		for alive(pid) {
			if time.Now().After(deadline) {
				ts.Fatalf("process %d is still running", pid)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
}

// alive reports whether pid names a running process (a zombie has ended).
func alive(pid int) bool {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return syscall.Kill(pid, 0) == nil // no /proc: ask the kernel
	}
	fields := strings.Fields(string(stat[strings.LastIndexByte(string(stat), ')')+1:]))
	return len(fields) > 0 && fields[0] != "Z"
}
