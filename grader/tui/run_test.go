package tui

import (
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/distlings/distlings/grader/grade"
	"github.com/distlings/distlings/grader/run"
)

// These tests build and run a real lab with the go command, as a learner's
// grader does.

func requireGo(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("builds a lab with the go command")
	}
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("no go command on PATH")
	}
}

// buildTime bounds a run that builds a small lab: generous, since a cold
// build cache on a busy CI machine is slow.
const buildTime = 2 * time.Minute

const solvedSub = "package demo\n\nfunc Add(a, b int) int { return 0 }\n\nfunc Sub(a, b int) int { return a - b }\n"

func TestRunShowsEachPartsResult(t *testing.T) {
	requireGo(t)
	files := maps.Clone(demoFiles)
	files["labs/01-demo/demo.go"] = solvedSub
	g := workbook(t, files)
	tm := start(t, newTestModel(t, g))
	press(tm, "enter")
	waitFor(t, tm, 15*time.Second, "lab 01 demo")

	press(tm, "r")
	waitFor(t, tm, buildTime, "1 of 2 parts passed", "TestAdds", "Add(2, 3) = 0, want 5")
	press(tm, "esc")
	waitFor(t, tm, 15*time.Second, "FAIL     part 1", "PASS     part 2")

	m := finish(t, tm)
	// The running screen heard the build and every part as they happened.
	require.NotNil(t, m.run.build)
	assert.True(t, m.run.build.OK)
	for n, l := range m.run.live {
		assert.NotNil(t, l.done, "part %d never reported its end", n)
	}
	// And the run was recorded, as with `grader test`.
	states := []grade.PartState{m.lab.view.Parts[0].State, m.lab.view.Parts[1].State}
	assert.Equal(t, []grade.PartState{grade.Failing, grade.Passed}, states)
}

func TestRunOnePart(t *testing.T) {
	requireGo(t)
	tm := start(t, newTestModel(t, workbook(t, demoFiles)))
	press(tm, "enter", "down", "p")
	waitFor(t, tm, buildTime, "0 of 1 parts passed", "TestSubtracts")

	m := finish(t, tm)
	require.Len(t, m.results.outcome.Parts, 1)
	assert.Equal(t, 2, m.results.outcome.Parts[0].Part.Number)
}

// A lab whose only test never returns: stopping it must kill the process.
var hangingLab = map[string]string{
	"go.mod": "module example.com/wb\n\ngo 1.26\n",
	"labs/01-hang/lab.toml": `title = "Hang"
stubs = ["hang.go"]
timeout = "10m"

[[part]]
title = "Never returns"
points = 10
tests = ["TestHangs"]
hints = ["Return."]
`,
	"labs/01-hang/hang.go": "package hang\n",
	// The test binary's timeout timer keeps the runtime from calling
	// this a deadlock, so the process really hangs.
	"labs/01-hang/hang_test.go": "package hang\n\nimport \"testing\"\n\nfunc TestHangs(t *testing.T) { select {} }\n",
}

func TestStoppingARunLeavesNoTestProcess(t *testing.T) {
	requireGo(t)
	if runtime.GOOS != "linux" {
		t.Skip("lists processes through /proc")
	}
	for _, stop := range []string{"esc", "ctrl+c"} {
		t.Run(stop, func(t *testing.T) {
			g := workbook(t, hangingLab)
			lab := findLab(t, g, "01")
			m := newTestModel(t, g)
			tm := start(t, m)
			press(tm, "enter", "r")
			waitFor(t, tm, 15*time.Second, "running every part")
			// The runner lists the binary's tests first; wait for the part's
			// own process, the one that hangs.
			require.Eventually(t, func() bool { return runsTests(processesIn(lab.Dir)) },
				buildTime, 20*time.Millisecond, "the part's test process never started")

			t.Logf("running in the lab's folder: %v", processesIn(lab.Dir))

			stopped := time.Now()
			press(tm, stop)
			waitFor(t, tm, 10*time.Second, "Stopped. Nothing was recorded")
			t.Logf("back on the lab screen %s after %s", time.Since(stopped).Round(time.Millisecond), stop)
			require.Eventually(t, func() bool { return len(processesIn(lab.Dir)) == 0 },
				10*time.Second, 10*time.Millisecond, "test processes left behind: %v", processesIn(lab.Dir))
			t.Logf("test processes gone %s after %s", time.Since(stopped).Round(time.Millisecond), stop)
			assert.Empty(t, testDescendants(), "a *.test process of ours is still running")

			m = finish(t, tm)
			assert.Equal(t, stateLab, m.state, "%s stops the run; it does not quit", stop)
			assert.Equal(t, grade.NotRun, m.lab.view.Parts[0].State, "a stopped run records nothing")
		})
	}
}

func TestQuittingDuringARunStopsIt(t *testing.T) {
	requireGo(t)
	if runtime.GOOS != "linux" {
		t.Skip("lists processes through /proc")
	}
	g := workbook(t, hangingLab)
	lab := findLab(t, g, "01")
	m := newTestModel(t, g)
	tm := start(t, m)
	press(tm, "enter", "r")
	require.Eventually(t, func() bool { return runsTests(processesIn(lab.Dir)) },
		buildTime, 20*time.Millisecond, "the part's test process never started")

	finish(t, tm)
	done := make(chan struct{})
	go func() { m.shutdown(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("shutdown still waiting for the run 10s after the program ended")
	}
	// Killed processes take a moment to exit (the lab's test binary is
	// test2json's child and is reaped by init), so wait for it to go.
	assert.Eventually(t, func() bool { return len(processesIn(lab.Dir)) == 0 }, 10*time.Second, 10*time.Millisecond,
		"a test process is still running after quitting: %v", processesIn(lab.Dir))
}

func TestWatchRunsAgainOnSave(t *testing.T) {
	requireGo(t)
	g := workbook(t, demoFiles)
	tm := start(t, newTestModel(t, g))
	press(tm, "enter", "w")
	// Watching runs the lab once straight away.
	waitFor(t, tm, buildTime, "watching labs/01-demo", "0 of 2 parts passed")

	writeFiles(t, g.Workbook.Root, map[string]string{"labs/01-demo/demo.go": solvedSub})
	waitFor(t, tm, buildTime, "saved demo.go", "1 of 2 parts passed")

	press(tm, "esc", "w")
	waitFor(t, tm, 15*time.Second, "Stopped watching.")
	m := finish(t, tm)
	assert.Nil(t, m.watch)
}

// processesIn lists the processes working in dir: the runner starts
// test2json and the lab's test binary in the lab's folder, and each test
// makes its own folder, so nothing else is there.
func processesIn(dir string) map[int]string {
	if real, err := filepath.EvalSymlinks(dir); err == nil {
		dir = real // /proc shows the resolved path
	}
	procs := map[int]string{}
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		// A process that ended, zombies included, has no working folder.
		if cwd, err := os.Readlink(filepath.Join("/proc", e.Name(), "cwd")); err == nil && cwd == dir {
			procs[pid] = command(pid)
		}
	}
	return procs
}

func isTestBinary(cmd string) bool {
	return strings.HasSuffix(strings.Fields(cmd + " x")[0], ".test")
}

// runsTests reports whether one of procs is a test binary running tests.
func runsTests(procs map[int]string) bool {
	for _, cmd := range procs {
		if isTestBinary(cmd) && strings.Contains(cmd, "-test.run=") {
			return true
		}
	}
	return false
}

// testDescendants lists the live *.test processes started, directly or not,
// by this one (which is a .test binary itself, so it is left out).
func testDescendants() []string {
	parent := map[int]int{}
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		// "pid (comm) state ppid ...": comm may hold spaces, so read after
		// the last parenthesis.
		fields := strings.Fields(string(stat[strings.LastIndexByte(string(stat), ')')+1:]))
		if len(fields) < 2 || fields[0] == "Z" {
			continue
		}
		parent[pid], _ = strconv.Atoi(fields[1])
	}
	var out []string
	for pid := range parent {
		for p := parent[pid]; p > 1; p = parent[p] {
			if p == os.Getpid() {
				if cmd := command(pid); isTestBinary(cmd) {
					out = append(out, cmd)
				}
				break
			}
		}
	}
	return out
}

func command(pid int) string {
	data, _ := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "cmdline"))
	return strings.TrimSpace(strings.ReplaceAll(string(data), "\x00", " "))
}

// A slow first build says how far it is, as the plain output does.
func TestRunningScreenShowsHowFarTheBuildIs(t *testing.T) {
	m := newTestModel(t, workbook(t, demoFiles))
	m.c.width = 80
	m.run.start(m.c.g.Catalog.Labs[0], nil)
	assert.NotContains(t, m.run.viewFrame(""), "packages compiled", "nothing to say before the first progress report")
	m.run.event(run.Event{Kind: run.BuildProgressed, Progress: &run.BuildProgress{Compiled: 120, Total: 300}})
	view := m.run.viewFrame("")
	assert.Contains(t, view, "building the tests… 120 of 300 packages compiled")
	assert.Contains(t, view, "a lab's first build compiles what it needs")
	m.run.event(run.Event{Kind: run.BuildDone, Build: &run.Build{OK: true, Elapsed: 90 * time.Second}})
	assert.Contains(t, m.run.viewFrame(""), "built in 1m30s")
}
