package textout

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/distlings/distlings/grader/run"
)

// A failure as testify prints it inside a subtest.
const testifyFailure = "    crash_test.go:48: \n" +
	"        \tError Trace:\t/tmp/wb/labs/01-idempotency/crash_test.go:48\n" +
	"        \t            \t/tmp/wb/labs/01-idempotency/helpers_test.go:12\n" +
	"        \tError:      \tNot equal: \n" +
	"        \t            \texpected: 9000\n" +
	"        \t            \tactual  : 8000\n" +
	"        \tTest:       \tTestCrashAtAnyStepThenRetryChargesOnce/crash_after_op_3\n" +
	"        \tMessages:   \talice was charged 2 times, want once.\n" +
	"        \t            \trule: the debit and the record of the key must be one write\n" +
	"--- FAIL: TestCrashAtAnyStepThenRetryChargesOnce/crash_after_op_3 (0.00s)"

func TestTidyKeepsTheFailureAndDropsWhatTheGraderShows(t *testing.T) {
	got := strings.Join(Tidy(strings.Split(testifyFailure, "\n")), "\n")

	for _, want := range []string{"crash_test.go:48:", "Error:", "Not equal:", "expected: 9000", "actual  : 8000",
		"Messages:", "alice was charged 2 times", "rule: the debit", "--- FAIL: TestCrash"} {
		assert.Contains(t, got, want)
	}
	for _, noise := range []string{"Error Trace", "helpers_test.go:12", "Test:  "} {
		assert.NotContains(t, got, noise)
	}
	assert.NotContains(t, got, "\t", "tabs become spaces")
}

func TestTidyLeavesPlainOutputAlone(t *testing.T) {
	lines := []string{"    bad_test.go:12: Answer() = 41, want 42", "    \tindented with a tab"}
	assert.Equal(t, []string{"bad_test.go:12: Answer() = 41, want 42", "    indented with a tab"}, Tidy(lines))
}

// Only failing tests are listed; a failed part says how many of its tests
// passed, so that the learner knows the rest is not unknown.
func TestAFailedPartSaysHowManyOfItsTestsPass(t *testing.T) {
	var out strings.Builder
	lab := streamLab()
	New(&out).part(&run.PartResult{Part: lab.Part(1), Status: run.Failed, Tests: []*run.TestResult{
		{Name: "TestA", Status: run.TestPassed},
		{Name: "TestB", Status: run.TestPassed},
		{Name: "TestC", Status: run.TestFailed, Output: []string{"c_test.go:3: want 1, got 2"}},
	}}, false)
	got := out.String()
	assert.Contains(t, got, "2 of 3 tests pass; the others:")
	assert.NotContains(t, got, "TestA", "a passing test is not listed")
	assert.Less(t, strings.Index(got, "2 of 3"), strings.Index(got, "TestC"))

	out.Reset()
	New(&out).part(&run.PartResult{Part: lab.Part(1), Status: run.Failed, Tests: []*run.TestResult{
		{Name: "TestC", Status: run.TestFailed},
	}}, false)
	assert.NotContains(t, out.String(), "tests pass", "when none passed there is nothing to add")
}
