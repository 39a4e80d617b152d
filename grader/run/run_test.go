package run

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/tools/txtar"

	"github.com/distlings/distlings/grader/catalog"
)

// workbook unpacks a txtar fixture into a temporary workbook.
func workbook(t *testing.T, fixture string) *catalog.Catalog {
	t.Helper()
	ar, err := txtar.ParseFile(filepath.Join("testdata", fixture))
	require.NoError(t, err)
	dir := t.TempDir()
	for _, f := range ar.Files {
		path := filepath.Join(dir, f.Name)
		require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
		require.NoError(t, os.WriteFile(path, f.Data, 0o644))
	}
	w, err := catalog.FindWorkbook(dir)
	require.NoError(t, err)
	c, err := catalog.Load(w)
	require.NoError(t, err)
	return c
}

func TestEachPartReportsHowItEnded(t *testing.T) {
	c := workbook(t, "misbehaving.txtar")
	lab := c.Labs[0]
	require.NoError(t, lab.Err)
	tc, err := FindToolchain(context.Background())
	require.NoError(t, err)
	res, err := tc.Run(context.Background(), &Spec{Root: c.Workbook.Root, Lab: lab})
	require.NoError(t, err)
	require.True(t, res.Build.OK, "build: %v", res.Build.Output)

	byTitle := map[string]*PartResult{}
	for _, p := range res.Parts {
		byTitle[p.Part.Title] = p
		t.Logf("part %q: %s — %s", p.Part.Title, p.Status, p.Note)
		for _, tr := range p.Tests {
			t.Logf("   %s %s (%d lines)", tr.Name, tr.Status, len(tr.Output))
			for i, o := range tr.Output {
				if i < 6 {
					t.Logf("      | %s", o)
				}
			}
		}
		for i, o := range p.Output {
			if i < 6 {
				t.Logf("   pkg| %s", o)
			}
		}
	}

	good := byTitle["Good and bad"]
	assert.Equal(t, Failed, good.Status)
	assert.Equal(t, TestPassed, good.Tests[0].Status)
	assert.Equal(t, TestFailed, good.Tests[1].Status)
	assert.Contains(t, strings.Join(good.Tests[1].Output, "\n"), "Answer() = 41, want 42")

	p := byTitle["Panics"]
	assert.Equal(t, Crashed, p.Status)
	assert.Contains(t, p.Note, "TestPanics panicked: assignment to entry in nil map")
	assert.Equal(t, TestNotRun, p.Tests[1].Status)

	assert.Equal(t, Crashed, byTitle["Exits"].Status)
	assert.Contains(t, byTitle["Exits"].Note, "the test process exited with status 3 while TestExits was running: something called os.Exit")
	assert.Equal(t, Crashed, byTitle["Exit zero"].Status)
	assert.Contains(t, byTitle["Exit zero"].Note, "os.Exit")

	// The test alarm's timer keeps Go from calling this a deadlock, so it is
	// a timeout; the note says where the test goroutine was stuck.
	assert.Equal(t, TimedOut, byTitle["Deadlocks"].Status)
	assert.Contains(t, byTitle["Deadlocks"].Note, "blocked in sync.Mutex.Lock at bad.go:")

	h := byTitle["Hangs"]
	assert.Equal(t, TimedOut, h.Status)
	assert.Contains(t, h.Note, "timed out after 1s while running TestHangs; it was blocked in select (no cases) at bad.go:")
	assert.Equal(t, TestCrashed, h.Tests[0].Status)
	assert.Contains(t, strings.Join(h.Tests[0].Output, "\n"), "panic: test timed out", "the dump is kept for the learner")

	f := byTitle["Floods"]
	assert.Equal(t, Failed, f.Status)
	assert.True(t, f.Tests[0].Truncated)
	assert.LessOrEqual(t, len(f.Tests[0].Output), maxTestLines+1)

	s := byTitle["Subtests"]
	assert.Equal(t, Failed, s.Status)
	assert.Equal(t, TestFailed, s.Tests[0].Status)
	out := strings.Join(s.Tests[0].Output, "\n")
	assert.Contains(t, out, "sub failed")
	assert.Regexp(t, `--- FAIL: TestSubtests/bad [^\n]*\n[^\n]*sub failed`, out,
		"a subtest's name comes before its message, so that the message reads as its own")
	assert.NotContains(t, out, "fine", "output of a passing subtest is noise")
	assert.Equal(t, TestNotFound, s.Tests[1].Status)
	assert.Contains(t, s.Note, "TestMissing")
}

// In a synctest bubble the test's goroutine waits in synctest.Run; the
// goroutine that is stuck is the bubble's, running the test's function
// literal, and that is the one to point at.
func TestBlockedAtLooksInsideASynctestBubble(t *testing.T) {
	dump := strings.Split(`goroutine 7 [chan receive, durable]:
testing/synctest.Run(0xc000012345)
	/usr/local/go/src/testing/synctest/synctest.go:290 +0x1f
testing/synctest.Test(0xc000001111, 0xc000002222)
	/usr/local/go/src/testing/synctest/synctest.go:300 +0x2a
example.com/wb/labs/01-demo.TestSweep(0xc000003333)
	/wb/labs/01-demo/demo_test.go:20 +0x45

goroutine 9 [sync.Mutex.Lock, synctest]:
sync.runtime_SemacquireMutex(0xc000004444, 0x0, 0x1)
	/usr/local/go/src/runtime/sema.go:95 +0x25
sync.(*Mutex).Lock(...)
	/usr/local/go/src/sync/mutex.go:81
example.com/wb/labs/01-demo.(*Service).sweep(0xc000005555)
	/wb/labs/01-demo/service.go:88 +0x99
example.com/wb/labs/01-demo.TestSweep.func1(0xc000006666)
	/wb/labs/01-demo/demo_test.go:22 +0x77
`, "\n")
	assert.Equal(t, "blocked in sync.Mutex.Lock at service.go:88", blockedAt(dump, "TestSweep"))
}
