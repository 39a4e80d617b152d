package run

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/distlings/distlings/grader/catalog"
)

func toolchain(t *testing.T) *Toolchain {
	t.Helper()
	tc, err := FindToolchain(context.Background())
	require.NoError(t, err)
	return tc
}

func TestEachPartRunsWithTheRaceSettingItsManifestGives(t *testing.T) {
	tc := toolchain(t)
	if !tc.CanRace {
		t.Log("no cgo here: only the manifest's settings are checked")
	}
	c := workbook(t, "racy.txtar")
	lab := c.Labs[0]
	require.NoError(t, lab.Err)
	assert.True(t, lab.Part(1).Race)
	assert.False(t, lab.Part(2).Race, "a part without its own setting takes the lab's")
	if !tc.CanRace {
		return
	}
	var mu sync.Mutex
	var progress []BuildProgress
	res, err := tc.Run(context.Background(), &Spec{Root: c.Workbook.Root, Lab: lab,
		Race: func(p *catalog.Part) bool { return p.Race },
		Events: func(e Event) {
			if e.Kind == BuildProgressed {
				mu.Lock()
				progress = append(progress, *e.Progress)
				mu.Unlock()
			}
		}})
	require.NoError(t, err)
	require.True(t, res.Build.OK, "build: %v", res.Build.Output)
	watched, unwatched := res.Parts[0], res.Parts[1]
	assert.True(t, watched.Race)
	assert.Equal(t, Failed, watched.Status, "the race detector sees the race: %s", watched.Note)
	assert.Contains(t, strings.Join(watched.Tests[0].Output, "\n"), "DATA RACE")
	assert.False(t, unwatched.Race)
	assert.Equal(t, Passed, unwatched.Status, "without the detector the same race goes unseen")
	for _, p := range progress {
		assert.LessOrEqual(t, p.Compiled, max(p.Total, p.Compiled))
	}
}

func TestBuildErrorsComeWithFileAndLineAndNothingElse(t *testing.T) {
	tc := toolchain(t)
	c := workbook(t, "racy.txtar")
	lab := c.Labs[0]
	broken := filepath.Join(t.TempDir(), "counter.go")
	require.NoError(t, os.WriteFile(broken, []byte("package racy\n\nfunc (c *Counter) Add() { c.n += undefined }\n\ntype Counter struct{ n int }\n"), 0o644))
	var progressed bool
	res, err := tc.Run(context.Background(), &Spec{Root: c.Workbook.Root, Lab: lab,
		Overlay: map[string]string{filepath.Join(lab.Dir, "counter.go"): broken},
		Events:  func(e Event) { progressed = progressed || e.Kind == BuildProgressed }})
	require.NoError(t, err)
	require.False(t, res.Build.OK)
	require.NotEmpty(t, res.Build.Output)
	assert.Regexp(t, `counter\.go:3:\d+: undefined: undefined`, res.Build.Output[0])
	for _, l := range res.Build.Output {
		assert.NotContains(t, l, "compile -o", "the commands -x prints are for counting, not for the learner")
		assert.NotContains(t, l, "packagefile")
	}
	for _, p := range res.Parts {
		assert.Equal(t, BuildFailed, p.Status)
	}
}

func TestTheSameSourcesAreLinkedOnce(t *testing.T) {
	tc := toolchain(t)
	c := workbook(t, "racy.txtar")
	lab := c.Labs[0]
	bins := NewBinaries(t.TempDir())
	spec := &Spec{Root: c.Workbook.Root, Lab: lab, Parts: lab.Parts[1:], Binaries: bins}
	for range 2 {
		res, err := tc.Run(context.Background(), spec)
		require.NoError(t, err)
		require.True(t, res.Build.OK, "build: %v", res.Build.Output)
		assert.Equal(t, Passed, res.Parts[0].Status)
	}
	assert.Len(t, bins.built, 1, "two runs of one build, one binary")

	changed := filepath.Join(t.TempDir(), "counter.go")
	require.NoError(t, os.WriteFile(changed, []byte("package racy\n\ntype Counter struct{ n int }\n\nfunc (c *Counter) Add() { c.n += 1 }\n"), 0o644))
	spec.Overlay = map[string]string{filepath.Join(lab.Dir, "counter.go"): changed}
	res, err := tc.Run(context.Background(), spec)
	require.NoError(t, err)
	require.True(t, res.Build.OK)
	assert.Len(t, bins.built, 2, "other sources, another binary")
}

func TestBuildReportParsing(t *testing.T) {
	p := &buildParser{messages: map[string][]string{}, compiled: map[string]bool{}}
	events := []buildEvent{
		{ImportPath: "fmt", Action: "build-output", Output: "/go/pkg/tool/linux_amd64/compile -o $WORK/b002/_pkg_.a -p fmt\n"},
		{ImportPath: "x [x.test]", Action: "build-output", Output: "cat >$WORK/b1/importcfg << 'EOF' # internal\n# import config\npackagefile fmt=/x\nEOF\n"},
		{ImportPath: "x [x.test]", Action: "build-output", Output: "/go/pkg/tool/linux_amd64/compile -o $WORK/b1/_pkg_.a -p x\n"},
		{ImportPath: "x [x.test]", Action: "build-output", Output: "# x [x.test]\n"},
		{ImportPath: "x [x.test]", Action: "build-output", Output: "./a.go:3:9: undefined: y\n"},
		{ImportPath: "x [x.test]", Action: "build-fail"},
	}
	for _, e := range events {
		p.event(e)
	}
	compiled, linking := p.progress()
	assert.Equal(t, 2, compiled)
	assert.False(t, linking)
	assert.Equal(t, []string{"./a.go:3:9: undefined: y"}, p.result(), "the importcfg's \"# import config\" is not a report header")

	// A missing import is reported under the import's path, with the
	// importer's name in the header.
	p = &buildParser{messages: map[string][]string{}, compiled: map[string]bool{}}
	for _, e := range []buildEvent{
		{ImportPath: "example.com/nothere", Action: "build-output", Output: "# x\n"},
		{ImportPath: "example.com/nothere", Action: "build-output", Output: "c.go:2:8: no required module provides package example.com/nothere; to add it:\n"},
		{ImportPath: "example.com/nothere", Action: "build-output", Output: "\tgo get example.com/nothere\n"},
		{ImportPath: "example.com/nothere", Action: "build-fail"},
	} {
		p.event(e)
	}
	assert.Equal(t, []string{"c.go:2:8: no required module provides package example.com/nothere; to add it:", "\tgo get example.com/nothere"}, p.result())
}

func TestGoFlagsThatCouldChangeAGradedBuildAreDropped(t *testing.T) {
	assert.Equal(t, "-mod=mod -buildvcs=false",
		safeGoFlags("-mod=mod -overlay=/tmp/o.json -buildvcs=false --toolexec=/bin/x -gcflags=all=-N"))
	assert.Equal(t, "", safeGoFlags(""))
}

// A learner's shell cannot make a graded run test less: one seed, fewer
// seeds or planned faults come only from what the grader asks.
func TestVariablesThatWeakenTheTestsAreNotInherited(t *testing.T) {
	t.Setenv("DISTLINGS_SEED", "7")
	t.Setenv("DISTLINGS_SEEDS", "1")
	t.Setenv("DISTLINGS_FAULTS", "/tmp/none.faults.json")
	t.Setenv("DISTLINGS_SHRINK", "off")
	env := testEnv(&Spec{Env: []string{"DISTLINGS_SHRINK=off"}})
	for _, kv := range env {
		assert.NotRegexp(t, `^DISTLINGS_(SEED|SEEDS|FAULTS)=`, kv)
	}
	assert.Contains(t, env, "DISTLINGS_SHRINK=off", "what the grader asks for is passed on")
	assert.Equal(t, 1, strings.Count(strings.Join(env, "\n"), "DISTLINGS_SHRINK="))
}
